"""Delivers the emulator's events as svix-signed webhooks, from a background thread, retrying with back-off."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from svix.webhooks import Webhook

if TYPE_CHECKING:
    from clerk_emulator.state import Emulator

logger = logging.getLogger("clerk_emulator.webhooks")

# Svix retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; the emulator keeps the shape, compressed.
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
DELIVERY_TIMEOUT_S = 15.0


@dataclass
class Delivery:
    msg_id: str
    event_type: str
    body: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    status: str = "pending"  # pending, delivered, failed

    def summary(self) -> dict[str, Any]:
        return {"msg_id": self.msg_id, "type": self.event_type, "status": self.status, "attempts": self.attempts}


class WebhookDispatcher:
    """A queue of deliveries ordered by due time; one worker thread sends them so requests never wait."""

    def __init__(self, em: Emulator, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.em = em
        self.retry_delays_s = retry_delays_s
        self.deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, Delivery]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clerk-emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def enqueue(self, event: dict[str, Any]) -> None:
        if not self.em.webhook_url or not self.em.webhook_secret:
            return
        delivery = Delivery(msg_id=f"msg_{secrets.token_hex(13)}", event_type=event["type"], body=json.dumps(event))
        with self._cond:
            self.deliveries.append(delivery)
            heapq.heappush(self._queue, (time.monotonic(), next(self._counter), delivery))
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return sum(1 for d in self.deliveries if d.status == "pending")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is due (tests use it to know every delivery has been attempted)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.02)
        return False

    def clear(self) -> None:
        with self._cond:
            self.deliveries.clear()
            self._queue.clear()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(timeout=timeout)
                if self._stopped:
                    return
                _, _, delivery = heapq.heappop(self._queue)
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        url, secret = self.em.webhook_url, self.em.webhook_secret
        status: int | None = None
        error: str | None = None
        if url and secret:
            try:
                status = self._send(url, secret, delivery)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
        else:
            error = "webhook endpoint not configured"
        delivery.attempts.append({"at": int(time.time() * 1000), "status": status, "error": error})
        if status is not None and 200 <= status < 300:
            delivery.status = "delivered"
            return
        retry = len(delivery.attempts) - 1
        if retry >= len(self.retry_delays_s):
            delivery.status = "failed"
            logger.warning("webhook %s (%s) failed after %d attempts", delivery.msg_id, delivery.event_type, retry + 1)
            return
        with self._cond:
            due = time.monotonic() + self.retry_delays_s[retry]
            heapq.heappush(self._queue, (due, next(self._counter), delivery))

    @staticmethod
    def _send(url: str, secret: str, delivery: Delivery) -> int:
        timestamp = datetime.now(tz=UTC)
        signature = Webhook(secret).sign(delivery.msg_id, timestamp, delivery.body)
        headers = {
            "content-type": "application/json",
            "svix-id": delivery.msg_id,
            "svix-timestamp": str(int(timestamp.timestamp())),
            "svix-signature": signature,
            "user-agent": "Svix-Webhooks/1.0 (clerk-emulator)",
        }
        response = httpx.post(url, content=delivery.body.encode(), headers=headers, timeout=DELIVERY_TIMEOUT_S)
        return response.status_code
