"""Rate limits of the invitation API: the per-user settings of each write.

Per user (counted by ``core.ratelimits``; the API and the settings page share the groups and counters):

===============================  ==========  ===============================================
setting                          default     counts
===============================  ==========  ===============================================
``INVITATIONS_API_INVITE_RATE``  ``20/h``    ``POST …/invitations/`` (each request, any size)
``INVITATIONS_API_RESEND_RATE``  ``30/h``    ``POST …/invitations/{id}/resend/``
``INVITATIONS_API_REVOKE_RATE``  ``60/h``    ``POST …/invitations/{id}/revoke/``
===============================  ==========  ===============================================

Globally, invites and resends spend the instance-wide Clerk budgets of ``core.budgets``, which the services
(``invitations_create``, ``invitation_resend``) reserve themselves.
"""

from __future__ import annotations

from typing import Final

INVITE_RATE_SETTING: Final = "INVITATIONS_API_INVITE_RATE"
RESEND_RATE_SETTING: Final = "INVITATIONS_API_RESEND_RATE"
REVOKE_RATE_SETTING: Final = "INVITATIONS_API_REVOKE_RATE"
