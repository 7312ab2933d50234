"""The webhook inbox under load: signed Clerk events, 5% redelivered, shuffled, against gunicorn on PostgreSQL;
then two task workers drain the backlog.

1. The Clerk emulator (in a thread of this process) is driven through its Backend API to create, update and delete
   users, organizations and memberships (and a few sessions); every event it emits is kept as Clerk would send it.
2. Each event gets a Svix message id; 5% of the deliveries are redeliveries of an already chosen id (same id, same
   body, signed afresh, as Svix retries), and the whole list is shuffled.
3. gunicorn (2 sync workers by default) serves ``config.wsgi`` with production settings (django-tasks-db as the
   task backend) on a throwaway PostgreSQL database and Redis, CLERK_* pointing at the emulator.
4. A bounded client POSTs every delivery to ``/webhooks/clerk/``, each signed with the real ``svix`` library just
   before it is sent: the endpoint verifies, stores the event (and a drain task only while fewer than two wait)
   and acknowledges. The same bodies under ids of their own go to the store-only floor ``/bench/store-only/`` (the
   endpoint's verification, one INSERT, commit: bench/bench_urls.py), with the same concurrency, interleaved: the
   deliveries are cut in blocks (``--block``, 250), and each block goes to the endpoint and to the floor back to
   back, the floor first in every other pair. A burst of other work on the machine, or the table's growth, then
   weighs on both alike; the ratio of each pair, its median and spread, and the whole run's ratio are printed.
   As many POSTs to the trivial view ``/bench/ping/``, half before and half after, give the scale.
5. gunicorn stops; two ``manage.py db_worker --batch`` processes (what production runs, docs/deployment.md) apply the
   backlog, timed until both have exited. A membership whose user is not mirrored yet makes the worker fetch that
   user from the emulator, as it would from Clerk.
6. It checks: every answer 2xx; one ``WebhookEvent`` row per distinct id and none other; every redelivery answered
   ``duplicate`` and each id acknowledged as new once; no Clerk call while acknowledging; each event applied exactly
   once (one successful attempt) and every task successful; the final users, workspaces and memberships equal the
   emulator's (newest data per object, nothing deleted comes back).

It prints what the endpoint acknowledges per second against the store-only floor (goal >= 0.9; per block pair,
their median and quartiles, and the whole run) and its p99 (goal < 100 ms), latencies, the load average, the drain
time and the checks. Exit status 0 when every check passes (the speed goals are
reported, not enforced).

    python3 -m uv run python bench/webhook_load.py                # 10,000 deliveries, 8 concurrent
    python3 -m uv run python bench/webhook_load.py --quick        # 400 deliveries: what CI runs
    python3 -m uv run python bench/webhook_load.py --worker-class gthread --threads 4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from svix.webhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the repository root on sys.path

from bench import load_common as lc
from clerk_emulator import shapes
from clerk_emulator.server import EmulatorServer

WEBHOOK_PATH = "/webhooks/clerk/"
PING_PATH = "/bench/ping/"
FLOOR_PATH = "/bench/store-only/"
FLOOR_PREFIX = "msg_floor_"
RATIO_GOAL = 0.9
P99_GOAL_MS = 100.0


# --------------------------------------------------------------------------- making Clerk events
class ClerkWorkload:
    """Drives the emulator's Backend API with a seeded mix of changes; the emulator records the events."""

    # (operation, weight): what a busy Clerk instance sends, mostly users and memberships.
    MIX = (
        ("create_user", 40),
        ("update_user", 22),
        ("create_membership", 22),
        ("update_membership", 8),
        ("update_organization", 3),
        ("create_organization", 2),
        ("create_session", 2),
        ("delete_user", 1),
    )

    def __init__(self, server: EmulatorServer, rng: random.Random) -> None:
        self.em = server.emulator
        self.rng = rng
        self.http = httpx.Client(
            base_url=server.api_url, headers={"Authorization": f"Bearer {self.em.secret_key}"}, timeout=10
        )
        self.users: list[str] = []
        self.organizations: list[str] = []
        self.memberships: set[tuple[str, str]] = set()  # (organization id, user id)
        self.serial = 0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, path.lstrip("/"), json=body)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def next_name(self) -> int:
        self.serial += 1
        return self.serial

    def create_user(self) -> None:
        n = self.next_name()
        user = self.call(
            "POST",
            "/users",
            {"email_address": [f"user{n}@bench.example.com"], "first_name": f"First{n}", "last_name": "Created"},
        )
        self.users.append(user["id"])

    def update_user(self) -> None:
        if not self.users:
            return self.create_user()
        user_id = self.rng.choice(self.users)
        self.call("PATCH", f"/users/{user_id}", {"first_name": f"Renamed{self.next_name()}", "last_name": "Updated"})
        return None

    def delete_user(self) -> None:
        if len(self.users) < 10:
            return self.create_user()
        user_id = self.users.pop(self.rng.randrange(len(self.users)))
        self.call("DELETE", f"/users/{user_id}")
        self.memberships = {(org, user) for org, user in self.memberships if user != user_id}
        return None

    def create_organization(self) -> None:
        n = self.next_name()
        org = self.call("POST", "/organizations", {"name": f"Organization {n}", "slug": f"org-{n}"})
        self.organizations.append(org["id"])

    def update_organization(self) -> None:
        if not self.organizations:
            return self.create_organization()
        org_id = self.rng.choice(self.organizations)
        self.call("PATCH", f"/organizations/{org_id}", {"name": f"Organization renamed {self.next_name()}"})
        return None

    def create_membership(self) -> None:
        if not self.users or not self.organizations:
            return self.create_user()
        for _ in range(20):
            org_id, user_id = self.rng.choice(self.organizations), self.rng.choice(self.users)
            if (org_id, user_id) not in self.memberships:
                role = "org:admin" if self.rng.random() < 0.2 else "org:member"
                self.call("POST", f"/organizations/{org_id}/memberships", {"user_id": user_id, "role": role})
                self.memberships.add((org_id, user_id))
                return None
        return self.create_user()

    def update_membership(self) -> None:
        if not self.memberships:
            return self.create_membership()
        org_id, user_id = self.rng.choice(sorted(self.memberships))
        role = self.rng.choice(["org:admin", "org:member"])
        self.call("PATCH", f"/organizations/{org_id}/memberships/{user_id}", {"role": role})
        return None

    def create_session(self) -> None:
        if not self.users:
            return self.create_user()
        self.call("POST", "/sessions", {"user_id": self.rng.choice(self.users)})
        return None

    def run(self, distinct: int) -> list[dict[str, Any]]:
        """Events until at least ``distinct`` were emitted (a deletion may emit a few at once)."""
        for _ in range(3):
            self.create_organization()
        operations = [name for name, _ in self.MIX]
        weights = [weight for _, weight in self.MIX]
        while len(self.em.events) < distinct:
            getattr(self, self.rng.choices(operations, weights)[0])()
        self.http.close()
        return [json.loads(json.dumps(event)) for event in self.em.events]


