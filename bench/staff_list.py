"""The staff list (``internal_users.selectors.staff_list``) at 1,000 and at 100,000 staff users: queries and time.

Issue 5 asks that a page of 50 of the staff list, with 100,000 users and 10,000 invitations, costs the same number
of SQL queries as with 1,000 users, and at most 1.5x the time. This bench seeds a throwaway PostgreSQL database
with ``bulk_create`` (N staff users, N/10 staff invitations in every state) at the small size (the baseline) and at
the large one, each in its own schema of that database, and for each kind of page prints the SQL queries
(``CaptureQueriesContext``) and the median time over ``--runs`` calls, the ratio large/small and whether the query
counts are equal. Timed calls alternate between the two sizes call by call, so load from anything else on the
machine weighs on both alike (on a shared 2-core box, sizes timed one after the other drifted by 2x).
Then it runs ``EXPLAIN ANALYZE`` on each page's queries at the large size and prints the indexes
the plans use (``accounts_user_staff_email``, the partial index on ``lower(email)`` of staff users, and
``internal_users_inv_list``), any sequential scan, and any sort.

Pages measured (50 entries each, as the staff page shows):

- ``first``: the default list (pending and failed invitations, newest first, then staff users by email);
- ``invitations, middle``: a cursor half way through the invitations;
- ``into the users``: a page whose first half is the last invitations and second half the first users (2 queries);
- ``users, middle`` and ``users, middle, back``: a cursor half way through the users, forward and backward;
- ``pending, middle``: ``status=pending``, a cursor half way through;
- ``active pm``: ``status=active``, ``role=pm``;
- ``search, common``: a first name one staff user in 14 has (the page fills early; no invitation matches, so the
  invitations are searched in full: N/10 rows);
- ``search, one match``: one user's exact email: ``icontains`` cannot use a b-tree index, so this one reads every
  staff row and is expected to grow with N (reported, not hidden);
- for comparison, ``OFFSET`` pagination of the users' middle page (what the keyset cursor avoids).

Bounded and self-stopping: one process, no server; the database is created and dropped by the bench
(``BENCH_DATABASE_URL``, else ``DATABASE_URL`` when PostgreSQL, else ``postgres://postgres@127.0.0.1:5432/postgres``);
``--max-seconds`` stops it early. Timings are printed, never asserted; the exit status is 1 only when a page's
query count differs between the sizes (or the run is cut short).

    python3 -m uv run python bench/staff_list.py            # 1,000 vs 100,000 users: about 1 minute on 2 cores
    python3 -m uv run python bench/staff_list.py --quick    # 1,000 vs 10,000 users, 10 runs: CI
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load_common import postgres_server_url, say, throwaway_database  # noqa: E402

FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia"]
LAST_NAMES = ["Lee", "Ng", "Diaz", "Okafor", "Smith", "Kowal", "Haddad", "Ito", "Moreau", "Rossi"]  # "Lee": 1 in 10
PAGE = 50
GOAL_RATIO = 1.5
EXPECTED_INDEXES = {"accounts_user_staff_email", "internal_users_inv_list"}


Pages = dict[str, Callable[[], Any]]


class OutOfTime(Exception):
    pass


@dataclass
class Figures:
    queries: int
    median_ms: float
    sql: list[str] = field(default_factory=list)


@dataclass
class Budget:
    deadline: float

    def check(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"--max-seconds reached while {what}")


def _setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)


def _use(schema: str) -> None:
    """Point this connection at one size's tables (each size lives in its own PostgreSQL schema)."""
    from django.db import connection

    with connection.cursor() as cursor:  # pg_trgm (invitations' search index) lives in public, shared by both sizes
        cursor.execute("SELECT set_config('search_path', %s, false)", [f'"{schema}", public'])


