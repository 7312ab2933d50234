"""Roles and what they may do: the permission table of docs/security.md ("Roles"), as data.

Authorization (``accounts.permissions``, the services and the ``{% load permissions %}`` template filter) reads this
table and the role stored in the database, never a role string of its own.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", "Super admin"
    ADMIN = "admin", "Admin"
    PM = "pm", "Project manager"
    MEMBER = "member", "Member"


class WorkspaceRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


INTERNAL_ROLES = frozenset({Role.SUPER_ADMIN, Role.ADMIN, Role.PM})

# Clerk organization role keys for our workspace roles.
CLERK_ORG_ROLES = {WorkspaceRole.ADMIN: "org:admin", WorkspaceRole.MEMBER: "org:member"}
WORKSPACE_ROLE_FROM_CLERK = {value: key for key, value in CLERK_ORG_ROLES.items()}


class Permission:
    WORKSPACE_INVITE = "workspace:invite"
    INTERNAL_USERS_MANAGE = "internal_users:manage"
    INTERNAL_USERS_DELETE = "internal_users:delete"
    SUPER_ADMIN_ASSIGN = "super_admin:assign"


# Role → permissions it grants everywhere. `workspace:invite` is also granted per workspace to that workspace's
# admins (see accounts.permissions.has_permission).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.SUPER_ADMIN: frozenset(
        {
            Permission.WORKSPACE_INVITE,
            Permission.INTERNAL_USERS_MANAGE,
            Permission.INTERNAL_USERS_DELETE,
            Permission.SUPER_ADMIN_ASSIGN,
        }
    ),
    Role.ADMIN: frozenset({Permission.WORKSPACE_INVITE, Permission.INTERNAL_USERS_MANAGE}),
    Role.PM: frozenset({Permission.WORKSPACE_INVITE}),
    Role.MEMBER: frozenset(),
}

WORKSPACE_ADMIN_PERMISSIONS = frozenset({Permission.WORKSPACE_INVITE})


def role_from_metadata(value: object) -> Role | None:
    """A staff role from Clerk ``public_metadata``; anything unknown is ``None`` (never trusted, never guessed)."""
    if isinstance(value, str) and value in Role.values and value in INTERNAL_ROLES:
        return Role(value)
    return None