@dataclass(frozen=True)
class Delivery:
    svix_id: str
    body: bytes
    event_type: str
    redelivery: bool


def plan_deliveries(events: list[dict[str, Any]], duplicates: int, rng: random.Random) -> list[Delivery]:
    originals = [
        Delivery(f"msg_bench_{i:06d}_{rng.getrandbits(40):010x}", json.dumps(event).encode(), event["type"], False)
        for i, event in enumerate(events)
    ]
    again = [
        Delivery(original.svix_id, original.body, original.event_type, True)
        for original in rng.sample(originals, duplicates)
    ]
    deliveries = originals + again
    rng.shuffle(deliveries)
    return deliveries


# --------------------------------------------------------------------------- checking the outcome
def expected_state(server: EmulatorServer) -> dict[str, dict[str, tuple[Any, ...]]]:
    """What the local mirror must hold: the emulator's final users, organizations and memberships."""
    from accounts.clerk_types import ClerkUser
    from accounts.roles import WORKSPACE_ROLE_FROM_CLERK

    em = server.emulator
    users = {}
    for record in em.users.values():
        clerk_user = ClerkUser.from_json(shapes.user(record))
        users[record.id] = (clerk_user.email, clerk_user.first_name, clerk_user.last_name, clerk_user.updated_at)
    workspaces = {org.id: (org.name, org.slug, org.updated_at) for org in em.organizations.values()}
    memberships = {
        f"{m.organization_id}|{m.user_id}": (str(WORKSPACE_ROLE_FROM_CLERK[m.role]), m.id, m.updated_at)
        for m in em.memberships.values()
    }
    return {"users": users, "workspaces": workspaces, "memberships": memberships}


