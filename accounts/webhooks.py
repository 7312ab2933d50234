"""Clerk webhooks: the endpoint, and the registry of event handlers every app adds to.

``POST /webhooks/clerk/`` is public but signed (Clerk sends through Svix): no session, no CSRF token. It

1. verifies the *raw* body with svix against ``CLERK_WEBHOOK_SIGNING_SECRET``; anything malformed, unsigned, stale
   or too large is a 4xx in the one error shape, never a 500;
2. stores the event once (``core.models.WebhookEvent``, unique on ``svix-id``) and runs the handlers registered
   for its type, all in ONE transaction: a redelivery (same ``svix-id``) answers 2xx and changes nothing; a handler
   failure rolls everything back, the event row included, and answers 5xx so Svix retries;
3. acknowledges event types nobody handles (recorded as ``ignored``).

Apps register handlers in their ``AppConfig.ready()`` by importing a module that uses ``@webhook_handler(...)``
(or calls ``register``). Handlers of one type run in registration order, i.e. ``INSTALLED_APPS`` order, so the
accounts handlers (users, workspaces, memberships) run before those of invitations and internal_users. A handler
must be idempotent and tolerate any delivery order; it parses ``event.data`` and calls a service; slow work
(email) is enqueued with ``transaction.on_commit``. It may return a short note (why it skipped something), stored
on the event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from svix.webhooks import Webhook, WebhookVerificationError

from core.api import error_body
from core.audit import client_ip
from core.models import WebhookEvent
from core.request_id import current_request_id
from core.text import without_nul

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_TYPE_LENGTH = 100
MAX_ID_LENGTH = 255

type WebhookHandler = Callable[[WebhookEvent], str | None]

_handlers: dict[str, list[WebhookHandler]] = {}


# --------------------------------------------------------------------------- registry
def register[H: WebhookHandler](event_type: str, handler: H) -> H:
    """Run ``handler`` for every stored event of ``event_type`` (registering the same function twice is a no-op)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister(event_type: str, handler: WebhookHandler) -> None:
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def webhook_handler(*event_types: str) -> Callable[[WebhookHandler], WebhookHandler]:
    """Decorator form of ``register``: ``@webhook_handler("user.created", "user.updated")``."""

    def decorator(handler: WebhookHandler) -> WebhookHandler:
        for event_type in event_types:
            register(event_type, handler)
        return handler

    return decorator


def handlers_for(event_type: str) -> tuple[WebhookHandler, ...]:
    return tuple(_handlers.get(event_type, ()))


