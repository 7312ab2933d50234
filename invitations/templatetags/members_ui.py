"""Template helpers of the members list on ``/settings/``."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from accounts.models import WorkspaceMembership
from accounts.roles import WorkspaceRole

register = template.Library()


@register.filter
def admin_count(memberships: Iterable[WorkspaceMembership]) -> int:
    """How many of these memberships are admins (the list is already loaded: no query)."""
    return sum(1 for membership in memberships if membership.role == WorkspaceRole.ADMIN)
