"""Workspace members: changing a member's workspace role, removing a member, leaving a workspace.

The rules, shared by the API (``invitations/api/members.py``) and the settings page (``invitations/member_views.py``):

- who may act follows the permission table: whoever holds ``workspace:invite`` for the workspace (super_admin,
  admin and pm everywhere; that workspace's admins) may change roles and remove members; anyone may remove
  themselves (leave);
- a workspace keeps at least one admin: its last admin can be neither demoted nor removed (``last_admin``). Safe
  under concurrency: the workspace's admin memberships are locked (``SELECT … FOR UPDATE``) while the check runs and
  Clerk is changed, so two admins demoting each other at once end with one admin, not none;
- Clerk first (organization membership update / delete through the gateway), then the local mirror at once; the
  ``organizationMembership.*`` webhooks Clerk sends for the same change later find it in place (an older
  ``updated`` is ignored by its ``updated_at``; a deletion removes nothing that is still there);
- every change and every refusal is audited with the request id.

The list itself is read a page at a time (``members_page``): newest first from an index, with a total counted up to
``core.capped_pages.COUNT_CAP`` ("1,000+"), so a page costs the same at 1,000 and 100,000 members
(bench/members_list.py, docs/figures.md).
"""

from __future__ import annotations

import contextlib

from django.db import transaction

from accounts import clerk
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import CLERK_ORG_ROLES, WorkspaceRole
from accounts.services import membership_upsert_from_clerk
from core.audit import audit
from core.capped_pages import CappedPage, capped_page
from core.exceptions import ApplicationError, Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import AuditEvent
from invitations.selectors import can_invite, workspace_members

PAGE_SIZE = 50


class LastAdmin(Conflict):
    code = "last_admin"
    default_message = "A workspace needs at least one admin: make someone else an admin first."


class MemberNotFound(NotFound):
    default_message = "This person is not a member of this workspace."


class InvalidWorkspaceRole(InvalidInput):
    code = "invalid_role"
    default_message = "The workspace role must be admin or member."


def may_manage_members(*, user: User, workspace: Workspace) -> bool:
    """Whether ``user`` may change roles of, and remove, other members of ``workspace``."""
    return can_invite(user=user, workspace=workspace)


def may_remove(*, user: User, workspace: Workspace, clerk_user_id: str) -> bool:
    return user.clerk_user_id == clerk_user_id or may_manage_members(user=user, workspace=workspace)


def members_page(*, workspace: Workspace, page: int = 1) -> CappedPage[WorkspaceMembership]:
    """One page of the workspace's members (``PAGE_SIZE``, newest first) with the capped count: two queries."""
    return capped_page(rows=workspace_members(workspace=workspace), number=page, page_size=PAGE_SIZE)


def has_several_admins(*, workspace: Workspace) -> bool:
    """Whether the workspace has more than one admin (then any one of them may be demoted or removed)."""
    admins = WorkspaceMembership.objects.filter(workspace=workspace, role=WorkspaceRole.ADMIN).order_by()
    return admins[:2].count() > 1  # without the model's ordering, which would join every user to sort them


def member_get(*, workspace: Workspace, clerk_user_id: str) -> WorkspaceMembership:
    membership = (
        WorkspaceMembership.objects.select_related("user")
        .filter(workspace=workspace, user__clerk_user_id=clerk_user_id)
        .first()
    )
    if membership is None:
        raise MemberNotFound()
    return membership


def _audit(
    action: str,
    *,
    actor: User,
    workspace: Workspace,
    clerk_user_id: str,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    **details: object,
) -> None:
    audit(
        action,
        actor=actor,
        target_type="workspace_membership",
        target_id=f"{workspace.pk}:{clerk_user_id}"[:64],
        outcome=outcome,
        details={"workspace_id": workspace.pk, "clerk_user_id": clerk_user_id, **details},
    )


def _refuse(
    error: ApplicationError,
    action: str,
    *,
    actor: User,
    workspace: Workspace,
    clerk_user_id: str,
) -> ApplicationError:
    outcome = (
        AuditEvent.Outcome.DENIED if isinstance(error, PermissionDenied | LastAdmin) else AuditEvent.Outcome.FAILED
    )
    _audit(
        action,
        actor=actor,
        workspace=workspace,
        clerk_user_id=clerk_user_id,
        outcome=outcome,
        code=error.code,
    )
    return error


