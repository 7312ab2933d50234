"""Background tasks (Django's ``django.tasks``; django-tasks-db runs them in production, ``manage.py db_worker``).

- ``send_queued_invitations``: sends queued invitations that are due (Clerk's ``Retry-After`` passed, a backoff
  after Clerk failed, or a dead lease). Enqueued with ``run_after`` after a 429 when the backend can defer. It may
  run early or more than once: it re-checks ``retry_at`` and claims rows under a lease, so an early run sends
  nothing and a concurrent run never sends a row twice. On backends that can defer it re-enqueues itself for the
  next due row; on the immediate backend (development, tests) it leaves them to the periodic run.
- ``expire_invitations``: marks open invitations past their expiry.

Periodic runs: schedule ``manage.py send_queued_invitations`` (every minute) and ``manage.py expire_invitations``
(hourly) with cron or the platform's scheduler, or have the scheduler enqueue these tasks. django.tasks has no
scheduler of its own.
"""

from __future__ import annotations

import logging

from django.tasks import task

from core.jobs import register_task
from invitations.services import invitations_expire, invitations_send_queued, next_queued_retry_at

logger = logging.getLogger(__name__)
SEND_QUEUED = "invitations.send_queued_invitations"


@register_task(SEND_QUEUED)
@task
def send_queued_invitations() -> int:
    sent = invitations_send_queued()
    if send_queued_invitations.get_backend().supports_defer:
        next_at = next_queued_retry_at()
        if next_at is not None:
            send_queued_invitations.using(run_after=next_at).enqueue()
    return sent


@task
def expire_invitations() -> int:
    return invitations_expire()
