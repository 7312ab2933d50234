"""The load benches in their short form: each runs to completion, prints its figures and passes its own checks.

Each bench is a subprocess (``python bench/<name>.py --quick``) with its own throwaway PostgreSQL database, gunicorn
or in-process app and Clerk emulator, all on 127.0.0.1. Correctness is asserted (every webhook stored and applied
exactly once, zero errors, no Clerk call in steady state); timings never are: they are only checked to be printed.
Skipped when PostgreSQL or Redis is not reachable (CI starts both).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
UNINHERITED = {"DJANGO_SETTINGS_MODULE", "COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"}


def _services_missing() -> str | None:
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        database_url = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(database_url)
    try:
        with psycopg.connect(parts._replace(scheme="postgresql", path="/postgres").geturl(), connect_timeout=3):
            pass
    except psycopg.Error:
        return "PostgreSQL is not reachable"
    redis = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    try:
        with socket.create_connection((redis.hostname or "127.0.0.1", redis.port or 6379), timeout=3):
            pass
    except OSError:
        return "Redis is not reachable"
    return None


pytestmark = [
    # Outside CI a machine without PostgreSQL/Redis skips these; in CI (CI=true) nothing may be skipped.
    pytest.mark.skipif(
        bool(_services_missing()) and os.environ.get("CI") != "true",
        reason="the benches need PostgreSQL and Redis on loopback",
    ),
    pytest.mark.timeout(360),
]


def _run(name: str) -> str:
    # Without coverage's variables the bench and the servers it starts run untraced: they measure, the tests cover.
    env = {key: value for key, value in os.environ.items() if key not in UNINHERITED}
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=330,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[FAILED]" not in output, output
    return output


def _assert_lines(output: str, *patterns: str) -> None:
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"missing {pattern!r} in:\n{output}"


def test_webhook_load_applies_every_event_exactly_once() -> None:
    output = _run("webhook_load")
    _assert_lines(
        output,
        r"events +: \d+ distinct \+ \d+ redeliveries = 400 deliveries",
        rf"webhooks +: +{NUMBER} req/s",
        rf"store only +: +{NUMBER} req/s",
        rf"trivial view +: +{NUMBER} req/s",
        rf"ratio +: +{NUMBER}",
        rf"p99 +: +{NUMBER} ms",
        rf"drain +: +{NUMBER} s +for 2 db_worker processes",
        r"p50 .* p95 .* p99",
        r"\[ok\] every answer 2xx \(webhooks\)",
        r"\[ok\] every store-only delivery answered 2xx and stored once",
        r"\[ok\] one WebhookEvent row per distinct svix-id",
        r"\[ok\] each svix-id acknowledged as new exactly once",
        r"\[ok\] one 'duplicate' answer per redelivery",
        r"\[ok\] no Clerk call while acknowledging",
        r"\[ok\] the task workers drained the backlog and exited 0",
        r"\[ok\] each svix-id applied exactly once",
        r"\[ok\] no task left ready or failed",
        r"\[ok\] final users equal Clerk's",
        r"\[ok\] final workspaces equal Clerk's",
        r"\[ok\] final memberships equal Clerk's",
    )


def test_list_load_has_no_errors() -> None:
    output = _run("list_load")
    _assert_lines(
        output,
        rf"throughput +: +{NUMBER} req/s .*, 0 errors",
        rf"invitations +: p50 +{NUMBER} ms +p95 +{NUMBER} ms +p99 +{NUMBER} ms",
        rf"members +: p50 +{NUMBER} ms +p95 +{NUMBER} ms +p99 +{NUMBER} ms",
        r"\[ok\] every warm-up answer 200 with the seeded counts",
        r"\[ok\] zero errors under load",
        r"\[ok\] no Clerk call while serving",
    )


def test_auth_overhead_makes_no_clerk_call_once_warm() -> None:
    output = _run("auth_overhead")
    _assert_lines(
        output,
        rf"added by authentication +: +-?{NUMBER} ms per request",
        rf"verify_session_token alone +: median +{NUMBER} ms",
        r"Clerk calls, steady state +: none",
        r"\[ok\] every answer named the right user",
        r"\[ok\] the first request of a new user fetched it from Clerk once",
        r"\[ok\] no Clerk call in steady state",
    )


def test_staff_list_costs_the_same_queries_at_both_sizes() -> None:
    output = _run("staff_list")
    assert "queries differ" not in output, output
    _assert_lines(output, r"first", r"search")


def test_history_list_costs_the_same_queries_at_both_sizes() -> None:
    output = _run("history_list")
    _assert_lines(output, r"same queries at both sizes: yes", r"search, one match +2/2")


def test_search_scale_uses_the_trigram_indexes_at_the_same_query_counts() -> None:
    output = _run("search_scale")
    _assert_lines(
        output,
        r"same queries at both sizes: yes",
        r"staff, one email +4/4 +1/1",  # the email columns' statistics, then two segments, then the rows
        r"sequential scans of the searched tables: none",
        r"pending, 'globex' \(1 in 8\) +3/3 +50/50",
        r"trigram index internal_users_inv_email_trgm: used",
        r"trigram index accounts_user_staff_email_trgm: used",
        r"trigram index invitations_email_trgm: used",
    )


def test_pending_list_costs_the_same_queries_at_both_sizes() -> None:
    output = _run("pending_list")
    _assert_lines(output, r"same queries at both sizes: yes", r"search, one address +3/3 +1/1", r"first +2/2 +50/50")


def test_members_list_costs_the_same_queries_at_both_sizes() -> None:
    output = _run("members_list")
    _assert_lines(
        output,
        r"same queries at both sizes: yes",
        r"API, first page +2/2 +50/50",
        r"API, page 10 +2/2 +50/50",
        r"settings card, page 10 +3/3 +50/50",
    )


def test_bulk_revoke_makes_one_clerk_call_per_invitation_and_the_same_sql() -> None:
    output = _run("bulk_revoke")
    _assert_lines(
        output,
        r"\[ok\] every one of 200 revoked here",
        r"\[ok\] every one revoked in Clerk \(200\)",
        r"\[ok\] one Clerk call per invitation \(200\)",
        r"\[ok\] SQL queries independent of the count",
    )
