"""Shared harness of the benches that compare one read at a small and a large table size in the same run
(search_scale.py, pending_list.py, members_list.py).

Each size lives in its own PostgreSQL schema of one throwaway database (``pg_trgm`` in ``public``, shared), both
migrated with the product's migrations. Every page is called once with its SQL captured (the query count, and the
statements for ``EXPLAIN``), then ``runs`` times, alternating between the sizes call by call so that whatever else
the machine does weighs on both alike; the table prints queries, medians and the ratio large/small.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.load_common import say

GOAL_RATIO = 1.5
Pages = dict[str, Callable[[], Any]]


@dataclass
class Figures:
    queries: int
    rows: int
    median_ms: float = 0.0
    sql: list[str] = field(default_factory=list)


def setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)


def use(schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, false)", [f'"{schema}", public'])


def create_schema(schema: str) -> None:
    """A schema with the product's tables, migrated, and this connection pointed at it."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    use(schema)
    call_command("migrate", verbosity=0)


def analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _rows(result: Any) -> int:
    for attribute in ("rows", "entries", "invitations", "results"):
        if hasattr(result, attribute):
            return len(getattr(result, attribute))
    return len(result)


def measure(sizes: dict[str, Pages], runs: int) -> dict[str, dict[str, Figures]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    figures: dict[str, dict[str, Figures]] = {schema: {} for schema in sizes}
    timings: dict[tuple[str, str], list[float]] = {}
    for schema, pages in sizes.items():
        use(schema)
        for name, fn in pages.items():
            with CaptureQueriesContext(connection) as ctx:
                rows = _rows(fn())  # also warms the caches
            figures[schema][name] = Figures(len(ctx.captured_queries), rows, sql=[q["sql"] for q in ctx])
            timings[(schema, name)] = []
    names = list(next(iter(sizes.values())))
    for _ in range(runs):
        for name in names:
            for schema, pages in sizes.items():
                use(schema)
                started = time.perf_counter()
                pages[name]()
                timings[(schema, name)].append((time.perf_counter() - started) * 1000)
    for (schema, name), values in timings.items():
        figures[schema][name].median_ms = statistics.median(values)
    return figures


def report(title: str, figures: dict[str, dict[str, Figures]], small: int, large: int, runs: int) -> bool:
    """Print the table; True when every page made the same number of queries at both sizes."""
    say(f"\n{title}: {small:,} rows (baseline, same run) vs {large:,} rows, median of {runs}")
    say(f"{'page':<30} {'queries':>9} {'rows':>9} {'small ms':>9} {'large ms':>9} {'ratio':>6}")
    same = True
    for name, base in figures["small"].items():
        big = figures["large"][name]
        ratio = big.median_ms / base.median_ms if base.median_ms else 0.0
        same = same and base.queries == big.queries
        mark = "" if ratio <= GOAL_RATIO else f"  (over {GOAL_RATIO}x)"
        queries, rows = f"{base.queries}/{big.queries}", f"{base.rows}/{big.rows}"
        say(f"{name:<30} {queries:>9} {rows:>9} {base.median_ms:>9.2f} {big.median_ms:>9.2f} {ratio:>5.2f}x{mark}")
    say("same queries at both sizes: " + ("yes" if same else "NO"))
    return same


def plan(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def indexes_used(text: str) -> set[str]:
    return set(re.findall(r"(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\w+)", text))


def print_plans(figures: dict[str, Figures], *, full: bool = False) -> set[str]:
    """``EXPLAIN ANALYZE`` of each page's statements (on the current schema): the indexes each uses."""
    used: set[str] = set()
    for name, page in figures.items():
        for number, sql in enumerate(page.sql, start=1):
            text = plan(sql)
            found = indexes_used(text)
            used |= found
            seq = sorted(set(re.findall(r"Seq Scan on (\w+)", text)))
            extra = f"; SEQ SCAN: {', '.join(seq)}" if seq else ""
            say(f"  {name} #{number}: indexes {', '.join(sorted(found)) or '-'}{extra}")
            if full:
                say("    " + text.replace("\n", "\n    "))
    return used


def seed_workspace_invitations(count: int, *, slug: str = "bench") -> Any:
    """One workspace and ``count`` invitations of it: 40% pending (a few past expiry), 20% accepted, 20% revoked,
    10% expired, 10% failed; one address in 10 at ``globex.test`` (half of them pending), the rest at
    ``example.com``; ``created_at`` one minute apart. The workspace."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User, Workspace
    from invitations.models import WorkspaceInvitation

    cycle = ["pending"] * 4 + ["accepted"] * 2 + ["revoked"] * 2 + ["expired", "failed"]
    workspace = Workspace.objects.create(clerk_organization_id=f"org_{slug}", name=slug.title(), slug=slug)
    inviter = User.objects.create(clerk_user_id=f"user_{slug}_admin", email=f"admin@{slug}.test", password="!bench")  # noqa: S106
    now = timezone.now()
    batch = 5_000
    for start in range(0, count, batch):
        rows = []
        for i in range(start, min(count, start + batch)):
            status = cycle[i % 10]
            late = status == "pending" and i % 100 == 17  # still pending, past its expiry: not on the pending list
            rows.append(
                WorkspaceInvitation(
                    workspace=workspace,
                    email=f"{format((i * 2_654_435_761) % 4_294_967_296, '08x')}.{i}@"
                    + ("globex.test" if i % 20 in (3, 14) else "example.com"),
                    status=status,
                    clerk_invitation_id=f"orginv_{slug}{i:07d}",
                    inviter=inviter,
                    inviter_email=inviter.email or "",
                    expires_at=now - timedelta(hours=1) if late or status == "expired" else now + timedelta(days=7),
                    failure_reason="form_param_format_invalid: bench" if status == "failed" else "",
                )
            )
        made = WorkspaceInvitation.objects.bulk_create(rows)
        for offset, row in enumerate(made):  # created_at is auto_now_add: spread it as real rows are
            row.created_at = now - timedelta(minutes=count - start - offset)
        WorkspaceInvitation.objects.bulk_update(made, ["created_at"], batch_size=1_000)
    analyze("invitations_workspaceinvitation")
    return workspace
