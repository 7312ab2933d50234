"""What every workspace invitation write shares: the send lease and retry backoff, the ``failure_reason`` codes,
the permission check, the org-admin test Clerk needs for ``inviter_user_id``, and the audit details of a row.

The flows themselves live in the sibling modules (``invitations/services/__init__.py`` lists them;
docs/workspace-invitations.md describes them).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from core.audit import audit_event
from core.exceptions import PermissionDenied
from core.models import AuditEvent
from invitations.errors import InvalidRole
from invitations.models import WorkspaceInvitation
from invitations.selectors import can_invite

# How long a queued row belongs to whoever is sending it; after that `send_queued_invitations` may take it over.
SEND_LEASE = timedelta(minutes=5)
# Background retries after Clerk failed: capped and jittered, growing with how long the invitation has waited.
RETRY_BACKOFF_MIN_S = 60
RETRY_BACKOFF_MAX_S = 3600

# Codes kept in `failure_reason` ("<code>: <text>"); NO_RESPONSE marks rows Clerk may hold without our knowing.
REASON_RATE_LIMITED = "rate_limited"
REASON_NO_RESPONSE = "clerk_no_response"
REASON_UNAVAILABLE = "clerk_unavailable"

AUDIT_TARGET = "workspace_invitation"


def _reason(code: str, text: str = "") -> str:
    return (f"{code}: {text}" if text else code)[:300]


def _reason_code(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def _redirect_url() -> str:
    return f"{settings.APP_BASE_URL}/accept-invite/"


def _retry_backoff(row: WorkspaceInvitation, now: datetime) -> timedelta:
    """Capped, jittered delay before the next background attempt; longer the longer the invitation has waited."""
    waited = (now - (row.last_sent_at or row.created_at or now)).total_seconds()
    base = min(RETRY_BACKOFF_MAX_S, max(RETRY_BACKOFF_MIN_S, waited / 4))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not cryptography)


def _require_invite_permission(*, user: User, workspace: Workspace) -> None:
    if not can_invite(user=user, workspace=workspace):
        raise PermissionDenied("You may not manage invitations of this workspace.")


def _workspace_role(role: str) -> WorkspaceRole:
    if role not in WorkspaceRole.values:
        raise InvalidRole(f"{role!r} is not a workspace role: use admin or member.")
    return WorkspaceRole(role)


def _is_org_admin(*, user: User | None, workspace: Workspace) -> bool:
    """Clerk accepts ``inviter_user_id``/``requesting_user_id`` only for an admin of that organization."""
    if user is None or not user.clerk_user_id:
        return False
    return WorkspaceMembership.objects.filter(workspace=workspace, user=user, role=WorkspaceRole.ADMIN).exists()


def _audit_event(
    action: str,
    *,
    actor: User | None,
    target_id: int | str,
    details: dict[str, Any],
    outcome: str = AuditEvent.Outcome.SUCCESS,
) -> AuditEvent:
    return audit_event(
        action,
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=target_id,
        outcome=outcome,
        details=details,
    )


def _invitation_details(row: WorkspaceInvitation, **more: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "email": row.email,
        "role": row.role,
        "workspace_id": row.workspace_id,
        "inviter_id": row.inviter_id,
        "status": row.status,
        "clerk_invitation_id": row.clerk_invitation_id or "",
    }
    details.update(more)
    return details
