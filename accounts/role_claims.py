"""Who may vouch for a staff role that a Clerk user's ``public_metadata`` claims.

``user_upsert_from_clerk`` applies a metadata role it did not write itself only when a registered claim accepts it.
internal_users registers one in its ``AppConfig.ready()``: a pending staff invitation for that email and role, which
it marks accepted. Keeping the registry here lets accounts stay unaware of the apps built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.clerk_types import ClerkUser
    from accounts.models import User
    from accounts.roles import Role

type RoleClaim = Callable[..., bool]

_claims: list[RoleClaim] = []


def register(claim: RoleClaim) -> RoleClaim:
    """``claim(user=, clerk_user=, role=) -> bool``: True accepts the role (and does its own bookkeeping)."""
    if claim not in _claims:
        _claims.append(claim)
    return claim


def accepted(*, user: User, clerk_user: ClerkUser, role: Role) -> bool:
    return any(claim(user=user, clerk_user=clerk_user, role=role) for claim in _claims)
