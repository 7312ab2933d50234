"""What session-token authentication adds to a request, and how many Clerk calls it makes once warm.

In one process, with production settings on a throwaway PostgreSQL database and Redis, and the Clerk emulator in a
thread (the Clerk the app calls for the JWKS and for users it has not seen):

1. the same view (``/api/bench/whoami/``, a DRF view that reads ``request.user``) through the whole middleware stack,
   without a token and with a valid Bearer session token, interleaved; the difference of the medians is what
   authentication adds per request; with the JWKS fetched from Clerk and again with ``CLERK_JWT_KEY`` (PEM) set;
2. the parts on their own: ``verify_session_token`` (signature and claims) and ``authenticate_request``
   (verification plus the user lookup in the database, which is what makes a role change apply on the next request);
3. Clerk Backend API calls counted in the emulator's request log: during warm-up (the JWKS once; a user seen for the
   first time once) and in steady state (goal: none).

Exit status 0 when every answer named the right user and steady state made no Clerk call (the < 1 ms goal is
reported, not enforced).

    python3 -m uv run python bench/auth_overhead.py             # 2,000 requests per variant
    python3 -m uv run python bench/auth_overhead.py --quick     # 150 (CI)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the repository root on sys.path

from bench import load_common as lc
from clerk_emulator.server import EmulatorServer

PATH = "/api/bench/whoami/"


@dataclass
class Timings:
    """Wall-clock and this thread's CPU milliseconds of repeated calls."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, call: Callable[[], Any]) -> None:
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        call()
        self.cpu.append((time.thread_time_ns() - cpu) / 1e6)
        self.wall.append((time.perf_counter_ns() - wall) / 1e6)

    def summary(self) -> str:
        return (
            f"median {median(self.wall):6.3f} ms  p90 {p90(self.wall):6.3f} ms  (CPU median {median(self.cpu):6.3f} ms)"
        )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p90(values: list[float]) -> float:
    return lc.percentile(sorted(values), 90)


