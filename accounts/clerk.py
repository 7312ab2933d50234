"""THE Clerk gateway: the only module that imports the Clerk SDK (``clerk_backend_api``; ruff TID251 enforces it).

Everything else calls the typed functions below, gets our own dataclasses (``accounts.clerk_types``) back, and sees
only our ``ClerkError`` subclasses, never an SDK or httpx exception:

- ``ClerkRejected``: Clerk refused the request (4xx) — ``clerk_code`` is Clerk's error code, ``status`` its HTTP
  status; ``http_status`` is ours (409 for duplicates and "already …" states, 422 or 400 otherwise);
- ``ClerkNotFound``: 404;
- ``ClerkRateLimited``: 429, with ``retry_after`` (seconds) from Clerk's ``Retry-After``; rendered as our 429;
- ``ClerkUnavailable``: 5xx, timeouts, refused connections, no response, or a response we cannot parse (503);
- ``ClerkError`` itself: anything else, e.g. Clerk refusing our secret key (a configuration error; 502).

One SDK client is built on first use from settings (``CLERK_SECRET_KEY``, ``CLERK_API_URL`` — the Backend API base
including ``/v1``, Clerk's own https://api.clerk.com/v1 when empty — and ``CLERK_TIMEOUT_MS``) and cached;
``reset_client()`` drops it, and any change of a ``CLERK_*`` setting (e.g. pytest-django's ``settings``) does too.

Retries. The SDK's default retries a request for up to an hour and re-sends POSTs after a timeout, so the SDK
never retries here (``NO_RETRIES`` on the client and on every call). Writes (POST/PATCH/DELETE) are sent exactly
once: after a timeout Clerk may well have done the work, and a second POST could create a second invitation.
Idempotent reads (GET) get a short, bounded retry of our own on transport errors and 5xx: at most
``len(READ_RETRY_DELAYS_S)`` retries, none started after ``READ_RETRY_BUDGET_S``, so a read costs at most about
``READ_RETRY_BUDGET_S + CLERK_TIMEOUT_MS``. (The SDK's backoff would sleep for whatever ``Retry-After`` a 5xx carries,
unbounded, which is why reads do not use it.) 429s are never retried inside a request: the caller gets
``ClerkRateLimited`` and passes ``Retry-After`` on.

Deadline. Within one HTTP request, all Clerk calls together end at most ``CLERK_REQUEST_DEADLINE_MS`` (default
6,000 ms) after the request arrived (``core.request_id.request_started_at``): each call's timeout
is cut to what is left, and no call (nor retry) starts once it is spent; that call is ``ClerkUnavailable`` without
being sent. So at the default settings a request waits for Clerk at most 6 s, whatever it does (an invite whose
bulk POST times out used to wait a second full timeout for the follow-up look-up). Commands and tasks (no request)
keep the per-call bounds only (docs/reliability.md).

Never logged: the secret key, session tokens, tickets, invitation URLs. Log lines name the operation, the status and
Clerk's error code only, never arguments or bodies.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from clerk_backend_api import Clerk, models
from clerk_backend_api.utils import BackoffStrategy, RetryConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from pydantic import BaseModel

from accounts.clerk_types import (
    ClerkInvitation,
    ClerkMembership,
    ClerkOrganization,
    ClerkOrganizationInvitation,
    ClerkUser,
)
from core.exceptions import RateLimited, UpstreamError, UpstreamUnavailable
from core.request_id import request_started_at

logger = logging.getLogger(__name__)

# The SDK never retries (see the module docstring): one attempt per call, connection errors included.
NO_RETRIES = RetryConfig("none", BackoffStrategy(0, 0, 1.0, 0), retry_connection_errors=False)
# Our bounded retry of idempotent reads: pauses before each retry, and no retry starts after the budget.
READ_RETRY_DELAYS_S = (0.1, 0.3, 0.6)
READ_RETRY_BUDGET_S = 2.0
DEFAULT_RETRY_AFTER_S = 60
DEFAULT_REQUEST_DEADLINE_MS = 6_000
MIN_CALL_MS = 50  # less than this left of the deadline: not worth sending
# Clerk's bulk organization invitation endpoint takes at most 10 invitations per call.
BULK_INVITATIONS_LIMIT = 10

# Clerk error codes that mean "this already exists / is already in that state": our 409.
CONFLICT_CODES = frozenset(
    {
        "duplicate_record",
        "form_identifier_exists",
        "invitation_account_exists",
        "organization_invitation_not_unique",
        "organization_invitation_not_pending",
        "already_a_member_in_organization",
        "invitation_already_accepted",
        "invitation_already_revoked",
        "revoked_invitation",
    }
)


# --------------------------------------------------------------------------- errors
class ClerkError(UpstreamError):
    """Base of every error the gateway raises. ``status`` is Clerk's HTTP status (None: no response)."""

    code = "clerk_error"
    http_status = 502
    default_message = "The identity provider returned an error."
    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        clerk_code: str = "",
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, code=code, extra=extra, **kwargs)
        self.status = status
        self.clerk_code = clerk_code
        if clerk_code:
            self.extra.setdefault("clerk_code", clerk_code)


