"""Acceptance: the role claim that accepts a pending invitation when its invitee signs up, and acceptances Clerk
reports (``clerk_sync``, or Clerk's answer to our revoke).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts import role_claims
from accounts.clerk_types import ClerkInvitation, ClerkUser
from accounts.models import User
from accounts.roles import Role
from core.audit import audit
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services.shared import AUDIT_INVITATION, _invitation_details


def _mark_accepted(row: InternalInvitation, *, user: User | None, now: datetime) -> InternalInvitation:
    InternalInvitation.objects.filter(pk=row.pk).exclude(status=InternalInvitationStatus.ACCEPTED).update(
        status=InternalInvitationStatus.ACCEPTED, accepted_at=now, accepted_user=user, updated_at=now
    )
    row.refresh_from_db()
    return row


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
