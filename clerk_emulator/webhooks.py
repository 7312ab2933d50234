"""Delivers the emulator's events as svix-signed webhooks, from a background thread, retrying with back-off.

Like Svix (docs/clerk-emulator.md, "Webhooks"): each event is one message whose ``svix-id`` stays the same across
attempts; the first attempt is immediate and a non-2xx answer (redirects included) or a connection failure is
retried after each of ``retry_delays_s``. Requests that cause events only enqueue them, so a slow or hanging
receiver never holds up the Backend API. One worker thread sends in order; a receiver that hangs delays later
deliveries by at most ``timeout_s`` per attempt.
"""

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
from urllib.parse import urlsplit

import httpx
from svix.webhooks import Webhook

if TYPE_CHECKING:
    from clerk_emulator.state import Emulator

logger = logging.getLogger("clerk_emulator.webhooks")

# Svix retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; the emulator keeps the shape, compressed.
RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
DELIVERY_TIMEOUT_S = 15.0  # Svix counts an answer after ~15 s as a failure
MAX_KEPT_DELIVERIES = 1000  # finished deliveries beyond this are forgotten, oldest first
USER_AGENT = "Svix-Webhooks/1.0 (clerk-emulator)"


def check_webhook_url(url: str) -> str:
    """An absolute ``http(s)://host…`` URL, or ``ValueError``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the webhook URL must be an absolute http:// or https:// URL")
    return url


def check_webhook_secret(secret: str) -> str:
    """A ``whsec_`` + base64 signing secret that svix accepts, or ``ValueError``."""
    if not secret.startswith("whsec_") or len(secret) == len("whsec_"):
        raise ValueError("the webhook secret must be whsec_ followed by a base64 key")
    try:
        Webhook(secret)
    except Exception as exc:  # binascii.Error, or svix's EmptyWebhookSecretError for "whsec_=="
        raise ValueError("the webhook secret must be whsec_ followed by a base64 key") from exc
    return secret


@dataclass
class Delivery:
    """One message: the signed body and every attempt to deliver it."""

    msg_id: str
    event_type: str
    body: str
    created_at: int
    attempts: list[dict[str, Any]] = field(default_factory=list)
    status: str = "pending"  # pending, delivered, failed

    def summary(self) -> dict[str, Any]:
        return {
            "msg_id": self.msg_id,
            "type": self.event_type,
            "status": self.status,
            "created_at": self.created_at,
            "attempts": [dict(attempt) for attempt in self.attempts],
        }


class WebhookDispatcher:
    """A queue of deliveries ordered by due time; one worker thread sends them so requests never wait.

    ``retry_delays_s`` and ``timeout_s`` are plain attributes: tests shorten them. ``clear()`` (called on reset)
    drops everything queued, and an attempt already in flight when it is called is neither recorded nor retried.
    """

    def __init__(
        self,
        em: Emulator,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        *,
        timeout_s: float = DELIVERY_TIMEOUT_S,
    ) -> None:
        self.em = em
        self.retry_delays_s = tuple(retry_delays_s)
        self.timeout_s = timeout_s
        self._deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, int, Delivery]] = []  # (due, order, generation, delivery)
        self._counter = itertools.count()
        self._generation = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._running = False  # a worker thread is in its loop (set and cleared under the lock)
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            self._stopped = False
            if self._running:
                return  # still running, or stopped mid-attempt: it carries on once that attempt ends
            self._running = True
            self._thread = threading.Thread(target=self._run, name="clerk-emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; an attempt in flight is abandoned after ``timeout`` (the thread is a daemon)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)

    def clear(self) -> None:
        with self._cond:
            self._generation += 1
            self._deliveries.clear()
            self._queue.clear()
            self._cond.notify_all()

    # -- producing -------------------------------------------------------------------------------------------
    def enqueue(self, event: dict[str, Any]) -> Delivery | None:
        """Queue one event for delivery (nothing happens unless a URL and secret are configured). Never blocks."""
        if not self.em.webhook_url or not self.em.webhook_secret:
            return None
        delivery = Delivery(
            msg_id=f"msg_{secrets.token_hex(13)}",
            event_type=str(event["type"]),
            body=json.dumps(event),  # a snapshot: later changes to the objects do not alter what is sent
            created_at=int(time.time() * 1000),
        )
        with self._cond:
            self._deliveries.append(delivery)
            self._forget_old()
            heapq.heappush(self._queue, (time.monotonic(), next(self._counter), self._generation, delivery))
            self._cond.notify_all()
        return delivery

    # -- observing -------------------------------------------------------------------------------------------
    @property
    def deliveries(self) -> list[Delivery]:
        """A copy of the list of deliveries, oldest first."""
        with self._cond:
            return list(self._deliveries)

    def summaries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [delivery.summary() for delivery in self._deliveries]

    def pending(self) -> int:
        with self._cond:
            return self._pending_locked()

    def _pending_locked(self) -> int:
        return sum(1 for d in self._deliveries if d.status == "pending") + self._in_flight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every delivery has succeeded or run out of retries; ``False`` if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending_locked() == 0, timeout=timeout)

    # -- the worker ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        with httpx.Client(follow_redirects=False) as client:
            while True:
                with self._cond:
                    while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                        timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                        self._cond.wait(timeout=timeout)
                    if self._stopped:
                        self._running = False
                        return
                    _, _, generation, delivery = heapq.heappop(self._queue)
                    if generation != self._generation:
                        continue
                    self._in_flight += 1
                    url, secret = self.em.webhook_url, self.em.webhook_secret
                try:
                    self._attempt(client, delivery, generation, url, secret)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _attempt(
        self, client: httpx.Client, delivery: Delivery, generation: int, url: str | None, secret: str | None
    ) -> None:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        if url and secret:
            try:
                status = self._send(client, url, secret, delivery)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except Exception as exc:  # a bad URL or secret set at runtime must not kill the worker
                error = f"{type(exc).__name__}: {exc}"
                logger.warning("webhook %s could not be sent: %s", delivery.msg_id, error)
        else:
            error = "webhook endpoint not configured"
        attempt = {
            "at": int(time.time() * 1000),
            "url": url,
            "status": status,
            "error": error,
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        with self._cond:
            if generation != self._generation:
                return  # cleared (reset) while this attempt was in flight
            delivery.attempts.append(attempt)
            if status is not None and 200 <= status < 300:
                delivery.status = "delivered"
                return
            retry = len(delivery.attempts) - 1
            if retry >= len(self.retry_delays_s):
                delivery.status = "failed"
                logger.warning(
                    "webhook %s (%s) failed after %d attempts", delivery.msg_id, delivery.event_type, retry + 1
                )
                return
            due = time.monotonic() + self.retry_delays_s[retry]
            heapq.heappush(self._queue, (due, next(self._counter), generation, delivery))

    def _send(self, client: httpx.Client, url: str, secret: str, delivery: Delivery) -> int:
        timestamp = datetime.now(tz=UTC)
        headers = {
            "content-type": "application/json",
            "svix-id": delivery.msg_id,
            "svix-timestamp": str(int(timestamp.timestamp())),
            "svix-signature": Webhook(secret).sign(delivery.msg_id, timestamp, delivery.body),
            "user-agent": USER_AGENT,
            # One connection per delivery: a kept-alive socket would tie a receiver's worker thread to the emulator.
            "connection": "close",
        }
        response = client.post(url, content=delivery.body.encode(), headers=headers, timeout=self.timeout_s)
        return response.status_code

    def _forget_old(self) -> None:
        excess = len(self._deliveries) - MAX_KEPT_DELIVERIES
        if excess <= 0:
            return
        finished = [d for d in self._deliveries if d.status != "pending"][:excess]
        drop = {id(d) for d in finished}
        self._deliveries = [d for d in self._deliveries if id(d) not in drop]
