"""Reads for users, workspaces and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User, Workspace, WorkspaceMembership


def user_get_by_clerk_id(*, clerk_user_id: str) -> User | None:
    return User.objects.filter(clerk_user_id=clerk_user_id).first()


def workspace_memberships_for_user(*, user: User) -> QuerySet[WorkspaceMembership]:
    return WorkspaceMembership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def workspace_get_by_clerk_id(*, clerk_organization_id: str) -> Workspace | None:
    return Workspace.objects.filter(clerk_organization_id=clerk_organization_id).first()
