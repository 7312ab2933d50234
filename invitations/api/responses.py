"""The documented error responses of the workspace API (OpenAPI), shared by its viewsets and their mixins."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from core.serializers import ErrorSerializer


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


UNAUTHENTICATED = error_response("No valid session token (`not_authenticated`).")
NOT_FOUND = error_response("The workspace (or invitation) does not exist or is outside your reach (`not_found`).")
FORBIDDEN = error_response(
    "You may see this workspace but not manage its invitations (`permission_denied`), or the CSRF check failed "
    "for a cookie-authenticated request."
)
INVALID = error_response(
    "The input is not valid: `invalid` (with `extra.fields`), `parse_error` (malformed JSON), `no_emails` (only "
    "blank entries)."
)
BAD_QUERY = error_response(
    "A query parameter is not valid (`invalid`, with `extra.fields`): an unknown `status`, or a `page` / `page_size` "
    "that is not a whole number in range."
)
RATE_LIMITED = error_response(
    "Too many requests (`rate_limited`); see the `Retry-After` header and `extra.retry_after`."
)
CLERK_ERROR = error_response("Clerk answered with an error (`clerk_error`, `clerk_rejected`).")
CLERK_UNAVAILABLE = error_response("Clerk cannot be reached right now (`clerk_unavailable`); try again in a moment.")
NOT_PENDING = error_response(
    "The invitation is no longer open (`invitation_not_pending`, `already_member`), or Clerk reports a conflict "
    "(`clerk_rejected`)."
)
CLERK_REJECTED = error_response(
    "Clerk refused the request (`clerk_rejected`, with Clerk's code in `extra.clerk_code`)."
)
UNSUPPORTED_MEDIA = error_response("The body is not JSON (`unsupported_media_type`).")