def local_state() -> dict[str, dict[str, tuple[Any, ...]]]:
    from accounts.models import User, Workspace, WorkspaceMembership

    users = {
        row[0]: tuple(row[1:])
        for row in User.objects.values_list("clerk_user_id", "email", "first_name", "last_name", "clerk_updated_at")
    }
    workspaces = {
        row[0]: tuple(row[1:])
        for row in Workspace.objects.values_list("clerk_organization_id", "name", "slug", "clerk_updated_at")
    }
    memberships = {
        f"{row[0]}|{row[1]}": tuple(row[2:])
        for row in WorkspaceMembership.objects.values_list(
            "workspace__clerk_organization_id", "user__clerk_user_id", "role", "clerk_membership_id", "clerk_updated_at"
        )
    }
    return {"users": users, "workspaces": workspaces, "memberships": memberships}


def state_differences(
    expected: dict[str, dict[str, tuple[Any, ...]]], actual: dict[str, dict[str, tuple[Any, ...]]]
) -> dict[str, list[str]]:
    differences: dict[str, list[str]] = {}
    for kind, wanted in expected.items():
        found = actual[kind]
        wrong = [
            f"{key}: want {value}, have {found.get(key)}" for key, value in wanted.items() if found.get(key) != value
        ]
        wrong += [f"{key}: should not exist, have {found[key]}" for key in found.keys() - wanted.keys()]
        differences[kind] = wrong
    return differences


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="deliveries in all, redeliveries included")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of deliveries that are redeliveries")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--task-workers", type=int, default=2, help="db_worker processes that drain the backlog")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--seed", type=int, default=20_260_601)
    parser.add_argument("--max-seconds", type=float, default=900, help="give up a load phase after this long")
    parser.add_argument("--block", type=int, default=250, help="deliveries per block (endpoint and floor alternate)")
    parser.add_argument("--quick", action="store_true", help="400 deliveries in blocks of 50 (CI)")
    args = parser.parse_args()
    if args.quick:
        args.events, args.max_seconds, args.block = 400, 120, 50

    unavailable = lc.services_available()
    if unavailable:
        lc.fail(unavailable)
        return 2
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible workload, not a secret
    duplicates = round(args.events * args.duplicates)

    server = lc.start_emulator()
    try:
        with lc.throwaway_database("webhooks") as database_url:
            env = lc.production_env(database_url=database_url, emulator=server)
            return run(args, rng, duplicates, server, env)
    finally:
        server.stop()


