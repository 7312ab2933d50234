"""Draining the queue: send the ``queued`` invitations whose ``retry_at`` has come (Clerk's Retry-After, a backoff,
or a dead lease), claimed with ``SKIP LOCKED`` so concurrent runs never send one twice; the
``send_queued_invitations`` command and task call this.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User, WorkspaceMembership
from accounts.roles import WorkspaceRole
from core.audit import audit_many
from core.models import AuditEvent
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services.applying import _after_apply, _apply_outcomes, _ApplyReport
from invitations.services.sending import OutcomeKind, _Entry, _send_to_clerk
from invitations.services.shared import REASON_NO_RESPONSE, SEND_LEASE, _audit_event, _invitation_details, _reason_code

logger = logging.getLogger(__name__)


SEND_QUEUED_BATCH = 500


def invitations_send_queued(*, now: datetime | None = None, limit: int = SEND_QUEUED_BATCH) -> int:
    """Send queued invitations whose ``retry_at`` has come (Clerk's Retry-After, a backoff, or a dead lease).

    Safe to run at any time and concurrently: rows are claimed with a lease (``SKIP LOCKED`` on PostgreSQL) before
    Clerk is called, and a row whose earlier attempt got no answer is looked up in Clerk before it is sent again.
    Returns how many became pending.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            WorkspaceInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=InvitationStatus.QUEUED, expires_at__gt=now)
            .filter(Q(retry_at__lte=now) | Q(retry_at__isnull=True))
            .select_related("workspace", "inviter")
            .order_by("retry_at", "pk")[:limit]
        )
        if not rows:
            return 0
        WorkspaceInvitation.objects.filter(pk__in=[row.pk for row in rows]).update(
            retry_at=now + SEND_LEASE, updated_at=now
        )
    report = _send_rows(rows, now=now)
    events = [
        _audit_event(
            "workspace_invitation.sent",
            actor=None,
            target_id=pk,
            details=_invitation_details(applied.row, result=applied.outcome.kind, code=applied.outcome.code)
            if applied.row is not None
            else {"result": applied.outcome.kind},
            outcome=AuditEvent.Outcome.SUCCESS
            if applied.outcome.kind in (OutcomeKind.CREATED, OutcomeKind.ADOPTED)
            else AuditEvent.Outcome.FAILED,
        )
        for pk, applied in report.applied.items()
    ]
    audit_many(events)
    sent = sum(
        1
        for applied in report.applied.values()
        if applied.changed and applied.outcome.kind in (OutcomeKind.CREATED, OutcomeKind.ADOPTED)
    )
    logger.info("queued invitations: %s of %s sent", sent, len(rows))
    _after_apply(report)
    return sent


def _send_rows(rows: list[WorkspaceInvitation], *, now: datetime) -> _ApplyReport:
    """Send claimed queued rows (any workspaces) and apply the outcome in ``retry`` mode."""
    admin_pairs = set(
        WorkspaceMembership.objects.filter(
            role=WorkspaceRole.ADMIN,
            workspace_id__in={row.workspace_id for row in rows},
            user_id__in={row.inviter_id for row in rows if row.inviter_id is not None},
        ).values_list("workspace_id", "user_id")
    )
    groups: dict[str, list[_Entry]] = {}
    for row in rows:
        inviter = row.inviter
        is_admin = inviter is not None and (row.workspace_id, inviter.pk) in admin_pairs
        groups.setdefault(row.workspace.clerk_organization_id, []).append(
            _Entry(
                invitation_id=row.pk,
                email=row.email,
                role=row.role,
                inviter_user_id=inviter.clerk_user_id if is_admin and inviter is not None else None,
                check_first=_reason_code(row.failure_reason) == REASON_NO_RESPONSE,
            )
        )
    known = dict(User.objects.filter(email__in={row.email for row in rows}).values_list("clerk_user_id", "email"))
    outcomes, _ = _send_to_clerk(groups, emails_by_clerk_user_id=known)
    return _apply_outcomes(outcomes, mode="retry", now=max(now, timezone.now()))


def next_queued_retry_at() -> datetime | None:
    """When the earliest queued invitation is due (for re-scheduling the task on backends that can defer)."""
    row = (
        WorkspaceInvitation.objects.filter(status=InvitationStatus.QUEUED, retry_at__isnull=False)
        .order_by("retry_at")
        .values_list("retry_at", flat=True)
        .first()
    )
    return row
