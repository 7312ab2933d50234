"""Rate limits of staff actions, shared by the API and the pages (same settings, groups and counters).

Per user: ``INTERNAL_USERS_API_INVITE_RATE``, ``..._RESEND_RATE`` and ``..._ACTION_RATE`` (revoke, grant role,
deactivate, reactivate, remove), counted by ``core.ratelimits``. Globally: invites and resends spend one budget of
Clerk application invitations (``core.budgets.STAFF_INVITATIONS``, ``INTERNAL_USERS_GLOBAL_INVITATIONS_RATE``, 80/h),
below Clerk's cap of 100 per hour and instance.
"""

from __future__ import annotations

from typing import Final

from django.http import HttpRequest

from accounts.models import User
from core.budgets import staff_invitation_budget
from internal_users import services
from internal_users.models import InternalInvitation

INVITE_RATE_SETTING: Final = "INTERNAL_USERS_API_INVITE_RATE"
RESEND_RATE_SETTING: Final = "INTERNAL_USERS_API_RESEND_RATE"
ACTION_RATE_SETTING: Final = "INTERNAL_USERS_API_ACTION_RATE"
GLOBAL_INVITATIONS_RATE_SETTING: Final = "INTERNAL_USERS_GLOBAL_INVITATIONS_RATE"
# Per-user counter groups (the API's and the pages' requests count together).
INVITE_GROUP: Final = "internal_users.api.invite"
RESEND_GROUP: Final = "internal_users.api.resend"
ACTION_GROUP: Final = "internal_users.api.action"


def invite_within_budget(
    *, email: str, role: str, actor: User, request: HttpRequest | None = None
) -> InternalInvitation:
    """``internal_invite`` inside the global budget: a refusal before Clerk was called gives the unit back."""
    with staff_invitation_budget():
        return services.internal_invite(email=email, role=role, actor=actor, request=request)


def resend_within_budget(
    *, invitation: InternalInvitation, actor: User, request: HttpRequest | None = None
) -> InternalInvitation:
    with staff_invitation_budget():
        return services.internal_invitation_resend(invitation=invitation, actor=actor, request=request)
