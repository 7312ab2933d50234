"""``{% load permissions %}``: templates ask the permission table (``accounts.roles.ROLE_PERMISSIONS``, through
``accounts.permissions.has_permission``) instead of comparing role strings.

``{% if user|can:"INTERNAL_USERS_MANAGE" %}`` names a ``accounts.roles.Permission`` attribute; an unknown name is a
template error, so a typo fails the page's tests instead of hiding a link. See docs/security.md for the table.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from accounts.permissions import has_permission
from accounts.roles import Permission

register = template.Library()


@register.filter
def can(user: Any, permission_name: str) -> bool:
    """Whether ``user`` holds the named permission everywhere (workspace-scoped grants are the views' to check)."""
    permission = getattr(Permission, permission_name, None)
    if not isinstance(permission, str) or permission_name.startswith("_"):
        raise template.TemplateSyntaxError(f"{permission_name!r} is not an accounts.roles.Permission")
    return isinstance(user, User) and has_permission(user, permission)