def _create(schema: str, users: int, invitations: int) -> float:
    """A schema with the product's tables (``migrate``) holding ``users`` staff users and ``invitations``."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    _use(schema)
    call_command("migrate", verbosity=0)
    return _seed(users, invitations)


# --------------------------------------------------------------------------- seeding
def _seed(users: int, invitations: int) -> float:
    """N staff users (1% super_admin, 33% admin, 66% pm; 10% inactive) and invitations in every state."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from internal_users.models import InternalInvitation

    started = time.perf_counter()
    now = timezone.now()
    batch = 5_000
    for start in range(0, users, batch):
        rows = []
        for i in range(start, min(users, start + batch)):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // 7) % len(LAST_NAMES)]
            # The email's first letters do not follow the insertion order, as in real data.
            prefix = format((i * 2_654_435_761) % 4_294_967_296, "08x")
            role = "super_admin" if i % 100 == 0 else "admin" if i % 3 == 1 else "pm"
            rows.append(
                User(
                    clerk_user_id=f"user_bench{i:07d}",
                    email=f"{prefix}.{first}.{last}.{i}@Example.com".lower(),
                    first_name=first,
                    last_name=last,
                    image_url=f"https://img.example.com/{i}.png",
                    phone_number=f"+1555{i:07d}",
                    role=role,
                    is_internal=True,
                    disabled_at=now if i % 10 == 9 else None,
                    phone_verification_required=False,
                    password="!bench-unusable",  # noqa: S106
                )
            )
        User.objects.bulk_create(rows, batch_size=batch)
    inviter = User.objects.order_by("pk").first()
    statuses = ["pending"] * 12 + ["failed"] + ["revoked"] * 3 + ["accepted"] * 3 + ["expired"]
    for start in range(0, invitations, batch):
        rows_inv = []
        for i in range(start, min(invitations, start + batch)):
            status = statuses[i % len(statuses)]
            rows_inv.append(
                InternalInvitation(
                    email=f"invitee{i:07d}.{LAST_NAMES[i % len(LAST_NAMES)].lower()}@example.org",
                    role="admin" if i % 3 == 0 else "pm",
                    status=status,
                    clerk_invitation_id=None if status == "failed" else f"inv_bench{i:07d}",
                    inviter=inviter,
                    inviter_email=(inviter.email or "") if inviter else "",
                    expires_at=now,
                    send_count=1,
                )
            )
        InternalInvitation.objects.bulk_create(rows_inv, batch_size=batch)
    with connection.cursor() as cursor:
        # created_at is auto_now_add: spread it afterwards. Pending ones from the last 6 days (one in 20 of them
        # older, so pending past its expiry), the rest over 90 days; each expires 7 days after it was made.
        cursor.execute(
            """
            UPDATE internal_users_internalinvitation SET created_at = %s - make_interval(secs =>
                CASE WHEN status = 'pending' AND id %% 20 <> 0 THEN (id::bigint * 2654435761) %% 518400
                     ELSE 691200 + (id::bigint * 2654435761) %% 7084800 END
                + (id %% 1000) / 1000.0)
            """,
            [now],
        )
        cursor.execute("UPDATE internal_users_internalinvitation SET expires_at = created_at + interval '7 days'")
        cursor.execute("VACUUM ANALYZE accounts_user")
        cursor.execute("VACUUM ANALYZE internal_users_internalinvitation")
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the pages
def _pages() -> Pages:
    """The calls to measure. Cursors come from the seeded data, placed so that each page has the same shape at both
    sizes (inside the invitations, across into the users, inside the users), hence the same queries."""
    from django.db.models import Q
    from django.db.models.functions import Lower
    from django.utils import timezone

    from accounts.models import User
    from internal_users.models import InternalInvitation
    from internal_users.selectors import Cursor, staff_filters, staff_list

    now = timezone.now()
    visible = InternalInvitation.objects.filter(Q(status="pending", expires_at__gt=now) | Q(status="failed")).order_by(
        "-created_at", "-id"
    )
    visible_count = visible.count()
    inside = visible[min(visible_count // 2, visible_count - PAGE - 2)]
    across = visible[visible_count - PAGE // 2 - 1]
    pending = InternalInvitation.objects.filter(status="pending", expires_at__gt=now).order_by("-created_at", "-id")
    pending_count = pending.count()
    pending_inside = pending[min(pending_count // 2, pending_count - PAGE - 2)]
    staff = User.objects.filter(is_internal=True).order_by(Lower("email"))
    staff_count = staff.count()
    middle_user = staff[staff_count // 2]

    def invitation_cursor(row: InternalInvitation) -> str:
        return Cursor("invitation", row.created_at.isoformat(), row.pk).encode()

    inv_cursor, across_cursor, pending_cursor = (invitation_cursor(r) for r in (inside, across, pending_inside))
    user_cursor = Cursor("user", (middle_user.email or "").lower(), middle_user.pk).encode()
    user_back = Cursor("user", (middle_user.email or "").lower(), middle_user.pk, backwards=True).encode()
    pending_only = staff_filters(status="pending")
    active_pm = staff_filters(status="active", role="pm")
    common = staff_filters(search="hana")  # a first name: one staff user in 14, no invitation
    one = staff_filters(search=middle_user.email)
    offset = staff_count // 2

    def check(entries: int, expected: int = PAGE) -> None:
        if entries != expected:
            raise AssertionError(f"a page of {entries} entries, expected {expected}")

    return {
        "first": lambda: check(len(staff_list(limit=PAGE).entries)),
        "invitations, middle": lambda: check(len(staff_list(cursor=inv_cursor, limit=PAGE).entries)),
        "into the users": lambda: check(len(staff_list(cursor=across_cursor, limit=PAGE).entries)),
        "users, middle": lambda: check(len(staff_list(cursor=user_cursor, limit=PAGE).entries)),
        "users, middle, back": lambda: check(len(staff_list(cursor=user_back, limit=PAGE).entries)),
        "pending, middle": lambda: check(
            len(staff_list(filters=pending_only, cursor=pending_cursor, limit=PAGE).entries)
        ),
        "active pm": lambda: check(len(staff_list(filters=active_pm, limit=PAGE).entries)),
        "search, common": lambda: check(len(staff_list(filters=common, limit=PAGE).entries)),
        "search, one match": lambda: check(len(staff_list(filters=one, limit=PAGE).entries), 1),
        "baseline: OFFSET middle": lambda: check(len(list(staff[offset : offset + PAGE]))),
    }


def _measure(sizes: dict[str, Pages], runs: int, budget: Budget) -> dict[str, dict[str, Figures]]:
    """Query counts (one captured call), then ``runs`` timed calls of every page, alternating between the sizes
    call by call so that whatever else the machine does weighs on both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    figures: dict[str, dict[str, Figures]] = {schema: {} for schema in sizes}
    timings: dict[tuple[str, str], list[float]] = {}
    for schema, pages in sizes.items():
        _use(schema)
        for name, fn in pages.items():
            with CaptureQueriesContext(connection) as ctx:
                fn()  # also warms the caches
            figures[schema][name] = Figures(
                queries=len(ctx.captured_queries), median_ms=0.0, sql=[q["sql"] for q in ctx.captured_queries]
            )
            timings[(schema, name)] = []
    for run in range(runs):
        for name in next(iter(sizes.values())):
            for schema, pages in sizes.items():
                _use(schema)
                started = time.perf_counter()
                pages[name]()
                timings[(schema, name)].append((time.perf_counter() - started) * 1000)
        budget.check(f"timing run {run + 1} of {runs}")
    for (schema, name), values in timings.items():
        figures[schema][name].median_ms = statistics.median(values)
    return figures


# --------------------------------------------------------------------------- plans
def _plan(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _plan_summary(plan: str) -> str:
    indexes = sorted(set(re.findall(r"(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\w+)", plan)))
    seq = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
    sorts = len(re.findall(r"(?:Incremental )?Sort \(", plan))
    parts = [f"indexes: {', '.join(indexes) or '-'}"]
    if seq:
        parts.append(f"SEQ SCAN: {', '.join(seq)}")
    if sorts:
        parts.append(f"sort nodes: {sorts}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000 users, 10 runs (CI)")
    parser.add_argument("--small", type=int, default=1_000, help="staff users at the baseline size")
    parser.add_argument("--large", type=int, default=None, help="staff users at the large size (100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per page (30)")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop (exit 1) after this long")
    parser.add_argument("--plans", action="store_true", help="print the full EXPLAIN ANALYZE plans")
    args = parser.parse_args()
    large = args.large or (10_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 30)
    budget = Budget(deadline=time.monotonic() + args.max_seconds)
    started = time.monotonic()

    with throwaway_database("staff_list") as database_url:
        _setup(database_url)
        from django.db import connection

        version = ".".join(str(part) for part in connection.get_database_version())
        say(f"staff_list: page of {PAGE}, median of {runs} calls; PostgreSQL {version}")
        say(f"  database: a throwaway one on {postgres_server_url().rsplit('@', 1)[-1]}, one schema per size;")
        say("  timed calls alternate between the sizes, so background load weighs on both alike")
        try:
            small_seed = _create("small", args.small, args.small // 10)
            big_seed = _create("large", large, large // 10)
            budget.check("seeding")
            pages = {}
            for schema in ("small", "large"):
                _use(schema)
                pages[schema] = _pages()
            measured = _measure(pages, runs, budget)
        except OutOfTime as exc:
            say(f"[FAILED] {exc}")
            return 1
        small, big = measured["small"], measured["large"]
        say(f"  seeded {args.small:,} users + {args.small // 10:,} invitations in {small_seed:.1f} s")
        say(f"  seeded {large:,} users + {large // 10:,} invitations in {big_seed:.1f} s")
        say()
        header = (
            f"  {'page':<24} {'queries':>9} {'ms @' + format(args.small, ','):>12} {'ms @' + format(large, ','):>14}"
        )
        say(header + f" {'ratio':>7}  verdict (goal: same queries, ratio <= {GOAL_RATIO})")
        failed = False
        for name, base in small.items():
            now = big[name]
            ratio = now.median_ms / base.median_ms if base.median_ms else float("inf")
            same = base.queries == now.queries
            if name.startswith("baseline"):
                verdict = "comparison only (OFFSET reads every row before the page)"
            elif name == "search, one match":
                verdict = "expected O(n): icontains reads every staff row and invitation"
            elif name.startswith("search"):
                within = "ok" if ratio <= GOAL_RATIO else "above the goal"
                verdict = f"{within}: the users stop at a full page, the invitations are read in full (N/10)"
            else:
                verdict = "ok" if ratio <= GOAL_RATIO else "ABOVE GOAL"
            if not same and not name.startswith("baseline"):
                failed = True
                verdict = "[FAILED] query count differs; " + verdict
            queries = f"{base.queries}/{now.queries}"
            say(f"  {name:<24} {queries:>9} {base.median_ms:>12.2f} {now.median_ms:>14.2f} {ratio:>7.2f}  {verdict}")
        say()
        say(f"  query plans at {large:,} users (EXPLAIN ANALYZE of each page's queries):")
        _use("large")
        used: set[str] = set()
        for name, figures in big.items():
            for number, sql in enumerate(figures.sql, start=1):
                plan = _plan(sql)
                used.update(EXPECTED_INDEXES.intersection(re.findall(r"\w+", plan)))
                say(f"    {name} #{number}: {_plan_summary(plan)}")
                if args.plans:
                    say("      " + plan.replace("\n", "\n      "))
        for index in sorted(EXPECTED_INDEXES):
            say(f"  index {index}: {'used' if index in used else 'NOT USED'}")
        say(f"  total bench time: {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
