"""Writing Clerk's answers (step 3 of the package docstring): one transaction per batch that makes rows ``pending``,
``failed`` or ``queued`` for later, leaves alone rows a webhook or an admin moved meanwhile, and then revokes the
stray Clerk invitations of rows revoked meanwhile and schedules the queued sender.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from django.db import transaction

from accounts import clerk
from accounts.clerk_types import clerk_time
from accounts.roles import WORKSPACE_ROLE_FROM_CLERK, WorkspaceRole
from core.jobs import task_named
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services.sending import OutcomeKind, _Outcome
from invitations.services.shared import (
    REASON_NO_RESPONSE,
    REASON_RATE_LIMITED,
    REASON_UNAVAILABLE,
    _expiry,
    _reason,
    _retry_backoff,
)

logger = logging.getLogger(__name__)


ApplyMode = Literal["create", "retry"]


@dataclass
class _Applied:
    row: WorkspaceInvitation | None  # None: the row was deleted (never became an invitation)
    outcome: _Outcome
    changed: bool = True  # False: someone else (webhook, admin) moved the row meanwhile; left as it was


@dataclass
class _ApplyReport:
    applied: dict[int, _Applied] = field(default_factory=dict)
    next_retry_at: datetime | None = None  # earliest retry_at set for a 429
    to_revoke: list[tuple[str, str]] = field(default_factory=list)  # (organization id, Clerk invitation id)


_UPDATE_FIELDS = [
    "status",
    "role",
    "clerk_invitation_id",
    "expires_at",
    "last_sent_at",
    "send_count",
    "failure_reason",
    "retry_at",
    "updated_at",
]


def _apply_outcomes(outcomes: dict[int, _Outcome], *, mode: ApplyMode, now: datetime) -> _ApplyReport:
    """Write Clerk's answers in one transaction (constant number of queries, whatever the number of rows).

    ``create``: rows of emails that never became an invitation (already a member in Clerk, Clerk answered 5xx)
    are deleted. ``retry`` (queued rows, resends): such rows stay and are retried later, or end ``failed``.
    """
    report = _ApplyReport()
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in WorkspaceInvitation.objects.select_for_update(of=("self",))
            .filter(pk__in=list(outcomes))
            .select_related("workspace")
        }
        to_update: list[WorkspaceInvitation] = []
        to_delete: list[int] = []
        for pk, outcome in outcomes.items():
            row = rows.get(pk)
            clerk_invitation = outcome.invitation
            if row is None or row.status != InvitationStatus.QUEUED:
                # Gone, or a webhook/admin moved it meanwhile: theirs is the newer truth. An invitation we just
                # created for a row revoked or expired meanwhile would be a live link nobody tracks: revoke it.
                if clerk_invitation is not None and outcome.kind == OutcomeKind.CREATED:
                    if row is None or row.status in (
                        InvitationStatus.REVOKED,
                        InvitationStatus.EXPIRED,
                        InvitationStatus.FAILED,
                    ):
                        report.to_revoke.append((clerk_invitation.organization_id, clerk_invitation.id))
                    elif row.clerk_invitation_id is None:
                        row.clerk_invitation_id = clerk_invitation.id
                        row.updated_at = now
                        to_update.append(row)
                report.applied[pk] = _Applied(row=row, outcome=outcome, changed=False)
                continue
            row.updated_at = now
            if outcome.kind in (OutcomeKind.CREATED, OutcomeKind.ADOPTED) and clerk_invitation is not None:
                row.status = InvitationStatus.PENDING
                row.clerk_invitation_id = clerk_invitation.id
                row.role = WORKSPACE_ROLE_FROM_CLERK.get(clerk_invitation.role, WorkspaceRole(row.role))
                row.expires_at = clerk_time(clerk_invitation.expires_at) or _expiry(now)
                row.retry_at = None
                row.failure_reason = ""
                if outcome.kind == OutcomeKind.CREATED:
                    row.last_sent_at = now
                    row.send_count += 1
                else:
                    row.last_sent_at = clerk_time(clerk_invitation.created_at) or now
            elif outcome.kind == OutcomeKind.RATE_LIMITED:
                row.retry_at = now + timedelta(seconds=max(1, outcome.retry_after))
                row.failure_reason = _reason(REASON_RATE_LIMITED, f"Clerk asked us to wait {outcome.retry_after} s")
                if report.next_retry_at is None or row.retry_at < report.next_retry_at:
                    report.next_retry_at = row.retry_at
            elif outcome.kind == OutcomeKind.NO_RESPONSE:
                row.retry_at = now + _retry_backoff(row, now)
                row.failure_reason = _reason(REASON_NO_RESPONSE, "Clerk did not answer; checked before re-sending")
            elif outcome.kind == OutcomeKind.UNAVAILABLE and mode == "create":
                to_delete.append(pk)
                report.applied[pk] = _Applied(row=None, outcome=outcome)
                continue
            elif outcome.kind == OutcomeKind.UNAVAILABLE:
                row.retry_at = now + _retry_backoff(row, now)
                row.failure_reason = _reason(REASON_UNAVAILABLE, f"{outcome.code}: {outcome.message}")
            elif outcome.kind == OutcomeKind.MEMBER and mode == "create":
                to_delete.append(pk)
                report.applied[pk] = _Applied(row=None, outcome=outcome)
                continue
            else:  # rejected, or (retry) a member by now
                row.status = InvitationStatus.FAILED
                row.retry_at = None
                row.failure_reason = _reason(outcome.code, outcome.message)
            to_update.append(row)
            report.applied[pk] = _Applied(row=row, outcome=outcome)
        if to_update:
            WorkspaceInvitation.objects.bulk_update(to_update, _UPDATE_FIELDS)
        if to_delete:
            WorkspaceInvitation.objects.filter(pk__in=to_delete).delete()
    return report


def _after_apply(report: _ApplyReport) -> None:
    """Side effects once the rows are written: stray Clerk invitations revoked, the queued sender scheduled."""
    for organization_id, clerk_invitation_id in report.to_revoke:
        try:
            clerk.revoke_organization_invitation(organization_id, clerk_invitation_id)
        except clerk.ClerkError as exc:  # best effort: Clerk expires it anyway; the drift is logged
            logger.warning("could not revoke stray Clerk invitation %s: %s", clerk_invitation_id, exc.code)
    if report.next_retry_at is not None:
        schedule_queued_send(at=report.next_retry_at)


def schedule_queued_send(*, at: datetime) -> None:
    """Enqueue ``send_queued_invitations`` for ``at`` (see the module docstring for backends that cannot defer)."""
    send_queued_invitations = task_named("invitations.send_queued_invitations")
    try:
        if send_queued_invitations.get_backend().supports_defer:
            send_queued_invitations.using(run_after=at).enqueue()
        else:
            send_queued_invitations.enqueue()
    except Exception:  # the periodic command is the backstop; never fail the user's request over scheduling
        logger.exception("could not enqueue send_queued_invitations")
