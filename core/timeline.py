"""An object's timeline read back from the audit trail: the shape both invitation kinds share.

Each app says how its own ``AuditEvent`` actions read (``invitations.timeline``, ``internal_users.timeline``); this
module only fetches the events of one target, oldest first, through the ``(target_type, target_id)`` index, and
holds the entry type the pages and the API render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.models import AuditEvent

# Refusals (a pm trying a super_admin's invitation, say) are access attempts, not steps of the invitation's life.
_SKIPPED_OUTCOMES = (AuditEvent.Outcome.DENIED,)
# An invitation's life is a handful of steps; a bound keeps a pathological one (resent in a loop) cheap to show.
MAX_EVENTS = 200


@dataclass(frozen=True)
class TimelineEntry:
    """One step: when, what (a stable ``kind`` and a sentence), who did it (empty for Clerk or the system)."""

    at: datetime
    kind: str
    label: str
    actor_email: str = ""
    detail: str = ""
    outcome: str = AuditEvent.Outcome.SUCCESS
    request_id: str = ""


def target_events(*, target_type: str, target_id: int | str) -> list[AuditEvent]:
    """The audit events about one object, oldest first (one indexed query)."""
    rows = (
        AuditEvent.objects.filter(target_type=target_type, target_id=str(target_id))
        .exclude(outcome__in=_SKIPPED_OUTCOMES)
        .order_by("created_at", "id")
    )
    return list(rows[:MAX_EVENTS])


def entry(event: AuditEvent, kind: str, label: str, *, detail: str = "") -> TimelineEntry:
    return TimelineEntry(
        at=event.created_at,
        kind=kind,
        label=label,
        actor_email=event.actor_email,
        detail=detail,
        outcome=event.outcome,
        request_id=event.request_id,
    )
