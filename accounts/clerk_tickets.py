"""Clerk sign-in tickets (the ``__clerk_ticket`` of an invitation link) as the accept pages of both flows read them:
which Clerk invitation a ticket names, and which invitation a resend moved off it."""

from __future__ import annotations

import jwt

from core.models import AuditEvent


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


def resent_from(clerk_invitation_id: str, *, action: str) -> str:
    """The audit target id of the invitation a resend moved off ``clerk_invitation_id``, or ``""``.

    A resend revokes the Clerk invitation and makes a new one (Clerk has no resend), so the old link's ticket names
    a Clerk id no row carries any more; the resend's audit event (``action``, e.g. ``workspace_invitation.resent``)
    keeps it as ``previous_clerk_invitation_id``. That is how an accept page tells a superseded link from an unknown
    one, which Clerk itself cannot (it refuses both tickets as revoked or invalid).
    """
    if not clerk_invitation_id:
        return ""
    target = (
        AuditEvent.objects.filter(action=action, details__previous_clerk_invitation_id=clerk_invitation_id)
        .order_by()
        .values_list("target_id", flat=True)
        .first()
    )
    return target or ""