def run(
    args: argparse.Namespace, rng: random.Random, duplicates: int, server: EmulatorServer, env: dict[str, str]
) -> int:
    started = time.perf_counter()
    events = ClerkWorkload(server, rng).run(args.events - duplicates)
    deliveries = plan_deliveries(events, duplicates, rng)
    generate_s = time.perf_counter() - started
    migrate_s = lc.migrate(env)
    lc.setup_django(env)
    logging.disable(logging.CRITICAL)  # this process only reads the database; the server logs to its own file

    webhook = Webhook(lc.BENCH_WEBHOOK_SECRET)
    bodies = [delivery.body for delivery in deliveries]

    def signed(delivery: Delivery) -> dict[str, str]:
        now = datetime.now(tz=UTC)
        return {
            "Content-Type": "application/json",
            "svix-id": delivery.svix_id,
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": webhook.sign(delivery.svix_id, now, delivery.body.decode()),
        }

    def webhook_request(index: int) -> lc.Request:
        delivery = deliveries[index]
        return lc.Request("POST", WEBHOOK_PATH, delivery.body, signed(delivery), delivery.event_type)

    def ping_request(index: int) -> lc.Request:
        return lc.Request("POST", PING_PATH, bodies[index % len(bodies)], {"Content-Type": "application/json"}, "ping")

    def floor_request(offset: int) -> Callable[[int], lc.Request]:
        def make(index: int) -> lc.Request:
            # The same bodies under ids of their own, so the floor's rows never meet the inbox's.
            original = deliveries[offset + index]
            delivery = Delivery(f"{FLOOR_PREFIX}{offset + index:06d}", original.body, original.event_type, False)
            return lc.Request("POST", FLOOR_PATH, delivery.body, signed(delivery), "floor")

        return make

    half = len(deliveries) // 2
    with lc.Gunicorn(env, workers=args.workers, worker_class=args.worker_class, threads=args.threads) as gunicorn:

        def send(make: Callable[[int], lc.Request], count: int, *, keep: bool = False) -> lc.LoadRun:
            return lc.run_load(
                gunicorn.port,
                make,
                count=count,
                concurrency=args.concurrency,
                deadline_s=args.max_seconds,
                keep_body=lambda request, status: keep,
            )

        lc.run_load(gunicorn.port, ping_request, count=200, concurrency=args.concurrency, deadline_s=60)  # warm-up
        ping_before = send(ping_request, half)
        load_before = os.getloadavg()
        clerk_mark = len(server.emulator.request_log)
        pairs = interleave(
            len(deliveries),
            block=args.block,
            hooks=lambda start, count: send(lambda i: webhook_request(start + i), count, keep=True),
            floor=lambda start, count: send(floor_request(start), count, keep=True),
        )
        clerk_during = lc.clerk_calls(server, clerk_mark)
        load_after = os.getloadavg()
        ping_after = send(ping_request, len(deliveries) - half)
        server_errors = gunicorn.server_errors_logged()
        description = gunicorn.description

    # The backlog: every distinct event acknowledged and waiting. Two task workers drain it, as in production.
    drain_mark = len(server.emulator.request_log)
    drain_s, worker_statuses, worker_log = lc.run_task_workers(env, count=args.task_workers, timeout_s=args.max_seconds)
    clerk_drain = lc.clerk_calls(server, drain_mark)

    return report(
        args=args,
        deliveries=deliveries,
        pairs=pairs,
        pings=(ping_before, ping_after),
        loads=(load_before, load_after),
        server=server,
        clerk_calls={"acknowledging": clerk_during, "draining": clerk_drain},
        server_errors=server_errors,
        description=description,
        workers=(worker_statuses, worker_log),
        timings={"generate": generate_s, "migrate": migrate_s, "drain": drain_s},
    )


@dataclass(frozen=True)
class BlockPair:
    """One block of deliveries to the endpoint and the same block to the floor, one right after the other."""

    start: int
    hooks: lc.LoadRun
    floor: lc.LoadRun
    floor_first: bool

    @property
    def ratio(self) -> float:
        return self.hooks.rps / self.floor.rps if self.floor.rps else 0.0


def interleave(
    count: int,
    *,
    block: int,
    hooks: Callable[[int, int], lc.LoadRun],
    floor: Callable[[int, int], lc.LoadRun],
) -> list[BlockPair]:
    """Deliveries ``0..count-1`` in blocks of ``block``: each block to the endpoint and to the floor, back to back,
    the floor first in every other pair (A B B A A B ...), so a burst of background load or the table's growth
    weighs on both alike. ``hooks(start, n)`` and ``floor(start, n)`` send deliveries ``start..start+n-1``."""
    pairs = []
    for number, start in enumerate(range(0, count, block)):
        size = min(block, count - start)
        floor_first = number % 2 == 0
        if floor_first:
            floor_run = floor(start, size)
            hooks_run = hooks(start, size)
        else:
            hooks_run = hooks(start, size)
            floor_run = floor(start, size)
        pairs.append(BlockPair(start, hooks_run, floor_run, floor_first))
    return pairs


def joined(runs: list[lc.LoadRun], starts: list[int]) -> lc.LoadRun:
    """Blocks taken together: samples renumbered from each block's start, times added up."""
    samples = [
        dataclasses.replace(sample, index=start + sample.index)
        for run, start in zip(runs, starts, strict=True)
        for sample in run.samples
    ]
    return lc.LoadRun(
        samples, sum(run.elapsed_s for run in runs), sum(run.planned for run in runs), runs[0].concurrency
    )


def _combined(runs: tuple[lc.LoadRun, lc.LoadRun]) -> tuple[float, list[float]]:
    """Requests per second and sorted latencies of two runs of one kind taken together."""
    done = [run for run in runs if run.completed]
    rps = sum(run.completed for run in done) / sum(run.elapsed_s for run in done) if done else 0.0
    return rps, sorted(runs[0].latencies_ms() + runs[1].latencies_ms())


