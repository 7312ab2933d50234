"""``audit()``: one call per action, writing an AuditEvent and a structured log line with the request id."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from core.models import AuditEvent
from core.request_id import current_request_id

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger("audit")


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit(
    action: str,
    *,
    actor: User | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    event = AuditEvent.objects.create(
        action=action,
        outcome=outcome,
        actor_id=actor.pk if actor is not None else None,
        actor_clerk_user_id=getattr(actor, "clerk_user_id", "") or "",
        actor_email=getattr(actor, "email", "") or "",
        actor_role=getattr(actor, "role", "") or "",
        target_type=target_type,
        target_id=str(target_id),
        request_id=current_request_id(),
        ip_address=client_ip(request),
        details=details or {},
    )
    logger.info(
        "%s %s target=%s:%s actor=%s",
        action,
        outcome,
        target_type,
        target_id,
        actor.pk if actor is not None else "system",
        extra={
            "action": action,
            "outcome": outcome,
            "target_id": str(target_id),
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return event