class ClerkRejected(ClerkError):
    """Clerk refused the request (4xx other than 404 and 429)."""

    code = "clerk_rejected"
    http_status = 400
    default_message = "The identity provider refused the request."

    def __init__(self, message: str | None = None, *, status: int | None = None, clerk_code: str = "") -> None:
        super().__init__(message, status=status, clerk_code=clerk_code)
        if clerk_code in CONFLICT_CODES or status == 409:
            self.http_status = 409
        elif status == 400:
            self.http_status = 400
        else:  # 402 (plan), 403 (quota, banned, not a member), 422 (invalid parameters), others
            self.http_status = 422


class ClerkNotFound(ClerkError):
    code = "not_found"
    http_status = 404
    default_message = "Not found in the identity provider."


class ClerkRateLimited(ClerkError, RateLimited):
    """Clerk's rate limit (429); ``retry_after`` seconds from its ``Retry-After`` header."""

    code = "rate_limited"
    http_status = 429
    default_message = "The identity provider is rate limiting us. Try again later."


class ClerkUnavailable(ClerkError, UpstreamUnavailable):
    """Clerk could not be reached in time, failed (5xx), or answered something we cannot read."""

    code = "clerk_unavailable"
    http_status = 503
    default_message = "The identity provider is unavailable. Try again in a moment."

    def __init__(self, message: str | None = None, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message, status=status)
        self.retryable = retryable


def _first_error(body: str) -> tuple[str, str]:
    """(code, message) of the first entry of Clerk's ``{"errors": [...]}`` body; empty strings when absent."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "", ""
    first = errors[0]
    message = first.get("long_message") or first.get("message") or ""
    code = first.get("code") or ""
    return (code if isinstance(code, str) else ""), (message if isinstance(message, str) else "")


def _retry_after(headers: Mapping[str, str]) -> int:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date); ``DEFAULT_RETRY_AFTER_S`` when unusable."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(1, int(float(value)))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return max(1, int((moment - timezone.now()).total_seconds()))


def _from_response(status: int, body: str, headers: Mapping[str, str]) -> ClerkError:
    clerk_code, message = _first_error(body)
    if status == 429:
        return ClerkRateLimited(status=status, clerk_code=clerk_code, retry_after=_retry_after(headers))
    if status == 404:
        return ClerkNotFound(message or None, status=status, clerk_code=clerk_code)
    if status >= 500:
        return ClerkUnavailable(status=status)
    if status == 401:
        # Clerk refuses our secret key: a configuration problem, not the end user's.
        return ClerkError(status=status, clerk_code=clerk_code)
    if 400 <= status < 500:
        return ClerkRejected(message or None, status=status, clerk_code=clerk_code)
    return ClerkError(status=status, clerk_code=clerk_code)


def translate(exc: Exception) -> ClerkError | None:
    """Our error for an SDK or transport exception; ``None`` for anything else (a bug: let it propagate)."""
    if isinstance(exc, models.ResponseValidationError):
        return ClerkUnavailable(
            "The identity provider sent a response we could not read.", status=exc.status_code, retryable=False
        )
    if isinstance(exc, models.ClerkBaseError):  # ClerkErrors (declared status) and SDKError (any other)
        return _from_response(exc.status_code, exc.body, exc.headers)
    if isinstance(exc, models.NoResponseError):
        return ClerkUnavailable("The identity provider sent no response.")
    if isinstance(exc, httpx.TimeoutException):
        return ClerkUnavailable("The identity provider did not answer in time.")
    if isinstance(exc, httpx.TransportError):  # connection refused or reset, DNS, TLS, protocol errors
        return ClerkUnavailable("The identity provider could not be reached.")
    return None


# --------------------------------------------------------------------------- client
_client: Clerk | None = None
_client_lock = threading.Lock()


def _build_client() -> Clerk:
    secret_key: str = settings.CLERK_SECRET_KEY
    if not secret_key:
        raise ImproperlyConfigured("CLERK_SECRET_KEY is not set: the Clerk gateway cannot call the Backend API.")
    timeout_ms = settings.CLERK_TIMEOUT_MS
    if not isinstance(timeout_ms, int) or timeout_ms <= 0:
        raise ImproperlyConfigured("CLERK_TIMEOUT_MS must be a positive number of milliseconds.")
    api_url: str = (settings.CLERK_API_URL or "").rstrip("/")
    if api_url:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.endswith("/v1"):
            raise ImproperlyConfigured(
                "CLERK_API_URL must be the Backend API base URL including /v1, e.g. https://api.clerk.com/v1."
            )
    return Clerk(bearer_auth=secret_key, server_url=api_url or None, retry_config=NO_RETRIES, timeout_ms=timeout_ms)


def client() -> Clerk:
    """The one SDK client, built on first use (``ImproperlyConfigured`` when settings are missing)."""
    global _client
    current = _client
    if current is None:
        with _client_lock:
            if _client is None:
                _client = _build_client()
            current = _client
    return current


def reset_client() -> None:
    """Forget the client; the next call builds one from the current settings."""
    global _client
    with _client_lock:
        _client = None


@receiver(setting_changed)
def _clerk_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CLERK_"):
        reset_client()


def _request_deadline_ms() -> int:
    value = getattr(settings, "CLERK_REQUEST_DEADLINE_MS", DEFAULT_REQUEST_DEADLINE_MS)
    if not isinstance(value, int) or value <= 0:
        raise ImproperlyConfigured("CLERK_REQUEST_DEADLINE_MS must be a positive number of milliseconds.")
    return value


def _remaining_ms() -> int | None:
    """Milliseconds left of the current request's Clerk deadline; None outside a request (commands, tasks)."""
    started = request_started_at()
    if started is None:
        return None
    return max(0, int((started + _request_deadline_ms() / 1000 - time.monotonic()) * 1000))


