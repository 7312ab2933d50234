"""Discovery: the workspaces a caller can reach, with their workspace role there and what they may do.

One query for a page of workspaces however many there are: the caller's role and the admin and member counts are
annotations, and what they may do follows from those and their staff role (the permission table,
``accounts/roles.py``) without another read per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import ROLE_PERMISSIONS, Permission, WorkspaceRole
from core.exceptions import NotFound
from invitations.selectors import workspaces_for_user


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace: Workspace
    role: str | None  # the caller's workspace role; None for staff who reach it without being a member
    member_count: int
    invite: bool  # invite, resend, revoke, list invitations
    manage_members: bool  # change members' roles, remove members
    leave: bool  # a member who is not its only admin

    @property
    def permissions(self) -> dict[str, bool]:
        return {"invite": self.invite, "manage_members": self.manage_members, "leave": self.leave}


def _annotated(user: User) -> QuerySet[Workspace]:
    # Subqueries, not Count() over a join: workspaces_for_user already joins memberships to filter by member.
    memberships = WorkspaceMembership.objects.filter(workspace=OuterRef("pk"))
    mine = memberships.filter(user=user).values("role")[:1]

    def count(rows: QuerySet[WorkspaceMembership]) -> Subquery:
        return Subquery(rows.order_by().values("workspace").annotate(n=Count("pk")).values("n")[:1])

    return workspaces_for_user(user=user).annotate(
        my_role=Subquery(mine),
        member_total=Coalesce(count(memberships), 0),
        admin_total=Coalesce(count(memberships.filter(role=WorkspaceRole.ADMIN)), 0),
    )


def _access(user: User, workspace: Workspace) -> WorkspaceAccess:
    role: str | None = getattr(workspace, "my_role", None)
    staff_invites = Permission.WORKSPACE_INVITE in ROLE_PERMISSIONS.get(user.role, frozenset())
    manages = staff_invites or role == WorkspaceRole.ADMIN
    only_admin = role == WorkspaceRole.ADMIN and getattr(workspace, "admin_total", 0) <= 1
    return WorkspaceAccess(
        workspace=workspace,
        role=role,
        member_count=getattr(workspace, "member_total", 0),
        invite=manages,
        manage_members=manages,
        leave=role is not None and not only_admin,
    )


def workspace_access_queryset(*, user: User) -> QuerySet[Workspace]:
    """The caller's workspaces, by name, annotated for ``workspace_access`` (page it, then map it)."""
    return _annotated(user)


def workspace_access(*, user: User, workspaces: list[Workspace]) -> list[WorkspaceAccess]:
    return [_access(user, workspace) for workspace in workspaces]


def workspace_access_get(*, user: User, workspace_id: int) -> WorkspaceAccess:
    """One workspace within the caller's reach; ``NotFound`` (404) for one that is not, or does not exist."""
    workspace = _annotated(user).filter(pk=workspace_id).first()
    if workspace is None:
        raise NotFound("Workspace not found.")
    return _access(user, workspace)
