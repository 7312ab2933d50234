"""``audit()``: one call per action, writing an AuditEvent and a structured log line with the request id."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from core.models import AuditEvent
from core.request_id import current_client_ip, current_request_id

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("audit")


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of ``request`` (for code that holds one, such as the webhook endpoint's stored event)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_event(
    action: str,
    *,
    actor: AbstractBaseUser | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved event: ``audit`` saves one, ``audit_many`` saves many in one INSERT.

    The request id and the client's address come from the request being served (``core.request_id``), so a service
    records them without taking the request; nothing here takes one (outside a request, both are empty).
    """
    return AuditEvent(
        action=action,
        outcome=outcome,
        actor_id=actor.pk if actor is not None else None,
        actor_clerk_user_id=getattr(actor, "clerk_user_id", "") or "",
        actor_email=getattr(actor, "email", "") or "",
        actor_role=getattr(actor, "role", "") or "",
        target_type=target_type,
        target_id=str(target_id),
        request_id=current_request_id(),
        ip_address=current_client_ip(),
        details=details or {},
    )


def _log(event: AuditEvent) -> None:
    logger.info(
        "%s %s target=%s:%s actor=%s",
        event.action,
        event.outcome,
        event.target_type,
        event.target_id,
        event.actor_id if event.actor_id is not None else "system",
        extra={
            "action": event.action,
            "outcome": event.outcome,
            "target_id": event.target_id,
            "actor_id": event.actor_id,
        },
    )


def audit(
    action: str,
    *,
    actor: AbstractBaseUser | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = audit_event(
        action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        details=details,
    )
    event.save()
    _log(event)
    return event


def audit_many(events: list[AuditEvent]) -> None:
    """Save many ``audit_event`` results in one INSERT (inviting 100 emails costs as many queries as 10)."""
    if not events:
        return
    AuditEvent.objects.bulk_create(events)
    for event in events:
        _log(event)