def make_user(server: EmulatorServer, email: str) -> tuple[str, str]:
    """A Clerk user (in the emulator only) and a one-hour session token for them: ``(clerk user id, token)``."""
    headers = {"Authorization": f"Bearer {server.emulator.secret_key}"}
    with httpx.Client(base_url=server.api_url, headers=headers, timeout=10) as http:
        user = http.post("users", json={"email_address": [email], "first_name": "Bench"})
        user.raise_for_status()
        session = http.post("sessions", json={"user_id": user.json()["id"]})
        session.raise_for_status()
        token = http.post(f"sessions/{session.json()['id']}/tokens", json={"expires_in_seconds": 3600})
        token.raise_for_status()
        return user.json()["id"], token.json()["jwt"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant")
    parser.add_argument("--quick", action="store_true", help="150 requests per variant (CI)")
    args = parser.parse_args()
    if args.quick:
        args.requests = 150

    unavailable = lc.services_available()
    if unavailable:
        lc.fail(unavailable)
        return 2
    server = lc.start_emulator()
    try:
        with lc.throwaway_database("auth") as database_url:
            env = lc.production_env(database_url=database_url, emulator=server)
            migrate_s = lc.migrate(env)
            lc.setup_django(env)
            logging.disable(logging.CRITICAL)
            try:
                return run(args, server, migrate_s)
            finally:
                from django.db import connections

                connections.close_all()
    finally:
        server.stop()


def run(args: argparse.Namespace, server: EmulatorServer, migrate_s: float) -> int:
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import override_settings

    from accounts.authentication import authenticate_request, reset_caches, verify_session_token
    from accounts.models import User
    from accounts.selectors import user_for_session

    em = server.emulator
    n = args.requests
    failures: list[str] = []
    anonymous = Client(HTTP_HOST=lc.HOST, headers=lc.PROXY_HEADERS)
    factory = RequestFactory(HTTP_HOST=lc.HOST)

    def whoami(client: Client, expected: int | None) -> None:
        response = client.get(PATH)
        if response.status_code != 200 or response.json().get("user") != expected:
            failures.append(f"{PATH}: http {response.status_code} {response.content[:120]!r}, want user {expected}")

    # -- first sight: a user only Clerk knows yet; the first request fetches them (and the JWKS), later ones do not.
    reset_caches()
    clerk_user_id, token = make_user(server, "first-sight@bench.example.com")
    client = Client(HTTP_HOST=lc.HOST, headers={**lc.PROXY_HEADERS, "Authorization": f"Bearer {token}"})
    mark = len(em.request_log)
    response = client.get(PATH)
    first_calls = lc.clerk_calls(server, mark)
    user = User.objects.filter(clerk_user_id=clerk_user_id).first()
    if user is None or response.json().get("user") != user.pk:
        failures.append(f"first request did not sign the new user in: {response.content[:200]!r}")
    user_pk = user.pk if user is not None else None

    def queries_of(call: Callable[[], Any]) -> int:
        count = 0

        def counting(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counting):
            call()
        return count

    results: dict[str, dict[str, Any]] = {}
    pem = em.keys.public_pem
    for mode, jwt_key in (("JWKS fetched from Clerk", ""), ("CLERK_JWT_KEY (PEM)", pem)):
        with override_settings(CLERK_JWT_KEY=jwt_key):  # a change of key settings empties the key caches
            mark = len(em.request_log)
            for _ in range(50):  # warm-up: keys, connections, code paths
                whoami(client, user_pk)
                whoami(anonymous, None)
            warm_calls = lc.clerk_calls(server, mark)
            mark = len(em.request_log)
            with_token, without_token = Timings(), Timings()
            for _ in range(n):  # interleaved, so drift on a shared machine hits both alike
                without_token.time(lambda: whoami(anonymous, None))
                with_token.time(lambda: whoami(client, user_pk))
            verify = Timings()
            for _ in range(n):
                verify.time(lambda: verify_session_token(token))
            authenticate = Timings()
            for request in [factory.get(PATH, HTTP_AUTHORIZATION=f"Bearer {token}") for _ in range(n)]:
                authenticate.time(partial(authenticate_request, request))
            steady_calls = lc.clerk_calls(server, mark)
            lookup, lookup_orm = Timings(), Timings()
            for _ in range(n):
                lookup.time(lambda: user_for_session(clerk_user_id=clerk_user_id))
                lookup_orm.time(lambda: User.objects.filter(clerk_user_id=clerk_user_id).first())
            queries = (queries_of(lambda: whoami(anonymous, None)), queries_of(lambda: whoami(client, user_pk)))
        results[mode] = {
            "with": with_token,
            "without": without_token,
            "verify": verify,
            "authenticate": authenticate,
            "lookup": lookup,
            "lookup_orm": lookup_orm,
            "queries": queries,
            "warm_calls": warm_calls,
            "steady_calls": steady_calls,
        }

    steady_total = sum(sum(result["steady_calls"].values()) for result in results.values())
    checks = {
        "every answer named the right user (or nobody without a token)": not failures,
        "the first request of a new user fetched it from Clerk once": first_calls.get("GET /v1/users/{id}") == 1,
        "no Clerk call in steady state": steady_total == 0,
    }

    def calls(counter: Counter[str]) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(counter.items())) or "none"

    lc.say("Session-token authentication cost, in-process, production settings, PostgreSQL + Redis")
    lc.say(f"  {lc.machine()}; migrations {migrate_s:.1f} s; {n} requests per variant")
    lc.say(f"  first request of a user new to us: Clerk calls {calls(first_calls)}")
    for mode, result in results.items():
        with_token, without_token = result["with"], result["without"]
        added = median(with_token.wall) - median(without_token.wall)
        added_cpu = median(with_token.cpu) - median(without_token.cpu)
        anonymous_queries, authenticated_queries = result["queries"]
        lc.say(f"  {mode}:")
        lc.say(f"    {PATH} without a token   : {without_token.summary()}")
        lc.say(f"    {PATH} with a token      : {with_token.summary()}")
        lc.say(
            f"    added by authentication      : {added:6.3f} ms per request (goal < 1 ms); CPU {added_cpu:6.3f} ms; "
            f"SQL queries {anonymous_queries} -> {authenticated_queries}"
        )
        lc.say(f"    verify_session_token alone   : {result['verify'].summary()} signature + claims")
        lc.say(f"    authenticate_request         : {result['authenticate'].summary()} + the user lookup")
        lc.say(f"    the user lookup alone (ref.) : {result['lookup'].summary()} one indexed SELECT")
        lc.say(f"    the same through the ORM     : {result['lookup_orm'].summary()} (what it cost before)")
        lc.say(f"    Clerk calls, warm-up         : {calls(result['warm_calls'])}")
        lc.say(f"    Clerk calls, steady state    : {calls(result['steady_calls'])} over {3 * n} authentications")
    for name, passed in checks.items():
        lc.say(f"  [{'ok' if passed else 'FAILED'}] {name}")
    for line in failures[:5]:
        lc.say(f"    {line}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
