"""The resend cooldown: an invitation sent less than ``INVITATIONS_RESEND_COOLDOWN_SECONDS`` ago is not sent again.

One click too many (or a bulk resend over rows just sent) would otherwise mail the same person twice in a minute
and spend Clerk's hourly budget. The refusal is a 429 in the one error shape with ``Retry-After``
(``resend_cooldown``); the pending list shows when each invitation was last sent and when it may be resent.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core.exceptions import RateLimited
from invitations.models import WorkspaceInvitation

DEFAULT_COOLDOWN_SECONDS = 600


class ResendTooSoon(RateLimited):
    code = "resend_cooldown"
    default_message = "This invitation was sent a moment ago; it can be resent a little later."


def resend_cooldown() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "INVITATIONS_RESEND_COOLDOWN_SECONDS", DEFAULT_COOLDOWN_SECONDS)))


def resend_available_at(invitation: WorkspaceInvitation) -> datetime | None:
    """When the invitation may be resent; ``None`` when it may be now (or was never sent)."""
    if invitation.last_sent_at is None:
        return None
    at = invitation.last_sent_at + resend_cooldown()
    return at if at > timezone.now() else None


def check_resend_cooldown(invitation: WorkspaceInvitation, *, now: datetime | None = None) -> None:
    """``ResendTooSoon`` (429, ``retry_after``) when the invitation was sent within the cooldown."""
    if invitation.last_sent_at is None:
        return
    wait = (invitation.last_sent_at + resend_cooldown() - (now or timezone.now())).total_seconds()
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        raise ResendTooSoon(
            f"{invitation.email} was sent an invitation moments ago; resend it in about {minutes} min.",
            retry_after=math.ceil(wait),
            extra={"last_sent_at": invitation.last_sent_at.isoformat()},
        )
