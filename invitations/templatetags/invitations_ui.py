"""Small display helpers for the invitation pages: initials for avatars and "in 7 days" expiry phrases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from invitations import cooldown

register = template.Library()

_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60))


def _amount(seconds: float) -> str:
    """The largest unit, rounded: 6 days 23 hours → "7 days"; under a minute → "less than a minute".

    The unit is chosen again after rounding, so 23 hours 50 minutes reads "1 day", never "24 hours"."""
    for _name, size in _UNITS:
        if seconds >= size:
            rounded = int(seconds / size + 0.5) * size
            for final_name, final_size in _UNITS:
                if rounded >= final_size:
                    count = int(rounded / final_size + 0.5)
                    return f"{count} {final_name}{'' if count == 1 else 's'}"
    return "less than a minute"


@register.filter
def expiry_phrase(expires_at: datetime | None) -> str:
    """``in 7 days`` before the deadline, ``expired 2 hours ago`` after it."""
    if expires_at is None:
        return ""
    delta = (expires_at - timezone.now()).total_seconds()
    return f"in {_amount(delta)}" if delta > 0 else f"expired {_amount(-delta)} ago"


@register.filter
def initials(person: object) -> str:
    """Two letters for an avatar from ``first_name``/``last_name``, else the email's first letter."""
    first = str(getattr(person, "first_name", "") or "").strip()
    last = str(getattr(person, "last_name", "") or "").strip()
    if first or last:
        return (first[:1] + last[:1]).upper()
    email = str(getattr(person, "email", "") or "?")
    return email[:1].upper()


RESULT_LABELS = {
    "invited": "Invited",
    "already_member": "Already a member",
    "already_invited": "Already invited",
    "invalid_email": "Not a valid email address",
    "queued": "Queued: will be sent shortly",
    "failed": "Failed",
    "revoked": "Revoked while it was being sent",
    "duplicate": "Listed twice",
    "invalid_role": "Unknown role",
    "valid": "Ready to invite",
}
_SUMMARY_WORDS = {
    "invited": ("invited", "invited"),
    "already_member": ("already a member", "already members"),
    "already_invited": ("already invited", "already invited"),
    "invalid_email": ("invalid address", "invalid addresses"),
    "queued": ("queued", "queued"),
    "failed": ("failed", "failed"),
    "revoked": ("revoked meanwhile", "revoked meanwhile"),
    "duplicate": ("listed twice", "listed twice"),
    "invalid_role": ("unknown role", "unknown roles"),
    "valid": ("ready to invite", "ready to invite"),
}


@register.filter
def result_label(result: str) -> str:
    """The words for one per-email outcome of an invite (``invitations.services.InviteResult.result``)."""
    return RESULT_LABELS.get(result, result.replace("_", " ").capitalize())


@register.filter
def results_summary(results: Iterable[Any]) -> str:
    """``2 invited · 1 invalid address``, in a fixed order."""
    counts = Counter(str(getattr(r, "result", "")) for r in results)
    parts = []
    for key, (one, many) in _SUMMARY_WORDS.items():
        if counts[key]:
            parts.append(f"{counts[key]} {one if counts[key] == 1 else many}")
    return " · ".join(parts)


@register.filter
def resend_available_at(invitation: Any) -> datetime | None:
    """When an invitation may be resent again (the cooldown of ``invitations.cooldown``), ``None`` if now."""
    return cooldown.resend_available_at(invitation)