# --------------------------------------------------------------------------- helpers for handlers
def lock_clerk_objects(*clerk_ids: str) -> None:
    """Serialize, until commit, concurrent events about the same Clerk objects (PostgreSQL advisory locks).

    Without it a ``*.deleted`` and a late ``*.updated`` for one object, delivered at the same moment, could both
    read "no tombstone yet" and the update would resurrect the object. Call it once, first, with every id the
    handler reads or writes; ids are locked in sorted order (one statement) so two handlers never wait on each
    other in a cycle. Other databases serialize writers themselves, so this is a no-op there.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({f"clerk:{clerk_id}" for clerk_id in clerk_ids if clerk_id})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS locks(key, position) ORDER BY position",
            [keys],
        )


class Tombstones:
    """The stored ``*.deleted`` events (tombstones) of some Clerk objects, read in one query (``tombstones()``).

    Users and organizations are deleted for good (their deletion payload has no ``updated_at``), so any tombstone
    wins. A membership's deletion payload carries the membership with its ``updated_at``: data not newer than that
    is ignored, so a late ``organizationMembership.created`` never resurrects a removed membership.
    """

    def __init__(self, versions: dict[str, int | None]) -> None:
        # Clerk id -> the newest deleted version (None: deleted for good).
        self._versions = versions

    def rule_out(self, clerk_id: str, *, updated_at: int | None = None) -> bool:
        """Whether data about ``clerk_id`` (at Clerk's ``updated_at``, when known) must not be applied."""
        if not clerk_id or clerk_id not in self._versions:
            return False
        deleted_version = self._versions[clerk_id]
        return updated_at is None or deleted_version is None or updated_at <= deleted_version


def tombstones(*clerk_ids: str) -> Tombstones:
    ids = {clerk_id for clerk_id in clerk_ids if clerk_id}
    versions: dict[str, int | None] = {}
    if not ids:
        return Tombstones(versions)
    stored = WebhookEvent.objects.filter(object_id__in=ids, type__endswith=".deleted").order_by()
    for object_id, payload in stored.values_list("object_id", "payload"):
        data = payload.get("data") if isinstance(payload, dict) else None
        version = data.get("updated_at") if isinstance(data, dict) else None
        if not isinstance(version, int) or (object_id in versions and versions[object_id] is None):
            versions[object_id] = None
        else:
            versions[object_id] = max(version, versions.get(object_id) or version)
    return Tombstones(versions)


def deleted_in_clerk(clerk_id: str, *, updated_at: int | None = None) -> bool:
    """Whether a stored ``*.deleted`` event (the tombstone) rules out applying data about ``clerk_id``."""
    return tombstones(clerk_id).rule_out(clerk_id, updated_at=updated_at)


# --------------------------------------------------------------------------- processing
def _run_handlers(event: WebhookEvent, handlers: tuple[WebhookHandler, ...]) -> None:
    notes = [note for handler in handlers if (note := handler(event))]
    event.status = WebhookEvent.Status.PROCESSED if handlers else WebhookEvent.Status.IGNORED
    event.note = "; ".join(notes)[:2000]
    event.processed_at = timezone.now()


def store_and_process(
    *,
    svix_id: str,
    payload: dict[str, Any],
    signed_at: datetime | None = None,
    request_id: str = "",
    remote_ip: str | None = None,
) -> WebhookEvent | None:
    """Store the event and run its handlers in one transaction; ``None`` when this ``svix_id`` is already stored.

    Concurrent deliveries of one message: the first INSERT wins; on PostgreSQL the others wait on the unique index
    until it commits and then insert nothing (duplicate → ``None``), or, if it rolled back, one of them takes over.
    """
    data = payload.get("data")
    object_id = data.get("id") if isinstance(data, dict) else None
    handlers = handlers_for(payload["type"])
    event = WebhookEvent(
        svix_id=svix_id,
        type=payload["type"],
        object_id=object_id[:MAX_ID_LENGTH] if isinstance(object_id, str) else "",
        # An event nobody handles is stored in its final state: one statement, not two.
        status=WebhookEvent.Status.PROCESSED if handlers else WebhookEvent.Status.IGNORED,
        processed_at=None if handlers else timezone.now(),
        # PostgreSQL's jsonb cannot hold U+0000: a NUL anywhere in Clerk's data would fail the event forever.
        payload=without_nul(payload),
        signed_at=signed_at,
        request_id=request_id,
        remote_ip=remote_ip,
    )
    with transaction.atomic():
        if not WebhookEvent.objects.insert_once(event):
            return None
        if handlers:
            _run_handlers(event, handlers)
            event.save(update_fields=["status", "note", "processed_at"])
    return event


def reprocess_event(*, event: WebhookEvent) -> WebhookEvent:
    """Run a stored event's handlers again (an operator's replay; safe because handlers are idempotent)."""
    with transaction.atomic():
        _run_handlers(event, handlers_for(event.type))
        event.save(update_fields=["status", "note", "processed_at"])
    return event


# --------------------------------------------------------------------------- the endpoint
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
    """Verify → store once → dispatch → answer. Thin on purpose; the rules live above and in the handlers."""
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
        event = store_and_process(
            svix_id=svix_id,
            payload=payload,
            signed_at=signed_at,
            request_id=current_request_id(),
            remote_ip=client_ip(request),
        )
    except Exception:
        # Rolled back, event row included; Svix retries. The traceback goes through the redacting log filter.
        logger.exception("clerk webhook %s (%s) failed; rolled back for a retry", svix_id, event_type)
        return _error(500, "webhook_failed", "The event could not be processed; it will be retried.")
    if event is None:
        logger.info("clerk webhook %s (%s) is a duplicate; nothing changed", svix_id, event_type)
        return JsonResponse({"status": "duplicate", "svix_id": svix_id})
    logger.info("clerk webhook %s (%s) %s", svix_id, event_type, event.status)
    return JsonResponse({"status": event.status, "svix_id": svix_id})
