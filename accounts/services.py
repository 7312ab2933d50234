"""Writes for users, workspaces and memberships, mirrored from Clerk (webhooks, sign-in, reconciliation)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.clerk_types import ClerkMembership, ClerkOrganization, ClerkUser
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WORKSPACE_ROLE_FROM_CLERK, Role, WorkspaceRole, role_from_metadata

logger = logging.getLogger(__name__)


def _role_from_clerk(clerk_user: ClerkUser, current: str) -> tuple[str, bool]:
    """(role, is_internal) from ``public_metadata``; an unknown role is logged and ignored, never trusted."""
    metadata = clerk_user.public_metadata
    if "role" not in metadata:
        return current, current != Role.MEMBER
    role = role_from_metadata(metadata.get("role"))
    if role is None:
        logger.warning("ignoring unknown role in Clerk metadata for user %s", clerk_user.id)
        return current, current != Role.MEMBER
    return role, True


@transaction.atomic
def user_upsert_from_clerk(*, clerk_user: ClerkUser) -> User:
    """Create or update the local mirror of a Clerk user. Data older than what is stored changes nothing."""
    user = User.objects.select_for_update().filter(clerk_user_id=clerk_user.id).first()
    if user is None and clerk_user.email:
        # Same email, new Clerk id: the old Clerk user is gone (emails are unique in Clerk), so the row follows.
        user = User.objects.select_for_update().filter(email__iexact=clerk_user.email).first()
    if user is not None and user.clerk_user_id == clerk_user.id and clerk_user.updated_at < user.clerk_updated_at:
        return user
    if user is None:
        user = User(clerk_user_id=clerk_user.id, email=clerk_user.email)
        user.set_unusable_password()
    role, internal = _role_from_clerk(clerk_user, user.role)
    user.clerk_user_id = clerk_user.id
    user.email = clerk_user.email or user.email
    user.first_name = clerk_user.first_name
    user.last_name = clerk_user.last_name
    user.image_url = clerk_user.image_url
    user.phone_number = clerk_user.phone_number
    user.role = role
    user.is_internal = internal
    if internal or clerk_user.phone_verified:
        user.phone_verification_required = False
    if clerk_user.banned and user.disabled_at is None:
        user.disabled_at = timezone.now()
    elif not clerk_user.banned:
        user.disabled_at = None
    user.clerk_updated_at = clerk_user.updated_at
    user.save()
    return user


@transaction.atomic
def user_delete_from_clerk(*, clerk_user_id: str) -> bool:
    """The Clerk user is gone: remove the local user (audit events keep their actor snapshot)."""
    deleted, _ = User.objects.filter(clerk_user_id=clerk_user_id).delete()
    return deleted > 0


@transaction.atomic
def workspace_upsert_from_clerk(*, organization: ClerkOrganization) -> Workspace:
    workspace = Workspace.objects.select_for_update().filter(clerk_organization_id=organization.id).first()
    if workspace is not None and organization.updated_at < workspace.clerk_updated_at:
        return workspace
    if workspace is None:
        workspace = Workspace(clerk_organization_id=organization.id)
    workspace.name = organization.name or workspace.name or organization.slug
    workspace.slug = organization.slug or workspace.slug
    workspace.clerk_updated_at = organization.updated_at
    workspace.save()
    return workspace


@transaction.atomic
def workspace_delete_from_clerk(*, clerk_organization_id: str) -> bool:
    deleted, _ = Workspace.objects.filter(clerk_organization_id=clerk_organization_id).delete()
    return deleted > 0


@transaction.atomic
def membership_upsert_from_clerk(*, membership: ClerkMembership, user: User) -> WorkspaceMembership:
    workspace = workspace_upsert_from_clerk(organization=membership.organization)
    role = WORKSPACE_ROLE_FROM_CLERK.get(membership.role, WorkspaceRole.MEMBER)
    existing = WorkspaceMembership.objects.select_for_update().filter(workspace=workspace, user=user).first()
    if existing is not None and membership.updated_at < existing.clerk_updated_at:
        return existing
    if existing is None:
        existing = WorkspaceMembership(workspace=workspace, user=user)
    existing.role = role
    existing.clerk_membership_id = membership.id or existing.clerk_membership_id
    existing.clerk_updated_at = membership.updated_at
    existing.save()
    return existing


@transaction.atomic
def membership_delete_from_clerk(*, membership: ClerkMembership) -> bool:
    deleted, _ = WorkspaceMembership.objects.filter(
        workspace__clerk_organization_id=membership.organization.id, user__clerk_user_id=membership.user_id
    ).delete()
    return deleted > 0
