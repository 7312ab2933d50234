"""Applying stored webhook events: one transaction per event with its effects, in order per Clerk object.

``apply_object_events`` is what the task runs. Under the object's inbox lock it takes the oldest open event of that
object (Clerk's ``timestamp``, then arrival), runs its handlers in a savepoint and records the outcome in the same
transaction, then moves on to the next one; so an older event never overtakes a newer one, and one worker drains
what several deliveries queued. A handler failure rolls its effects back and leaves the event ``retrying`` with
back-off (``next_attempt_at``; never sooner than a rate limit's ``Retry-After``); after ``MAX_ATTEMPTS``
(``IMMEDIATE_ATTEMPTS`` without a worker, and at once on a rate limit there) it is ``parked`` with its error and no
longer holds the object's newer events back. A retrying event that is not due yet stops the drain: its own retry
resumes it.

``drain_inbox`` is what the coalesced drain task runs: after the inbox's gate (``wait_for_inbox_arrivals``) it
takes the open events object by object, oldest object first, and drains each as above; its twin run goes from the
newest object back, so two workers share a backlog.

A worker killed in the middle of an event commits nothing: the event is still open and the next drain (another
delivery for the object, the retry, or ``manage.py webhook_inbox drain``) applies it, once.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.webhook_locks import lock_inbox_object, wait_for_inbox_arrivals
from accounts.webhook_registry import handlers_for
from core.exceptions import RateLimited
from core.models import WebhookEvent

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# The immediate task backend (demo, tests) cannot wait between attempts: it retries once at once, then parks.
IMMEDIATE_ATTEMPTS = 2
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
MAX_ERROR_CHARS = 4000


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, … capped at an hour: seven retries span about 21 minutes."""
    delay: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_RETRY)


@dataclass(frozen=True)
class Drained:
    applied: int = 0
    failed: int = 0
    # A retrying event that is not due yet holds the object's later events: when it is due.
    waiting_until: datetime | None = None


def _open_events(object_id: str) -> QuerySet[WebhookEvent]:
    return (
        WebhookEvent.objects.filter(object_id=object_id, status__in=WebhookEvent.PENDING)
        .order_by(F("clerk_timestamp").asc(nulls_last=True), "id")
        .select_for_update()
    )


def _run(event: WebhookEvent, *, retry_now: bool) -> None:
    """Run the handlers and set the outcome on ``event`` (not saved); the caller's transaction holds both."""
    handlers = handlers_for(event.type)
    event.attempts += 1
    try:
        with transaction.atomic():
            notes = [note for handler in handlers if (note := handler(event))]
    except Exception as exc:
        logger.exception("clerk webhook %s (%s) failed, attempt %s", event.svix_id, event.type, event.attempts)
        event.last_error = "".join(traceback.format_exception_only(exc)).strip()[:MAX_ERROR_CHARS]
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else 0
        # Without a worker a retry would come at once, so a rate-limited call is not repeated: it is parked.
        out_of_attempts = event.attempts >= (IMMEDIATE_ATTEMPTS if retry_now else MAX_ATTEMPTS)
        if out_of_attempts or (retry_now and retry_after):
            event.status = WebhookEvent.Status.PARKED
            event.processed_at = timezone.now()
            event.next_attempt_at = None
        else:
            event.status = WebhookEvent.Status.RETRYING
            event.next_attempt_at = timezone.now() + max(retry_delay(event.attempts), timedelta(seconds=retry_after))
        return
    event.status = WebhookEvent.Status.APPLIED if handlers else WebhookEvent.Status.IGNORED
    event.note = "; ".join(notes)[:2000]
    event.last_error = ""
    event.next_attempt_at = None
    event.processed_at = timezone.now()


def _apply_next(object_id: str, *, event_id: int, retry_now: bool) -> tuple[WebhookEvent | None, datetime | None]:
    """Apply the oldest open event of ``object_id`` (or event ``event_id`` alone when it has no object)."""
    with transaction.atomic():
        lock_inbox_object(object_id)
        if object_id:
            event = _open_events(object_id).first()
        else:
            alone = WebhookEvent.objects.filter(pk=event_id, status__in=WebhookEvent.PENDING)
            event = alone.select_for_update().first()
        if event is None:
            return None, None
        due = event.next_attempt_at
        if event.status == WebhookEvent.Status.RETRYING and due is not None and due > timezone.now() and not retry_now:
            return None, due
        _run(event, retry_now=retry_now)
        event.save(update_fields=["status", "note", "attempts", "last_error", "next_attempt_at", "processed_at"])
    logger.info("clerk webhook %s (%s) %s", event.svix_id, event.type, event.status)
    return event, None


def apply_object_events(*, event_id: int, retry_now: bool = False) -> Drained:
    """Apply, in order, the open events of the Clerk object event ``event_id`` is about.

    ``retry_now`` (the immediate task backend, which cannot defer a retry) retries a failing event at once, up to
    ``IMMEDIATE_ATTEMPTS`` in all, then parks it.
    """
    object_id = WebhookEvent.objects.filter(pk=event_id).values_list("object_id", flat=True).first()
    if object_id is None:
        return Drained()
    applied = failed = 0
    while True:
        event, waiting_until = _apply_next(object_id, event_id=event_id, retry_now=retry_now)
        if event is None:
            return Drained(applied, failed, waiting_until)
        if event.status == WebhookEvent.Status.RETRYING:
            failed += 1
            if not retry_now:
                return Drained(applied, failed, event.next_attempt_at)
        elif event.status == WebhookEvent.Status.PARKED:
            failed += 1
        else:
            applied += 1
        if not object_id and event.status != WebhookEvent.Status.RETRYING:
            return Drained(applied, failed)


def drain_inbox(*, from_newest: bool = False) -> Iterator[tuple[int, Drained]]:
    """Drain every Clerk object with open events, in the order their oldest open event arrived (or the reverse).

    Yields (the event the object's drain started from, what it did), so the caller can schedule a retry. Events
    stored while this runs are drained here if their object is still ahead, and by the run they enqueued otherwise.
    A second worker drains ``from_newest`` at the same time: the two meet in the middle, and where both reach one
    object the object's lock makes the later one wait and then find nothing left.
    """
    wait_for_inbox_arrivals()
    firsts: dict[str, int] = {}
    open_rows = WebhookEvent.objects.filter(status__in=WebhookEvent.PENDING).order_by("id")
    for pk, object_id in open_rows.values_list("pk", "object_id"):
        firsts.setdefault(object_id or f"#{pk}", pk)
    starts = list(firsts.values())
    for pk in reversed(starts) if from_newest else starts:
        yield pk, apply_object_events(event_id=pk)
