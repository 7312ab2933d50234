"""Rate limits of staff actions, shared by the API and the pages (same settings, groups and counters).

Per user: ``INTERNAL_USERS_API_INVITE_RATE``, ``..._RESEND_RATE`` and ``..._ACTION_RATE`` (revoke, grant role,
deactivate, reactivate, remove), counted by ``core.ratelimits``. Globally: invites and resends spend one budget of
Clerk application invitations (``core.budgets.STAFF_INVITATIONS``, ``INTERNAL_USERS_GLOBAL_INVITATIONS_RATE``, 80/h),
below Clerk's cap of 100 per hour and instance, reserved by the services themselves.
"""

from __future__ import annotations

from typing import Final

INVITE_RATE_SETTING: Final = "INTERNAL_USERS_API_INVITE_RATE"
RESEND_RATE_SETTING: Final = "INTERNAL_USERS_API_RESEND_RATE"
ACTION_RATE_SETTING: Final = "INTERNAL_USERS_API_ACTION_RATE"
GLOBAL_INVITATIONS_RATE_SETTING: Final = "INTERNAL_USERS_GLOBAL_INVITATIONS_RATE"
# Per-user counter groups (the API's and the pages' requests count together).
INVITE_GROUP: Final = "internal_users.api.invite"
RESEND_GROUP: Final = "internal_users.api.resend"
ACTION_GROUP: Final = "internal_users.api.action"
