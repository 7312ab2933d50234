"""Reads for a workspace's invitation history: the invitations that are over (accepted, revoked, expired, failed),
filtered by status, searched by email, in pages cut by a keyset cursor.

A page costs two queries whatever the size of the table (bench/history_list.py measures it): one ``UNION ALL`` of
one small index range scan per stored status asked for (``(workspace, status, -created_at)``; for ``expired`` also
the open rows already past ``expires_at``, through ``(workspace, status, expires_at)``), each cut at the cursor and
at the page size, merged and cut again; then the page's rows with their people. The email search is a substring
match (``UPPER(email) LIKE``) over one list of the statuses asked for, in the order of the ``(workspace,
-created_at, -id)`` index (migration 0004): ``core.text_search.first_matches`` walks that index for a common
word and asks the trigram index of migration 0003 for a rare one, in one statement.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Workspace
from core.exceptions import InvalidInput
from core.text_search import contains, first_matches
from invitations.errors import InvalidStatusFilter
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation

HISTORY_STATUSES: tuple[str, ...] = (
    InvitationStatus.ACCEPTED,
    InvitationStatus.REVOKED,
    InvitationStatus.EXPIRED,
    InvitationStatus.FAILED,
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH_LENGTH = 100


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    default_message = "This page link is not valid any more: start again from the first page."


@dataclass(frozen=True)
class HistoryFilters:
    status: str | None = None  # one of HISTORY_STATUSES; None = all of them
    search: str = ""


@dataclass(frozen=True)
class HistoryPage:
    invitations: list[WorkspaceInvitation]
    next_cursor: str | None
    filters: HistoryFilters


def history_filters(*, status: str | None = None, search: str | None = None) -> HistoryFilters:
    """Validated filters: ``invalid_status`` (400) for a status that is not a history state."""
    status = (status or "").strip() or None
    if status is not None and status not in HISTORY_STATUSES:
        allowed = ", ".join(HISTORY_STATUSES)
        raise InvalidStatusFilter(f"Unknown history status {status!r}: use one of {allowed}.")
    # NUL: PostgreSQL refuses it in a string; runs of spaces mean nothing in an address.
    text = " ".join((search or "").replace("\x00", " ").split())[:MAX_SEARCH_LENGTH]
    return HistoryFilters(status=status, search=text)


def _encode_cursor(row: WorkspaceInvitation) -> str:
    raw = json.dumps([row.created_at.isoformat(), row.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        padded = value + "=" * (-len(value) % 4)
        moment_text, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = parse_datetime(moment_text) if isinstance(moment_text, str) and len(moment_text) <= 64 else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
    valid_id = isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id < 2**63
    if moment is None or moment.tzinfo is None or not valid_id:
        raise InvalidCursor()
    return moment, row_id


def _parts(workspace: Workspace, filters: HistoryFilters, *, now: datetime) -> list[QuerySet[WorkspaceInvitation]]:
    """One queryset per index range: a stored status, or (for expired) an open status past its expiry."""
    base = WorkspaceInvitation.objects.filter(workspace=workspace)
    statuses = [filters.status] if filters.status else list(HISTORY_STATUSES)
    parts: list[QuerySet[WorkspaceInvitation]] = [base.filter(status=status) for status in statuses]
    if InvitationStatus.EXPIRED in statuses:
        parts += [base.filter(status=status, expires_at__lte=now) for status in OPEN_STATUSES]
    return parts


def invitation_history(
    *,
    workspace: Workspace,
    filters: HistoryFilters | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    now: datetime | None = None,
) -> HistoryPage:
    """One page of the history, newest first (by when the invitation was made). Two queries."""
    filters = filters or HistoryFilters()
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    now = now or timezone.now()
    after = _decode_cursor(cursor) if cursor else None
    if filters.search:
        ids = _searched_ids(workspace, filters, after=after, need=limit + 1, now=now)
    else:
        ids = _listed_ids(workspace, filters, after=after, need=limit + 1, now=now)
    has_more = len(ids) > limit
    ids = ids[:limit]
    rows = {
        row.pk: row
        for row in WorkspaceInvitation.objects.filter(pk__in=ids).select_related("inviter", "accepted_by", "revoked_by")
    }
    invitations = [rows[row_id] for row_id in ids if row_id in rows]
    next_cursor = _encode_cursor(invitations[-1]) if has_more and invitations else None
    return HistoryPage(invitations=invitations, next_cursor=next_cursor, filters=filters)


def _after(part: QuerySet[WorkspaceInvitation], after: tuple[datetime, int] | None) -> QuerySet[WorkspaceInvitation]:
    if after is None:
        return part
    moment, row_id = after
    # The OR alone cannot start an index scan; the redundant `created_at <= t` lets it begin at the cursor.
    return part.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=row_id), created_at__lte=moment)


def _searched_ids(
    workspace: Workspace, filters: HistoryFilters, *, after: tuple[datetime, int] | None, need: int, now: datetime
) -> list[int]:
    """With a search: one list over the statuses asked for, walked by ``(workspace, -created_at, -id)`` or answered
    by the trigram index, whichever the search needs (``core.text_search.first_matches``)."""
    everything = _after(WorkspaceInvitation.objects.filter(workspace=workspace), after)

    def match(indexed: bool) -> Q:
        return contains("email", filters.search, indexed=indexed)

    return first_matches(
        _history_rows(everything, filters, now=now),
        match=match,
        key="created_at",
        descending=True,
        need=need,
        window_rows=everything,
    )


def _history_rows(
    rows: QuerySet[WorkspaceInvitation], filters: HistoryFilters, *, now: datetime
) -> QuerySet[WorkspaceInvitation]:
    """The rows that are history: a stored status asked for, or (for expired) an open one past its expiry."""
    statuses = [filters.status] if filters.status else list(HISTORY_STATUSES)
    over = Q(status__in=statuses)
    if InvitationStatus.EXPIRED in statuses:
        over |= Q(status__in=OPEN_STATUSES, expires_at__lte=now)
    return rows.filter(over)


def _listed_ids(
    workspace: Workspace, filters: HistoryFilters, *, after: tuple[datetime, int] | None, need: int, now: datetime
) -> list[int]:
    limit = need - 1
    if not connection.features.supports_slicing_ordering_in_compound:
        # SQLite (the demo) allows no LIMIT inside a UNION: one filtered walk instead of the index ranges.
        over = _history_rows(WorkspaceInvitation.objects.filter(workspace=workspace), filters, now=now)
        return list(_after(over, after).order_by("-created_at", "-id").values_list("id", flat=True)[: limit + 1])
    ranges = []
    for part in _parts(workspace, filters, now=now):
        ranges.append(_after(part, after).order_by("-created_at", "-id").values_list("id", "created_at")[: limit + 1])
    first, *rest = ranges
    merged = first.union(*rest, all=True).order_by("-created_at", "-id") if rest else first
    return [row_id for row_id, _ in merged[: limit + 1]]
