"""Reads for the staff page and API: one list of staff invitations and staff users, from our database only.

The list has two segments, always in this order: invitations (newest first), then users (by email). Pages are cut
with a keyset cursor ``(segment, sort key, id)`` rather than an offset or a total count, so a page costs the same
two indexed range scans whether there are a thousand rows or a hundred thousand (bench/staff_list.py measures it).
A text search takes ``core.text_search.first_matches`` per segment (its ids, then its rows), served by the trigram
and window indexes of migration 0003 (bench/search_scale.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.clerk_tickets import clerk_invitation_id_from_ticket, resent_from
from accounts.models import User
from accounts.roles import INTERNAL_ROLES
from core.exceptions import NotFound
from core.text_search import Match, common_trigrams, contains, first_matches
from internal_users.errors import InvalidCursor, InvalidStaffFilter
from internal_users.models import InternalInvitation, InternalInvitationStatus

# status filter values: invitation states, then user states. No filter = pending and failed invitations + all users.
INVITATION_FILTERS = frozenset({"pending", "expired", "failed", "revoked", "accepted"})
USER_FILTERS = frozenset({"active", "inactive"})
STATUS_FILTERS = INVITATION_FILTERS | USER_FILTERS
ROLE_FILTERS = frozenset(str(role) for role in INTERNAL_ROLES)
MAX_SEARCH_LENGTH = 100
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# The trigram indexes of the two emails (migration 0003), whose common trigrams the search leaves to the re-test.
INVITATION_EMAIL_INDEX = "internal_users_inv_email_trgm"
USER_EMAIL_INDEX = "accounts_user_staff_email_trgm"

Segment = Literal["invitation", "user"]
SEGMENTS: tuple[Segment, Segment] = ("invitation", "user")


@dataclass(frozen=True)
class StaffEntry:
    """One row of the staff list: an invitation (``invitation`` set) or a user (``user`` set)."""

    kind: Segment
    status: str  # pending | expired | failed | active | inactive
    invitation: InternalInvitation | None = None
    user: User | None = None

    @property
    def email(self) -> str:
        return (self.user.email or "") if self.user is not None else self.invitation.email if self.invitation else ""

    @property
    def role(self) -> str:
        return self.user.role if self.user is not None else self.invitation.role if self.invitation else ""

    @property
    def key(self) -> str:
        return f"user-{self.user.clerk_user_id}" if self.user is not None else f"invitation-{self.invitation_id}"

    @property
    def invitation_id(self) -> int | None:
        return self.invitation.pk if self.invitation is not None else None


@dataclass(frozen=True)
class Cursor:
    segment: Segment
    sort: str  # invitations: created_at ISO; users: lower(email)
    id: int
    backwards: bool = False

    def encode(self) -> str:
        raw = json.dumps([self.segment, self.sort, self.id, int(self.backwards)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            padded = value + "=" * (-len(value) % 4)
            segment, sort, row_id, backwards = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidCursor() from None
        valid = (
            segment in SEGMENTS
            and isinstance(sort, str)
            and len(sort) <= 400
            and sort.isprintable()  # NUL or a lone surrogate would fail in PostgreSQL: a 500, not a bad cursor
            and isinstance(row_id, int)
            and not isinstance(row_id, bool)
            and 0 < row_id < 2**63
            and backwards in (0, 1)
        )
        if not valid or (segment == "invitation" and _parse_time(sort) is None):
            raise InvalidCursor()
        return cls(segment=segment, sort=sort, id=row_id, backwards=bool(backwards))


@dataclass(frozen=True)
class StaffPage:
    entries: list[StaffEntry]
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class StaffFilters:
    status: str | None = None
    role: str | None = None
    search: str = ""


@dataclass(frozen=True)
class _Search:
    """The search text, and the trigrams of each email column too common to ask its index for."""

    text: str
    invitation_common: frozenset[str] = frozenset()
    user_common: frozenset[str] = frozenset()


def _search_of(filters: StaffFilters) -> _Search | None:
    if not filters.search:
        return None
    common = common_trigrams(INVITATION_EMAIL_INDEX, USER_EMAIL_INDEX)
    return _Search(filters.search, common[INVITATION_EMAIL_INDEX], common[USER_EMAIL_INDEX])


def _parse_time(value: str) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def staff_filters(*, status: str | None = None, role: str | None = None, search: str | None = None) -> StaffFilters:
    """Validated filters (``invalid_filter`` 400 for unknown values)."""
    status = (status or "").strip() or None
    role = (role or "").strip() or None
    if status is not None and status not in STATUS_FILTERS:
        raise InvalidStaffFilter(
            f"Unknown status {status!r}: use one of {', '.join(sorted(STATUS_FILTERS))}.", extra={"field": "status"}
        )
    if role is not None and role not in ROLE_FILTERS:
        raise InvalidStaffFilter(
            f"Unknown role {role!r}: use one of {', '.join(sorted(ROLE_FILTERS))}.", extra={"field": "role"}
        )
    text = " ".join((search or "").replace("\x00", " ").split())[:MAX_SEARCH_LENGTH]  # NUL: PostgreSQL refuses it
    return StaffFilters(status=status, role=role, search=text)


def _invitations(filters: StaffFilters, *, now: datetime) -> QuerySet[InternalInvitation] | None:
    if filters.status in USER_FILTERS:
        return None
    rows = InternalInvitation.objects.select_related("inviter")
    if filters.status == "pending":
        rows = rows.filter(status=InternalInvitationStatus.PENDING, expires_at__gt=now)
    elif filters.status == "expired":
        rows = rows.filter(
            Q(status=InternalInvitationStatus.EXPIRED) | Q(status=InternalInvitationStatus.PENDING, expires_at__lte=now)
        )
    elif filters.status in ("failed", "revoked", "accepted"):
        rows = rows.filter(status=filters.status)
    else:
        rows = rows.filter(
            Q(status=InternalInvitationStatus.PENDING, expires_at__gt=now) | Q(status=InternalInvitationStatus.FAILED)
        )
    if filters.role:
        rows = rows.filter(role=filters.role)
    return rows


def _users(filters: StaffFilters) -> QuerySet[User] | None:
    if filters.status in INVITATION_FILTERS:
        return None
    rows = User.objects.filter(is_internal=True)
    if filters.status == "active":
        rows = rows.filter(disabled_at__isnull=True)
    elif filters.status == "inactive":
        rows = rows.filter(disabled_at__isnull=False)
    return rows.filter(role=filters.role) if filters.role else rows.filter(role__in=sorted(ROLE_FILTERS))


def _invitation_match(search: str, common: frozenset[str] = frozenset()) -> Match:
    return lambda indexed: contains("email", search, indexed=indexed, common=common)


def _user_match(search: str, common: frozenset[str] = frozenset()) -> Match:
    """The email contains the whole text, or each word is in the first or the last name."""

    def match(indexed: bool) -> Q:
        name = Q()
        for word in search.split():
            name &= contains("first_name", word, indexed=indexed) | contains("last_name", word, indexed=indexed)
        return contains("email", search, indexed=indexed, common=common) | name

    return match


def _in_order[T: (InternalInvitation, User)](rows: QuerySet[T], ids: list[int]) -> list[T]:
    found = {row.pk: row for row in rows.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def _invitation_status(row: InternalInvitation) -> str:
    return row.effective_status


def _user_status(user: User) -> str:
    return "active" if user.is_active else "inactive"


def _fetch_invitations(
    rows: QuerySet[InternalInvitation],
    *,
    after: Cursor | None,
    before: Cursor | None,
    limit: int,
    search: _Search | None = None,
    oldest: bool = False,
) -> list[InternalInvitation]:
    """Newest first. ``after``: rows following the cursor; ``before``: rows preceding it; ``oldest``: the last
    rows of the list (both returned in list order).

    The keyset condition ``(created_at, id) < (t, id)`` is spelt with an OR, which no index can start from; the
    redundant ``created_at <= t`` (``>=`` backwards) is what lets the index scan begin at the cursor instead of
    reading every row before it (bench/staff_list.py: O(position) without it). A search takes
    ``core.text_search.first_matches`` (the ids, then the rows: two queries), its window counted in all the
    invitations past the cursor (the ``created_at`` index).
    """
    everything: QuerySet[InternalInvitation] = InternalInvitation.objects.all()
    position = before or after
    if position is not None:
        moment = _parse_time(position.sort)
        if before is not None:
            keyset = Q(Q(created_at__gt=moment) | Q(created_at=moment, id__gt=before.id), created_at__gte=moment)
        else:
            keyset = Q(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=position.id), created_at__lte=moment)
        rows, everything = rows.filter(keyset), everything.filter(keyset)
    backwards = before is not None or oldest
    if search is not None:
        ids = first_matches(
            rows,
            match=_invitation_match(search.text, search.invitation_common),
            key="created_at",
            descending=not backwards,
            need=limit,
            window_rows=everything,
        )
        found = _in_order(rows, ids)
    else:
        found = list(rows.order_by(*(("created_at", "id") if backwards else ("-created_at", "-id")))[:limit])
    return found[::-1] if backwards else found


def _fetch_users(
    rows: QuerySet[User], *, after: Cursor | None, before: Cursor | None, limit: int, search: _Search | None = None
) -> list[User]:
    """By lowercased email (unique), as the email index is built. A search: as for the invitations, its window
    counted in all staff users past the cursor (``accounts_user_staff_email``)."""
    email = Lower("email")
    everything = User.objects.filter(is_internal=True)
    if before is not None:
        rows, everything = rows.filter(LessThan(email, before.sort)), everything.filter(LessThan(email, before.sort))
    elif after is not None:
        rows, everything = (
            rows.filter(GreaterThan(email, after.sort)),
            everything.filter(GreaterThan(email, after.sort)),
        )
    backwards = before is not None
    if search is not None:
        ids = first_matches(
            rows,
            match=_user_match(search.text, search.user_common),
            key=email,
            descending=backwards,
            need=limit,
            window_rows=everything,
        )
        found = _in_order(rows, ids)
    else:
        found = list(rows.order_by(email.desc() if backwards else email.asc())[:limit])
    return found[::-1] if backwards else found


def _cursor_of(entry: StaffEntry, *, backwards: bool) -> Cursor:
    if entry.invitation is not None:
        return Cursor("invitation", entry.invitation.created_at.isoformat(), entry.invitation.pk, backwards)
    user = entry.user
    if user is None:
        raise ValueError("a staff entry holds an invitation or a user")
    return Cursor("user", (user.email or "").lower(), user.pk, backwards)


def _entries_forward(
    filters: StaffFilters, *, cursor: Cursor | None, limit: int, now: datetime, search: _Search | None
) -> list[StaffEntry]:
    entries: list[StaffEntry] = []
    invitations = _invitations(filters, now=now)
    if invitations is not None and (cursor is None or cursor.segment == "invitation"):
        for row in _fetch_invitations(invitations, after=cursor, before=None, limit=limit, search=search):
            entries.append(StaffEntry("invitation", _invitation_status(row), invitation=row))
    users = _users(filters)
    if users is not None and len(entries) < limit:
        after = cursor if cursor is not None and cursor.segment == "user" else None
        for user in _fetch_users(users, after=after, before=None, limit=limit - len(entries), search=search):
            entries.append(StaffEntry("user", _user_status(user), user=user))
    return entries


def _entries_backward(
    filters: StaffFilters, *, cursor: Cursor, limit: int, now: datetime, search: _Search | None
) -> list[StaffEntry]:
    entries: list[StaffEntry] = []
    users = _users(filters)
    if users is not None and cursor.segment == "user":
        for user in reversed(_fetch_users(users, after=None, before=cursor, limit=limit, search=search)):
            entries.append(StaffEntry("user", _user_status(user), user=user))
    invitations = _invitations(filters, now=now)
    if invitations is not None and len(entries) < limit:
        before = cursor if cursor.segment == "invitation" else None
        if before is None:  # from the end of the invitations: the oldest first
            found = _fetch_invitations(
                invitations, after=None, before=None, limit=limit - len(entries), search=search, oldest=True
            )[::-1]
        else:
            found = _fetch_invitations(
                invitations, after=None, before=before, limit=limit - len(entries), search=search
            )[::-1]
        for row in found:
            entries.append(StaffEntry("invitation", _invitation_status(row), invitation=row))
    return entries[::-1]


def staff_list(
    *, filters: StaffFilters | None = None, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> StaffPage:
    """One page of the staff list. Two queries at most, whatever the size of the tables; a search adds one (the
    statistics of the email columns, ``core.text_search.common_trigrams``) and one per segment (its ids)."""
    filters = filters or StaffFilters()
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    now = timezone.now()
    position = Cursor.decode(cursor) if cursor else None
    search = _search_of(filters)
    if position is not None and position.backwards:
        entries = _entries_backward(filters, cursor=position, limit=limit + 1, now=now, search=search)
        has_before = len(entries) > limit
        entries = entries[-limit:] if has_before else entries
        has_after = True
    else:
        entries = _entries_forward(filters, cursor=position, limit=limit + 1, now=now, search=search)
        has_after = len(entries) > limit
        entries = entries[:limit]
        has_before = position is not None
    next_cursor = _cursor_of(entries[-1], backwards=False).encode() if has_after and entries else None
    previous_cursor = _cursor_of(entries[0], backwards=True).encode() if has_before and entries else None
    return StaffPage(entries=entries, next_cursor=next_cursor, previous_cursor=previous_cursor)


def staff_counts() -> dict[str, Any]:
    """Counts for the page's summary (pending invitations, active and inactive staff): three indexed counts."""
    now = timezone.now()
    staff = User.objects.filter(is_internal=True)
    return {
        "pending": InternalInvitation.objects.pending(now=now).count(),
        "active": staff.filter(disabled_at__isnull=True).count(),
        "inactive": staff.filter(disabled_at__isnull=False).count(),
    }


