"""Background tasks of accounts (``django.tasks``; django-tasks-db workers run them in production,
``manage.py db_worker``; the immediate backend runs them at once in the demo and most tests)."""

from __future__ import annotations

from django.tasks import task


@task
def apply_webhook_events(event_id: int) -> dict[str, int]:
    """Apply the open inbox events of the Clerk object that stored event ``event_id`` is about, in order."""
    from accounts.webhook_apply import apply_object_events

    can_defer = apply_webhook_events.get_backend().supports_defer
    drained = apply_object_events(event_id=event_id, retry_now=not can_defer)
    if can_defer and drained.failed and drained.waiting_until is not None:
        # Only the drain that saw the failure schedules its retry; the object's later events wait for it.
        apply_webhook_events.using(run_after=drained.waiting_until).enqueue(event_id)
    return {"applied": drained.applied, "failed": drained.failed}
