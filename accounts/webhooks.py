"""Clerk webhooks: the endpoint, ``POST /webhooks/clerk/``, the door of the inbox (``accounts.webhook_inbox``).

It is public but signed (Clerk sends through Svix): no session, no CSRF token. It

1. verifies the *raw* body with svix against ``CLERK_WEBHOOK_SIGNING_SECRET``; anything malformed, unsigned, stale
   or too large is a 4xx in the one error shape, never a 500;
2. stores the event once (``core.models.WebhookEvent``, unique on ``svix-id``) with the task that applies it, and
   answers 2xx at once (``received``); a redelivery (same ``svix-id``) answers ``duplicate`` and changes nothing;
   a type nobody handles is stored as ``ignored``. Nothing here calls Clerk or runs a handler: a worker applies the
   event (``accounts.webhook_apply``), retries it, and parks it if it keeps failing.

The handler registry is ``accounts.webhook_registry``; locks and tombstones are ``accounts.webhook_locks`` (both
re-exported here for the modules that import them from this one).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from svix.webhooks import Webhook, WebhookVerificationError

from accounts.webhook_inbox import MAX_ID_LENGTH, store_event
from accounts.webhook_locks import Tombstones, deleted_in_clerk, lock_clerk_objects, tombstones
from accounts.webhook_registry import WebhookHandler, handlers_for, register, unregister, webhook_handler
from core.api import error_body
from core.audit import client_ip
from core.request_id import current_request_id

__all__ = [
    "Tombstones",
    "WebhookHandler",
    "clerk_webhook",
    "deleted_in_clerk",
    "handlers_for",
    "lock_clerk_objects",
    "register",
    "tombstones",
    "unregister",
    "webhook_handler",
]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_TYPE_LENGTH = 100


class _Rejected(Exception):
    def __init__(self, status: int, code: str, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.message, self.reason = status, code, message, reason


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise _Rejected(413, "payload_too_large", "The request body is too large.", f"{declared} bytes declared")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise _Rejected(413, "payload_too_large", "The request body is too large.", f"{len(body)} bytes")
    return body


def _verify(webhook: Webhook, request: HttpRequest, body: bytes) -> tuple[str, datetime | None, dict[str, Any]]:
    """(svix id, signing time, payload) of a delivery whose signature matches; ``_Rejected`` otherwise."""
    # request.headers, not request.META: svix looks for `svix-id` etc., case-insensitively.
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        webhook.verify(body, headers)
    except (WebhookVerificationError, ValueError, TypeError, OverflowError) as exc:
        # ValueError covers a garbage `svix-signature` (unpacking, base64) and a non-UTF-8 body.
        raise _Rejected(400, "invalid_signature", "The webhook signature is not valid.", repr(exc)) from None
    svix_id = headers.get("svix-id") or headers.get("webhook-id") or ""
    if len(svix_id) > MAX_ID_LENGTH:
        raise _Rejected(400, "invalid_payload", "The webhook id is too long.", "svix-id too long")
    try:
        signed_at: datetime | None = datetime.fromtimestamp(
            int(headers.get("svix-timestamp") or headers.get("webhook-timestamp") or ""), tz=UTC
        )
    except (ValueError, OverflowError, OSError):
        signed_at = None
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _Rejected(400, "invalid_payload", "The webhook body is not JSON.", "body is not JSON") from None
    if not isinstance(payload, dict):
        raise _Rejected(400, "invalid_payload", "The webhook body must be a JSON object.", "body not an object")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type or len(event_type) > MAX_TYPE_LENGTH:
        raise _Rejected(400, "invalid_payload", "The webhook event has no valid `type`.", "bad or missing type")
    if not isinstance(payload.get("data"), dict):
        raise _Rejected(400, "invalid_payload", "The webhook event has no `data` object.", "bad or missing data")
    return svix_id, signed_at, payload


def _signing_webhook() -> Webhook | None:
    secret: str = settings.CLERK_WEBHOOK_SIGNING_SECRET
    if not secret:
        logger.error("clerk webhook refused: CLERK_WEBHOOK_SIGNING_SECRET is not set")
        return None
    try:
        return Webhook(secret)
    except Exception:  # a malformed secret: svix raises binascii.Error, EmptyWebhookSecretError, ...
        logger.error("clerk webhook refused: CLERK_WEBHOOK_SIGNING_SECRET is not a valid `whsec_` secret")
        return None


@csrf_exempt
@transaction.non_atomic_requests
def clerk_webhook(request: HttpRequest) -> HttpResponse:
    """Verify → store once (with its task) → answer. Thin on purpose; the inbox and the worker hold the rules."""
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    webhook = _signing_webhook()
    if webhook is None:
        return _error(503, "webhook_not_configured", "Webhooks are not configured on this server.")
    try:
        svix_id, signed_at, payload = _verify(webhook, request, _read_body(request))
    except _Rejected as rejected:
        logger.warning("clerk webhook rejected (%s): %s", rejected.code, rejected.reason)
        return _error(rejected.status, rejected.code, rejected.message)

    event_type = payload["type"]
    try:
        event = store_event(
            svix_id=svix_id,
            payload=payload,
            signed_at=signed_at,
            request_id=current_request_id(),
            remote_ip=client_ip(request),
        )
    except Exception:
        # Nothing was stored (the insert and its task are one transaction), so Svix's retry is not a duplicate.
        logger.exception("clerk webhook %s (%s) could not be stored; Svix will retry", svix_id, event_type)
        return _error(500, "webhook_failed", "The event could not be stored; it will be retried.")
    # DEBUG: the stored row is the record of a delivery (request id, address, time); the worker logs what it applied.
    if event is None:
        logger.debug("clerk webhook %s (%s) is a duplicate; nothing changed", svix_id, event_type)
        return JsonResponse({"status": "duplicate", "svix_id": svix_id})
    logger.debug("clerk webhook %s (%s) stored as %s", svix_id, event_type, event.status)
    return JsonResponse({"status": event.status, "svix_id": svix_id})
