"""Reads for workspace invitations and the workspaces a person may see; used by the API and the pages alike.

Scope rules (docs/workspace-invitations.md, "Who may do what"): staff with ``workspace:invite`` everywhere
(super_admin, admin, pm) see every workspace; anyone else sees the workspaces they belong to. A workspace or
invitation outside the caller's reach is ``NotFound`` (404), never ``PermissionDenied``, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.clerk_tickets import clerk_invitation_id_from_ticket, resent_from
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.permissions import has_permission
from accounts.roles import ROLE_PERMISSIONS, Permission
from core.exceptions import NotFound
from invitations.errors import InvalidStatusFilter
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation

# `status` filter values of invitation_list: the stored statuses, plus "open" (queued or pending, not past expiry)
# and "history" (accepted, revoked, expired or failed: over, one way or another).
# "expired" and the open statuses are *effective*: an open row past its expiry counts as expired, not as open.
STATUS_FILTERS = frozenset({"open", "history", *InvitationStatus.values})
_OVER = (InvitationStatus.ACCEPTED, InvitationStatus.REVOKED, InvitationStatus.EXPIRED, InvitationStatus.FAILED)


def _sees_every_workspace(user: User) -> bool:
    """Staff whose role grants ``workspace:invite`` everywhere (not via a workspace admin membership)."""
    return (
        user.is_authenticated
        and user.is_active
        and Permission.WORKSPACE_INVITE in ROLE_PERMISSIONS.get(user.role, frozenset())
    )


def workspaces_for_user(*, user: User) -> QuerySet[Workspace]:
    """The workspaces the settings page can switch between: all of them for inviting staff, else the user's own."""
    if not (user.is_authenticated and user.is_active):
        return Workspace.objects.none()
    if _sees_every_workspace(user):
        return Workspace.objects.order_by("name", "pk")
    return Workspace.objects.filter(memberships__user=user).distinct().order_by("name", "pk")


def workspace_for_member(*, user: User, workspace_id: int) -> Workspace:
    """The workspace if the user belongs to it or may invite to every workspace; ``NotFound`` otherwise."""
    workspace = workspaces_for_user(user=user).filter(pk=workspace_id).first()
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace


def can_invite(*, user: User, workspace: Workspace) -> bool:
    """Whether the user may invite to, resend and revoke in, and list the invitations of this workspace."""
    return has_permission(user, Permission.WORKSPACE_INVITE, workspace=workspace)


def workspace_members(*, workspace: Workspace) -> QuerySet[WorkspaceMembership]:
    """The workspace's members, newest first: the order the ``accounts_membership_ws_joined`` index holds, so a page
    reads its 50 rows whatever the workspace's size (ordering by the user's email walks every user instead)."""
    return WorkspaceMembership.objects.filter(workspace=workspace).select_related("user").order_by("-created_at", "-id")


def invitation_list(
    *, workspace: Workspace, status: str | None = None, now: datetime | None = None
) -> QuerySet[WorkspaceInvitation]:
    """The workspace's invitations, newest first; ``status`` filters by *effective* status (see STATUS_FILTERS)."""
    now = now or timezone.now()
    invitations = WorkspaceInvitation.objects.filter(workspace=workspace).select_related(
        "inviter", "accepted_by", "revoked_by"
    )
    if status:
        if status not in STATUS_FILTERS:
            allowed = ", ".join(sorted(STATUS_FILTERS))
            raise InvalidStatusFilter(f"Unknown status {status!r}: use one of {allowed}.")
        if status == "open":
            invitations = invitations.open(now=now)
        elif status == "history":
            invitations = invitations.filter(Q(status__in=_OVER) | Q(status__in=OPEN_STATUSES, expires_at__lte=now))
        elif status == InvitationStatus.EXPIRED:
            invitations = invitations.filter(
                Q(status=InvitationStatus.EXPIRED) | Q(status__in=OPEN_STATUSES, expires_at__lte=now)
            )
        elif status in OPEN_STATUSES:
            invitations = invitations.filter(status=status, expires_at__gt=now)
        else:
            invitations = invitations.filter(status=status)
    return invitations.order_by("-created_at", "-id")


def invitation_get(*, workspace: Workspace, invitation_id: int) -> WorkspaceInvitation:
    """One invitation of this workspace; ``NotFound`` for an id of another workspace or no id at all."""
    invitation = (
        WorkspaceInvitation.objects.filter(workspace=workspace, pk=invitation_id)
        .select_related("workspace", "inviter", "accepted_by", "revoked_by")
        .first()
    )
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


# --------------------------------------------------------------------------- the accept page
RESENT_ACTION = "workspace_invitation.resent"  # the audit action of invitations.services.invitation_resend


@dataclass(frozen=True)
class InvitationPreview:
    """What the accept page shows before the invitee acts: never used to authorize anything."""

    invitation_id: int
    workspace_id: int
    workspace_name: str
    inviter_name: str
    inviter_email: str
    email: str
    role: str
    status: str  # effective status: "pending"/"queued", "accepted", "revoked", "expired", "failed"
    expires_at: datetime
    superseded: bool = False  # the ticket is of a link a resend replaced; the row is the invitation it belonged to

    @property
    def accept_state(self) -> str:
        """The accept page's first screen: ``ready`` (let Clerk decide), or why this link cannot be used.

        A superseded link whose invitation was accepted, revoked or expired since says that instead: what happened
        to the invitation matters more than which of its links this is.
        """
        if self.status in ("accepted", "revoked", "expired"):
            return self.status
        return "superseded" if self.superseded else "ready"


def workspace_if_member(*, user: object, workspace_id: int) -> Workspace | None:
    """The workspace when ``user`` is an active user and a member of it (what an accepted link may offer), else None."""
    if not isinstance(user, User) or not user.is_active:
        return None
    membership = WorkspaceMembership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace")
    found = membership.first()
    return found.workspace if found is not None else None


def invitation_preview_for_ticket(*, ticket: str) -> InvitationPreview | None:
    """Workspace, inviter and state of the invitation a ticket belongs to; ``None`` when we do not know it.

    A resent invitation gets a new Clerk id, so an old link's ticket names no row; the resend's audit event still
    leads to the invitation, and the preview says the link was ``superseded``.
    """
    clerk_invitation_id = clerk_invitation_id_from_ticket(ticket)
    if not clerk_invitation_id:
        return None
    rows = WorkspaceInvitation.objects.select_related("workspace", "inviter")
    invitation = rows.filter(clerk_invitation_id=clerk_invitation_id).first()
    superseded = False
    if invitation is None:
        resent = resent_from(clerk_invitation_id, action=RESENT_ACTION)
        invitation = rows.filter(pk=int(resent)).first() if resent.isdigit() else None
        superseded = invitation is not None
    if invitation is None:
        return None
    inviter = invitation.inviter
    return InvitationPreview(
        invitation_id=invitation.pk,
        workspace_id=invitation.workspace_id,
        workspace_name=invitation.workspace.name,
        inviter_name=(inviter.full_name if inviter is not None else "") or invitation.inviter_name,
        inviter_email=(inviter.email if inviter is not None else "") or invitation.inviter_email,
        email=invitation.email,
        role=invitation.role,
        status=invitation.effective_status,
        expires_at=invitation.expires_at,
        superseded=superseded,
    )
