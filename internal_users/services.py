"""Writes for internal staff: invite, resend, revoke, grant a role, deactivate, reactivate, remove, expire, and
what Clerk tells us (acceptance, ``email.created``). The API and the pages call these same functions.

Rules (DESIGN.md, "Roles and permissions"; issue 5):

- ``internal_users:manage`` (super_admin, admin) for everything; ``internal_users:delete`` (super_admin) to remove;
  only a super_admin assigns the super_admin role or acts on a super_admin (invitation or user). Every check runs
  before any Clerk call.
- Nobody deactivates, removes or changes the role of themselves; the last active super_admin is never deactivated,
  demoted or removed.
- An invitation is a Clerk *application* invitation with ``notify=false``: we email Clerk's ``url`` ourselves, from a
  task after commit (``internal_users.tasks.send_invitation_email``), which reads the url back from Clerk so the
  ticket is never stored in our database or task queue. A failed send is recorded on the invitation
  (``email_status``), never loses it, and resend tries again.
- Local row first (the partial unique constraint decides races between two invites of one email), then Clerk,
  outside any transaction; a Clerk failure deletes the row (nothing orphaned) unless Clerk may have created the
  invitation without answering (a timeout), in which case we look it up and adopt it.
- Clerk stays the source of truth for access: deactivate bans, reactivate unbans, remove deletes the Clerk user;
  our rows mirror the result at once (and again when the ``user.*`` webhooks arrive).

Every action writes one AuditEvent (``internal_invitation.*``, ``staff_user.*``) and a log line carrying the
request id and the actor's id. Invitation URLs and tickets are never stored or logged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import clerk, role_claims
from accounts.clerk_types import ClerkInvitation, ClerkUser, clerk_time
from accounts.models import User
from accounts.permissions import has_permission
from accounts.roles import INTERNAL_ROLES, Permission, Role
from accounts.services import user_upsert_from_clerk
from core import emails as core_emails
from core.audit import audit
from core.budgets import reserve_staff_invitation, spending
from core.exceptions import InvalidInput, NotFound, PermissionDenied
from core.jobs import task_named
from core.models import AuditEvent
from core.request_id import current_request_id
from internal_users import emails
from internal_users.errors import (
    AlreadyAUser,
    AlreadyInvited,
    AlreadyStaff,
    CannotActOnSelf,
    InvalidStaffRole,
    InvitationNotPending,
    LastSuperAdmin,
    NotStaff,
    SuperAdminOnly,
)
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus

logger = logging.getLogger(__name__)

AUDIT_INVITATION = "internal_invitation"
AUDIT_USER = "user"
MAX_EMAIL_LENGTH = 320
# Clerk's codes for "this email already has an account" (application invitations, and user creation).
ACCOUNT_EXISTS_CODES = frozenset({"invitation_account_exists", "form_identifier_exists"})
# Clerk's answers to revoking an invitation that is already revoked, accepted or expired.
_REVOKE_DONE_CODES = frozenset({"invitation_already_revoked", "invitation_expired"})
_REVOKE_ACCEPTED_CODES = frozenset({"invitation_already_accepted"})
# A revoke that finds a new Clerk link under the row lock (a resend finished meanwhile) revokes that one too, at most
# this many times.
REVOKE_ATTEMPTS = 3


# --------------------------------------------------------------------------- small helpers
def normalize_email(raw: str) -> str:
    """``core.emails.normalize_email``, with this module's messages (the one normaliser for every model)."""
    if not (raw or "").strip():
        raise InvalidInput("Enter an email address.", code="invalid_email", extra={"field": "email"})
    try:
        return core_emails.normalize_email(raw)
    except core_emails.InvalidEmail:
        raise InvalidInput("Enter a valid email address.", code="invalid_email", extra={"field": "email"}) from None


def staff_role(raw: object) -> Role:
    if isinstance(raw, str) and raw in Role.values and raw in INTERNAL_ROLES:
        return Role(raw)
    raise InvalidStaffRole()


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def accept_url(invitation_id: int) -> str:
    return f"{settings.APP_BASE_URL}/internal/accept-invite/?{urlencode({'invitation_id': invitation_id})}"


def email_link(clerk_url: str, *, invitation_id: int) -> str:
    """Clerk's ticket link with ``invitation_id`` added for analytics (Clerk ignores parameters it does not know)."""
    parts = urlsplit(clerk_url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"invitation_id": invitation_id})))


def _metadata(role: str) -> dict[str, Any]:
    return {"role": str(role), "internal": True}


