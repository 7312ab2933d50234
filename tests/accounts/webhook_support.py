"""Helpers for webhook tests: real svix signatures, and Clerk events captured from the in-thread emulator.

Payloads are never written by hand: ``ClerkDriver`` changes the emulator through its Backend API (the same HTTP
calls the app makes to Clerk) and takes the event envelopes the emulator emitted for those changes, exactly the
JSON it would deliver.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.test import Client
from svix.webhooks import Webhook

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator

SECRET = "whsec_" + base64.b64encode(b"webhook-test-secret-0123456789ab").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"some-other-secret-0123456789abcd").decode()
URL = "/webhooks/clerk/"


def new_msg_id() -> str:
    return f"msg_{secrets.token_hex(13)}"


def body_of(envelope: dict[str, Any]) -> str:
    """The body as the emulator's dispatcher (and Svix) sends it."""
    return json.dumps(envelope)


def signed_headers(
    body: str,
    *,
    msg_id: str | None = None,
    secret: str = SECRET,
    timestamp: datetime | None = None,
) -> dict[str, str]:
    msg_id = msg_id or new_msg_id()
    timestamp = timestamp or datetime.now(tz=UTC)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(timestamp.timestamp())),
        "svix-signature": Webhook(secret).sign(msg_id, timestamp, body),
    }


def post(client: Client, body: str | bytes, headers: dict[str, str]) -> Any:
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def deliver(client: Client, envelope: dict[str, Any], *, msg_id: str | None = None) -> Any:
    """Sign and POST one event the way Svix does; returns the response."""
    body = body_of(envelope)
    return post(client, body, signed_headers(body, msg_id=msg_id))


def skewed(minutes: float) -> datetime:
    return datetime.now(tz=UTC) + timedelta(minutes=minutes)


def finish_live_server_requests(live_server: Any, server: EmulatorServer | None = None, timeout: float = 10) -> None:
    """Let the live server's request threads end before the test does.

    Those threads touch the database connection once their client hangs up, and on SQLite that connection is
    shared with the test only until the test ends. The emulator's dispatcher keeps its HTTP connection alive, so
    restarting its worker (which closes its client) is what lets the last request thread finish.
    """
    if server is not None:
        server.dispatcher.stop()
        server.dispatcher.start()
    httpd = live_server.thread.httpd
    for thread in threading.enumerate():
        if getattr(getattr(thread, "_target", None), "__self__", None) is httpd:
            thread.join(timeout=timeout)


# One TLS context for every driver: httpx would load the CA bundle for each client (one per test), though the
# emulator is plain HTTP on loopback.
TLS = ssl.create_default_context()


class ClerkDriver:
    """Changes the emulator over its Backend API and hands back the webhook events each change caused."""

    def __init__(self, em: Emulator, server: EmulatorServer) -> None:
        self.em = em
        self.http = httpx.Client(
            base_url=server.api_url, headers={"Authorization": f"Bearer {em.secret_key}"}, timeout=10, verify=TLS
        )
        self._seen = len(em.events)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    def events(self) -> list[dict[str, Any]]:
        """Envelopes emitted since the last call (deep copies: later changes never alter them)."""
        new = self.em.events[self._seen :]
        self._seen = len(self.em.events)
        return [json.loads(json.dumps(event)) for event in new]

    def event(self, event_type: str) -> dict[str, Any]:
        """The single event of ``event_type`` emitted since the last call (others are dropped)."""
        matching = [event for event in self.events() if event["type"] == event_type]
        assert len(matching) == 1, [event["type"] for event in matching]
        return matching[0]

    # Shortcuts for the changes the tests make.
    def create_user(self, email: str, **fields: Any) -> dict[str, Any]:
        return self.call("POST", "/users", {"email_address": [email], "password": "correct-horse-9", **fields})

    def create_organization(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.call("POST", "/organizations", {"name": name, **fields})

    def add_member(self, org_id: str, user_id: str, role: str = "org:member") -> dict[str, Any]:
        return self.call("POST", f"/organizations/{org_id}/memberships", {"user_id": user_id, "role": role})

    def close(self) -> None:
        self.http.close()