def _call[T](operation: str, method: Callable[..., T], /, *, idempotent: bool = False, **kwargs: Any) -> T:
    """Run one SDK call, turning every SDK/transport error into a ``ClerkError``; reads retry briefly (above).

    Inside a request, the call's timeout is what is left of the request's deadline (module docstring)."""
    started = time.monotonic()
    attempt = 0
    while True:
        remaining = _remaining_ms()
        if remaining is not None and remaining < MIN_CALL_MS:
            logger.warning("clerk %s not sent: the request's Clerk deadline is spent", operation)
            raise ClerkUnavailable("The identity provider did not answer in time.", retryable=False)
        timeout_ms = settings.CLERK_TIMEOUT_MS if remaining is None else min(settings.CLERK_TIMEOUT_MS, remaining)
        try:
            return method(retries=NO_RETRIES, timeout_ms=timeout_ms, **kwargs)
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            if idempotent and error.retryable and attempt < len(READ_RETRY_DELAYS_S):
                pause = READ_RETRY_DELAYS_S[attempt]
                if time.monotonic() - started + pause < READ_RETRY_BUDGET_S:
                    logger.info("clerk %s: %s (status %s), retrying", operation, error.code, error.status)
                    time.sleep(pause)
                    attempt += 1
                    continue
            level = logging.INFO if isinstance(error, ClerkRejected | ClerkNotFound) else logging.WARNING
            logger.log(
                level,
                "clerk %s failed: %s (status %s, clerk code %s)",
                operation,
                error.code,
                error.status,
                error.clerk_code or "-",
            )
            raise error from exc


