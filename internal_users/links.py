"""Copy a staff invite link: fetch a pending staff invitation's link from Clerk on demand.

Clerk's Backend API has no read of one application invitation, so the pending invitations for the address are
listed (``GET /invitations?status=pending&query=<email>``) and ours is picked by its Clerk id. The link is the one
our invitation email carries (Clerk's ``url`` with ``invitation_id`` added, ``services.email_link``). It is handed
to the caller once and never stored, logged or audited; that it was shown is audited
(``internal_invitation.link_shown``: who, which invitation, the request id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts import clerk
from accounts.models import User
from core.audit import audit
from internal_users.errors import InvitationNotPending
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services import AUDIT_INVITATION, _check_invitation_action, email_link

# Clerk's list answers at most this many per call; one address has one pending invitation, a few at most.
_LOOKUP_LIMIT = 10


@dataclass(frozen=True)
class StaffInviteLink:
    url: str
    expires_at: datetime


def internal_invitation_link_reveal(*, invitation: InternalInvitation, actor: User) -> StaffInviteLink:
    """The invite link of a pending staff invitation. ``permission_denied`` / ``super_admin_required`` as for a
    resend; ``invitation_not_pending`` (409) when it is not pending here or Clerk no longer has it pending."""
    row = InternalInvitation.objects.get(pk=invitation.pk)
    _check_invitation_action(actor=actor, row=row, action="internal_invitation.link_shown")
    status = row.effective_status
    if status != InternalInvitationStatus.PENDING or not row.clerk_invitation_id:
        raise InvitationNotPending(
            f"This invitation is {status}: only a pending invitation has a link.", extra={"status": status}
        )
    found = clerk.list_invitations(status="pending", query=row.email, limit=_LOOKUP_LIMIT)
    remote = next((item for item in found if item.id == row.clerk_invitation_id), None)
    if remote is None or not remote.url:
        raise InvitationNotPending(
            "Clerk no longer has this invitation pending (accepted or revoked a moment ago).",
            extra={"status": "unknown"},
        )
    audit(
        f"{AUDIT_INVITATION}.link_shown",
        actor=actor,
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        details={"email": row.email, "role": row.role, "clerk_invitation_id": row.clerk_invitation_id},
    )
    return StaffInviteLink(url=email_link(remote.url, invitation_id=row.pk), expires_at=row.expires_at)
