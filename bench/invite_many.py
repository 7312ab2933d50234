"""Inviting many emails: the product's bulk path against one Clerk call per email, both on a slow Clerk.

Runs on its own database (SQLite in memory unless DATABASE_URL is set) and an in-thread Clerk emulator that
answers every invitation call after ``--delay-ms``. It prints, from the same run:

- the baseline: one ``POST /organizations/{id}/invitations`` per email, one after another (what a naive loop does);
- ``invitations_create`` for the same number of emails (bulk chunks of 10, sent concurrently);
- the ratio, the Clerk calls each made, and the SQL queries of ``invitations_create`` for 10 and for N emails.

    python3 -m uv run python bench/invite_many.py            # 100 emails, 100 ms per Clerk call
    python3 -m uv run python bench/invite_many.py --emails 30 --delay-ms 20   # a short run
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

import django

django.setup()
logging.disable(logging.INFO)  # the audit trail logs every invitation; the figures are what this prints

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts import clerk  # noqa: E402
from accounts.roles import WorkspaceRole  # noqa: E402
from accounts.services import user_ensure, workspace_ensure, workspace_member_ensure  # noqa: E402
from clerk_emulator.server import EmulatorServer  # noqa: E402
from clerk_emulator.state import Fault  # noqa: E402
from invitations.services import invitations_create  # noqa: E402


def _clerk_posts(server: EmulatorServer, since: int) -> int:
    return sum(
        1 for method, path, _ in server.emulator.request_log[since:] if method == "POST" and "/invitations" in path
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=100)
    parser.add_argument("--delay-ms", type=int, default=100)
    args = parser.parse_args()

    server = EmulatorServer().start()
    em = server.emulator
    settings.CLERK_API_URL = server.api_url
    settings.CLERK_SECRET_KEY = em.secret_key
    settings.CLERK_TIMEOUT_MS = 10_000
    clerk.reset_client()
    call_command("migrate", verbosity=0)

    admin, _ = user_ensure(email="bench-admin@example.com", password="bench-password-1")  # noqa: S106
    workspace, _ = workspace_ensure(name="Bench", slug="bench")
    workspace_member_ensure(workspace=workspace, user=admin, role=WorkspaceRole.ADMIN)
    admin.role = "super_admin"
    admin.save(update_fields=["role"])
    em.faults.append(
        Fault(
            "POST",
            f"/v1/organizations/{workspace.clerk_organization_id}/invitations*",
            10**6,
            delay_s=args.delay_ms / 1000,
        )
    )

    n = args.emails
    mark = len(em.request_log)
    started = time.perf_counter()
    for i in range(n):
        clerk.create_organization_invitation(
            workspace.clerk_organization_id,
            email=f"baseline-{i}@example.com",
            role="org:member",
            redirect_url=f"{settings.APP_BASE_URL}/accept-invite/",
            expires_in_days=7,
        )
    baseline_s = time.perf_counter() - started
    baseline_calls = _clerk_posts(server, mark)

    def run(count: int, prefix: str) -> tuple[float, int, int, dict[str, int]]:
        mark = len(em.request_log)
        emails = [f"{prefix}-{i}@example.com" for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            results = invitations_create(workspace=workspace, inviter=admin, emails=emails, role="member")
            elapsed = time.perf_counter() - started
        outcome: dict[str, int] = {}
        for result in results:
            outcome[result.result] = outcome.get(result.result, 0) + 1
        return elapsed, _clerk_posts(server, mark), len(queries.captured_queries), outcome

    _, _, small_queries, small_outcome = run(10, "ten")
    ours_s, ours_calls, ours_queries, ours_outcome = run(n, "many")
    server.stop()

    print(f"Clerk answering each invitation call after {args.delay_ms} ms; {n} emails; database {connection.vendor}")
    print(f"  baseline, one call per email in turn : {baseline_s:8.3f} s  ({baseline_calls} Clerk calls)")
    print(f"  invitations_create (bulk, concurrent): {ours_s:8.3f} s  ({ours_calls} Clerk calls)  {ours_outcome}")
    print(f"  speed-up                             : {baseline_s / ours_s:8.1f} x  (goal >= 20 x)")
    print(f"  SQL queries, 10 emails               : {small_queries:8d}  {small_outcome}")
    print(f"  {f'SQL queries, {n} emails':37}: {ours_queries:8d}  (goal: the same as for 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