def _json(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    return data


def _unset_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


# --------------------------------------------------------------------------- users
def get_user(user_id: str) -> ClerkUser:
    user = _call("users.get", client().users.get, idempotent=True, user_id=user_id)
    return ClerkUser.from_json(_json(user))


def list_users(
    *,
    email_addresses: list[str] | None = None,
    user_ids: list[str] | None = None,
    query: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ClerkUser]:
    # An empty filter list would be dropped from the query string and match every user: it matches nobody.
    if (email_addresses is not None and not email_addresses) or (user_ids is not None and not user_ids):
        return []
    request = _unset_none(email_address=email_addresses, user_id=user_ids, query=query, limit=limit, offset=offset)
    users = _call("users.list", client().users.list, idempotent=True, request=request)
    return [ClerkUser.from_json(_json(user)) for user in users]


def create_user(
    *,
    email: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    public_metadata: dict[str, Any] | None = None,
) -> ClerkUser:
    user = _call(
        "users.create",
        client().users.create,
        email_address=[email],
        **_unset_none(
            password=password,
            skip_password_requirement=True if password is None else None,
            first_name=first_name or None,
            last_name=last_name or None,
            public_metadata=public_metadata,
        ),
    )
    return ClerkUser.from_json(_json(user))


def update_user_metadata(user_id: str, *, public_metadata: dict[str, Any]) -> ClerkUser:
    """Deep-merges ``public_metadata`` into the user's (a key set to ``None`` is removed)."""
    user = _call(
        "users.update_metadata", client().users.update_metadata, user_id=user_id, public_metadata=public_metadata
    )
    return ClerkUser.from_json(_json(user))


def ban_user(user_id: str) -> ClerkUser:
    return ClerkUser.from_json(_json(_call("users.ban", client().users.ban, user_id=user_id)))


def unban_user(user_id: str) -> ClerkUser:
    return ClerkUser.from_json(_json(_call("users.unban", client().users.unban, user_id=user_id)))


def delete_user(user_id: str) -> None:
    _call("users.delete", client().users.delete, user_id=user_id)


# --------------------------------------------------------------------------- organizations and memberships
def create_organization(*, name: str, slug: str | None = None, created_by: str | None = None) -> ClerkOrganization:
    request = _unset_none(name=name, slug=slug, created_by=created_by)
    organization = _call("organizations.create", client().organizations.create, request=request)
    return ClerkOrganization.from_json(_json(organization))


def list_organizations(*, limit: int = 100, offset: int = 0) -> list[ClerkOrganization]:
    page = _call("organizations.list", client().organizations.list, idempotent=True, limit=limit, offset=offset)
    return [ClerkOrganization.from_json(_json(item)) for item in page.data]


def get_organization(id_or_slug: str) -> ClerkOrganization:
    organization = _call("organizations.get", client().organizations.get, idempotent=True, organization_id=id_or_slug)
    return ClerkOrganization.from_json(_json(organization))


def list_organization_memberships(organization_id: str, *, limit: int = 100, offset: int = 0) -> list[ClerkMembership]:
    page = _call(
        "organization_memberships.list",
        client().organization_memberships.list,
        idempotent=True,
        organization_id=organization_id,
        limit=limit,
        offset=offset,
    )
    return [ClerkMembership.from_json(_json(item)) for item in page.data]


def create_organization_membership(organization_id: str, *, user_id: str, role: str) -> ClerkMembership:
    membership = _call(
        "organization_memberships.create",
        client().organization_memberships.create,
        organization_id=organization_id,
        user_id=user_id,
        role=role,
    )
    return ClerkMembership.from_json(_json(membership))


def update_organization_membership(organization_id: str, *, user_id: str, role: str) -> ClerkMembership:
    membership = _call(
        "organization_memberships.update",
        client().organization_memberships.update,
        organization_id=organization_id,
        user_id=user_id,
        role=role,
    )
    return ClerkMembership.from_json(_json(membership))


def delete_organization_membership(organization_id: str, *, user_id: str) -> ClerkMembership:
    membership = _call(
        "organization_memberships.delete",
        client().organization_memberships.delete,
        organization_id=organization_id,
        user_id=user_id,
    )
    return ClerkMembership.from_json(_json(membership))


# --------------------------------------------------------------------------- organization invitations
def create_organization_invitation(
    organization_id: str,
    *,
    email: str,
    role: str,
    inviter_user_id: str | None = None,
    redirect_url: str | None = None,
    expires_in_days: int | None = None,
    notify: bool = True,
    public_metadata: dict[str, Any] | None = None,
) -> ClerkOrganizationInvitation:
    invitation = _call(
        "organization_invitations.create",
        client().organization_invitations.create,
        organization_id=organization_id,
        **_unset_none(
            email_address=email,
            role=role,
            inviter_user_id=inviter_user_id,
            redirect_url=redirect_url,
            expires_in_days=expires_in_days,
            notify=notify,
            public_metadata=public_metadata,
        ),
    )
    return ClerkOrganizationInvitation.from_json(_json(invitation))


def bulk_create_organization_invitations(
    organization_id: str, entries: list[dict[str, Any]]
) -> list[ClerkOrganizationInvitation]:
    """One bulk call; each entry uses Clerk's keys (``email_address``, ``role``, ``inviter_user_id``,
    ``redirect_url``, ``expires_in_days``, ``notify``, ``public_metadata``). Callers chunk by
    ``BULK_INVITATIONS_LIMIT``."""
    if not entries:
        return []
    if len(entries) > BULK_INVITATIONS_LIMIT:
        raise ValueError(f"Clerk takes at most {BULK_INVITATIONS_LIMIT} invitations per bulk call.")
    page = _call(
        "organization_invitations.bulk_create",
        client().organization_invitations.bulk_create,
        organization_id=organization_id,
        request_body=entries,
    )
    return [ClerkOrganizationInvitation.from_json(_json(item)) for item in page.data]


def list_organization_invitations(
    organization_id: str,
    *,
    status: str | None = None,
    email_address: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ClerkOrganizationInvitation]:
    page = _call(
        "organization_invitations.list",
        client().organization_invitations.list,
        idempotent=True,
        organization_id=organization_id,
        limit=limit,
        offset=offset,
        **_unset_none(status=status, email_address=email_address),
    )
    return [ClerkOrganizationInvitation.from_json(_json(item)) for item in page.data]


def get_organization_invitation(organization_id: str, invitation_id: str) -> ClerkOrganizationInvitation:
    invitation = _call(
        "organization_invitations.get",
        client().organization_invitations.get,
        idempotent=True,
        organization_id=organization_id,
        invitation_id=invitation_id,
    )
    return ClerkOrganizationInvitation.from_json(_json(invitation))


def revoke_organization_invitation(
    organization_id: str, invitation_id: str, *, requesting_user_id: str | None = None
) -> ClerkOrganizationInvitation:
    invitation = _call(
        "organization_invitations.revoke",
        client().organization_invitations.revoke,
        organization_id=organization_id,
        invitation_id=invitation_id,
        **_unset_none(requesting_user_id=requesting_user_id),
    )
    return ClerkOrganizationInvitation.from_json(_json(invitation))


# --------------------------------------------------------------------------- application invitations
def create_invitation(
    *,
    email: str,
    public_metadata: dict[str, Any] | None = None,
    redirect_url: str | None = None,
    expires_in_days: int | None = None,
    notify: bool = True,
) -> ClerkInvitation:
    request = _unset_none(
        email_address=email,
        public_metadata=public_metadata,
        redirect_url=redirect_url,
        expires_in_days=expires_in_days,
        notify=notify,
    )
    invitation = _call("invitations.create", client().invitations.create, request=request)
    return ClerkInvitation.from_json(_json(invitation))


def list_invitations(
    *, status: str | None = None, query: str | None = None, limit: int = 100, offset: int = 0
) -> list[ClerkInvitation]:
    invitations = _call(
        "invitations.list",
        client().invitations.list,
        idempotent=True,
        limit=limit,
        offset=offset,
        **_unset_none(status=status, query=query),
    )
    return [ClerkInvitation.from_json(_json(item)) for item in invitations]


def revoke_invitation(invitation_id: str) -> ClerkInvitation:
    invitation = _call("invitations.revoke", client().invitations.revoke, invitation_id=invitation_id)
    return ClerkInvitation.from_json(_json(invitation))


# --------------------------------------------------------------------------- sessions and keys
@dataclass(frozen=True)
class ClerkSession:
    id: str
    user_id: str
    status: str


def create_session(user_id: str, *, active_organization_id: str | None = None) -> ClerkSession:
    """A new active session for a user (Clerk allows this on development instances only: tests and scripts)."""
    request = _unset_none(user_id=user_id, active_organization_id=active_organization_id)
    data = _json(_call("sessions.create", client().sessions.create, request=request))
    return ClerkSession(
        id=str(data.get("id", "")), user_id=str(data.get("user_id", "")), status=str(data.get("status"))
    )


def create_session_token(session_id: str, *, expires_in_seconds: int | None = None) -> str:
    """A session token (JWT) for a session, as ClerkJS would get one. Minted by the Backend API, it has no ``azp``."""
    response = _call(
        "sessions.create_token",
        client().sessions.create_token,
        session_id=session_id,
        **_unset_none(expires_in_seconds=expires_in_seconds),
    )
    if not response.jwt:
        raise ClerkUnavailable("The identity provider returned no session token.", retryable=False)
    return response.jwt


def get_jwks() -> dict[str, Any]:
    """The instance's JSON Web Key Set (``{"keys": [...]}``), for verifying session tokens offline."""
    data = _json(_call("jwks.get", client().jwks.get_jwks, idempotent=True))
    keys = data.get("keys")
    if not isinstance(keys, list):
        raise ClerkUnavailable("The identity provider returned no signing keys.", retryable=False)
    return {"keys": [{k: v for k, v in key.items() if v is not None} for key in keys if isinstance(key, dict)]}
