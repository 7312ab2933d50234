"""Inviting someone to the staff: local row first (the one-pending-invitation constraint decides races), then one
Clerk application invitation with ``notify=false`` (a timeout answered by looking it up), then our own email from a
task after commit. A row revoked while Clerk was asked revokes the new invitation in Clerk too.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkInvitation, ClerkUser, clerk_time
from accounts.models import User
from core.audit import audit
from core.budgets import reserve_staff_invitation, spending
from core.jobs import task_named
from internal_users.errors import (
    AlreadyAUser,
    AlreadyInvited,
    AlreadyStaff,
    InvitationNotPending,
)
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from internal_users.services.shared import (
    ACCOUNT_EXISTS_CODES,
    AUDIT_INVITATION,
    _checked_role_request,
    _expiry,
    _invitation_details,
    _log,
    _metadata,
    _revoke_quietly,
    accept_url,
)


def _expire_stale(email: str, *, now: datetime) -> None:
    """Pending rows of this email past their expiry are expired, so the new invitation may take their place."""
    InternalInvitation.objects.past_expiry(now=now).filter(email=email).update(
        status=InternalInvitationStatus.EXPIRED, updated_at=now
    )


def _insert_pending(*, email: str, role: str, actor: User, now: datetime) -> InternalInvitation:
    row = InternalInvitation(
        email=email,
        role=role,
        status=InternalInvitationStatus.PENDING,
        inviter=actor,
        inviter_email=actor.email or "",
        inviter_name=actor.full_name,
        expires_at=_expiry(now),
    )
    try:
        with transaction.atomic():
            _expire_stale(email, now=now)
            row.save()
    except IntegrityError:
        raise AlreadyInvited(f"{email} already has a pending staff invitation.") from None
    return row


def _create_in_clerk(row: InternalInvitation) -> ClerkInvitation:
    """One Clerk application invitation for ``row``. A timeout may hide a created invitation: look it up first."""
    try:
        return clerk.create_invitation(
            email=row.email,
            public_metadata=_metadata(row.role),
            redirect_url=accept_url(row.pk),
            expires_in_days=settings.INVITATION_EXPIRY_DAYS,
            notify=False,
        )
    except clerk.ClerkUnavailable:
        found = _pending_in_clerk(row.email)
        if found is not None and found.public_metadata.get("role") == row.role:
            return found
        raise


def _pending_in_clerk(email: str) -> ClerkInvitation | None:
    try:
        found = clerk.list_invitations(status="pending", query=email, limit=10)
    except clerk.ClerkError:
        return None
    return next((invitation for invitation in found if invitation.email == email), None)


def _clerk_user_for(email: str) -> ClerkUser | None:
    found = clerk.list_users(email_addresses=[email], limit=1)
    return found[0] if found else None


def _already_a_user(email: str) -> AlreadyAUser:
    return AlreadyAUser(
        f"{email} already has an account. Grant them a staff role instead.",
        extra={"email": email, "action": "grant_role"},
    )


def _record_created(row: InternalInvitation, invitation: ClerkInvitation, *, now: datetime) -> InternalInvitation:
    """Link ``row`` to Clerk's invitation and queue its email; a row revoked meanwhile revokes it in Clerk too."""
    with transaction.atomic():
        current = InternalInvitation.objects.select_for_update().filter(pk=row.pk).first()
        if current is not None and current.status == InternalInvitationStatus.PENDING:
            current.clerk_invitation_id = invitation.id
            current.expires_at = clerk_time(invitation.expires_at) or _expiry(now)
            current.last_sent_at = now
            current.send_count += 1
            current.failure_reason = ""
            current.email_status = EmailDelivery.QUEUED
            current.email_error = ""
            current.save()
            _enqueue_email(current)
            return current
    _revoke_quietly(invitation.id)
    raise InvitationNotPending("The invitation was revoked while it was being sent.")


def _enqueue_email(row: InternalInvitation) -> None:
    invitation_id, send_number = row.pk, row.send_count
    send_invitation_email = task_named("internal_users.send_invitation_email")
    transaction.on_commit(lambda: send_invitation_email.enqueue(invitation_id, send_number))


def internal_invite(*, email: str, role: str, actor: User) -> InternalInvitation:
    """Invite ``email`` to the staff with ``role``; the branded email goes out from a task after commit.

    Errors: ``invalid_email``/``invalid_role`` (400), ``permission_denied``/``super_admin_required`` (403, no Clerk
    call), ``already_staff``/``already_a_user``/``already_invited`` (409), and the gateway's 429/502/503 (the row is
    then gone: nothing half-made is left behind).
    """
    address, wanted = _checked_role_request(
        email=email, role=role, actor=actor, action="internal_invitation.created", target_type=AUDIT_INVITATION
    )
    local = User.objects.filter(email__lower=address.lower()).first()
    if local is not None:
        if local.is_internal:
            raise AlreadyStaff(f"{address} is already on the staff.", extra={"email": address})
        raise _already_a_user(address)
    with spending(reserve_staff_invitation(user_id=actor.pk)):
        return _invite_in_clerk(address=address, role=wanted, actor=actor)


def _delete_unless_revoked(row: InternalInvitation) -> None:
    """Clerk made nothing: the row goes, unless it was revoked while Clerk was asked (a 429, say). Then the revoke
    stays on record and the invite answers what happened to it (``invitation_not_pending``), not Clerk's error."""
    if InternalInvitation.objects.filter(pk=row.pk, status=InternalInvitationStatus.PENDING).delete()[0]:
        return
    status = InternalInvitation.objects.filter(pk=row.pk).values_list("status", flat=True).first() or "revoked"
    raise InvitationNotPending(f"The invitation was {status} while it was being sent.", extra={"status": status})


def _invite_in_clerk(*, address: str, role: str, actor: User) -> InternalInvitation:
    """The Clerk half of ``internal_invite``, inside its reservation of the staff invitation budget."""
    now = timezone.now()
    row = _insert_pending(email=address, role=role, actor=actor, now=now)
    try:
        invitation = _create_in_clerk(row)
    except clerk.ClerkRejected as exc:
        _delete_unless_revoked(row)
        if exc.clerk_code in ACCOUNT_EXISTS_CODES:
            raise _already_a_user(address) from None
        if exc.clerk_code == "duplicate_record":
            # A pending Clerk invitation we do not know (made in Clerk's dashboard): revoke it from there first.
            raise AlreadyInvited(
                f"{address} already has a pending invitation in Clerk that was not made here.",
                extra={"email": address},
            ) from None
        raise
    except clerk.ClerkError:
        _delete_unless_revoked(row)
        raise
    row = _record_created(row, invitation, now=now)
    audit(
        "internal_invitation.created",
        actor=actor,
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        details=_invitation_details(row),
    )
    _log("internal_invitation.created", row.pk, actor)
    return row
