"""What the product's pages tell a person when a service refuses or Clerk fails (both apps' views use it)."""

from __future__ import annotations

from core.exceptions import ApplicationError, InvitationNotPending, RateLimited, UpstreamError, UpstreamUnavailable


def friendly_message(exc: ApplicationError, *, action: str) -> str:
    """What a person reads when a service refuses or Clerk fails: never a stack trace, never a bare code."""
    if isinstance(exc, RateLimited):
        return f"Too many requests right now. Wait {exc.retry_after} seconds, then try to {action} again."
    if isinstance(exc, UpstreamUnavailable):
        return f"Clerk, our sign-in provider, is not answering right now. Try to {action} again in a moment."
    if isinstance(exc, UpstreamError):
        return f"Clerk refused to {action}: {exc.message}"
    if isinstance(exc, InvitationNotPending):
        return f"Could not {action}: this invitation is no longer pending (accepted, revoked or expired)."
    return exc.message
