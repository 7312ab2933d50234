"""Background tasks of accounts (``django.tasks``; django-tasks-db workers run them in production,
``manage.py db_worker``; the immediate backend runs them at once in the demo and most tests).

``drain_webhook_inbox`` is the one task deliveries enqueue with a worker, coalesced: a delivery adds a run only
while fewer than two are waiting (one from the oldest object, one from the newest;
``core.jobs.enqueue_unless_waiting``).
``apply_webhook_events`` applies one object's events (the immediate backend's per-delivery task, retries, replays
and ``manage.py webhook_inbox drain``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.tasks import task

if TYPE_CHECKING:
    from accounts.webhook_apply import Drained


def _schedule_retry(event_id: int, drained: Drained) -> None:
    if drained.failed and drained.waiting_until is not None:
        # Only the drain that saw the failure schedules its retry; the object's later events wait for it.
        apply_webhook_events.using(run_after=drained.waiting_until).enqueue(event_id)


@task
def apply_webhook_events(event_id: int) -> dict[str, int]:
    """Apply the open inbox events of the Clerk object that stored event ``event_id`` is about, in order."""
    from accounts.webhook_apply import apply_object_events

    can_defer = apply_webhook_events.get_backend().supports_defer
    drained = apply_object_events(event_id=event_id, retry_now=not can_defer)
    if can_defer:
        _schedule_retry(event_id, drained)
    return {"applied": drained.applied, "failed": drained.failed}


# What deliveries keep waiting: one drain from the oldest object and one from the newest, so two workers share a
# backlog (the two meet in the middle; ``accounts.webhook_apply.drain_inbox``).
DRAIN_RUNS: tuple[dict[str, bool], ...] = ({}, {"from_newest": True})


@task
def drain_webhook_inbox(from_newest: bool = False) -> dict[str, int]:
    """Apply every open inbox event, object by object, each object's in order (what deliveries enqueue)."""
    from accounts.webhook_apply import drain_inbox

    applied = failed = objects = 0
    for event_id, drained in drain_inbox(from_newest=from_newest):
        objects += 1
        applied, failed = applied + drained.applied, failed + drained.failed
        _schedule_retry(event_id, drained)
    return {"applied": applied, "failed": failed, "objects": objects}