def _lock(workspace: Workspace, clerk_user_id: str) -> tuple[WorkspaceMembership | None, int]:
    """Lock the workspace's admin memberships and the target's; (the target, how many admins there are)."""
    admins = list(
        WorkspaceMembership.objects.select_for_update()
        .filter(workspace=workspace, role=WorkspaceRole.ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    target = (
        WorkspaceMembership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(workspace=workspace, user__clerk_user_id=clerk_user_id)
        .first()
    )
    return target, len(admins)


def member_role_change(*, workspace: Workspace, actor: User, clerk_user_id: str, role: str) -> WorkspaceMembership:
    """Make a member an admin or a member of the workspace, in Clerk and here. The same role changes nothing."""
    action = "workspace_member.role_changed"
    if role not in WorkspaceRole.values:
        raise InvalidWorkspaceRole()
    if not may_manage_members(user=actor, workspace=workspace):
        raise _refuse(
            PermissionDenied("Only workspace admins and staff can change members' roles."),
            action,
            actor=actor,
            workspace=workspace,
            clerk_user_id=clerk_user_id,
        )
    error: ApplicationError | None = None
    with transaction.atomic():
        target, admins = _lock(workspace, clerk_user_id)
        if target is None:
            error = MemberNotFound()
        elif target.role == role:
            return target
        elif target.role == WorkspaceRole.ADMIN and admins <= 1:
            error = LastAdmin("This is the workspace's only admin: make someone else an admin first.")
        else:
            previous = target.role
            try:
                remote = clerk.update_organization_membership(
                    workspace.clerk_organization_id, user_id=clerk_user_id, role=CLERK_ORG_ROLES[WorkspaceRole(role)]
                )
            except clerk.ClerkNotFound:
                target.delete()  # Clerk no longer has it: neither do we (its deletion webhook may be on its way)
                error = MemberNotFound()
            else:
                membership = membership_upsert_from_clerk(membership=remote, user=target.user)
    if error is not None:
        raise _refuse(error, action, actor=actor, workspace=workspace, clerk_user_id=clerk_user_id)
    _audit(
        action,
        actor=actor,
        workspace=workspace,
        clerk_user_id=clerk_user_id,
        previous_role=previous,
        role=membership.role,
        email=target.user.email if target is not None else None,
    )
    return membership


def member_remove(*, workspace: Workspace, actor: User, clerk_user_id: str) -> WorkspaceMembership:
    """Remove a member from the workspace (or, for oneself, leave it), in Clerk and here; the removed row."""
    leaving = actor.clerk_user_id == clerk_user_id
    action = "workspace_member.left" if leaving else "workspace_member.removed"
    if not may_remove(user=actor, workspace=workspace, clerk_user_id=clerk_user_id):
        raise _refuse(
            PermissionDenied("Only workspace admins and staff can remove other members."),
            action,
            actor=actor,
            workspace=workspace,
            clerk_user_id=clerk_user_id,
        )
    error: ApplicationError | None = None
    with transaction.atomic():
        target, admins = _lock(workspace, clerk_user_id)
        if target is None:
            error = MemberNotFound()
        elif target.role == WorkspaceRole.ADMIN and admins <= 1:
            message = (
                "You are this workspace's only admin: make someone else an admin before you leave."
                if leaving
                else "This is the workspace's only admin: make someone else an admin first."
            )
            error = LastAdmin(message)
        else:
            with contextlib.suppress(clerk.ClerkNotFound):  # already gone in Clerk: mirror that
                clerk.delete_organization_membership(workspace.clerk_organization_id, user_id=clerk_user_id)
            removed_role = target.role
            target.delete()
    if error is not None or target is None:
        raise _refuse(
            error or MemberNotFound(),
            action,
            actor=actor,
            workspace=workspace,
            clerk_user_id=clerk_user_id,
        )
    _audit(
        action,
        actor=actor,
        workspace=workspace,
        clerk_user_id=clerk_user_id,
        role=removed_role,
        email=target.user.email,
    )
    return target
