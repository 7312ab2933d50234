"""A tiny webhook receiver for tests: a stdlib HTTP server on a free 127.0.0.1 port that checks svix signatures.

It records every request (headers, raw body, whether ``svix.webhooks.Webhook(secret).verify`` accepted it) and
answers from a script of statuses (then 200), optionally sleeping first, so tests can exercise retries and slow
receivers against the emulator's real dispatcher.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from svix.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"emulator-webhook-tests-0123456789").decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    path: str

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def svix_id(self) -> str:
        return self.headers["svix-id"]


class Receiver:
    """``statuses``: answers for the first requests, in order (then 200); ``sleep_s``: delays for the first ones."""

    def __init__(self, secret: str = SECRET, statuses: Iterable[int] = (), sleep_s: Iterable[float] = ()) -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self._statuses = deque(statuses)
        self._sleeps = deque(sleep_s)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with receiver._lock:
                    receiver.requests.append(Received(headers, body, verified, self.path))
                    status = receiver._statuses.popleft() if receiver._statuses else 200
                    sleep = receiver._sleeps.popleft() if receiver._sleeps else 0.0
                if sleep:
                    time.sleep(sleep)
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the dispatcher gave up waiting and closed the connection
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/clerk"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.requests]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
