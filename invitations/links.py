"""Copy an invite link: fetch a pending invitation's link from Clerk on demand, for when the email did not arrive.

The link is Clerk's (the organization invitation's ``url``, read with ``GET /organizations/{id}/invitations/{id}``):
it carries the ticket that signs the invitee in, so it is handed to the caller once and never stored, logged or put
in the audit trail. What is audited is that it was shown: ``workspace_invitation.link_shown``, with who asked, the
invitation and the request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts import clerk
from accounts.models import User
from core.audit import audit
from core.exceptions import PermissionDenied
from invitations.errors import InvitationNotPending
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.selectors import can_invite
from invitations.services import AUDIT_TARGET


@dataclass(frozen=True)
class InviteLink:
    url: str
    expires_at: datetime


def _no_link(message: str, *, status: str) -> InvitationNotPending:
    return InvitationNotPending(message, extra={"status": status})


def invitation_link_reveal(*, invitation: WorkspaceInvitation, actor: User) -> InviteLink:
    """The invite link of a pending invitation, as Clerk has it now.

    ``permission_denied`` without ``workspace:invite``; ``invitation_not_pending`` (409) for an invitation that is
    not pending here (queued ones have no link yet) or no longer pending in Clerk; the gateway's errors otherwise.
    """
    workspace = invitation.workspace
    if not can_invite(user=actor, workspace=workspace):
        raise PermissionDenied("You may not manage invitations of this workspace.")
    status = invitation.effective_status
    if status == InvitationStatus.QUEUED or (status == InvitationStatus.PENDING and not invitation.clerk_invitation_id):
        raise _no_link("This invitation has not been sent yet, so it has no link: try again shortly.", status=status)
    if status != InvitationStatus.PENDING or not invitation.clerk_invitation_id:
        raise _no_link(f"This invitation is {status}: only a pending invitation has a link.", status=status)
    remote = clerk.get_organization_invitation(workspace.clerk_organization_id, invitation.clerk_invitation_id)
    if remote.status != "pending" or not remote.url:
        # Clerk knows better (accepted or revoked a moment ago): its webhook brings the row up to date.
        raise _no_link(f"Clerk says this invitation is {remote.status or 'not pending'}.", status=remote.status)
    audit(
        f"{AUDIT_TARGET}.link_shown",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=invitation.pk,
        details={
            "email": invitation.email,
            "workspace_id": workspace.pk,
            "clerk_invitation_id": invitation.clerk_invitation_id,
        },
    )
    return InviteLink(url=remote.url, expires_at=invitation.expires_at)
