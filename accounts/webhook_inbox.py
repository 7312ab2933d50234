"""The webhook inbox: verified Clerk events stored once, then applied by a worker (``accounts.webhook_apply``).

``store_event`` is all the endpoint does after verifying a delivery: one INSERT (``ON CONFLICT DO NOTHING`` on the
svix id) and, for a type some handler takes, a task that will apply it, in the same transaction; so an event is
never stored without a task to apply it, and a redelivery changes nothing (and does nothing more). With a worker
(a backend that defers, django-tasks-db in production) that task is the coalesced drain (``drain_webhook_inbox``):
a delivery holds the inbox's gate and enqueues a drain only while fewer than two are waiting to start, so most
deliveries add no task row; the drain waits at the gate for the deliveries in flight, then applies every open
event in order per object. The immediate backend (demo, tests) runs one object's drain per delivery at once,
which is the point of that backend. Nothing here calls Clerk or runs a handler.

``replay_event`` is the operators' way back for a parked event (the admin action and ``manage.py webhook_inbox``):
it reopens the event with a fresh attempt budget, audited, and applies it. Handlers are idempotent and skip data
older than what is stored, so replaying after ``clerk_sync`` repaired the drift changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.tasks import DRAIN_RUNS, apply_webhook_events, drain_webhook_inbox
from accounts.webhook_locks import INBOX_GATE_KEY
from accounts.webhook_registry import handlers_for
from core.audit import audit
from core.jobs import enqueue_unless_waiting, waiting_runs
from core.models import WebhookEvent
from core.text import without_nul

logger = logging.getLogger(__name__)

MAX_ID_LENGTH = 255


class NotReplayable(Exception):
    def __init__(self, event: WebhookEvent) -> None:
        super().__init__(f"{event.svix_id} is {event.status}: only a parked, applied or ignored event is replayed")
        self.event = event


def _clerk_timestamp(payload: dict[str, Any]) -> int | None:
    value = payload.get("timestamp")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62 else None


def store_event(
    *,
    svix_id: str,
    payload: dict[str, Any],
    signed_at: datetime | None = None,
    request_id: str = "",
    remote_ip: str | None = None,
) -> WebhookEvent | None:
    """Store a verified event once and enqueue its application; ``None`` when this ``svix_id`` is already stored.

    Concurrent deliveries of one message: the first INSERT wins; on PostgreSQL the others wait on the unique index
    until it commits and then insert nothing (duplicate → ``None``).
    """
    data = payload.get("data")
    object_id = data.get("id") if isinstance(data, dict) else None
    handled = bool(handlers_for(payload["type"]))
    event = WebhookEvent(
        svix_id=svix_id,
        type=payload["type"],
        object_id=object_id[:MAX_ID_LENGTH] if isinstance(object_id, str) else "",
        # An event nobody handles is stored in its final state: nothing to enqueue.
        status=WebhookEvent.Status.RECEIVED if handled else WebhookEvent.Status.IGNORED,
        processed_at=None if handled else timezone.now(),
        clerk_timestamp=_clerk_timestamp(payload),
        # PostgreSQL's jsonb cannot hold U+0000: a NUL anywhere in Clerk's data would fail the event forever.
        payload=without_nul(payload),
        signed_at=signed_at,
        request_id=request_id,
        remote_ip=remote_ip,
    )
    coalesce = handled and drain_webhook_inbox.get_backend().supports_defer
    counted = waiting_runs(drain_webhook_inbox, limit=len(DRAIN_RUNS)) if coalesce else None
    with transaction.atomic():
        if counted is not None and connection.vendor == "postgresql":
            # One statement: the INSERT, then (for a stored row) the gate and the count of waiting drains, read
            # after the gate was taken (``WaitingRuns.after_gate``); the gate must be held before looking.
            waiting = WebhookEvent.objects.insert_once_returning(event, also=counted.after_gate(INBOX_GATE_KEY))
            if waiting is None:
                return None
            enqueue_unless_waiting(drain_webhook_inbox, runs=DRAIN_RUNS, waiting=waiting[0])
        elif not WebhookEvent.objects.insert_once(event, lock_shared=INBOX_GATE_KEY if coalesce else None):
            return None
        elif coalesce:
            enqueue_unless_waiting(drain_webhook_inbox, runs=DRAIN_RUNS)
        elif handled:
            apply_webhook_events.enqueue(event.pk)
    return event


def open_events() -> QuerySet[WebhookEvent]:
    return WebhookEvent.objects.filter(status__in=WebhookEvent.PENDING)


def events_in_state(state: str | None = None) -> QuerySet[WebhookEvent]:
    events = WebhookEvent.objects.all()
    return events.filter(status=state) if state else events


def state_counts() -> dict[str, int]:
    counts = dict.fromkeys(WebhookEvent.Status.values, 0)
    for status, count in WebhookEvent.objects.order_by().values_list("status").annotate(n=Count("id")):
        counts[status] = count
    return counts


def replay_event(*, event: WebhookEvent, actor: Any = None, via: str = "") -> WebhookEvent:
    """Reopen a parked (or finished) event, audited, and apply it again; returns it as it ended."""
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if locked.status in WebhookEvent.PENDING:
            raise NotReplayable(locked)
        previous = {"status": locked.status, "attempts": locked.attempts, "error": locked.last_error[:500]}
        locked.status = WebhookEvent.Status.RECEIVED
        locked.attempts = 0
        locked.next_attempt_at = None
        locked.processed_at = None
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "processed_at"])
        audit(
            "webhook_event.replayed",
            actor=actor,
            target_type="webhook_event",
            target_id=locked.svix_id[:64],
            details={"type": locked.type, "object_id": locked.object_id, "previous": previous, "via": via},
        )
        apply_webhook_events.enqueue(locked.pk)
    locked.refresh_from_db()
    return locked


def drain_open_events() -> int:
    """Enqueue the application of every open event, one task per object (after a worker crash; idempotent)."""
    firsts: dict[str, int] = {}
    for pk, object_id in open_events().order_by("id").values_list("pk", "object_id"):
        key = object_id or f"#{pk}"
        firsts.setdefault(key, pk)
    for pk in firsts.values():
        apply_webhook_events.enqueue(pk)
    return len(firsts)
