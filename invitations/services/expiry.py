"""Expiry: open invitations past ``expires_at`` become ``expired`` (hourly, and for the addresses of an invite before
it inserts new rows). Clerk expires its own invitations at the same moment, so Clerk is not called.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import audit_many
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services.shared import _audit_event

logger = logging.getLogger(__name__)


def _expire(queryset: QuerySet[WorkspaceInvitation], *, now: datetime) -> int:
    """Mark the open rows of ``queryset`` expired, with one audit event each (call inside a transaction)."""
    rows = list(queryset.select_for_update().only("pk", "email", "role", "workspace_id", "inviter_id", "status"))
    if not rows:
        return 0
    WorkspaceInvitation.objects.filter(pk__in=[row.pk for row in rows], status__in=OPEN_STATUSES).update(
        status=InvitationStatus.EXPIRED, retry_at=None, updated_at=now
    )
    audit_many(
        [
            _audit_event(
                "workspace_invitation.expired",
                actor=None,
                target_id=row.pk,
                details={
                    "email": row.email,
                    "role": row.role,
                    "workspace_id": row.workspace_id,
                    "inviter_id": row.inviter_id,
                    "result": "expired",
                    "previous_status": row.status,
                },
            )
            for row in rows
        ]
    )
    return len(rows)


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark every open invitation past ``expires_at`` expired; returns how many.

    Reads already treat such rows as expired (``effective_status``); this makes the rows say so. Clerk expires its
    own invitations at the same moment, so Clerk is not called.
    """
    now = now or timezone.now()
    with transaction.atomic():
        count = _expire(WorkspaceInvitation.objects.past_expiry(now=now), now=now)
    if count:
        logger.info("expired %s invitations", count)
    return count