def _log(action: str, target: object, actor: User | None, result: str = "") -> None:
    logger.info(
        "%s %s by user %s (request %s)%s",
        action,
        target,
        actor.pk if actor is not None else "system",
        current_request_id() or "-",
        f": {result}" if result else "",
        extra={"actor_id": actor.pk if actor is not None else None, "action": action},
    )


def _invitation_details(row: InternalInvitation, **more: Any) -> dict[str, Any]:
    return {
        "email": row.email,
        "role": row.role,
        "status": row.status,
        "clerk_invitation_id": row.clerk_invitation_id or "",
        "send_count": row.send_count,
        **more,
    }


def _user_details(user: User, **more: Any) -> dict[str, Any]:
    return {"email": user.email, "clerk_user_id": user.clerk_user_id, "role": user.role, **more}


# --------------------------------------------------------------------------- authorization
def _require_manage(actor: User) -> None:
    if not has_permission(actor, Permission.INTERNAL_USERS_MANAGE):
        raise PermissionDenied()


def _require_super_admin_for(actor: User, role: str) -> None:
    if role == Role.SUPER_ADMIN and not has_permission(actor, Permission.SUPER_ADMIN_ASSIGN):
        raise SuperAdminOnly()


def _other_active_super_admins(user: User) -> bool:
    return (
        User.objects.filter(role=Role.SUPER_ADMIN, disabled_at__isnull=True, is_internal=True)
        .exclude(pk=user.pk)
        .exists()
    )


def _require_not_last_super_admin(user: User) -> None:
    if user.role == Role.SUPER_ADMIN and user.is_active and not _other_active_super_admins(user):
        raise LastSuperAdmin()


@contextlib.contextmanager
def _super_admins_locked(user: User, *, action: str, actor: User) -> Iterator[None]:
    """Around deactivating, demoting or removing ``user``: when a super admin, hold row locks on the active super
    admins while Clerk acts and our rows follow, and check again under them, so two super admins taking each other
    down at the same moment cannot leave none (the second waits, then finds the first gone: ``last_super_admin``).
    """
    if user.role != Role.SUPER_ADMIN:
        yield
        return
    try:
        with transaction.atomic():
            active = User.objects.filter(role=Role.SUPER_ADMIN, disabled_at__isnull=True, is_internal=True)
            list(active.select_for_update().order_by("pk").values_list("pk", flat=True))
            current = User.objects.filter(pk=user.pk).first()
            if current is not None:
                _require_not_last_super_admin(current)
            yield
    except LastSuperAdmin as exc:
        _denied(action, actor=actor, target_type=AUDIT_USER, target_id=user.pk, exc=exc)
        raise


def _check_user_action(*, actor: User, user: User, permission: str = Permission.INTERNAL_USERS_MANAGE) -> None:
    """The shared guard of deactivate / reactivate / remove / role changes on an existing user."""
    if not has_permission(actor, permission):
        raise PermissionDenied()
    if user.pk == actor.pk:
        raise CannotActOnSelf()
    _require_super_admin_for(actor, user.role)


def _denied(action: str, *, actor: User, target_type: str, target_id: object, exc: Exception) -> None:
    audit(
        action,
        actor=actor,
        target_type=target_type,
        target_id=str(target_id),
        outcome=AuditEvent.Outcome.DENIED,
        details={"code": getattr(exc, "code", "denied")},
    )


# --------------------------------------------------------------------------- invite
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


def _revoke_quietly(clerk_invitation_id: str) -> None:
    try:
        clerk.revoke_invitation(clerk_invitation_id)
    except clerk.ClerkError:
        logger.warning("could not revoke Clerk invitation %s; clerk_sync will retry", clerk_invitation_id)


def internal_invite(*, email: str, role: str, actor: User) -> InternalInvitation:
    """Invite ``email`` to the staff with ``role``; the branded email goes out from a task after commit.

    Errors: ``invalid_email``/``invalid_role`` (400), ``permission_denied``/``super_admin_required`` (403, no Clerk
    call), ``already_staff``/``already_a_user``/``already_invited`` (409), and the gateway's 429/502/503 (the row is
    then gone: nothing half-made is left behind).
    """
    _require_manage(actor)
    address = normalize_email(email)
    wanted = staff_role(role)
    try:
        _require_super_admin_for(actor, wanted)
    except SuperAdminOnly as exc:
        _denied(
            "internal_invitation.created",
            actor=actor,
            target_type=AUDIT_INVITATION,
            target_id=address,
            exc=exc,
        )
        raise
    local = User.objects.filter(email__lower=address.lower()).first()
    if local is not None:
        if local.is_internal:
            raise AlreadyStaff(f"{address} is already on the staff.", extra={"email": address})
        raise _already_a_user(address)
    with spending(reserve_staff_invitation(user_id=actor.pk)):
        return _invite_in_clerk(address=address, role=wanted, actor=actor)


