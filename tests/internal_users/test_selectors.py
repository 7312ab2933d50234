"""The staff list (internal_users/selectors.py): one keyset-paginated list of invitations then staff users, filters,
search, cursors in both directions, and a constant number of queries. Rows are local only (factories)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.exceptions import NotFound
from internal_users import selectors
from internal_users.errors import InvalidCursor, InvalidStaffFilter
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.selectors import Cursor, StaffEntry, StaffFilters, staff_filters, staff_list
from tests.accounts.factories import UserFactory
from tests.internal_users.factories import InternalInvitationFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=123456) - timedelta(days=1)


def invitation(email: str, *, minutes: float, **fields: Any) -> InternalInvitation:
    """An invitation created ``minutes`` after T0 (created_at is set after the insert: auto_now_add)."""
    row: InternalInvitation = InternalInvitationFactory.create(email=email, **fields)
    InternalInvitation.objects.filter(pk=row.pk).update(created_at=T0 + timedelta(minutes=minutes))
    row.refresh_from_db()
    return row


def staff(email: str, role: str = Role.PM, *, disabled: bool = False, **fields: Any) -> User:
    user: User = UserFactory.create(email=email, role=role, disabled_at=timezone.now() if disabled else None, **fields)
    return user


def key(entry: StaffEntry) -> str:
    return entry.email


def walk_forward(filters: StaffFilters | None, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(100):
        page = staff_list(filters=filters, cursor=cursor, limit=limit)
        assert (page.previous_cursor is None) == (cursor is None)
        pages.append([key(e) for e in page.entries])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
    raise AssertionError("the walk did not end")


def walk_backward(filters: StaffFilters | None, limit: int, cursor: str) -> list[list[str]]:
    """From ``cursor`` (a previous_cursor) back to the first page; pages in the order visited."""
    pages: list[list[str]] = []
    current: str | None = cursor
    for _ in range(100):
        assert current is not None
        page = staff_list(filters=filters, cursor=current, limit=limit)
        assert page.next_cursor is not None  # there is always a way forward again
        pages.append([key(e) for e in page.entries])
        if page.previous_cursor is None:
            return pages
        current = page.previous_cursor
    raise AssertionError("the walk did not end")


@pytest.fixture
def people() -> dict[str, Any]:
    """3 visible invitations (one failed), hidden ones, 5 staff users (one inactive, one with a capitalised email)
    and 2 non-staff users."""
    visible = [
        invitation("inv.new@example.com", minutes=30, role=Role.ADMIN),
        invitation("inv.tie-b@example.com", minutes=20),  # same created_at as the next: ordered by id, newest first
        invitation("inv.tie-a@example.com", minutes=20, role=Role.SUPER_ADMIN),
        invitation(
            "inv.failed@example.com", minutes=10, status=InternalInvitationStatus.FAILED, clerk_invitation_id=None
        ),
    ]
    hidden = [
        invitation("inv.revoked@example.com", minutes=5, status=InternalInvitationStatus.REVOKED),
        invitation("inv.accepted@example.com", minutes=4, status=InternalInvitationStatus.ACCEPTED),
        invitation("inv.swept@example.com", minutes=3, status=InternalInvitationStatus.EXPIRED),
        invitation("inv.late@example.com", minutes=2, expires_at=timezone.now() - timedelta(seconds=1)),
    ]
    users = [
        staff("adam@example.com", Role.SUPER_ADMIN, first_name="Adam", last_name="Root"),
        staff("Bea.Admin@Example.com", Role.ADMIN, first_name="Bea", last_name="Lee"),
        staff("cat@example.com", Role.PM, first_name="Cat", last_name="Lee"),
        staff("dan@example.com", Role.PM, disabled=True, first_name="Dan", last_name="Ng"),
        staff("eve@example.com", Role.ADMIN, first_name="Eve", last_name="Ann"),
    ]
    staff("member@example.com", Role.MEMBER)
    staff("other.member@example.com", Role.MEMBER, first_name="Lee")
    return {"visible": visible, "hidden": hidden, "users": users}


EXPECTED_ALL = [
    "inv.new@example.com",
    "inv.tie-a@example.com",  # created after tie-b (higher id) with the same timestamp
    "inv.tie-b@example.com",
    "inv.failed@example.com",
    "adam@example.com",
    "Bea.Admin@Example.com",
    "cat@example.com",
    "dan@example.com",
    "eve@example.com",
]


# =========================================================================== the list and its order
def test_default_list_is_pending_and_failed_invitations_then_staff_users(people: dict[str, Any]) -> None:
    page = staff_list()
    assert [e.email for e in page.entries] == EXPECTED_ALL
    assert (page.next_cursor, page.previous_cursor) == (None, None)
    statuses = {e.email: (e.kind, e.status, e.role) for e in page.entries}
    assert statuses["inv.new@example.com"] == ("invitation", "pending", "admin")
    assert statuses["inv.failed@example.com"] == ("invitation", "failed", "pm")
    assert statuses["dan@example.com"] == ("user", "inactive", "pm")
    assert statuses["adam@example.com"] == ("user", "active", "super_admin")
    first = page.entries[0]
    assert first.invitation is not None
    assert (first.key, first.invitation_id) == (f"invitation-{first.invitation.pk}", first.invitation.pk)
    user_entry = page.entries[4]
    assert user_entry.user is not None
    assert user_entry.key == f"user-{user_entry.user.clerk_user_id}"


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 9, 50])
def test_forward_then_backward_walks_cover_both_segments_exactly(people: dict[str, Any], limit: int) -> None:
    pages = walk_forward(None, limit)
    assert [email for page in pages for email in page] == EXPECTED_ALL
    assert all(len(page) == limit for page in pages[:-1])
    if len(pages) == 1:
        return
    # Back from the last page: the same pages, in reverse.
    last = staff_list(cursor=_cursor_to_page(None, limit, len(pages) - 1), limit=limit)
    assert last.previous_cursor is not None
    back = walk_backward(None, limit, last.previous_cursor)
    assert back == pages[-2::-1]


def _cursor_to_page(filters: StaffFilters | None, limit: int, index: int) -> str | None:
    cursor: str | None = None
    for _ in range(index):
        cursor = staff_list(filters=filters, cursor=cursor, limit=limit).next_cursor
    return cursor


def test_a_page_starting_in_one_segment_and_ending_in_the_other(people: dict[str, Any]) -> None:
    first = staff_list(limit=3)
    middle = staff_list(cursor=first.next_cursor, limit=3)
    assert [e.kind for e in middle.entries] == ["invitation", "user", "user"]
    assert [e.email for e in middle.entries] == EXPECTED_ALL[3:6]
    back = staff_list(cursor=middle.previous_cursor, limit=3)
    assert [e.email for e in back.entries] == EXPECTED_ALL[:3]
    assert back.previous_cursor is None
    # Backwards from inside the user segment into the invitations.
    later = staff_list(cursor=middle.next_cursor, limit=3)
    assert [e.email for e in later.entries] == EXPECTED_ALL[6:9]
    again = staff_list(cursor=later.previous_cursor, limit=3)
    assert [e.email for e in again.entries] == EXPECTED_ALL[3:6]


def test_rows_added_while_paging_do_not_shift_the_next_page(people: dict[str, Any]) -> None:
    first = staff_list(limit=2)
    invitation("inv.newest@example.com", minutes=60)  # lands before the cursor: not on the next page
    staff("aaron@example.com")  # the first user now, but users come after every invitation
    second = staff_list(cursor=first.next_cursor, limit=2)
    assert [e.email for e in second.entries] == EXPECTED_ALL[2:4]


# =========================================================================== filters and search
@pytest.mark.parametrize(
    ("status", "role", "expected"),
    [
        ("pending", None, ["inv.new@example.com", "inv.tie-a@example.com", "inv.tie-b@example.com"]),
        ("expired", None, ["inv.swept@example.com", "inv.late@example.com"]),
        ("failed", None, ["inv.failed@example.com"]),
        ("active", None, ["adam@example.com", "Bea.Admin@Example.com", "cat@example.com", "eve@example.com"]),
        ("inactive", None, ["dan@example.com"]),
        (None, "pm", ["inv.tie-b@example.com", "inv.failed@example.com", "cat@example.com", "dan@example.com"]),
        ("active", "pm", ["cat@example.com"]),
        ("active", "admin", ["Bea.Admin@Example.com", "eve@example.com"]),
        ("pending", "super_admin", ["inv.tie-a@example.com"]),
        ("inactive", "admin", []),
    ],
)
def test_status_and_role_filters(
    people: dict[str, Any], status: str | None, role: str | None, expected: list[str]
) -> None:
    filters = staff_filters(status=status, role=role)
    assert [e.email for e in staff_list(filters=filters).entries] == expected
    for limit in (1, 2):
        assert [email for page in walk_forward(filters, limit) for email in page] == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lee", ["Bea.Admin@Example.com", "cat@example.com"]),  # last names; the non-staff Lee is not listed
        ("BEA LEE", ["Bea.Admin@Example.com"]),  # every word must match first or last name
        ("  cat   lee ", ["cat@example.com"]),
        ("ann", ["eve@example.com"]),
        ("tie", ["inv.tie-a@example.com", "inv.tie-b@example.com"]),  # invitations by email
        ("example.com", EXPECTED_ALL),
        ("admin@", ["Bea.Admin@Example.com"]),
        ("nobody", []),
    ],
)
def test_search_by_name_or_email(people: dict[str, Any], search: str, expected: list[str]) -> None:
    filters = staff_filters(search=search)
    assert [e.email for e in staff_list(filters=filters).entries] == expected
    assert [email for page in walk_forward(filters, 2) for email in page] == expected


def test_search_with_filters_pages_backwards(people: dict[str, Any]) -> None:
    filters = staff_filters(status=None, role="pm", search="example")
    pages = walk_forward(filters, 1)
    assert len(pages) == 4
    last = staff_list(filters=filters, cursor=_cursor_to_page(filters, 1, 3), limit=1)
    assert last.previous_cursor is not None
    assert walk_backward(filters, 1, last.previous_cursor) == pages[-2::-1]


def test_filter_values_are_validated_and_search_is_cleaned() -> None:
    with pytest.raises(InvalidStaffFilter) as error:
        staff_filters(status="deleted")
    assert (error.value.code, error.value.extra["field"]) == ("invalid_filter", "status")
    with pytest.raises(InvalidStaffFilter) as error:
        staff_filters(role="member")
    assert error.value.extra["field"] == "role"
    assert staff_filters(status=" ", role="", search=None) == StaffFilters()
    assert staff_filters(search=" a\x00b \t c ").search == "a b c"
    assert len(staff_filters(search="x" * 500).search) == selectors.MAX_SEARCH_LENGTH


def test_a_search_with_a_nul_character_is_not_a_server_error(people: dict[str, Any]) -> None:
    assert staff_list(filters=staff_filters(search="\x00")).entries


# =========================================================================== cursors
def _raw(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        _raw("just a string"),
        _raw(["user", "a@example.com", 1]),  # too short
        _raw(["group", "a@example.com", 1, 0]),
        _raw(["invitation", "not a time", 1, 0]),
        _raw(["user", "a@example.com", 0, 0]),
        _raw(["user", "a@example.com", True, 0]),
        _raw(["user", "a@example.com", 2**63, 0]),
        _raw(["user", "a@example.com", 1, 2]),
        _raw(["user", "nul\x00byte", 1, 0]),
        _raw(["user", "x" * 401, 1, 0]),
        _raw(["user", 5, 1, 0]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_bad_cursor_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as error:
        staff_list(cursor=cursor)
    assert error.value.code == "invalid_cursor"


def test_a_cursor_round_trips() -> None:
    cursor = Cursor("invitation", T0.isoformat(), 42, backwards=True)
    assert Cursor.decode(cursor.encode()) == cursor


def test_a_cursor_of_a_row_deleted_since_still_works(people: dict[str, Any]) -> None:
    first = staff_list(limit=5)  # ends on adam
    User.objects.filter(email="adam@example.com").delete()
    second = staff_list(cursor=first.next_cursor, limit=5)
    assert [e.email for e in second.entries] == EXPECTED_ALL[5:]


def test_limit_is_clamped(people: dict[str, Any]) -> None:
    assert len(staff_list(limit=0).entries) == 1
    assert len(staff_list(limit=10_000).entries) == len(EXPECTED_ALL)


# =========================================================================== cost
def _queries(**kwargs: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        staff_list(**kwargs)
    return len(ctx.captured_queries)


def _costs() -> dict[str, int]:
    """Queries for pages at the same positions: the start, across the segment boundary, inside the users."""
    invitations = list(InternalInvitation.objects.order_by("-created_at", "-id"))
    third_last = invitations[-3]
    across = Cursor("invitation", third_last.created_at.isoformat(), third_last.pk).encode()
    first_user = User.objects.filter(is_internal=True).order_by(Lower("email")).first()
    assert first_user is not None
    inside = Cursor("user", (first_user.email or "").lower(), first_user.pk).encode()
    return {
        "first": _queries(limit=5),
        "across": _queries(cursor=across, limit=5),
        "users": _queries(cursor=inside, limit=5),
        "filtered": _queries(filters=staff_filters(status="active", role="pm"), limit=5),
        "search": _queries(filters=staff_filters(search="lee"), limit=5),
    }


def _add(count: int, start: int) -> None:
    for n in range(start, start + count):
        staff(f"bulk{n:03d}@example.com", first_name="Bulk", last_name="Lee")
        invitation(f"inv.bulk{n:03d}@example.com", minutes=40 + n)


def test_a_page_costs_the_same_few_queries_whatever_the_size() -> None:
    _add(8, 0)
    small = _costs()
    _add(60, 8)
    large = _costs()
    assert small == large
    # a search: on PostgreSQL the email columns' statistics (core.text_search.common_trigrams), then the ids
    # (core.text_search.first_matches) and the rows of each segment that has some
    search = 4 if connection.vendor == "postgresql" else 3
    assert large == {"first": 1, "across": 2, "users": 1, "filtered": 1, "search": search}


# =========================================================================== small readers
def test_staff_counts(people: dict[str, Any]) -> None:
    assert selectors.staff_counts() == {"pending": 3, "active": 4, "inactive": 1}


def test_staff_user_get_and_invitation_get(people: dict[str, Any]) -> None:
    cat = people["users"][2]
    assert selectors.staff_user_get(clerk_user_id=cat.clerk_user_id) == cat
    member = User.objects.get(email="member@example.com")
    with pytest.raises(NotFound):
        selectors.staff_user_get(clerk_user_id=member.clerk_user_id)
    row = people["visible"][0]
    assert selectors.internal_invitation_get(invitation_id=row.pk) == row
    with pytest.raises(NotFound):
        selectors.internal_invitation_get(invitation_id=row.pk + 10_000)


def test_cursor_of_an_invitation_keeps_microseconds(people: dict[str, Any]) -> None:
    page = staff_list(limit=1)
    assert page.next_cursor is not None
    decoded = Cursor.decode(page.next_cursor)
    moment = datetime.fromisoformat(decoded.sort)
    assert moment == people["visible"][0].created_at
