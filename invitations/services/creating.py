"""Invite many: fold and validate up to 100 addresses, insert a ``queued`` row per new one (the one-open-invitation
constraint decides races), send them to Clerk in chunks and report one ``InviteResult`` per address, inside the
sender's reservation of the Clerk budget. The result is what the invitation is when the request ends: one revoked
while Clerk was asked reports ``revoked`` (docs/workspace-invitations.md, "Invite").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from core.audit import audit_many
from core.budgets import reserve_invite, spending
from core.emails import normalize_email_or_none
from core.models import AuditEvent
from core.request_id import current_request_id
from invitations.errors import NoEmails, TooManyEmails
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services.applying import _after_apply, _Applied, _apply_outcomes, _ApplyReport
from invitations.services.expiry import _expire
from invitations.services.sending import OutcomeKind, _Entry, _Outcome, _send_to_clerk
from invitations.services.shared import (
    REASON_UNAVAILABLE,
    SEND_LEASE,
    _audit_event,
    _expiry,
    _is_org_admin,
    _require_invite_permission,
    _workspace_role,
)

logger = logging.getLogger(__name__)


MAX_EMAILS = 100
# Raw entries accepted before folding (a pasted list with many duplicates is fine; megabytes of them are not).
MAX_RAW_EMAILS = 1000
MAX_EMAIL_LENGTH = 320


class InviteResultKind(StrEnum):
    """``InviteResult.result`` of ``invitations_create``: what each address is when the request ends."""

    INVITED = "invited"
    ALREADY_MEMBER = "already_member"
    ALREADY_INVITED = "already_invited"
    INVALID_EMAIL = "invalid_email"
    QUEUED = "queued"  # Clerk pushed back (429) or did not answer: sent automatically later
    FAILED = "failed"
    # Revoked (by an admin or in Clerk) while Clerk was being asked: whatever Clerk answered no longer applies.
    REVOKED = "revoked"


# Valid addresses that never reached Clerk as a new invitation: their reserved unit is given back. Queued ones stay
# counted: Clerk already pushed back, and the background sender will spend them.
_UNSENT_RESULTS = frozenset({InviteResultKind.ALREADY_MEMBER, InviteResultKind.ALREADY_INVITED})

_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class InviteResult:
    email: str  # normalized (lowercased, stripped); the raw text for invalid_email
    result: str  # an InviteResultKind (a checked list in invitations.bulk also reports invite_check's results)
    message: str  # a sentence for the UI
    invitation: WorkspaceInvitation | None = None
    code: str = ""  # Clerk's error code for "failed"


def parse_email_list(text: str) -> list[str]:
    """Addresses from a textarea: separated by commas, semicolons, spaces or newlines (``<a@b.c>`` unwrapped).

    Returns the raw tokens; ``invitations_create`` normalizes, folds duplicates and validates them.
    """
    tokens = (token.strip().strip("<>").strip() for token in _SEPARATORS.split(text or ""))
    return [token for token in tokens if token]


def _normalize(email: str) -> str:
    """``core.emails.normalize_email``; an address it refuses stays as typed (lowercased), to be reported invalid."""
    return normalize_email_or_none(email) or email.strip().lower()


def _is_valid_email(email: str) -> bool:
    return normalize_email_or_none(email) == email


_MESSAGES = {
    InviteResultKind.INVITED: "Invitation sent.",
    InviteResultKind.ALREADY_MEMBER: "Already a member of this workspace.",
    InviteResultKind.INVALID_EMAIL: "Not a valid email address.",
}


def _queued_message(outcome: _Outcome) -> str:
    if outcome.kind == OutcomeKind.RATE_LIMITED:
        minutes = max(1, round(outcome.retry_after / 60))
        return f"Clerk's rate limit was reached: the invitation will be sent automatically in about {minutes} min."
    return "Clerk did not answer in time: the invitation will be checked and sent automatically."


def _already_invited_message(row: WorkspaceInvitation) -> str:
    if row.status == InvitationStatus.QUEUED:
        return "Already invited: the invitation is queued and will be sent shortly."
    return "Already invited: an invitation is pending."


def _moved_result(email: str, row: WorkspaceInvitation) -> InviteResult:
    """The row moved while Clerk was asked (``_Applied.changed`` is False): its new state is the result."""
    if row.status == InvitationStatus.REVOKED:
        return InviteResult(
            email, InviteResultKind.REVOKED, "Revoked while it was being sent: the invitation link does not work.", row
        )
    if row.status == InvitationStatus.ACCEPTED:
        return InviteResult(
            email, InviteResultKind.ALREADY_MEMBER, "Joined the workspace while the invitation was being sent.", row
        )
    if row.status == InvitationStatus.PENDING:
        return InviteResult(email, InviteResultKind.INVITED, _MESSAGES[InviteResultKind.INVITED], row)
    return InviteResult(
        email, InviteResultKind.FAILED, f"The invitation became {row.status} while it was being sent.", row, row.status
    )


def _result_for(email: str, applied: _Applied) -> InviteResult:
    outcome, row = applied.outcome, applied.row
    if not applied.changed and row is not None:
        return _moved_result(email, row)
    if outcome.kind == OutcomeKind.CREATED:
        return InviteResult(email, InviteResultKind.INVITED, _MESSAGES[InviteResultKind.INVITED], row)
    if outcome.kind == OutcomeKind.ADOPTED:
        return InviteResult(
            email, InviteResultKind.ALREADY_INVITED, "Already invited: Clerk had a pending invitation.", row
        )
    if outcome.kind == OutcomeKind.MEMBER:
        return InviteResult(email, InviteResultKind.ALREADY_MEMBER, _MESSAGES[InviteResultKind.ALREADY_MEMBER], row)
    if outcome.kind in (OutcomeKind.RATE_LIMITED, OutcomeKind.NO_RESPONSE):
        return InviteResult(email, InviteResultKind.QUEUED, _queued_message(outcome), row)
    if outcome.kind == OutcomeKind.UNAVAILABLE:
        code = outcome.code or REASON_UNAVAILABLE
        return InviteResult(email, InviteResultKind.FAILED, "Clerk is unavailable: try again in a moment.", row, code)
    message = f"Clerk refused this invitation: {outcome.message}" if outcome.message else "Clerk refused it."
    return InviteResult(email, InviteResultKind.FAILED, message, row, outcome.code)


@dataclass(frozen=True)
class _Prepared:
    """Per normalized email after the local step: a row to send, an open row, or a member."""

    new_rows: dict[str, WorkspaceInvitation]
    open_rows: dict[str, WorkspaceInvitation]
    members: set[str]


def _fold(emails: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(normalized, raw, valid) per distinct address, in input order; blanks dropped, case variants folded."""
    if isinstance(emails, str):
        emails = parse_email_list(emails)
    if len(emails) > MAX_RAW_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time.")
    seen: set[str] = set()
    folded: list[tuple[str, str, bool]] = []
    for raw in emails:
        text = str(raw).strip()
        email = _normalize(text)
        if not email or email in seen:
            continue
        seen.add(email)
        folded.append((email, text, _is_valid_email(email)))
    return folded


