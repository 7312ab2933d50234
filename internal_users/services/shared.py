"""What every staff write shares: the audit targets, the email and role checks, the links we build, the
authorization rules (manage, super admin only, never yourself, never the last super admin) and their audited
refusals, and the quiet revoke of a Clerk invitation nobody tracks. The flows are the sibling modules
(``internal_users/services/__init__.py`` lists them; docs/internal-user-invitations.md describes them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction

from accounts import clerk
from accounts.models import User
from accounts.permissions import has_permission
from accounts.roles import INTERNAL_ROLES, Permission, Role
from core import emails as core_emails
from core.audit import audit
from core.exceptions import InvalidInput, PermissionDenied
from core.models import AuditEvent
from core.request_id import current_request_id
from internal_users.errors import (
    CannotActOnSelf,
    InvalidStaffRole,
    LastSuperAdmin,
    SuperAdminOnly,
)
from internal_users.models import InternalInvitation

logger = logging.getLogger(__name__)


AUDIT_INVITATION = "internal_invitation"
AUDIT_USER = "user"
MAX_EMAIL_LENGTH = 320
# Clerk's codes for "this email already has an account" (application invitations, and user creation).
ACCOUNT_EXISTS_CODES = frozenset({"invitation_account_exists", "form_identifier_exists"})


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


def _require_manage(actor: User) -> None:
    if not has_permission(actor, Permission.INTERNAL_USERS_MANAGE):
        raise PermissionDenied()


def _require_super_admin_for(actor: User, role: str) -> None:
    if role == Role.SUPER_ADMIN and not has_permission(actor, Permission.SUPER_ADMIN_ASSIGN):
        raise SuperAdminOnly()


def _checked_role_request(*, email: str, role: str, actor: User, action: str, target_type: str) -> tuple[str, str]:
    """The address and role a staff-role request names, after the checks every such request starts with: the actor
    may manage staff, the address and role are valid, and only a super admin names super_admin (refusal audited)."""
    _require_manage(actor)
    address = normalize_email(email)
    wanted = staff_role(role)
    try:
        _require_super_admin_for(actor, wanted)
    except SuperAdminOnly as exc:
        _denied(action, actor=actor, target_type=target_type, target_id=address, exc=exc)
        raise
    return address, wanted


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


def _revoke_quietly(clerk_invitation_id: str) -> None:
    try:
        clerk.revoke_invitation(clerk_invitation_id)
    except clerk.ClerkError:
        logger.warning("could not revoke Clerk invitation %s; clerk_sync will retry", clerk_invitation_id)
