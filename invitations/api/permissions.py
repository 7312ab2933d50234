"""Who may use the workspace API: reach first (404 outside it), then the permission (403).

A workspace the caller cannot reach answers 404 with the same body whether or not it exists, so ids leak
nothing. Inside their reach, members may read the member list; only callers with ``workspace:invite`` for that
workspace (super_admin, admin, pm, or an admin of that workspace) may touch invitations. Every refusal is logged
with the caller and the workspace id; refused writes also leave an audit event.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User, Workspace
from core.audit import audit
from core.models import AuditEvent
from invitations.selectors import can_invite

logger = logging.getLogger(__name__)


class WorkspaceScopedView(Protocol):
    def get_workspace(self) -> Workspace: ...


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _printable(value: object, limit: int) -> str:
    """Client-chosen text (ids from the URL, the path) made safe for a log line and a database row."""
    return _UNPRINTABLE.sub("?", str(value))[:limit]


def log_denied(request: Request, *, reason: str, workspace_id: object, status: int) -> None:
    user = request.user if isinstance(request.user, User) else None
    workspace_id = _printable(workspace_id, 64)
    path = _printable(request.path, 200)
    logger.warning(
        "api access denied: %s %s user=%s workspace=%s reason=%s status=%s",
        request.method,
        path,
        user.pk if user is not None else None,
        workspace_id,
        reason,
        status,
        extra={"actor_id": user.pk if user is not None else None, "reason": reason, "status": status},
    )
    if user is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        audit(
            "workspace_invitations.denied",
            actor=user,
            target_type="workspace",
            target_id=workspace_id,
            outcome=AuditEvent.Outcome.DENIED,
            details={"method": request.method, "path": path, "reason": reason, "status": status},
        )


class CanSeeWorkspace(BasePermission):
    """The workspace is within the caller's reach (else the view raises 404 while resolving it)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        scoped: WorkspaceScopedView = view  # type: ignore[assignment]
        scoped.get_workspace()
        return True


class CanInviteToWorkspace(BasePermission):
    """``workspace:invite`` for the workspace in the URL."""

    message = "You do not have permission to manage invitations for this workspace."

    def has_permission(self, request: Request, view: APIView) -> bool:
        scoped: WorkspaceScopedView = view  # type: ignore[assignment]
        workspace = scoped.get_workspace()
        user = request.user
        if isinstance(user, User) and can_invite(user=user, workspace=workspace):
            return True
        log_denied(request, reason="no_workspace_invite_permission", workspace_id=workspace.pk, status=403)
        return False
