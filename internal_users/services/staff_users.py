"""Staff members: deactivate (Clerk ban), reactivate, remove, and grant a staff role to an existing account. Clerk
stays the source of truth for access; our rows mirror the result at once. The last active super admin is never
deactivated, demoted or removed, also when two super admins act on each other at the same moment.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.utils import timezone

from accounts import clerk
from accounts.models import User
from accounts.roles import Permission, Role
from accounts.services import user_upsert_from_clerk
from core.audit import audit
from core.exceptions import PermissionDenied
from internal_users.errors import (
    LastSuperAdmin,
    NoAccount,
    NotStaff,
)
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services.inviting import _clerk_user_for
from internal_users.services.shared import (
    AUDIT_INVITATION,
    AUDIT_USER,
    _check_user_action,
    _checked_role_request,
    _denied,
    _invitation_details,
    _log,
    _metadata,
    _require_not_last_super_admin,
    _revoke_quietly,
    _super_admins_locked,
    _user_details,
)


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
    address, wanted = _checked_role_request(
        email=email, role=role, actor=actor, action="staff_user.role_granted", target_type=AUDIT_USER
    )
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
        raise NoAccount(f"No account uses {address}. Invite them instead.", extra={"email": address})
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
