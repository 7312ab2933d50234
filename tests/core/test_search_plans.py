"""The plans of the text searches (issue 13 item 5, issue 12): on PostgreSQL the statement each list's search sends
can be served by its trigram index (a rare word) and by its list-order index (the walk of a common one).

The tables here are tiny, so the planner would read them whole, or walk a whole b-tree, whatever the indexes;
``enable_seqscan = off`` and ``enable_indexscan = off`` ask what it does when neither is an option (bitmap and
index-only scans stay), which is what it chooses on large tables (bench/
search_scale.py shows the same indexes in the plans at 100,000 rows). Each test fails if its index is dropped,
which the last one checks by dropping one inside the test's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User, Workspace
from core.text_search import contains
from internal_users.models import InternalInvitation
from internal_users.selectors import _invitation_match, _user_match, staff_filters, staff_list
from invitations.history import history_filters, invitation_history
from invitations.models import WorkspaceInvitation
from invitations.pending import pending_page

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's (pg_trgm)"),
]


ROWS = 2_000


@pytest.fixture
def rows() -> Workspace:
    """``ROWS`` of each, one of them a ``quokka`` (the rare word: trigrams no other row has): enough for the planner
    to prefer an index for a rare word, few enough to seed in a second."""
    workspace = Workspace.objects.create(clerk_organization_id="org_plan", name="Plan", slug="plan")
    inviter = User.objects.create(clerk_user_id="user_plan", email="admin@plan.test", is_internal=True, role="admin")
    later = timezone.now() + timedelta(days=7)
    User.objects.bulk_create(
        User(
            clerk_user_id=f"user_plan{i}",
            email="zebra.quokka@plan.test" if i == 7 else f"staff{i:05d}@plan.test",
            first_name="Zed" if i == 7 else ("Hana", "Ivo", "Jun")[i % 3],
            last_name="Quux" if i == 7 else ("Lee", "Ng")[i % 2],
            is_internal=True,
            role="pm",
        )
        for i in range(ROWS)
    )
    InternalInvitation.objects.bulk_create(
        InternalInvitation(
            email="quokka@plan.test" if i == 7 else f"invitee{i:05d}@plan.test",
            role="pm",
            inviter=inviter,
            expires_at=later,
        )
        for i in range(ROWS)
    )
    WorkspaceInvitation.objects.bulk_create(
        WorkspaceInvitation(
            workspace=workspace,
            email="quokka@plan.test" if i == 7 else f"person{i:05d}@{'globex.test' if i % 10 == 0 else 'example.com'}",
            status=("pending", "revoked")[i % 2],
            inviter=inviter,
            expires_at=later,
        )
        for i in range(ROWS)
    )
    with connection.cursor() as cursor:
        # Fresh rows wait in each GIN index's pending list (VACUUM moves them, but not inside a transaction), which
        # the planner prices as a scan of the list: move them as VACUUM would.
        cursor.execute(
            "SELECT gin_clean_pending_list(indexrelid) FROM pg_index JOIN pg_class c ON c.oid = indexrelid"
            " WHERE c.relname LIKE '%%_trgm'"
        )
        for table in ("accounts_user", "internal_users_internalinvitation", "invitations_workspaceinvitation"):
            cursor.execute(f"ANALYZE {table}")
    return workspace


def _plans(call: Callable[[], Any]) -> str:
    """``EXPLAIN`` of every statement ``call`` sends, with sequential scans off."""
    with CaptureQueriesContext(connection) as ctx:
        call()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # bitmap and index-only scans stay
        for query in ctx.captured_queries:
            if query["sql"].lstrip().upper().startswith(("SELECT", "(SELECT", "WITH")):
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_indexscan")
    return "\n".join(plans)


def _indexed_plan(rows: Any) -> str:
    """The plan of the trigram form alone (``match(True)``: what ``first_matches`` sends for a rare word)."""
    return _plans(lambda: list(rows))


def test_the_staff_search_sends_the_trigram_form_and_the_indexes_serve_it(rows: Workspace) -> None:
    with CaptureQueriesContext(connection) as ctx:
        staff_list(filters=staff_filters(search="zed quux"), limit=50)
    sql = " ".join(query["sql"] for query in ctx.captured_queries)
    for column in ("email", "first_name", "last_name"):
        assert f'UPPER("accounts_user"."{column}"::text) LIKE' in sql
    assert 'UPPER("internal_users_internalinvitation"."email"::text) LIKE' in sql
    users = User.objects.filter(is_internal=True).filter(_user_match("zed quux")(True))
    plan = _indexed_plan(users)
    for index in ("accounts_user_staff_email_trgm", "accounts_user_staff_first_trgm", "accounts_user_staff_last_trgm"):
        assert index in plan, plan
    plan = _indexed_plan(InternalInvitation.objects.filter(_invitation_match("quokka")(True), status="pending"))
    assert "internal_users_inv_email_trgm" in plan, plan


@pytest.mark.parametrize("page", ["pending", "history"])
def test_the_workspace_searches_send_the_trigram_form_and_the_index_serves_it(rows: Workspace, page: str) -> None:
    def call() -> Any:
        if page == "pending":
            return pending_page(workspace=rows, query="quokka")
        return invitation_history(workspace=rows, filters=history_filters(search="quokka"))

    with CaptureQueriesContext(connection) as ctx:
        call()
    assert any('UPPER("invitations_workspaceinvitation"."email"::text) LIKE' in q["sql"] for q in ctx)
    plan = _indexed_plan(WorkspaceInvitation.objects.filter(contains("email", "quokka", indexed=True), workspace=rows))
    assert "invitations_email_trgm" in plan, plan


def test_without_its_index_the_plan_changes(rows: Workspace) -> None:
    """The checks above can fail: the same search, the trigram index dropped (rolled back with the test)."""
    query = InternalInvitation.objects.filter(_invitation_match("quokka")(True))
    assert "internal_users_inv_email_trgm" in _indexed_plan(query)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX internal_users_inv_email_trgm")
    assert "internal_users_inv_email_trgm" not in _indexed_plan(query)


LARGE = 20_000


@pytest.fixture
def many_invitations() -> str:
    """``LARGE`` staff invitations shaped as bench/search_scale.py's synthetic seed (``invitee<7 digits>.<name>@
    example.org``: nearly every trigram of an address is in nearly every row), analysed. The address searched."""
    inviter = User.objects.create(clerk_user_id="user_many", email="admin@many.test", is_internal=True, role="admin")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO internal_users_internalinvitation (created_at, updated_at, email, role, status, inviter_id,"
            " inviter_email, inviter_name, expires_at, send_count, revoked_by_email, failure_reason, email_status,"
            " email_error)"
            " SELECT now() - make_interval(secs => (i::bigint * 2654435761) %% 518400), now(),"
            " 'invitee' || lpad(i::text, 7, '0') || '.' || (ARRAY['lee','ng','diaz','ito','smith'])[1 + i %% 5]"
            " || '@example.org', 'pm', 'pending', %s, 'admin@many.test', '', now() + interval '7 days', 1, '', '',"
            " 'not_sent', '' FROM generate_series(0, %s) AS i",
            [inviter.pk, LARGE - 1],
        )
        cursor.execute("SELECT gin_clean_pending_list('internal_users_inv_email_trgm'::regclass)")
        cursor.execute("ANALYZE internal_users_internalinvitation")
    return f"invitee{LARGE // 2:07d}.lee@example.org"


def _plain_plans(call: Callable[[], Any]) -> str:
    """``EXPLAIN`` of every SELECT ``call`` sends, as the planner chooses (nothing switched off)."""
    with CaptureQueriesContext(connection) as ctx:
        call()
    plans = []
    with connection.cursor() as cursor:
        for query in ctx.captured_queries:
            if query["sql"].lstrip().upper().startswith(("SELECT", "(SELECT")) and "pg_stats" not in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n".join(plans)


def test_a_rare_address_among_many_alike_is_found_by_index_without_reading_the_table(many_invitations: str) -> None:
    """At 20,000 rows: the window is walked by its index (a window bounded at one end only was priced at a third of
    the table and read by a sequential scan), and the trigram index is asked for the address's rare part only."""

    def search() -> Any:
        return staff_list(filters=staff_filters(search=many_invitations, status="pending"), limit=50)

    assert [entry.email for entry in search().entries] == [many_invitations]
    plan = _plain_plans(search)
    assert "Seq Scan on internal_users_internalinvitation" not in plan, plan
    assert "internal_users_inv_email_trgm" in plan, plan
    probed = [line for line in plan.splitlines() if "Index Cond" in line and "~~" in line]
    assert probed, plan  # the trigram index is asked for parts of the address (here its digits and "lee")
    assert all("EXAMPLE" not in line and "INVITEE" not in line for line in probed), plan
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX internal_users_inv_email_trgm")
    assert "internal_users_inv_email_trgm" not in _plain_plans(search)
