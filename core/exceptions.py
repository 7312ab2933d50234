"""The error hierarchy every layer raises. Each error carries a stable ``code`` and its HTTP status.

Services raise these; the API's exception handler renders ``{"code", "message", "extra"}``; pages show the message.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    code = "error"
    http_status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None, extra: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    code = "invalid"
    http_status = 400
    default_message = "Some of the input is not valid."


class NotAuthenticated(ApplicationError):
    code = "not_authenticated"
    http_status = 401
    default_message = "Sign in to continue."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403
    default_message = "You do not have permission to do this."


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409
    default_message = "This conflicts with the current state."


class InvitationNotPending(Conflict):
    """Base of both apps' "no longer pending" refusals, so pages word it once (``core.pages.friendly_message``)."""

    code = "invitation_not_pending"
    default_message = "This invitation is no longer pending."


class Gone(ApplicationError):
    code = "gone"
    http_status = 410
    default_message = "This is no longer available."


class Unprocessable(ApplicationError):
    code = "unprocessable"
    http_status = 422
    default_message = "The request could not be processed."


class RateLimited(ApplicationError):
    code = "rate_limited"
    http_status = 429
    default_message = "Too many requests. Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.extra.setdefault("retry_after", self.retry_after)


class UpstreamError(ApplicationError):
    code = "clerk_error"
    http_status = 502
    default_message = "The identity provider returned an error."


class UpstreamUnavailable(ApplicationError):
    code = "clerk_unavailable"
    http_status = 503
    default_message = "The identity provider is unavailable. Try again in a moment."
