"""Resend (a new Clerk invitation, new link and expiry, same local id) and revoke, and the races between them: the
loser of a resend racing a revoke hears ``invitation_not_pending``, and a revoke that finds a newer link under the
row lock revokes it too (docs/workspace-invitations.md, "Resend" and "Revoke").
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkOrganizationInvitation
from accounts.models import User, Workspace
from core.audit import audit
from core.budgets import reserve_resend, spending
from core.models import AuditEvent
from core.request_id import current_request_id
from invitations.cooldown import check_resend_cooldown
from invitations.errors import AlreadyMember, InvitationNotPending
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services.applying import _after_apply, _apply_outcomes
from invitations.services.from_clerk import _mark_accepted_from_clerk
from invitations.services.sending import OutcomeKind, _Entry, _send_to_clerk
from invitations.services.shared import (
    AUDIT_TARGET,
    REASON_NO_RESPONSE,
    REASON_RATE_LIMITED,
    SEND_LEASE,
    _expiry,
    _invitation_details,
    _is_org_admin,
    _reason_code,
    _require_invite_permission,
)

logger = logging.getLogger(__name__)


# A revoke that finds a new Clerk link under the row lock (a resend finished meanwhile) revokes that one too, at most
# this many times.
REVOKE_ATTEMPTS = 3


def _lock(invitation: WorkspaceInvitation) -> WorkspaceInvitation:
    return WorkspaceInvitation.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=invitation.pk)


def _not_pending(row: WorkspaceInvitation) -> InvitationNotPending:
    return InvitationNotPending(
        f"This invitation is {row.effective_status}; only a pending invitation can be resent or revoked.",
        extra={"status": row.effective_status},
    )


def invitation_resend(*, invitation: WorkspaceInvitation, actor: User) -> WorkspaceInvitation:
    """Revoke the current Clerk invitation and create a new one (new link, new expiry); the local id stays.

    Only an open invitation (``invitation_not_pending`` otherwise). Clerk's 429 → the row stays queued and is sent
    automatically; ``ClerkRateLimited`` (429) tells the caller. Clerk unavailable → the gateway's error; the row is
    left pending (nothing revoked yet) or, once the old link is revoked, queued for the background sender.
    """
    workspace = invitation.workspace
    _require_invite_permission(user=actor, workspace=workspace)
    now = timezone.now()
    with transaction.atomic():
        row = _lock(invitation)
        if not row.is_open:
            raise _not_pending(row)
        check_resend_cooldown(row, now=now)
        waiting = row.status == InvitationStatus.QUEUED and row.retry_at is not None and row.retry_at > now
        if waiting and not row.failure_reason:
            # Leased by a send in progress (someone just invited it): that send is the resend.
            return row
        if waiting and row.retry_at is not None and _reason_code(row.failure_reason) == REASON_RATE_LIMITED:
            # Clerk asked us to wait: honour Retry-After rather than ask again (the queued send will go then).
            raise clerk.ClerkRateLimited(
                "Clerk's rate limit was reached: the invitation will be sent automatically.",
                retry_after=math.ceil((row.retry_at - now).total_seconds()),
            )
        # Reserved under the lock and before the claim: a refusal (429) leaves the row as it was.
        reservation = reserve_resend(workspace_id=workspace.pk, user_id=actor.pk)
        old_clerk_id = row.clerk_invitation_id
        previous = (row.status, row.retry_at, row.expires_at)
        check_first = _reason_code(row.failure_reason) == REASON_NO_RESPONSE
        # While we talk to Clerk the row is queued, leased, and no longer linked to the old Clerk id, so the old
        # invitation's `revoked` webhook does not touch it.
        row.status = InvitationStatus.QUEUED
        row.clerk_invitation_id = None
        row.retry_at = now + SEND_LEASE
        row.expires_at = _expiry(now)  # the resent invitation's deadline, also while it waits in the queue
        row.save(update_fields=["status", "clerk_invitation_id", "retry_at", "expires_at", "updated_at"])

    with spending(reservation):
        return _resend_in_clerk(row, actor=actor, old_clerk_id=old_clerk_id, previous=previous, check_first=check_first)


def _resend_in_clerk(
    row: WorkspaceInvitation,
    *,
    actor: User,
    old_clerk_id: str | None,
    previous: tuple[str, datetime | None, datetime],
    check_first: bool,
) -> WorkspaceInvitation:
    """The Clerk half of ``invitation_resend``, on the row it claimed: revoke the old link, create the new one."""
    workspace = row.workspace
    requesting_user_id = actor.clerk_user_id if _is_org_admin(user=actor, workspace=workspace) else None
    if old_clerk_id:
        try:
            _revoke_in_clerk(workspace, old_clerk_id, requesting_user_id=requesting_user_id)
        except _AcceptedInClerk as accepted:
            _restore(row, clerk_invitation_id=old_clerk_id, previous=previous)
            mark = _mark_accepted_from_clerk(row, accepted.invitation)
            raise _not_pending(mark) from None
        except clerk.ClerkError:
            _restore(row, clerk_invitation_id=old_clerk_id, previous=previous)
            raise
    current = WorkspaceInvitation.objects.select_related("workspace").get(pk=row.pk)
    if current.status != InvitationStatus.QUEUED or current.clerk_invitation_id is not None:
        # Revoked (or accepted) while the old link was being revoked: that change won; no new link is made.
        _audit_resend_lost(current, actor=actor, old_clerk_id=old_clerk_id)
        raise _not_pending(current)

    entry = _Entry(
        invitation_id=row.pk,
        email=row.email,
        role=row.role,
        inviter_user_id=requesting_user_id,
        check_first=check_first,
    )
    known = dict(User.objects.filter(email=row.email).values_list("clerk_user_id", "email"))
    outcomes, _ = _send_to_clerk({workspace.clerk_organization_id: [entry]}, emails_by_clerk_user_id=known)
    report = _apply_outcomes(outcomes, mode="retry", now=timezone.now())
    applied = report.applied[row.pk]
    result = applied.row or row
    result.refresh_from_db()
    outcome = applied.outcome
    if not applied.changed and result.status != InvitationStatus.PENDING:
        # Revoked (by an admin or in Clerk) or accepted while Clerk was asked: the resend lost. A link Clerk made
        # meanwhile is revoked again by `_after_apply`; the caller hears `invitation_not_pending`, never a 200.
        _audit_resend_lost(result, actor=actor, old_clerk_id=old_clerk_id)
        _after_apply(report)
        raise _not_pending(result)
    ok = outcome.kind in (OutcomeKind.CREATED, OutcomeKind.ADOPTED)
    audit(
        "workspace_invitation.resent",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.SUCCESS if ok else AuditEvent.Outcome.FAILED,
        details=_invitation_details(
            result, result=outcome.kind, code=outcome.code, previous_clerk_invitation_id=old_clerk_id or ""
        ),
    )
    logger.info(
        "workspace %s: invitation %s resent by user %s (request %s): %s",
        workspace.pk,
        row.pk,
        actor.pk,
        current_request_id() or "-",
        outcome.kind,
        extra={"actor_id": actor.pk, "action": "workspace_invitation.resent"},
    )
    _after_apply(report)
    if ok or not applied.changed:
        return result
    if outcome.kind == OutcomeKind.RATE_LIMITED:
        raise clerk.ClerkRateLimited(
            "Clerk's rate limit was reached: the invitation will be re-sent automatically.",
            retry_after=outcome.retry_after,
        )
    if outcome.kind == OutcomeKind.NO_RESPONSE:
        raise clerk.ClerkUnavailable("Clerk did not answer in time: the invitation will be checked and re-sent.")
    if outcome.kind == OutcomeKind.UNAVAILABLE:
        raise outcome.error if outcome.error is not None else clerk.ClerkUnavailable()
    if outcome.kind == OutcomeKind.MEMBER:
        raise AlreadyMember(f"{row.email} is already a member of this workspace.")
    raise clerk.ClerkRejected(outcome.message or None, clerk_code=outcome.code)


def _audit_resend_lost(row: WorkspaceInvitation, *, actor: User, old_clerk_id: str | None) -> None:
    audit(
        "workspace_invitation.resent",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.FAILED,
        details=_invitation_details(
            row, result="not_pending", code=InvitationNotPending.code, previous_clerk_invitation_id=old_clerk_id or ""
        ),
    )


def _restore(
    row: WorkspaceInvitation,
    *,
    clerk_invitation_id: str,
    previous: tuple[str, datetime | None, datetime],
) -> None:
    """Undo the resend's claim: Clerk was not changed, so the row goes back to what it was (if still ours)."""
    status, retry_at, expires_at = previous
    WorkspaceInvitation.objects.filter(pk=row.pk, status=InvitationStatus.QUEUED, clerk_invitation_id=None).update(
        status=status, clerk_invitation_id=clerk_invitation_id, retry_at=retry_at, expires_at=expires_at
    )