def _insert_or_find(row: WorkspaceInvitation) -> tuple[WorkspaceInvitation, bool]:
    """Insert one queued row, or return the open row that beat it to the constraint: ``(row, inserted)``."""
    for _ in range(3):
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            return row, True
        except IntegrityError:
            row.pk = None
            existing = (
                WorkspaceInvitation.objects.filter(workspace_id=row.workspace_id, status__in=OPEN_STATUSES)
                .alias(email_lower=Lower("email"))
                .filter(email_lower=row.email)
                .first()
            )
            if existing is not None:
                return existing, False
    raise IntegrityError(f"could not insert or find the open invitation of workspace {row.workspace_id}")


@transaction.atomic
def _prepare(
    *, workspace: Workspace, inviter: User, emails: list[str], role: WorkspaceRole, now: datetime
) -> _Prepared:
    """The local step, in one transaction that commits before any Clerk call (module docstring, step 1)."""
    if not emails:
        return _Prepared({}, {}, set())
    _expire(
        WorkspaceInvitation.objects.past_expiry(now=now)
        .filter(workspace=workspace)
        .alias(email_lower=Lower("email"))
        .filter(email_lower__in=emails),
        now=now,
    )
    members = set(
        WorkspaceMembership.objects.filter(workspace=workspace)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=emails)
        .values_list("email_lower", flat=True)
    )
    candidates = [email for email in emails if email not in members]
    open_rows: dict[str, WorkspaceInvitation] = {
        row.email.lower(): row
        for row in WorkspaceInvitation.objects.filter(workspace=workspace, status__in=OPEN_STATUSES)
        .alias(email_lower=Lower("email"))
        .filter(email_lower__in=candidates)
    }
    fresh = [
        WorkspaceInvitation(
            workspace=workspace,
            email=email,
            role=role,
            status=InvitationStatus.QUEUED,
            inviter=inviter,
            inviter_email=inviter.email or "",
            inviter_name=inviter.full_name if inviter.full_name != inviter.email else "",
            expires_at=_expiry(now),
            retry_at=now + SEND_LEASE,  # the lease: ours until Clerk answers
        )
        for email in candidates
        if email not in open_rows
    ]
    new_rows: dict[str, WorkspaceInvitation] = {}
    try:
        with transaction.atomic():
            new_rows = {row.email: row for row in WorkspaceInvitation.objects.bulk_create(fresh)}
    except IntegrityError:
        # Lost a race on the constraint (a concurrent invite of the same address): row by row, to see which.
        for row in fresh:
            found, inserted = _insert_or_find(row)
            if inserted:
                new_rows[row.email] = found
            else:
                open_rows[row.email] = found
    return _Prepared(new_rows=new_rows, open_rows=open_rows, members=members)


