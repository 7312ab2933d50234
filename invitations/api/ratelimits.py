"""Rate limits of the invitation API: the per-user settings of each write, and the budgeted services.

Per user (counted by ``core.ratelimits``; the API and the settings page share the groups and counters):

===============================  ==========  ===============================================
setting                          default     counts
===============================  ==========  ===============================================
``INVITATIONS_API_INVITE_RATE``  ``20/h``    ``POST …/invitations/`` (each request, any size)
``INVITATIONS_API_RESEND_RATE``  ``30/h``    ``POST …/invitations/{id}/resend/``
``INVITATIONS_API_REVOKE_RATE``  ``60/h``    ``POST …/invitations/{id}/revoke/``
===============================  ==========  ===============================================

Globally, invites and resends spend the instance-wide Clerk budgets of ``core.budgets``.
"""

from __future__ import annotations

from typing import Final

from django.http import HttpRequest

from accounts.models import User, Workspace
from core.budgets import UNSENT_RESULTS, invite_budget, resend_budget
from invitations import services
from invitations.models import WorkspaceInvitation
from invitations.services import InviteResult

INVITE_RATE_SETTING: Final = "INVITATIONS_API_INVITE_RATE"
RESEND_RATE_SETTING: Final = "INVITATIONS_API_RESEND_RATE"
REVOKE_RATE_SETTING: Final = "INVITATIONS_API_REVOKE_RATE"


def invite_within_budget(
    *, workspace: Workspace, inviter: User, emails: list[str], role: str, request: HttpRequest | None = None
) -> list[InviteResult]:
    """``invitations_create`` inside the global Clerk budget; the API and the settings page both call this."""
    distinct = {email.strip().lower() for email in emails if email.strip()}
    with invite_budget(emails=len(distinct)) as budget:
        results = services.invitations_create(
            workspace=workspace, inviter=inviter, emails=emails, role=role, request=request
        )
        budget.unused(sum(1 for result in results if result.result in UNSENT_RESULTS))
    return results


def resend_within_budget(
    *, invitation: WorkspaceInvitation, actor: User, request: HttpRequest | None = None
) -> WorkspaceInvitation:
    with resend_budget():
        return services.invitation_resend(invitation=invitation, actor=actor, request=request)