def report(
    *,
    args: argparse.Namespace,
    deliveries: list[Delivery],
    pairs: list[BlockPair],
    pings: tuple[lc.LoadRun, lc.LoadRun],
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
    server: EmulatorServer,
    clerk_calls: dict[str, Counter[str]],
    server_errors: int,
    description: str,
    workers: tuple[list[int], str],
    timings: dict[str, float],
) -> int:
    from django.db.models import Count, Q
    from django_tasks_db.models import DBTaskResult

    from core.models import WebhookEvent

    starts = [pair.start for pair in pairs]
    hooks = joined([pair.hooks for pair in pairs], starts)
    floor = joined([pair.floor for pair in pairs], starts)
    distinct_ids = {delivery.svix_id for delivery in deliveries}
    redeliveries = sum(1 for delivery in deliveries if delivery.redelivery)
    outcomes: Counter[str] = Counter()
    acknowledged_per_id: Counter[str] = Counter()
    for sample in hooks.samples:
        status = str(lc.json_body(sample).get("status", f"http {sample.status}"))
        outcomes[status] += 1
        if status != "duplicate" and 200 <= sample.status < 300:
            acknowledged_per_id[deliveries[sample.index].svix_id] += 1
    inbox = WebhookEvent.objects.exclude(svix_id__startswith=FLOOR_PREFIX)
    stored_ids = set(inbox.values_list("svix_id", flat=True))
    stored_rows = inbox.count()
    states = dict(inbox.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    # Applied once: one attempt that succeeded (a type nobody handles is stored as ignored, with no attempt).
    not_once = inbox.exclude(
        Q(status=WebhookEvent.Status.APPLIED, attempts=1) | Q(status=WebhookEvent.Status.IGNORED, attempts__lte=1)
    )
    results = DBTaskResult.objects.order_by().values_list("status").annotate(n=Count("id"))
    tasks = dict(results.values_list("status", "n"))
    floor_rows = WebhookEvent.objects.filter(svix_id__startswith=FLOOR_PREFIX).count()
    floor_stored = sum(1 for sample in floor.samples if lc.json_body(sample).get("status") == "stored")
    differences = state_differences(expected_state(server), local_state())
    types = Counter(delivery.event_type for delivery in deliveries if not delivery.redelivery)

    ping_rps, ping_latencies = _combined(pings)
    floor_latencies = floor.latencies_ms()
    ratio = hooks.rps / floor.rps if floor.rps else 0.0
    pair_ratios = [pair.ratio for pair in pairs]
    quartiles = statistics.quantiles(pair_ratios, n=4) if len(pair_ratios) > 1 else pair_ratios * 3
    median = statistics.median(pair_ratios)
    hook_latencies = hooks.latencies_ms()
    p99 = lc.percentile(hook_latencies, 99)
    worker_statuses, worker_log = workers

    checks = {
        "every delivery answered": hooks.completed == len(deliveries),
        "every answer 2xx (webhooks)": hooks.errors == 0,
        "every answer 2xx (trivial view)": all(run.errors == 0 and run.completed == run.planned for run in pings),
        "every store-only delivery answered 2xx and stored once": floor.errors == 0
        and floor_stored == floor.planned == floor_rows,
        "one WebhookEvent row per distinct svix-id": stored_rows == len(distinct_ids) and stored_ids == distinct_ids,
        "each svix-id acknowledged as new exactly once": len(acknowledged_per_id) == len(distinct_ids)
        and set(acknowledged_per_id.values()) == {1},
        "one 'duplicate' answer per redelivery": outcomes["duplicate"] == redeliveries,
        "no Clerk call while acknowledging": not clerk_calls["acknowledging"],
        "no server errors logged": server_errors == 0,
        "the task workers drained the backlog and exited 0": set(worker_statuses) == {0},
        "each svix-id applied exactly once (applied or ignored, one attempt)": not not_once.exists(),
        "no task left ready or failed": set(tasks) <= {"SUCCESSFUL"},
        **{f"final {kind} equal Clerk's (newest data)": not wrong for kind, wrong in differences.items()},
    }

    lc.say(f"Webhook inbox, {description}, PostgreSQL + Redis, production settings; {lc.machine()}")
    lc.say(
        f"  events          : {len(distinct_ids)} distinct + {redeliveries} redeliveries = {len(deliveries)} "
        f"deliveries, shuffled; concurrency {args.concurrency}"
    )
    lc.say("  event types     : " + ", ".join(f"{name} {count}" for name, count in types.most_common()))
    lc.say(f"  webhooks        : {hooks.rps:8.1f} req/s  ({hooks.completed} acknowledged in {hooks.elapsed_s:.1f} s)")
    lc.say(f"                    {lc.latency_summary(hook_latencies)}")
    lc.say(
        f"  store only      : {floor.rps:8.1f} req/s  ({floor.completed} requests in {floor.elapsed_s:.1f} s: verify, "
        "insert the row, commit)"
    )
    lc.say(f"                    {lc.latency_summary(floor_latencies)}")
    lc.say(
        f"  trivial view    : {ping_rps:8.1f} req/s  (before {pings[0].rps:.1f}, after {pings[1].rps:.1f}; "
        f"{sum(run.completed for run in pings)} requests)"
    )
    lc.say(f"                    {lc.latency_summary(ping_latencies)}")
    ratio_met = "met" if ratio >= RATIO_GOAL else "NOT met"
    p99_met = "met" if p99 < P99_GOAL_MS else "NOT met"
    median_met = "met" if median >= RATIO_GOAL else "NOT met"
    lc.say(f"  ratio           : {ratio:8.2f}  (webhooks / store only, whole run; goal >= {RATIO_GOAL}: {ratio_met})")
    lc.say(
        f"  ratio per pair  : {median:8.2f}  median (goal >= {RATIO_GOAL}: {median_met}); quartiles "
        f"{quartiles[0]:.2f}-{quartiles[2]:.2f}, min {min(pair_ratios):.2f}, max {max(pair_ratios):.2f}; "
        f"{len(pairs)} pairs of up to {args.block} deliveries, alternately floor first and endpoint first"
    )
    lc.say("  pair ratios     : " + " ".join(f"{value:.2f}" for value in pair_ratios))
    lc.say(
        "  load average    : "
        + " -> ".join(", ".join(f"{value:.2f}" for value in load) for load in loads)
        + " (before -> after the interleaved blocks)"
    )
    lc.say(f"  p99             : {p99:8.1f} ms (goal < {P99_GOAL_MS:.0f} ms: {p99_met})")
    lc.say(
        f"  drain           : {timings['drain']:8.1f} s  for {args.task_workers} db_worker processes to apply the "
        f"backlog of {len(distinct_ids)} events ({len(distinct_ids) / timings['drain']:.1f} events/s)"
    )
    lc.say("  answers         : " + ", ".join(f"{name} {count}" for name, count in outcomes.most_common()))
    lc.say(f"  rows            : {stored_rows} WebhookEvent rows for {len(distinct_ids)} distinct svix-ids")
    lc.say("  inbox states    : " + ", ".join(f"{name} {count}" for name, count in sorted(states.items())))
    lc.say("  tasks           : " + ", ".join(f"{name} {count}" for name, count in sorted(tasks.items())))
    lc.say(
        "  final state     : "
        + ", ".join(f"{kind} {len(wrong)} wrong" for kind, wrong in differences.items())
        + f" (Clerk has {len(server.emulator.users)} users, {len(server.emulator.organizations)} organizations, "
        f"{len(server.emulator.memberships)} memberships)"
    )
    for phase, calls in clerk_calls.items():
        listed = ", ".join(f"{name} {count}" for name, count in calls.most_common()) or "none"
        lc.say(f"  Clerk calls, {phase:<13}: {listed}")
    lc.say(f"  setup           : events made in {timings['generate']:.1f} s, migrations {timings['migrate']:.1f} s")
    for name, passed in checks.items():
        lc.say(f"  [{'ok' if passed else 'FAILED'}] {name}")
    for kind, wrong in differences.items():
        for line in wrong[:5]:
            lc.say(f"    {kind}: {line}")
    for event in not_once[:5]:
        lc.say(f"    {event.svix_id} {event.type}: {event.status}, {event.attempts} attempts {event.last_error[-200:]}")
    errors = [sample for sample in hooks.samples if not 200 <= sample.status < 300][:5]
    for sample in errors:
        lc.say(f"    http {sample.status} {sample.error} {sample.body[:200]!r}")
    if set(worker_statuses) != {0}:
        lc.say(f"    task workers exited {worker_statuses}; their log ends:\n{worker_log}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
