"""The plans of the members list (issue 12): on PostgreSQL a page of a workspace's members is read from the
``accounts_membership_ws_joined`` index in list order (no sort of every member, no walk of every user by email),
and the "are there two admins" check from the ``accounts_membership_ws_admins`` partial index.

The tables are small here, so sequential scans are turned off to ask what the planner does when it cannot read a
table whole, which is what it chooses at 100,000 members (bench/members_list.py prints the same indexes). The last
test drops the index inside the test's transaction and sees the plan change: the checks can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User, Workspace, WorkspaceMembership
from invitations.members import has_several_admins, members_page

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans checked are PostgreSQL's"),
]

ROWS = 2_000


@pytest.fixture
def crowd() -> Workspace:
    """``ROWS`` members of one workspace (1 in 20 admins) beside another workspace's, analysed."""
    workspace, other = (
        Workspace.objects.create(clerk_organization_id=f"org_{slug}", name=slug.title(), slug=slug)
        for slug in ("plan", "other")
    )
    users = User.objects.bulk_create(
        User(clerk_user_id=f"user_plan{i:05d}", email=f"{i:05d}.plan@example.com") for i in range(ROWS * 2)
    )
    WorkspaceMembership.objects.bulk_create(
        WorkspaceMembership(
            workspace=workspace if i < ROWS else other,
            user=user,
            role="admin" if i % 20 == 0 else "member",
            clerk_membership_id=f"orgmem_plan{i:05d}",
        )
        for i, user in enumerate(users)
    )
    with connection.cursor() as cursor:
        # The test database is reused: rows earlier tests inserted and rolled back stay in the indexes (in unequal
        # measure) until a vacuum, and sway the planner. Rebuilt here, inside the test's transaction.
        cursor.execute("REINDEX TABLE accounts_workspacemembership")
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE accounts_workspacemembership")
    return workspace


def plans(call: Callable[[], Any]) -> list[str]:
    """``EXPLAIN`` of every statement ``call`` sends, with sequential scans off."""
    with CaptureQueriesContext(connection) as ctx:
        call()
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in ctx.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            found.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
    return found


def test_a_page_of_members_walks_the_list_index_in_order(crowd: Workspace) -> None:
    count, page = plans(lambda: members_page(workspace=crowd, page=10))
    assert "accounts_membership_ws_joined" in page, page
    assert "Sort" not in page, page  # the index gives the order: no sort of every member
    assert "accounts_user_email_key" not in page, page
    assert "Limit" in count, count  # the count stops at the cap


def test_the_admin_check_reads_the_admins_index(crowd: Workspace) -> None:
    [plan] = plans(lambda: has_several_admins(workspace=crowd))
    assert "accounts_membership_ws_admins" in plan, plan
    assert "accounts_user" not in plan, plan  # no join to sort by the model's default ordering


def test_without_its_index_the_plan_changes(crowd: Workspace) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX accounts_membership_ws_joined")
    _, page = plans(lambda: members_page(workspace=crowd, page=10))
    assert "accounts_membership_ws_joined" not in page
    assert "Sort" in page, page
