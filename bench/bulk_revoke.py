"""Bulk revoke of a pending-list selection (``invitations.bulk.invitations_bulk_revoke``) at 50 and 500 invitations
(issue 12): Clerk calls and SQL queries, through the real service against the Clerk emulator.

A throwaway PostgreSQL database, production settings (bench/bench_settings.py) with CLERK_* pointing at the
emulator in a thread of this process. For each size: a workspace whose admin made N organization invitations in
the emulator (through the app's Clerk gateway, outside the app's hourly budget, which would refuse 550 in a
minute) mirrored as pending rows; then the service revokes all N as the pending list's "select all matching" does
(``bulk_targets`` + ``invitations_bulk_revoke``). Printed: Clerk calls by endpoint, SQL queries, time, and
checks (every row revoked here and in Clerk; one Clerk call per invitation, in chunks of ``BULK_CHUNK``; the SQL
count the same at both sizes). Exit status 1 when a check fails.

    python3 -m uv run python bench/bulk_revoke.py            # 50 vs 500
    python3 -m uv run python bench/bulk_revoke.py --quick    # 20 vs 200 (CI)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import load_common as lc  # noqa: E402


def _seed(count: int, slug: str) -> tuple[Any, Any]:
    from datetime import timedelta

    from django.utils import timezone

    from accounts import clerk
    from accounts.roles import WorkspaceRole
    from accounts.services import user_ensure, workspace_ensure, workspace_member_ensure
    from invitations.models import WorkspaceInvitation

    workspace, _ = workspace_ensure(name=f"Bulk {slug}", slug=f"bulk-{slug}")
    admin, _ = user_ensure(email=f"admin-{slug}@bench.example.com", password="bench-Password-1!")  # noqa: S106
    workspace_member_ensure(workspace=workspace, user=admin, role=WorkspaceRole.ADMIN)
    rows = []
    for i in range(count):
        email = f"invitee{i}-{slug}@bench.example.com"
        remote = clerk.create_organization_invitation(
            workspace.clerk_organization_id, email=email, role="org:member", inviter_user_id=admin.clerk_user_id
        )
        rows.append(
            WorkspaceInvitation(
                workspace=workspace,
                email=email,
                status="pending",
                clerk_invitation_id=remote.id,
                inviter=admin,
                inviter_email=admin.email or "",
                expires_at=timezone.now() + timedelta(days=7),
            )
        )
    WorkspaceInvitation.objects.bulk_create(rows)
    return workspace, admin


def _revoke(workspace: Any, admin: Any, server: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from invitations import bulk

    since = len(server.emulator.request_log)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        targets = bulk.bulk_targets(workspace=workspace, query="", limit=bulk.MAX_BULK_REVOKE)
        results = bulk.invitations_bulk_revoke(workspace=workspace, actor=admin, rows=targets)
        elapsed = time.perf_counter() - started
    return {
        "results": results,
        "queries": len(queries),
        "seconds": elapsed,
        "calls": lc.clerk_calls(server, since),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 vs 200 invitations (CI)")
    parser.add_argument("--small", type=int, default=None, help="invitations in the small selection (50)")
    parser.add_argument("--large", type=int, default=None, help="invitations in the large selection (500)")
    args = parser.parse_args()
    small = args.small or (20 if args.quick else 50)
    large = args.large or (200 if args.quick else 500)
    server = lc.start_emulator()
    try:
        with lc.throwaway_database("bulk_revoke") as database_url:
            env = lc.production_env(database_url=database_url, emulator=server)
            lc.migrate(env)
            lc.setup_django(env)
            import logging

            logging.disable(logging.INFO)
            from invitations import bulk
            from invitations.models import WorkspaceInvitation

            figures = {}
            for label, count in (("small", small), ("large", large)):
                workspace, admin = _seed(count, label)
                figures[label] = (count, workspace, _revoke(workspace, admin, server))
            lc.say(
                f"bulk revoke through invitations.bulk (chunks of {bulk.BULK_CHUNK}, {bulk.BULK_CONCURRENCY} in flight)"
            )
            lc.say(f"{'selection':>10} {'revoked':>8} {'Clerk calls':>12} {'SQL queries':>12} {'seconds':>8}")
            ok = True
            for count, workspace, found in figures.values():
                revoked = sum(1 for r in found["results"] if r.result == "revoked")
                calls = sum(found["calls"].values())
                lc.say(f"{count:>10} {revoked:>8} {calls:>12} {found['queries']:>12} {found['seconds']:>8.2f}")
                lc.say(f"{'':>10} Clerk: {dict(found['calls'])}")
                left = WorkspaceInvitation.objects.filter(workspace=workspace, status="pending").count()
                in_clerk = [
                    inv
                    for inv in server.emulator.organization_invitations.values()
                    if inv.organization_id == workspace.clerk_organization_id
                ]
                checks = {
                    f"every one of {count} revoked here": revoked == count and left == 0,
                    f"every one revoked in Clerk ({len(in_clerk)})": len(in_clerk) == count
                    and all(inv.status == "revoked" for inv in in_clerk),
                    f"one Clerk call per invitation ({count})": calls == count,
                }
                for name, passed in checks.items():
                    ok = ok and passed
                    lc.say(f"{'[ok]' if passed else '[FAILED]'} {name}")
            same = figures["small"][2]["queries"] == figures["large"][2]["queries"]
            ok = ok and same
            lc.say(
                f"{'[ok]' if same else '[FAILED]'} SQL queries independent of the count: "
                f"{figures['small'][2]['queries']} for {small}, {figures['large'][2]['queries']} for {large}"
            )
            chunks = -(-large // bulk.BULK_CHUNK)
            lc.say(
                f"chunks for {large}: {chunks} of at most {bulk.BULK_CHUNK} calls, {bulk.BULK_CONCURRENCY} in flight"
            )
            return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