def staff_user_get(*, clerk_user_id: str) -> User:
    user = User.objects.filter(clerk_user_id=clerk_user_id, is_internal=True).first()
    if user is None:
        raise NotFound("Staff member not found.")
    return user


def internal_invitation_get(*, invitation_id: int) -> InternalInvitation:
    row = InternalInvitation.objects.select_related("inviter").filter(pk=invitation_id).first()
    if row is None:
        raise NotFound("Invitation not found.")
    return row


# --------------------------------------------------------------------------- the accept page
RESENT_ACTION = "internal_invitation.resent"  # the audit action of internal_users.services.internal_invitation_resend


def accept_state_for_ticket(*, ticket: str) -> tuple[str, InternalInvitation | None]:
    """The staff accept page's first screen for ``ticket`` and the invitation it names (``None``: unknown here).

    ``ready`` lets Clerk decide; ``accepted``, ``revoked``, ``expired`` say what happened to the invitation; and
    ``superseded`` is the link of a resent invitation (found through the resend's audit event: Clerk refuses that
    ticket as revoked, like any other). For display only: the ticket's ``sid`` is read without verifying it.
    """
    clerk_invitation_id = clerk_invitation_id_from_ticket(ticket.strip())
    if not clerk_invitation_id:
        return "ready", None
    row = InternalInvitation.objects.filter(clerk_invitation_id=clerk_invitation_id).first()
    superseded = False
    if row is None:
        resent = resent_from(clerk_invitation_id, action=RESENT_ACTION)
        row = InternalInvitation.objects.filter(pk=int(resent)).first() if resent.isdigit() else None
        superseded = row is not None
    if row is None:
        return "ready", None
    status = row.effective_status
    if status in ("accepted", "revoked", "expired"):
        return status, row
    return ("superseded" if superseded else "ready"), row
