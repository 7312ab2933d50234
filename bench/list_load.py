"""The admin lists under concurrent reads: gunicorn on PostgreSQL, readers authenticated with Clerk session tokens.

Seeds a throwaway PostgreSQL database through the product's own services (Clerk calls go to the emulator in a
thread of this process): one workspace with members and pending invitations, staff users of every internal role and
pending staff invitations. Readers are staff users and workspace admins, each with a Bearer session token minted by
the emulator (``POST /v1/sessions`` + ``POST /v1/sessions/{id}/tokens``, as a script would with real Clerk).

gunicorn (2 sync workers by default) serves ``config.wsgi`` with production settings; ``--concurrency`` readers GET,
in turn, the first page of:

- ``/api/workspaces/{id}/invitations/`` (the invitations list),
- ``/api/workspaces/{id}/members/``,
- ``/api/admin/internal-users/`` (the staff list), when that URL exists in this checkout,

until ``--seconds`` pass or ``--requests`` are sent. It prints requests per second and p50/p95/p99 latency per list,
the errors (must be zero), and the Clerk calls the server made while serving (none: tokens are verified offline).
Exit status 0 when there were no errors and every list answered with what was seeded.

    python3 -m uv run python bench/list_load.py             # 30 s, 16 readers
    python3 -m uv run python bench/list_load.py --quick     # 3 s, 4 readers (CI)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the repository root on sys.path

from bench import load_common as lc
from clerk_emulator.server import EmulatorServer

PASSWORD = "bench-password-1"  # noqa: S105
STAFF_LIST = "/api/admin/internal-users/"


def mint_token(server: EmulatorServer, clerk_user_id: str) -> str:
    """A session token for this user, made through the Backend API as a script would with real Clerk."""
    headers = {"Authorization": f"Bearer {server.emulator.secret_key}"}
    with httpx.Client(base_url=server.api_url, headers=headers, timeout=10) as http:
        session = http.post("sessions", json={"user_id": clerk_user_id})
        session.raise_for_status()
        token = http.post(f"sessions/{session.json()['id']}/tokens", json={"expires_in_seconds": 3600})
        token.raise_for_status()
        jwt: str = token.json()["jwt"]
        return jwt


def seed(*, members: int, invitations: int, staff: int, staff_invitations: int, readers: int) -> dict[str, Any]:
    """Workspace, members, invitations, staff and staff invitations, made through the product's services."""
    from accounts.roles import Role, WorkspaceRole
    from accounts.services import staff_user_create, user_ensure, workspace_ensure, workspace_member_ensure
    from internal_users.services import internal_invite
    from invitations.services import invitations_create

    workspace, _ = workspace_ensure(name="Bench workspace", slug="bench-workspace")
    owner, _ = user_ensure(email="owner@bench.example.com", password=PASSWORD)
    workspace_member_ensure(workspace=workspace, user=owner, role=WorkspaceRole.ADMIN)
    for i in range(members - 1):
        user, _ = user_ensure(email=f"member{i}@bench.example.com", password=PASSWORD, first_name=f"Member{i}")
        role = WorkspaceRole.ADMIN if i < readers else WorkspaceRole.MEMBER
        workspace_member_ensure(workspace=workspace, user=user, role=role)
    emails = [f"invitee{i}@bench.example.com" for i in range(invitations)]
    for start in range(0, len(emails), 100):
        invitations_create(workspace=workspace, inviter=owner, emails=emails[start : start + 100], role="member")

    roles = [Role.SUPER_ADMIN, Role.ADMIN, Role.PM]
    staff_users = [
        staff_user_create(email=f"staff{i}@bench.example.com", password=PASSWORD, role=roles[i % len(roles)]).user
        for i in range(staff)
    ]
    for i in range(staff_invitations):
        internal_invite(email=f"staff-invitee{i}@bench.example.com", role=Role.PM, actor=staff_users[0])

    from accounts.models import User

    workspace_admins = list(
        User.objects.filter(
            workspace_memberships__workspace=workspace, workspace_memberships__role=WorkspaceRole.ADMIN
        ).order_by("pk")
    )
    # Half the readers are staff (they see every workspace), half are admins of the workspace.
    chosen = [*staff_users[: (readers + 1) // 2], *workspace_admins[: readers // 2]]
    # (Clerk user id, may read the staff list): super_admin and admin manage staff; pm and workspace admins do not.
    managers = {Role.SUPER_ADMIN, Role.ADMIN}
    return {
        "workspace_id": workspace.pk,
        "readers": [(user.clerk_user_id, user.role in managers) for user in chosen],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--invitations", type=int, default=300)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--staff-invitations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--quick", action="store_true", help="3 s, 4 readers, small lists (CI)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.concurrency = 3, 4
        args.members, args.invitations, args.staff, args.staff_invitations = 12, 30, 6, 10

    unavailable = lc.services_available()
    if unavailable:
        lc.fail(unavailable)
        return 2
    server = lc.start_emulator()
    try:
        with lc.throwaway_database("lists") as database_url:
            env = lc.production_env(database_url=database_url, emulator=server)
            return run(args, server, env)
    finally:
        server.stop()


def run(args: argparse.Namespace, server: EmulatorServer, env: dict[str, str]) -> int:
    migrate_s = lc.migrate(env)
    lc.setup_django(env)
    logging.disable(logging.CRITICAL)  # the audit trail logs every seeded row; the figures are what this prints
    from django.db import connection
    from django.urls import Resolver404, resolve

    started = time.perf_counter()
    seeded = seed(
        members=args.members,
        invitations=args.invitations,
        staff=args.staff,
        staff_invitations=args.staff_invitations,
        readers=args.concurrency,
    )
    tokens = [mint_token(server, clerk_user_id) for clerk_user_id, _ in seeded["readers"]]
    seed_s = time.perf_counter() - started
    connection.close()

    workspace_id = seeded["workspace_id"]
    # Each list, and what its first page must say about the seeded rows.
    lists = {
        "invitations": (f"/api/workspaces/{workspace_id}/invitations/", {"count": args.invitations}),
        "members": (f"/api/workspaces/{workspace_id}/members/", {"count": args.members}),
    }
    try:
        resolve(STAFF_LIST)
        staff_counts = {"pending": args.staff_invitations, "active": args.staff, "inactive": 0}
        lists["staff"] = (STAFF_LIST, {"counts": staff_counts})
    except Resolver404:
        pass
    # The staff list is read by those who may (super_admin, admin); everyone reads the workspace lists.
    plan = [
        (reader, name)
        for reader, (_, manages_staff) in enumerate(seeded["readers"])
        for name in lists
        if name != "staff" or manages_staff
    ]

    def make_request(index: int) -> lc.Request:
        reader, name = plan[index % len(plan)]
        path, _ = lists[name]
        return lc.Request("GET", path, headers={"Authorization": f"Bearer {tokens[reader]}"}, label=name)

    with lc.Gunicorn(env, workers=args.workers, worker_class=args.worker_class, threads=args.threads) as gunicorn:
        # Warm-up: every reader reads every list once (each worker fetches the JWKS once); answers are checked.
        warm = lc.run_load(
            gunicorn.port,
            make_request,
            count=len(plan) * 2,
            concurrency=args.concurrency,
            deadline_s=60,
            keep_body=lambda request, status: True,
        )
        clerk_mark = len(server.emulator.request_log)
        load = lc.run_load(
            gunicorn.port, make_request, count=args.requests, concurrency=args.concurrency, deadline_s=args.seconds
        )
        clerk_during = lc.clerk_calls(server, clerk_mark)
        server_errors = gunicorn.server_errors_logged()
        description = gunicorn.description

    wrong_counts = []
    for sample in warm.samples:
        body = lc.json_body(sample)
        expected = lists[sample.label][1]
        found = {key: body.get(key) for key in expected}
        if sample.status != 200 or found != expected or not body.get("results"):
            wrong_counts.append(f"{sample.label}: http {sample.status}, {found} (want {expected} and rows)")

    checks = {
        "every warm-up answer 200 with the seeded counts": not wrong_counts,
        "zero errors under load": load.errors == 0 and load.completed > 0,
        "no Clerk call while serving": sum(clerk_during.values()) == 0,
        "no server errors logged": server_errors == 0,
    }
    lc.say(f"Admin lists under concurrent reads, {description}, PostgreSQL + Redis, production settings")
    lc.say(f"  {lc.machine()}")
    lc.say(
        f"  seeded          : {args.members} members and {args.invitations} invitations in one workspace, "
        f"{args.staff} staff users, {args.staff_invitations} staff invitations ({seed_s:.1f} s; migrations "
        f"{migrate_s:.1f} s)"
    )
    staff_note = "" if "staff" in lists else f" ({STAFF_LIST} does not exist in this checkout yet)"
    lc.say(
        f"  readers         : {args.concurrency} concurrent, Bearer session tokens, first page (25 rows) of "
        f"{', '.join(lists)}{staff_note}"
    )
    lc.say(
        f"  throughput      : {load.rps:8.1f} req/s  ({load.completed} requests in {load.elapsed_s:.1f} s, "
        f"{load.errors} errors, statuses {dict(load.statuses)})"
    )
    lc.say(f"  all lists       : {lc.latency_summary(load.latencies_ms())}")
    for name in lists:
        lc.say(f"  {name:<16}: {lc.latency_summary(load.latencies_ms(name))}")
    calls = ", ".join(f"{name} {count}" for name, count in clerk_during.most_common()) or "none"
    lc.say(f"  Clerk calls     : {calls} while serving")
    for name, passed in checks.items():
        lc.say(f"  [{'ok' if passed else 'FAILED'}] {name}")
    for line in wrong_counts[:5]:
        lc.say(f"    {line}")
    for sample in [s for s in load.samples if not 200 <= s.status < 300][:5]:
        lc.say(f"    {sample.label}: http {sample.status} {sample.error}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
