"""Resend (a fresh Clerk invitation and email, same local id) and revoke, and the races between them: the loser of a
resend racing a revoke hears ``invitation_not_pending``, and a revoke that finds a newer link under the row lock
revokes it too (docs/internal-user-invitations.md, steps 5 and 6).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import clerk
from accounts.models import User
from core.audit import audit
from core.budgets import reserve_staff_invitation, spending
from core.models import AuditEvent
from internal_users.errors import (
    AlreadyInvited,
    AlreadyStaff,
    InvitationNotPending,
    SuperAdminOnly,
)
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services.acceptance import _mark_accepted
from internal_users.services.inviting import _already_a_user, _create_in_clerk, _record_created
from internal_users.services.shared import (
    ACCOUNT_EXISTS_CODES,
    AUDIT_INVITATION,
    _denied,
    _expiry,
    _invitation_details,
    _log,
    _require_manage,
    _require_super_admin_for,
)

# Clerk's answers to revoking an invitation that is already revoked, accepted or expired.
_REVOKE_DONE_CODES = frozenset({"invitation_already_revoked", "invitation_expired"})
_REVOKE_ACCEPTED_CODES = frozenset({"invitation_already_accepted"})
# A revoke that finds a new Clerk link under the row lock (a resend finished meanwhile) revokes that one too, at most
# this many times.
REVOKE_ATTEMPTS = 3


RESENDABLE = frozenset(
    {InternalInvitationStatus.PENDING, InternalInvitationStatus.EXPIRED, InternalInvitationStatus.FAILED}
)


def _check_invitation_action(*, actor: User, row: InternalInvitation, action: str) -> None:
    _require_manage(actor)
    try:
        _require_super_admin_for(actor, row.role)
    except SuperAdminOnly as exc:
        _denied(action, actor=actor, target_type=AUDIT_INVITATION, target_id=row.pk, exc=exc)
        raise


def _revoke_in_clerk(clerk_invitation_id: str) -> str:
    """Revoke in Clerk: "revoked" (also when already revoked, expired or gone) or "accepted"."""
    try:
        clerk.revoke_invitation(clerk_invitation_id)
    except clerk.ClerkNotFound:
        return "revoked"
    except clerk.ClerkRejected as exc:
        if exc.clerk_code in _REVOKE_ACCEPTED_CODES:
            return "accepted"
        if exc.clerk_code in _REVOKE_DONE_CODES:
            return "revoked"
        raise
    return "revoked"


def internal_invitation_resend(*, invitation: InternalInvitation, actor: User) -> InternalInvitation:
    """A fresh Clerk invitation (the old one revoked), a new expiry and a new email; the local id stays.

    Pending, expired and failed invitations can be resent; accepted and revoked ones are ``invitation_not_pending``.
    If Clerk fails after the old link was revoked, the row becomes ``failed`` (shown on the staff page; resend
    again) rather than pointing at a dead link.
    """
    row = InternalInvitation.objects.get(pk=invitation.pk)
    _check_invitation_action(actor=actor, row=row, action="internal_invitation.resent")
    if row.status not in RESENDABLE:
        raise InvitationNotPending(f"This invitation was {row.status}; it cannot be resent.")
    if User.objects.filter(email__lower=row.email.lower(), is_internal=True).exists():
        raise AlreadyStaff(f"{row.email} is already on the staff.", extra={"email": row.email})
    with spending(reserve_staff_invitation(user_id=actor.pk)):
        return _resend_in_clerk(row, actor=actor)


def _resend_in_clerk(row: InternalInvitation, *, actor: User) -> InternalInvitation:
    """The Clerk half of ``internal_invitation_resend``, inside its reservation of the staff invitation budget."""
    now = timezone.now()
    if row.status != InternalInvitationStatus.PENDING:
        try:
            with transaction.atomic():
                InternalInvitation.objects.filter(pk=row.pk, status__in=RESENDABLE).update(
                    status=InternalInvitationStatus.PENDING, expires_at=_expiry(now), updated_at=now
                )
        except IntegrityError:
            raise AlreadyInvited(f"{row.email} already has another pending staff invitation.") from None
        row.refresh_from_db()
    old_clerk_id = row.clerk_invitation_id
    if old_clerk_id:
        if _revoke_in_clerk(old_clerk_id) == "accepted":
            row = _mark_accepted(row, user=User.objects.filter(email__lower=row.email.lower()).first(), now=now)
            raise InvitationNotPending("This invitation has just been accepted.")
        unlinked = InternalInvitation.objects.filter(
            pk=row.pk, status=InternalInvitationStatus.PENDING, clerk_invitation_id=old_clerk_id
        ).update(clerk_invitation_id=None, updated_at=now)
        if not unlinked:  # revoked (or accepted) while Clerk revoked the old link: that change won
            raise _resend_lost(row, actor=actor, old_clerk_id=old_clerk_id)
        row.clerk_invitation_id = None
    try:
        created = _create_in_clerk(row)
    except clerk.ClerkError as exc:
        code = exc.clerk_code if isinstance(exc, clerk.ClerkRejected) else exc.code
        failed = InternalInvitation.objects.filter(pk=row.pk, status=InternalInvitationStatus.PENDING).update(
            status=InternalInvitationStatus.FAILED, failure_reason=f"{code}: {exc.message}"[:300], updated_at=now
        )
        if not failed:  # revoked while Clerk was asked (a 429, say): the revoke won, whatever Clerk said
            raise _resend_lost(row, actor=actor, old_clerk_id=old_clerk_id) from None
        audit(
            "internal_invitation.resent",
            actor=actor,
            target_type=AUDIT_INVITATION,
            target_id=row.pk,
            outcome=AuditEvent.Outcome.FAILED,
            details=_invitation_details(row, code=code, previous_clerk_invitation_id=old_clerk_id or ""),
        )
        if isinstance(exc, clerk.ClerkRejected) and exc.clerk_code in ACCOUNT_EXISTS_CODES:
            raise _already_a_user(row.email) from None
        raise
    try:
        row = _record_created(row, created, now=now)
    except InvitationNotPending:
        raise _resend_lost(row, actor=actor, old_clerk_id=old_clerk_id) from None
    audit(
        "internal_invitation.resent",
        actor=actor,
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        details=_invitation_details(row, previous_clerk_invitation_id=old_clerk_id or ""),
    )
    _log("internal_invitation.resent", row.pk, actor)
    return row


def _resend_lost(row: InternalInvitation, *, actor: User, old_clerk_id: str | None) -> InvitationNotPending:
    """A resend that lost to a revoke (or an acceptance) made while Clerk was asked: audited, and 409 for the caller."""
    current = InternalInvitation.objects.filter(pk=row.pk).first() or row
    audit(
        "internal_invitation.resent",
        actor=actor,
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.FAILED,
        details=_invitation_details(
            current, code=InvitationNotPending.code, previous_clerk_invitation_id=old_clerk_id or ""
        ),
    )
    return InvitationNotPending(
        f"This invitation was {current.status} while it was being resent.", extra={"status": current.status}
    )


def internal_invitation_revoke(*, invitation: InternalInvitation, actor: User) -> InternalInvitation:
    """Revoke in Clerk and here. Revoking a revoked one changes nothing; accepted → ``invitation_not_pending``."""
    row = InternalInvitation.objects.get(pk=invitation.pk)
    _check_invitation_action(actor=actor, row=row, action="internal_invitation.revoked")
    if row.status == InternalInvitationStatus.REVOKED:
        return row
    if row.status == InternalInvitationStatus.ACCEPTED:
        raise InvitationNotPending("This invitation was already accepted.")
    now = timezone.now()
    revoked: set[str] = set()
    clerk_invitation_id = row.clerk_invitation_id
    for _ in range(REVOKE_ATTEMPTS):
        if clerk_invitation_id and _revoke_in_clerk(clerk_invitation_id) == "accepted":
            _mark_accepted(row, user=User.objects.filter(email__lower=row.email.lower()).first(), now=now)
            raise InvitationNotPending("This invitation has just been accepted.")
        if clerk_invitation_id:
            revoked.add(clerk_invitation_id)
        outcome = _revoke_locally(row, actor=actor, revoked=revoked, now=now)
        if isinstance(outcome, InternalInvitation):
            row = outcome
            break
        clerk_invitation_id = outcome  # a resend linked a new Clerk invitation meanwhile: that link dies too
    else:
        raise InvitationNotPending("This invitation keeps changing; try again.")
    _log("internal_invitation.revoked", row.pk, actor)
    return row


def _revoke_locally(
    row: InternalInvitation, *, actor: User, revoked: set[str], now: datetime
) -> InternalInvitation | str:
    """The local half of ``internal_invitation_revoke``, under the row lock: the revoked row, or the Clerk id of a
    link made since we looked (a resend that finished meanwhile), to be revoked in Clerk first."""
    with transaction.atomic():
        row = InternalInvitation.objects.select_for_update().get(pk=row.pk)
        if row.status == InternalInvitationStatus.ACCEPTED:
            raise InvitationNotPending("This invitation was already accepted.")
        if (
            row.status != InternalInvitationStatus.REVOKED
            and row.clerk_invitation_id
            and row.clerk_invitation_id not in revoked
        ):
            return row.clerk_invitation_id
        if row.status != InternalInvitationStatus.REVOKED:
            row.status = InternalInvitationStatus.REVOKED
            row.revoked_at = now
            row.revoked_by = actor
            row.revoked_by_email = actor.email or ""
            row.save()
            audit(
                "internal_invitation.revoked",
                actor=actor,
                target_type=AUDIT_INVITATION,
                target_id=row.pk,
                details=_invitation_details(row),
            )
    return row
