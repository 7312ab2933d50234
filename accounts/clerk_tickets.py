"""Clerk sign-in tickets (the ``__clerk_ticket`` of an invitation link) as the accept pages of both flows read them."""

from __future__ import annotations

import jwt


def clerk_invitation_id_from_ticket(ticket: str) -> str:
    """The ``sid`` claim of a Clerk ticket (the Clerk invitation id), read WITHOUT verifying the signature.

    For display only: Clerk verifies the ticket itself when the page runs the ticket flow. Anything that is not a
    JWT with a string ``sid`` gives ``""``.
    """
    if not ticket or len(ticket) > 4096:
        return ""
    try:
        claims = jwt.decode(ticket, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    sid = claims.get("sid") if isinstance(claims, dict) else None
    return sid if isinstance(sid, str) and len(sid) <= 64 else ""