def _invite_in_clerk(*, address: str, role: str, actor: User) -> InternalInvitation:
    """The Clerk half of ``internal_invite``, inside its reservation of the staff invitation budget."""
    now = timezone.now()
    row = _insert_pending(email=address, role=role, actor=actor, now=now)
    try:
        invitation = _create_in_clerk(row)
    except clerk.ClerkRejected as exc:
        row.delete()
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
        row.delete()
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


# --------------------------------------------------------------------------- resend / revoke
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


def _mark_accepted(row: InternalInvitation, *, user: User | None, now: datetime) -> InternalInvitation:
    InternalInvitation.objects.filter(pk=row.pk).exclude(status=InternalInvitationStatus.ACCEPTED).update(
        status=InternalInvitationStatus.ACCEPTED, accepted_at=now, accepted_user=user, updated_at=now
    )
    row.refresh_from_db()
    return row


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


def internal_invitations_expire(*, now: datetime | None = None) -> int:
    """Mark pending invitations past their expiry as expired (hourly; the lists already treat them as expired)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(InternalInvitation.objects.past_expiry(now=now).select_for_update(skip_locked=True))
        for row in rows:
            row.status = InternalInvitationStatus.EXPIRED
            row.save(update_fields=["status", "updated_at"])
            audit(
                "internal_invitation.expired",
                target_type=AUDIT_INVITATION,
                target_id=row.pk,
                details=_invitation_details(row),
            )
    return len(rows)


# --------------------------------------------------------------------------- the email
def invitation_email_send(*, invitation_id: int, send_number: int) -> str:
    """Send the branded email for send number ``send_number`` of an invitation (the task calls this).

    Reads the ticket url from Clerk (it is never stored here). Returns what happened: "sent", "stale" (resent,
    revoked or accepted since: a newer send or nobody needs it), "gone" (no pending Clerk invitation), "failed".
    A failure is recorded on the invitation; it never raises for mail errors, so the task is not retried blindly.
    """
    row = InternalInvitation.objects.filter(pk=invitation_id).first()
    if row is None or row.send_count != send_number or not row.is_pending or not row.clerk_invitation_id:
        return "stale"
    try:
        found = clerk.list_invitations(status="pending", query=row.email, limit=10)
    except clerk.ClerkError as exc:
        _record_email(row, status=EmailDelivery.FAILED, error=f"{exc.code}: could not read the link from Clerk")
        return "failed"
    invitation = next((item for item in found if item.id == row.clerk_invitation_id and item.url), None)
    if invitation is None:
        _record_email(
            row, status=EmailDelivery.FAILED, error="clerk_invitation_missing: Clerk has no pending invitation"
        )
        return "gone"
    try:
        emails.send_internal_invite_email(
            email=row.email,
            invite_url=email_link(invitation.url, invitation_id=row.pk),
            role=row.role,
            inviter_name=row.inviter_name,
            expires_at=row.expires_at,
        )
    except Exception as exc:
        logger.warning("staff invitation %s: email failed: %s", row.pk, type(exc).__name__)
        _record_email(row, status=EmailDelivery.FAILED, error=f"{type(exc).__name__}: {exc}")
        return "failed"
    _record_email(row, status=EmailDelivery.SENT, error="")
    return "sent"


def _record_email(row: InternalInvitation, *, status: str, error: str) -> None:
    now = timezone.now()
    InternalInvitation.objects.filter(pk=row.pk, send_count=row.send_count).update(
        email_status=status,
        email_error=error[:300],
        email_sent_at=now if status == EmailDelivery.SENT else None,
        updated_at=now,
    )
    audit(
        "internal_invitation.email_sent" if status == EmailDelivery.SENT else "internal_invitation.email_failed",
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.SUCCESS if status == EmailDelivery.SENT else AuditEvent.Outcome.FAILED,
        details={"email": row.email, "send_count": row.send_count, "error": error[:300]},
    )


def email_created_from_clerk(*, data: dict[str, Any]) -> str | None:
    """``email.created`` (Clerk's delivery switched off): send our branded email for an application invitation
    that was not made here. Ours use ``notify=false`` and have their own email, so a match is never sent twice.
    Returns a note for the stored event when nothing was sent."""
    if data.get("slug") != "invitation":
        return f"email template {data.get('slug')!r} is not handled"
    template_data = data.get("data") if isinstance(data.get("data"), dict) else {}
    address = str(data.get("to_email_address") or "").strip().lower()
    link = template_data.get("action_url") if isinstance(template_data, dict) else None
    if not address or not isinstance(link, str) or not link:
        return "invitation email without an address or link; ignored"
    if InternalInvitation.objects.filter(email=address, status=InternalInvitationStatus.PENDING).exists():
        return "invitation made here: our own email covers it"
    invitation_data = template_data.get("invitation") if isinstance(template_data, dict) else None
    metadata = invitation_data.get("public_metadata") if isinstance(invitation_data, dict) else None
    role = metadata.get("role") if isinstance(metadata, dict) else None
    if not (isinstance(role, str) and role in INTERNAL_ROLES):
        return "invitation without a staff role; not sent"
    transaction.on_commit(lambda: _send_external(address=address, link=link, role=role))
    return None


def _send_external(*, address: str, link: str, role: str) -> None:
    task_named("internal_users.send_external_invitation_email").enqueue(address, link, role)


# --------------------------------------------------------------------------- acceptance
def _accept_claim(*, user: User, clerk_user: ClerkUser, role: Role) -> bool:
    """Role claim for ``user_upsert_from_clerk``: a pending invitation for this email and role is accepted."""
    now = timezone.now()
    row = InternalInvitation.objects.pending(now=now).select_for_update().filter(email=user.email, role=role).first()
    if row is None:
        return False
    row.status = InternalInvitationStatus.ACCEPTED
    row.accepted_at = now
    row.accepted_user = user
    row.save(update_fields=["status", "accepted_at", "accepted_user", "updated_at"])
    audit(
        "internal_invitation.accepted",
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        details=_invitation_details(row, clerk_user_id=clerk_user.id),
    )
    return True


def register_role_claim() -> None:
    role_claims.register(_accept_claim)


def invitation_accepted_from_clerk(*, invitation: ClerkInvitation) -> InternalInvitation | None:
    """Clerk reports an application invitation accepted (``clerk_sync``): record it, linking the user if known."""
    row = InternalInvitation.objects.filter(clerk_invitation_id=invitation.id).first()
    if row is None or row.status == InternalInvitationStatus.ACCEPTED:
        return row
    user = User.objects.filter(email__lower=row.email.lower()).first()
    return _mark_accepted(row, user=user, now=timezone.now())


# --------------------------------------------------------------------------- staff users
def _staff_user(user: User) -> User:
    if not user.is_internal:
        raise NotStaff()
    return user


def _with_audit(action: str, *, actor: User, user: User, check: Any) -> None:
    try:
        check()
    except (PermissionDenied, LastSuperAdmin) as exc:
        _denied(action, actor=actor, target_type=AUDIT_USER, target_id=user.pk, exc=exc)
        raise


def _done_on_user(action: str, *, user: User, actor: User) -> None:
    audit(action, actor=actor, target_type=AUDIT_USER, target_id=user.pk, details=_user_details(user))
    _log(action, user.pk, actor)


def staff_user_deactivate(*, user: User, actor: User) -> User:
    """Ban in Clerk (signed out everywhere, cannot sign in) and mirror ``disabled_at``. Idempotent."""
    user = _staff_user(User.objects.get(pk=user.pk))

    def check() -> None:
        _check_user_action(actor=actor, user=user)
        _require_not_last_super_admin(user)

    _with_audit("staff_user.deactivated", actor=actor, user=user, check=check)
    with _super_admins_locked(user, action="staff_user.deactivated", actor=actor):
        banned = clerk.ban_user(user.clerk_user_id)
        user = user_upsert_from_clerk(clerk_user=banned)
        if user.disabled_at is None:  # an older Clerk timestamp than stored: mirror the ban regardless
            User.objects.filter(pk=user.pk).update(disabled_at=timezone.now())
            user.refresh_from_db()
    _done_on_user("staff_user.deactivated", user=user, actor=actor)
    return user


def staff_user_reactivate(*, user: User, actor: User) -> User:
    """Unban in Clerk and clear ``disabled_at``. Idempotent."""
    user = _staff_user(User.objects.get(pk=user.pk))
    _with_audit(
        "staff_user.reactivated",
        actor=actor,
        user=user,
        check=lambda: _check_user_action(actor=actor, user=user),
    )
    unbanned = clerk.unban_user(user.clerk_user_id)
    user = user_upsert_from_clerk(clerk_user=unbanned)
    if user.disabled_at is not None:
        User.objects.filter(pk=user.pk).update(disabled_at=None)
        user.refresh_from_db()
    _done_on_user("staff_user.reactivated", user=user, actor=actor)
    return user


def staff_user_remove(*, user: User, actor: User) -> None:
    """Delete the Clerk user and the local one; audit events keep their snapshots. Gone in Clerk counts as done."""
    user = _staff_user(User.objects.get(pk=user.pk))

    def check() -> None:
        _check_user_action(actor=actor, user=user, permission=Permission.INTERNAL_USERS_DELETE)
        _require_not_last_super_admin(user)

    _with_audit("staff_user.removed", actor=actor, user=user, check=check)
    details = _user_details(user, name=user.full_name)
    user_pk = user.pk
    with _super_admins_locked(user, action="staff_user.removed", actor=actor):
        with contextlib.suppress(clerk.ClerkNotFound):
            clerk.delete_user(user.clerk_user_id)
        User.objects.filter(pk=user_pk).delete()
    audit("staff_user.removed", actor=actor, target_type=AUDIT_USER, target_id=user_pk, details=details)
    _log("staff_user.removed", user_pk, actor)


def _close_pending_invitations(email: str, *, actor: User) -> None:
    """The person has a staff role now: their pending staff invitations are revoked (in Clerk too)."""
    for row in InternalInvitation.objects.filter(email=email, status=InternalInvitationStatus.PENDING):
        if row.clerk_invitation_id:
            _revoke_quietly(row.clerk_invitation_id)
        now = timezone.now()
        closed = InternalInvitation.objects.filter(pk=row.pk, status=InternalInvitationStatus.PENDING).update(
            status=InternalInvitationStatus.REVOKED,
            revoked_at=now,
            revoked_by=actor,
            revoked_by_email=actor.email,
            updated_at=now,
        )
        if closed:
            audit(
                "internal_invitation.revoked",
                actor=actor,
                target_type=AUDIT_INVITATION,
                target_id=row.pk,
                details=_invitation_details(row, reason="role granted to the existing account"),
            )


def staff_role_grant(*, email: str, role: str, actor: User) -> User:
    """Give an existing account a staff role (or change a staff member's role): Clerk metadata, then our row.

    For people who already have an account, whom Clerk will not invite (``already_a_user``). Nobody changes their
    own role; only a super admin grants super_admin or changes a super admin's role; the last active super admin is
    never demoted.
    """
    _require_manage(actor)
    address = normalize_email(email)
    wanted = staff_role(role)
    try:
        _require_super_admin_for(actor, wanted)
    except SuperAdminOnly as exc:
        _denied("staff_user.role_granted", actor=actor, target_type=AUDIT_USER, target_id=address, exc=exc)
        raise
    local = User.objects.filter(email__lower=address.lower()).first()
    if local is not None:

        def check() -> None:
            _check_user_action(actor=actor, user=local)
            if wanted != Role.SUPER_ADMIN:
                _require_not_last_super_admin(local)

        _with_audit("staff_user.role_granted", actor=actor, user=local, check=check)
        if local.is_internal and local.role == wanted:
            return local
    clerk_user = clerk.get_user(local.clerk_user_id) if local is not None else _clerk_user_for(address)
    if clerk_user is None:
        raise NotFound(f"No account uses {address}. Invite them instead.", code="no_account", extra={"email": address})
    demoting = local is not None and wanted != Role.SUPER_ADMIN
    with (
        _super_admins_locked(local, action="staff_user.role_granted", actor=actor)
        if local is not None and demoting
        else contextlib.nullcontext()
    ):
        updated = clerk.update_user_metadata(clerk_user.id, public_metadata=_metadata(wanted))
        user = user_upsert_from_clerk(clerk_user=updated, trust_role=True)
    _close_pending_invitations(address, actor=actor)
    previous = local.role if local is not None else Role.MEMBER
    audit(
        "staff_user.role_granted",
        actor=actor,
        target_type=AUDIT_USER,
        target_id=user.pk,
        details=_user_details(user, previous_role=previous),
    )
    _log("staff_user.role_granted", user.pk, actor, result=f"{previous} → {user.role}")
    return user