class _AcceptedInClerk(Exception):
    def __init__(self, invitation: ClerkOrganizationInvitation) -> None:
        super().__init__(invitation.id)
        self.invitation = invitation


def _revoke_in_clerk(workspace: Workspace, clerk_invitation_id: str, *, requesting_user_id: str | None) -> str:
    """Revoke in Clerk; returns Clerk's resulting status ("revoked", or "expired" when it had run out).

    Already gone (404) or already revoked counts as done; already accepted raises ``_AcceptedInClerk``.
    """
    try:
        clerk.revoke_organization_invitation(
            workspace.clerk_organization_id, clerk_invitation_id, requesting_user_id=requesting_user_id
        )
    except clerk.ClerkNotFound:
        return InvitationStatus.REVOKED
    except clerk.ClerkRejected as exc:
        if exc.clerk_code != "organization_invitation_not_pending":
            raise
        remote = clerk.get_organization_invitation(workspace.clerk_organization_id, clerk_invitation_id)
        if remote.status == "accepted":
            raise _AcceptedInClerk(remote) from None
        return InvitationStatus.EXPIRED if remote.status == "expired" else InvitationStatus.REVOKED
    return InvitationStatus.REVOKED


def invitation_revoke(*, invitation: WorkspaceInvitation, actor: User) -> WorkspaceInvitation:
    """Revoke in Clerk (as the actor when they are an organization admin) and locally. Idempotent: an already
    revoked invitation comes back unchanged without a Clerk call; accepted/expired/failed → ``invitation_not_pending``.

    When Clerk says the invitation is no longer pending, we take its word: accepted → recorded as accepted (and
    ``invitation_not_pending``); revoked or gone → revoked here too.
    """
    workspace = invitation.workspace
    _require_invite_permission(user=actor, workspace=workspace)
    row = WorkspaceInvitation.objects.select_related("workspace").get(pk=invitation.pk)
    if row.status == InvitationStatus.REVOKED:
        return row
    if not row.is_open:
        raise _not_pending(row)
    requesting_user_id = actor.clerk_user_id if _is_org_admin(user=actor, workspace=workspace) else None
    clerk_ids = [row.clerk_invitation_id] if row.clerk_invitation_id else []
    if not clerk_ids and _reason_code(row.failure_reason) == REASON_NO_RESPONSE:
        # Clerk may hold it though we never heard back: find it so the link dies too.
        found = clerk.list_organization_invitations(
            workspace.clerk_organization_id, status="pending", email_address=row.email, limit=1
        )
        clerk_ids = [invitation.id for invitation in found]
    revoked: set[str] = set()
    for _ in range(REVOKE_ATTEMPTS):
        for clerk_invitation_id in clerk_ids:
            try:
                _revoke_in_clerk(workspace, clerk_invitation_id, requesting_user_id=requesting_user_id)
            except _AcceptedInClerk as accepted:
                raise _not_pending(_mark_accepted_from_clerk(row, accepted.invitation)) from None
            revoked.add(clerk_invitation_id)
        outcome = _revoke_locally(row, actor=actor, revoked=revoked)
        if isinstance(outcome, WorkspaceInvitation):
            row = outcome
            break
        clerk_ids = [outcome]  # a resend linked a new Clerk invitation meanwhile: that link dies too
    else:
        raise InvitationNotPending("This invitation keeps changing; try again.", extra={"status": row.status})
    logger.info(
        "workspace %s: invitation %s revoked by user %s (request %s)",
        workspace.pk,
        row.pk,
        actor.pk,
        current_request_id() or "-",
        extra={"actor_id": actor.pk, "action": "workspace_invitation.revoked"},
    )
    return row


@transaction.atomic
def _revoke_locally(row: WorkspaceInvitation, *, actor: User, revoked: set[str]) -> WorkspaceInvitation | str:
    """The local half of ``invitation_revoke``, under the row lock: the revoked row, or the Clerk id of a link
    made since we looked (a resend that finished meanwhile), which must be revoked in Clerk first."""
    now = timezone.now()
    row = _lock(row)
    if row.status == InvitationStatus.REVOKED:  # Clerk's webhook (or a concurrent revoke) was first
        if row.revoked_by_id is None:
            row.revoked_by, row.revoked_by_email = actor, actor.email or ""
            row.save(update_fields=["revoked_by", "revoked_by_email", "updated_at"])
        return row
    if row.status not in OPEN_STATUSES:
        raise _not_pending(row)
    if row.clerk_invitation_id and row.clerk_invitation_id not in revoked:
        return row.clerk_invitation_id
    row.status = InvitationStatus.REVOKED
    row.revoked_at = now
    row.revoked_by = actor
    row.revoked_by_email = actor.email or ""
    row.retry_at = None
    row.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_by_email", "retry_at", "updated_at"])
    audit(
        "workspace_invitation.revoked",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="revoked"),
    )
    return row