def invitations_create(
    *,
    workspace: Workspace,
    inviter: User,
    emails: Sequence[str],
    role: str,
) -> list[InviteResult]:
    """Invite 1..100 addresses to ``workspace`` with one role; one ``InviteResult`` per distinct address, in order.

    No transaction is held while Clerk is called (module docstring). Raises ``PermissionDenied``, ``InvalidRole``,
    ``NoEmails``/``TooManyEmails``; and the gateway's ``ClerkUnavailable``/``ClerkError`` when Clerk answered none
    of the addresses that needed it (their rows are deleted, or kept queued when Clerk may hold them).
    """
    _require_invite_permission(user=inviter, workspace=workspace)
    workspace_role = _workspace_role(role)
    folded = _fold(emails)
    if not folded:
        raise NoEmails()
    if len(folded) > MAX_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time ({len(folded)} given).")
    valid = [email for email, _, is_valid in folded if is_valid]
    # Invalid addresses never reach Clerk, so they are not reserved; the rest are, before any row is written.
    reservation = reserve_invite(emails=len(valid), workspace_id=workspace.pk, user_id=inviter.pk)
    with spending(reservation):
        results = _invite(workspace=workspace, inviter=inviter, folded=folded, valid=valid, role=workspace_role)
        reservation.unused(sum(1 for result in results if result.result in _UNSENT_RESULTS))
    return results


def _invite(
    *,
    workspace: Workspace,
    inviter: User,
    folded: list[tuple[str, str, bool]],
    valid: list[str],
    role: WorkspaceRole,
) -> list[InviteResult]:
    """The invite itself, inside the reservation (``invitations_create``)."""
    workspace_role = role
    now = timezone.now()
    prepared = _prepare(workspace=workspace, inviter=inviter, emails=valid, role=workspace_role, now=now)

    report = _ApplyReport()
    if prepared.new_rows:
        inviter_user_id = inviter.clerk_user_id if _is_org_admin(user=inviter, workspace=workspace) else None
        entries = [
            _Entry(invitation_id=row.pk, email=row.email, role=row.role, inviter_user_id=inviter_user_id)
            for row in prepared.new_rows.values()
        ]
        known = dict(User.objects.filter(email__in=list(prepared.new_rows)).values_list("clerk_user_id", "email"))
        outcomes, _ = _send_to_clerk({workspace.clerk_organization_id: entries}, emails_by_clerk_user_id=known)
        report = _apply_outcomes(outcomes, mode="create", now=timezone.now())

    results: list[InviteResult] = []
    for email, raw, is_valid in folded:
        if not is_valid:
            results.append(InviteResult(raw, InviteResultKind.INVALID_EMAIL, _MESSAGES[InviteResultKind.INVALID_EMAIL]))
        elif email in prepared.members:
            results.append(
                InviteResult(email, InviteResultKind.ALREADY_MEMBER, _MESSAGES[InviteResultKind.ALREADY_MEMBER])
            )
        elif email in prepared.open_rows:
            row = prepared.open_rows[email]
            results.append(InviteResult(email, InviteResultKind.ALREADY_INVITED, _already_invited_message(row), row))
        else:
            row = prepared.new_rows[email]
            results.append(_result_for(email, report.applied[row.pk]))

    _record_invite(workspace=workspace, inviter=inviter, role=workspace_role, results=results)
    _after_apply(report)
    _raise_if_clerk_answered_nothing(report)
    return results


def _record_invite(
    *,
    workspace: Workspace,
    inviter: User,
    role: WorkspaceRole,
    results: list[InviteResult],
) -> None:
    events = []
    for result in results:
        row = result.invitation
        details: dict[str, Any] = {
            "email": result.email,
            "role": row.role if row is not None else role.value,
            "result": result.result,
            "workspace_id": workspace.pk,
            "inviter_id": inviter.pk,
        }
        if result.code:
            details["code"] = result.code
        if row is not None and row.clerk_invitation_id:
            details["clerk_invitation_id"] = row.clerk_invitation_id
        outcome = (
            AuditEvent.Outcome.FAILED
            if result.result in (InviteResultKind.FAILED, InviteResultKind.INVALID_EMAIL)
            else AuditEvent.Outcome.SUCCESS
        )
        events.append(
            _audit_event(
                "workspace_invitation.invite",
                actor=inviter,
                target_id=row.pk if row is not None and row.pk else "",
                details=details,
                outcome=outcome,
            )
        )
    audit_many(events)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
    logger.info(
        "workspace %s: invitations by user %s (request %s): %s",
        workspace.pk,
        inviter.pk,
        current_request_id() or "-",
        summary,
        extra={"actor_id": inviter.pk, "action": "workspace_invitation.invite"},
    )


def _raise_if_clerk_answered_nothing(report: _ApplyReport) -> None:
    """Every address that went to Clerk failed for lack of Clerk: the request failed; say so with Clerk's error."""
    outcomes = [applied.outcome for applied in report.applied.values()]
    if not outcomes or any(
        outcome.kind not in (OutcomeKind.UNAVAILABLE, OutcomeKind.NO_RESPONSE) for outcome in outcomes
    ):
        return
    if all(outcome.kind == OutcomeKind.NO_RESPONSE for outcome in outcomes):
        raise clerk.ClerkUnavailable(
            "Clerk did not answer in time. The invitations are kept and will be checked and sent automatically."
        )
    error = next((outcome.error for outcome in outcomes if outcome.error is not None), None)
    raise error if error is not None else clerk.ClerkUnavailable()
