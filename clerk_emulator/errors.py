"""Clerk's error body: ``{"errors": [{"message", "long_message", "code", "meta"?}], "clerk_trace_id"}``."""

from __future__ import annotations

from typing import Any


class ClerkAPIError(Exception):
    """Raised anywhere in the emulator; the server turns it into Clerk's JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        long_message: str | None = None,
        *,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message or message
        self.meta = meta
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "long_message": self.long_message, "code": self.code}
        if self.meta:
            error["meta"] = self.meta
        return {"errors": [error]}


def not_found(what: str = "resource") -> ClerkAPIError:
    return ClerkAPIError(404, "resource_not_found", "not found", f"The requested {what} was not found.")


# Short ``message`` + descriptive ``long_message``, as Clerk's ``form_param_*`` errors carry them
# (clerk-docs ``guides/development/errors/backend-api.mdx``).


def param_missing(name: str) -> ClerkAPIError:
    return ClerkAPIError(
        422, "form_param_missing", "is missing", f"{name} must be included.", meta={"param_name": name}
    )


def param_invalid(name: str, long_message: str | None = None) -> ClerkAPIError:
    return ClerkAPIError(
        422,
        "form_param_format_invalid",
        "is invalid",
        long_message or f"{name} is invalid.",
        meta={"param_name": name},
    )


def param_value_invalid(name: str, long_message: str) -> ClerkAPIError:
    return ClerkAPIError(422, "form_param_value_invalid", "is invalid", long_message, meta={"param_name": name})


def param_unknown(name: str) -> ClerkAPIError:
    return ClerkAPIError(
        422,
        "form_param_unknown",
        "is unknown",
        f"{name} is not a valid parameter for this request.",
        meta={"param_name": name},
    )


def request_body_invalid(long_message: str | None = None) -> ClerkAPIError:
    return ClerkAPIError(
        400,
        "request_body_invalid",
        "Request body invalid",
        long_message or "The request body is invalid. Please consult the API documentation for more information.",
    )


def bad_request(code: str, message: str, long_message: str | None = None) -> ClerkAPIError:
    return ClerkAPIError(400, code, message, long_message)


def unauthenticated() -> ClerkAPIError:
    """A wrong secret key. Real Clerk answers ``clerk_key_invalid`` (clerk/clerk-sdk-python#26 shows the body)."""
    message = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."
    return ClerkAPIError(401, "clerk_key_invalid", message, message)


def authorization_header_invalid() -> ClerkAPIError:
    """No usable ``Authorization: Bearer …`` header (clerk-docs: InvalidAuthorizationHeaderFormat)."""
    return ClerkAPIError(
        401,
        "authorization_header_format_invalid",
        "Invalid Authorization header format",
        "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'",
    )


def rate_limited(retry_after: int) -> ClerkAPIError:
    return ClerkAPIError(
        429,
        "too_many_requests",
        "Too many requests",
        "Too many requests, retry later",
        headers={"Retry-After": str(retry_after)},
    )
