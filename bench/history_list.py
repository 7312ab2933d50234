"""The workspace invitation history (``invitations.history.invitation_history``) at 1,000 and 100,000 invitations.

Issue 12 asks that a page of 50 of the history costs the same SQL queries and at most 1.5x the time at 100,000
rows as at 1,000, search included. This bench seeds a throwaway PostgreSQL database (``bulk_create``: one
workspace, N invitations: 30% accepted, 30% revoked, 20% expired, 5% failed, 15% open of which a few are past their
expiry) at the small size (the baseline) and at the large one, each in its own schema, and for each page prints
the queries (``CaptureQueriesContext``), the median time over ``--runs`` calls alternating between the sizes call
by call, and the ratio large/small. Exit status 1 only when a page's query count differs between the sizes.

Pages: ``all`` (first page), ``all, middle`` (a cursor half way), ``revoked``, ``expired`` (stored + open rows past
expiry), ``failed``, ``search, one match`` (one address, substring: the trigram index), ``search, domain`` (a
domain one row in 20 has).

    python3 -m uv run python bench/history_list.py           # 1,000 vs 100,000: about 1 minute
    python3 -m uv run python bench/history_list.py --quick   # 1,000 vs 10,000, 10 runs: CI
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load_common import say, throwaway_database  # noqa: E402

PAGE = 50
GOAL_RATIO = 1.5


def _setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)


def _use(schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # pg_trgm lives in public, shared by both sizes
        cursor.execute("SELECT set_config('search_path', %s, false)", [f'"{schema}", public'])


def _create(schema: str, rows: int) -> tuple[Any, float]:
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    _use(schema)
    call_command("migrate", verbosity=0)
    return _seed(rows)


def _seed(count: int) -> tuple[Any, float]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User, Workspace
    from invitations.models import WorkspaceInvitation

    started = time.perf_counter()
    workspace = Workspace.objects.create(clerk_organization_id="org_bench", name="Bench", slug="bench")
    inviter = User.objects.create(clerk_user_id="user_bench", email="admin@example.com", password="!bench")  # noqa: S106
    now = timezone.now()
    batch = 5_000
    for start in range(0, count, batch):
        rows = []
        for i in range(start, min(count, start + batch)):
            slot = i % 20
            status = (
                "accepted"
                if slot < 6
                else "revoked"
                if slot < 12
                else "expired"
                if slot < 16
                else "failed"
                if slot == 16
                else "pending"
            )
            late = status == "pending" and i % 100 == 17  # open but past expiry: counts as expired
            domain = "globex.test" if i % 20 == 3 else "example.com"
            rows.append(
                WorkspaceInvitation(
                    workspace=workspace,
                    email=f"{format((i * 2_654_435_761) % 4_294_967_296, '08x')}.{i}@{domain}",
                    status=status,
                    clerk_invitation_id=f"orginv_bench{i:07d}",
                    inviter=inviter,
                    inviter_email=inviter.email or "",
                    expires_at=now - timedelta(hours=1) if late or status == "expired" else now + timedelta(days=7),
                    failure_reason="form_param_format_invalid: bench" if status == "failed" else "",
                )
            )
        made = WorkspaceInvitation.objects.bulk_create(rows)
        for offset, row in enumerate(made):  # spread created_at over time, as real rows are
            row.created_at = now - timedelta(minutes=count - start - offset)
        WorkspaceInvitation.objects.bulk_update(made, ["created_at"], batch_size=1_000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE invitations_workspaceinvitation")
    return workspace, time.perf_counter() - started


def _pages(workspace: Any, count: int) -> dict[str, Callable[[], Any]]:
    from invitations import history
    from invitations.models import WorkspaceInvitation

    middle = WorkspaceInvitation.objects.filter(workspace=workspace, status="revoked").order_by("-created_at", "-id")[
        count // 4
    ]
    cursor = history._encode_cursor(middle)
    one = WorkspaceInvitation.objects.filter(workspace=workspace, status="accepted").order_by("id")[count // 7]
    needle = one.email.split("@")[0].split(".")[0]

    def page(status: str | None = None, search: str = "", at: str | None = None) -> Callable[[], Any]:
        filters = history.history_filters(status=status, search=search)
        return lambda: history.invitation_history(workspace=workspace, filters=filters, cursor=at, limit=PAGE)

    return {
        "all": page(),
        "all, middle": page(at=cursor),
        "revoked": page("revoked"),
        "expired": page("expired"),
        "failed": page("failed"),
        "search, one match": page(search=needle.upper()),
        "search, domain": page(search="globex"),
    }


def _measure(fn: Callable[[], Any]) -> tuple[int, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return len(queries), elapsed * 1000, len(result.invitations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000 rows, 10 runs (CI)")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=None, help="rows at the large size (100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per page (30)")
    args = parser.parse_args()
    large = args.large or (10_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 30)
    with throwaway_database("history_list") as database_url:
        _setup(database_url)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        sizes = {}
        for schema, rows in (("small", args.small), ("large", large)):
            workspace, seconds = _create(schema, rows)
            say(f"seeded {rows:,} invitations in {seconds:.1f} s")
            sizes[schema] = (rows, _pages(workspace, rows))
        names = list(sizes["small"][1])
        times: dict[tuple[str, str], list[float]] = {}
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        for name in names:
            for _ in range(runs):
                for schema in ("small", "large"):
                    _use(schema)
                    queries, ms, found = _measure(sizes[schema][1][name])
                    times.setdefault((schema, name), []).append(ms)
                    counts[(schema, name)] = (queries, found)
        say(f"\nhistory page of {PAGE}: {args.small:,} rows (baseline, same run) vs {large:,} rows, median of {runs}")
        say(f"{'page':<20} {'queries':>9} {'rows':>9} {'small ms':>9} {'large ms':>9} {'ratio':>6}")
        ok = True
        for name in names:
            small_q, small_rows = counts[("small", name)]
            large_q, large_rows = counts[("large", name)]
            small_ms = statistics.median(times[("small", name)])
            large_ms = statistics.median(times[("large", name)])
            ratio = large_ms / small_ms if small_ms else 0.0
            same = small_q == large_q
            ok = ok and same
            mark = "" if ratio <= GOAL_RATIO else f"  (over {GOAL_RATIO}x)"
            say(
                f"{name:<20} {small_q:>4}/{large_q:<4} {small_rows:>4}/{large_rows:<4} {small_ms:>9.2f} "
                f"{large_ms:>9.2f} {ratio:>5.2f}x{mark}"
            )
        say("same queries at both sizes: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
