"""The webhook inbox (issue 14): stored once and acknowledged, applied by a worker in order per Clerk object,
retried with back-off, parked, replayed (admin, command), and in agreement with ``clerk_sync``.

Workers are real: django-tasks-db's ``db_worker`` on PostgreSQL, a worker process killed with SIGKILL, and 20
threads with their own PostgreSQL connections draining one object's events at once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from accounts import webhook_apply, webhook_inbox, webhooks
from accounts.models import User
from accounts.roles import Role
from accounts.webhook_locks import INBOX_GATE_KEY
from core.audit import audit
from core.jobs import WaitingRuns
from core.models import AuditEvent, WebhookEvent
from tests.accounts.webhook_support import ClerkDriver, deliver, new_msg_id
from tests.conftest import ClerkSession

ROOT = Path(__file__).resolve().parents[2]
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DUMMY_BACKEND = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signing_secret")]


def _user_events(clerk: ClerkDriver, updates: int, email: str = "ann@example.com") -> tuple[str, list[dict[str, Any]]]:
    """A user's ``user.created`` and ``updates`` ``user.updated`` events, each a millisecond apart at least."""
    user = clerk.create_user(email, first_name="Ann")
    for n in range(updates):
        time.sleep(0.002)  # Clerk's timestamps are milliseconds: keep them apart so the expected order is unique
        clerk.call("PATCH", f"/users/{user['id']}", {"first_name": f"Ann{n + 1}"})
    events = [e for e in clerk.events() if e["type"] in ("user.created", "user.updated")]
    assert len(events) == updates + 1
    return user["id"], events


def _worker_env() -> dict[str, str]:
    """The environment of a worker process on this test's database."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(ROOT),
    }


def _db_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=StringIO(), stderr=StringIO())


# --------------------------------------------------------------------------- the endpoint only stores
def test_the_request_path_stores_and_enqueues_but_applies_nothing(
    settings: Any, clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    settings.TASKS = DUMMY_BACKEND  # a backend that runs nothing: what the request path itself does
    calls: list[str] = []

    def record(event: WebhookEvent) -> None:
        calls.append(event.svix_id)

    extra_handler("user.created", record)
    clerk.create_user("ann@example.com")
    msg_id = new_msg_id()
    response = deliver(Client(), clerk.event("user.created"), msg_id=msg_id)
    assert response.json() == {"status": "received", "svix_id": msg_id}
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.processed_at) == (WebhookEvent.Status.RECEIVED, 0, None)
    assert calls == []
    assert not User.objects.exists()
    assert webhook_inbox.state_counts()[WebhookEvent.Status.RECEIVED] == 1


# --------------------------------------------------------------------------- a handler that fails then succeeds
@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_is_retried_with_back_off_by_the_worker_and_holds_newer_events_back(
    settings: Any, clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    settings.TASKS = DB_BACKEND
    attempts: list[str] = []

    def fails_once(event: WebhookEvent) -> str | None:
        attempts.append(event.type)
        if len(attempts) == 1:
            raise RuntimeError("the first attempt fails")
        return None

    extra_handler("user.created", fails_once)
    _, (created, updated) = _user_events(clerk, updates=1)
    client = Client()
    assert deliver(client, created).json()["status"] == "received"
    assert deliver(client, updated).json()["status"] == "received"
    assert not User.objects.exists()  # nothing applied in the request path
    # Coalesced: one drain task per end, whatever the number of deliveries.
    assert set(DBTaskResult.objects.values_list("task_path", flat=True)) == {"accounts.tasks.drain_webhook_inbox"}

    _db_worker()
    first = WebhookEvent.objects.get(type="user.created")
    assert (first.status, first.attempts) == (WebhookEvent.Status.RETRYING, 1)
    assert "RuntimeError: the first attempt fails" in first.last_error
    assert first.next_attempt_at is not None
    delay = first.next_attempt_at - timezone.now()
    assert timedelta(seconds=5) < delay <= webhook_apply.FIRST_RETRY
    # The newer event for the same user waits behind the failed one instead of overtaking it.
    assert WebhookEvent.objects.get(type="user.updated").status == WebhookEvent.Status.RECEIVED
    assert not User.objects.exists()
    [retry] = DBTaskResult.objects.filter(status="READY")
    assert abs((retry.run_after - first.next_attempt_at).total_seconds()) < 1

    # The back-off has passed: the scheduled retry applies both, oldest first.
    past = timezone.now() - timedelta(seconds=1)
    WebhookEvent.objects.filter(pk=first.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=past)
    _db_worker()
    events = {event.type: event for event in WebhookEvent.objects.all()}
    assert (events["user.created"].status, events["user.created"].attempts) == (WebhookEvent.Status.APPLIED, 2)
    assert events["user.created"].last_error == ""
    assert (events["user.updated"].status, events["user.updated"].attempts) == (WebhookEvent.Status.APPLIED, 1)
    assert events["user.created"].processed_at <= events["user.updated"].processed_at  # type: ignore[operator]
    assert attempts == ["user.created", "user.created"]
    assert User.objects.get().first_name == "Ann1"


def test_back_off_doubles_up_to_an_hour() -> None:
    delays = [webhook_apply.retry_delay(n).total_seconds() for n in range(1, 12)]
    assert delays[:4] == [10, 20, 40, 80]
    assert delays[-1] == 3600
    assert delays == sorted(delays)


@pytest.mark.django_db(transaction=True)
def test_an_event_that_keeps_failing_is_parked_after_max_attempts_with_the_worker(
    settings: Any, clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    settings.TASKS = DB_BACKEND

    def broken(event: WebhookEvent) -> None:
        raise ValueError("cannot apply this data yet")

    extra_handler("user.created", broken)
    clerk.create_user("ann@example.com")
    deliver(Client(), clerk.event("user.created"))
    for _ in range(webhook_apply.MAX_ATTEMPTS):
        WebhookEvent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(seconds=1))
        _db_worker()
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (WebhookEvent.Status.PARKED, webhook_apply.MAX_ATTEMPTS)
    assert "ValueError: cannot apply this data yet" in event.last_error
    assert event.next_attempt_at is None
    assert not DBTaskResult.objects.filter(status="READY").exists()  # nothing more is scheduled
    assert not User.objects.exists()


# --------------------------------------------------------------------------- a worker killed mid-event
WORKER_SCRIPT = """
import sys, time
import django
django.setup()
from accounts import webhook_registry
from accounts.webhook_apply import apply_object_events
from core.audit import audit
from core.jobs import WaitingRuns

def hang(event):
    audit("test.half_done", target_type="webhook_event", target_id=event.svix_id)
    open(sys.argv[2], "w").write("inside the handler")
    time.sleep(120)

webhook_registry.register("user.created", hang)  # after the accounts handler, which has upserted the user
apply_object_events(event_id=int(sys.argv[1]))
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_an_event_commits_nothing_and_the_event_is_applied_once_later(
    settings: Any, clerk: ClerkDriver, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database another process can share")
    settings.TASKS = DUMMY_BACKEND
    clerk.create_user("ann@example.com", first_name="Ann")
    msg_id = new_msg_id()
    deliver(Client(), clerk.event("user.created"), msg_id=msg_id)
    event = WebhookEvent.objects.get()
    marker = tmp_path / "inside"
    env = _worker_env()
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WORKER_SCRIPT, str(event.pk), str(marker)], cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the worker ended before reaching the handler"
            assert time.monotonic() < deadline, "the worker never reached the handler"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.RECEIVED, 0)  # rolled back with the process
    assert not User.objects.exists()
    assert not AuditEvent.objects.filter(action="test.half_done").exists()

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    out = StringIO()
    call_command("webhook_inbox", "drain", stdout=out)  # what the runbook says after a crash
    assert "1 object(s)" in out.getvalue()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.APPLIED, 1)
    assert User.objects.filter(email="ann@example.com").count() == 1
    call_command("webhook_inbox", "drain", stdout=StringIO())  # nothing open any more: changes nothing
    assert User.objects.count() == 1


# --------------------------------------------------------------------------- 20 concurrent workers, one object
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_workers_apply_one_objects_events_once_each_in_clerk_order(
    settings: Any, clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row and advisory locks across connections")
    settings.TASKS = DUMMY_BACKEND
    clerk_user_id, events = _user_events(clerk, updates=19)
    arrival = events[:]
    random.Random(14).shuffle(arrival)  # Svix delivers in any order
    client = Client()
    for envelope in arrival:
        assert deliver(client, envelope).json()["status"] == "received"
    applied: list[int] = []
    guard = threading.Lock()

    def record(event: WebhookEvent) -> None:
        with guard:  # inside the event's transaction, under the object's lock: the order events are applied in
            applied.append(event.clerk_timestamp or 0)

    extra_handler("user.created", record)
    extra_handler("user.updated", record)
    ids = list(WebhookEvent.objects.values_list("pk", flat=True))
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait(timeout=30)
            webhook_apply.apply_object_events(event_id=ids[n % len(ids)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert applied == sorted(e["timestamp"] for e in events)  # each once, oldest first, whatever the arrival
    stored = WebhookEvent.objects.all()
    assert {(e.status, e.attempts) for e in stored} == {(WebhookEvent.Status.APPLIED, 1)}
    assert User.objects.get(clerk_user_id=clerk_user_id).first_name == "Ann19"  # Clerk's final state


# --------------------------------------------------------------------------- the coalesced drain and its gate
@pytest.mark.django_db(transaction=True)
def test_a_drain_that_starts_while_a_delivery_counts_on_it_waits_at_the_gate_and_applies_it(
    settings: Any, clerk: ClerkDriver, tmp_path: Path
) -> None:
    """The race the gate closes: a delivery finds a drain waiting (so enqueues none) but has not committed yet when
    a worker starts that drain. The drain must wait for that commit, or the event would sit unapplied."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's advisory locks across connections")
    settings.TASKS = DB_BACKEND
    client = Client()
    for name in ("ann", "bob"):  # two deliveries: the two drains deliveries keep waiting
        clerk.create_user(f"{name}@example.com", first_name=name.title())
        assert deliver(client, clerk.event("user.created")).json()["status"] == "received"
    clerk.create_user("cat@example.com", first_name="Cat")
    third = clerk.event("user.created")
    stored, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def in_flight_delivery() -> None:
        try:
            with transaction.atomic():
                assert webhook_inbox.store_event(svix_id=new_msg_id(), payload=third) is not None
                stored.set()
                assert release.wait(timeout=60)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            stored.set()
        finally:
            connections.close_all()

    delivery = threading.Thread(target=in_flight_delivery)
    delivery.start()
    assert stored.wait(timeout=60)
    assert not errors, errors
    assert DBTaskResult.objects.count() == 2  # the delivery in flight counted on the waiting drains
    # A real worker process (db_worker installs signal handlers, so it cannot run in a thread).
    (tmp_path / "worker_settings.py").write_text(f"from config.settings.test import *\nTASKS = {DB_BACKEND!r}\n")
    env = {**_worker_env(), "DJANGO_SETTINGS_MODULE": "worker_settings", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    drain = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"], cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 60
        with connection.cursor() as cursor:
            while True:  # the worker has claimed the drain and now waits at the gate for the delivery in flight
                cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = "
                    "current_database() AND l.locktype = 'advisory' AND l.objid = %s AND NOT l.granted",
                    [INBOX_GATE_KEY],
                )
                if cursor.fetchone()[0]:
                    break
                assert drain.poll() is None, "the drain ran without waiting for the delivery in flight"
                assert time.monotonic() < deadline, "the drain never reached the gate"
                time.sleep(0.02)
    finally:
        release.set()
        delivery.join(timeout=60)
        drain.wait(timeout=120)
    assert not errors, errors
    assert drain.returncode == 0
    assert {(e.status, e.attempts) for e in WebhookEvent.objects.all()} == {(WebhookEvent.Status.APPLIED, 1)}
    assert set(User.objects.values_list("first_name", flat=True)) == {"Ann", "Bob", "Cat"}
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]


def _gate_waiters() -> int:
    """Connections of this database waiting for the inbox's gate."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = "
            "current_database() AND l.locktype = 'advisory' AND l.objid = %s AND NOT l.granted",
            [INBOX_GATE_KEY],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_count_in_the_insert_sees_what_committed_while_the_insert_waited_at_the_gate() -> None:
    """The INSERT counts the waiting drains in its own RETURNING (``WaitingRuns.after_gate``). The count must still
    read a snapshot taken after the INSERT got the gate: a drain that passed the gate meanwhile (and so no longer
    waits) must not be counted as waiting, or the delivery would rely on it and its event would sit unapplied.
    Here a run committed while the INSERT waited must be counted (a statement's own snapshot would miss it)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's advisory locks across connections")
    runs = _runs_of(new_msg_id())
    holding, release = threading.Event(), threading.Event()
    counts: list[tuple[Any, ...] | None] = []
    errors: list[BaseException] = []

    def drain_at_the_gate() -> None:  # holds the gate, as wait_for_inbox_arrivals does, and writes meanwhile
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INBOX_GATE_KEY])
                _ready_run(runs)
                holding.set()
                assert release.wait(timeout=60)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            holding.set()
        finally:
            connections.close_all()

    def delivery() -> None:
        try:
            with transaction.atomic():
                event = WebhookEvent(svix_id=new_msg_id(), type="user.created")
                counts.append(WebhookEvent.objects.insert_once_returning(event, also=runs.after_gate(INBOX_GATE_KEY)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=drain_at_the_gate)
    holder.start()
    assert holding.wait(timeout=60)
    sender = threading.Thread(target=delivery)
    sender.start()
    try:
        deadline = time.monotonic() + 60
        while not _gate_waiters():  # the INSERT is done and its statement waits for the gate
            assert sender.is_alive(), "the delivery did not wait at the gate"
            assert time.monotonic() < deadline, "the delivery never reached the gate"
            time.sleep(0.02)
    finally:
        release.set()
        holder.join(timeout=60)
        sender.join(timeout=60)
    assert not errors, errors
    assert counts == [(1,)]  # the row committed while the INSERT waited: a snapshot from after the gate


def test_insert_once_returning_answers_none_for_a_duplicate() -> None:
    event = WebhookEvent(svix_id=new_msg_id(), type="user.created")
    also: tuple[str, list[Any]] = ("%s + 1", [41])
    assert WebhookEvent.objects.insert_once_returning(event, also=also) == (42,)
    again = WebhookEvent(svix_id=event.svix_id, type="user.created")
    assert WebhookEvent.objects.insert_once_returning(again, also=also) is None
    assert again._state.adding  # not taken for the stored row
    assert WebhookEvent.objects.count() == 1


def _runs_of(task_path: str, limit: int = 2) -> WaitingRuns:
    return WaitingRuns(task_path, "default", "default", get_date_max(), limit)


def _ready_run(runs: WaitingRuns, **fields: Any) -> DBTaskResult[..., Any]:
    values: dict[str, Any] = {"status": "READY", "run_after": runs.run_after, **fields}
    return DBTaskResult.objects.create(
        task_path=runs.task_path,
        queue_name=runs.queue_name,
        backend_name=runs.backend_name,
        args_kwargs={"args": [], "kwargs": {}},
        exception_class_path="",
        traceback="",
        **values,
    )


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_count_after_the_gate_counts_what_the_statement_counts(limit: int) -> None:
    """The PostgreSQL function (core/migrations/0005) and ``WaitingRuns.statement`` count the same runs: READY and
    not deferred, of this task, queue and backend, up to the limit; both read django-tasks-db's table."""
    if connection.vendor != "postgresql":
        pytest.skip("the function exists on PostgreSQL only")
    runs = _runs_of(new_msg_id(), limit)

    def both() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(*runs.statement())
            by_statement = cursor.fetchone()[0]
            sql, params = runs.after_gate(INBOX_GATE_KEY)
            cursor.execute(f"SELECT {sql}", params)
            return by_statement, cursor.fetchone()[0]

    assert both() == (0, 0)
    _ready_run(runs, run_after=timezone.now() + timedelta(hours=1))  # deferred
    _ready_run(runs, status="RUNNING")
    _ready_run(_runs_of(new_msg_id()))  # another task
    assert both() == (0, 0)
    for waiting in range(1, 5):
        _ready_run(runs)
        assert both() == (min(waiting, limit),) * 2


@pytest.mark.django_db(transaction=True)
def test_deliveries_keep_two_drains_waiting_and_every_event_is_applied_once(settings: Any, clerk: ClerkDriver) -> None:
    settings.TASKS = DB_BACKEND
    client = Client()
    count = 6
    for n in range(count):
        clerk.create_user(f"user{n}@example.com", first_name=f"User{n}")
        assert deliver(client, clerk.event("user.created")).json()["status"] == "received"
    # The first delivery enqueued the drain from the oldest object, the second its twin; the others found both waiting.
    waiting = DBTaskResult.objects.values_list("args_kwargs", flat=True)
    assert sorted(kwargs["kwargs"].get("from_newest", False) for kwargs in waiting) == [False, True]

    _db_worker()  # one worker takes both: the first drains everything, its twin finds nothing left
    returned = DBTaskResult.objects.values_list("status", "return_value")
    assert sorted(returned, key=lambda row: (row[1] or {}).get("applied", 0)) == [
        ("SUCCESSFUL", {"applied": 0, "failed": 0, "objects": 0}),
        ("SUCCESSFUL", {"applied": count, "failed": 0, "objects": count}),
    ]
    assert {(e.status, e.attempts) for e in WebhookEvent.objects.all()} == {(WebhookEvent.Status.APPLIED, 1)}
    assert User.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_a_redelivery_through_the_coalescing_path_answers_duplicate_and_enqueues_nothing(
    settings: Any, clerk: ClerkDriver
) -> None:
    settings.TASKS = DB_BACKEND
    client = Client()
    clerk.create_user("ann@example.com")
    envelope, msg_id = clerk.event("user.created"), new_msg_id()
    assert deliver(client, envelope, msg_id=msg_id).json()["status"] == "received"
    tasks = DBTaskResult.objects.count()
    assert deliver(client, envelope, msg_id=msg_id).json() == {"status": "duplicate", "svix_id": msg_id}
    assert WebhookEvent.objects.filter(svix_id=msg_id).count() == 1
    assert DBTaskResult.objects.count() == tasks


@pytest.mark.django_db(transaction=True)
def test_two_drains_from_both_ends_apply_each_event_once_in_order_per_object(
    settings: Any, clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row and advisory locks across connections")
    settings.TASKS = DUMMY_BACKEND
    client = Client()
    expected: dict[str, list[int]] = {}
    for n in range(6):
        user_id, events = _user_events(clerk, updates=3, email=f"user{n}@example.com")
        expected[user_id] = sorted(e["timestamp"] for e in events)
        for envelope in random.Random(n).sample(events, len(events)):
            assert deliver(client, envelope).json()["status"] == "received"
    applied: dict[str, list[int]] = {}
    guard = threading.Lock()

    def record(event: WebhookEvent) -> None:
        with guard:
            applied.setdefault(event.object_id, []).append(event.clerk_timestamp or 0)

    extra_handler("user.created", record)
    extra_handler("user.updated", record)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(from_newest: bool) -> None:
        try:
            start.wait(timeout=30)
            list(webhook_apply.drain_inbox(from_newest=from_newest))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(flag,)) for flag in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert applied == expected  # each event once, each object's oldest first
    assert {(e.status, e.attempts) for e in WebhookEvent.objects.all()} == {(WebhookEvent.Status.APPLIED, 1)}


# --------------------------------------------------------------------------- parked, replayed after a fix
def test_a_parked_event_is_replayed_after_a_fix_with_the_command_and_audited(
    clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    fixed = False

    def buggy(event: WebhookEvent) -> str | None:
        if not fixed:
            raise KeyError("a field this handler did not expect")
        audit("test.effect", target_type="webhook_event", target_id=event.svix_id)
        return None

    extra_handler("user.created", buggy)
    clerk.create_user("ann@example.com")
    msg_id = new_msg_id()
    deliver(Client(), clerk.event("user.created"), msg_id=msg_id)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PARKED
    out = StringIO()
    call_command("webhook_inbox", "list", "--state", "parked", stdout=out)
    listing = out.getvalue()
    assert "parked=1" in listing
    assert msg_id in listing
    assert "KeyError" in listing
    with pytest.raises(CommandError, match="failed again"):
        call_command("webhook_inbox", "replay", msg_id, stdout=StringIO())  # not fixed yet: parked again
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PARKED

    fixed = True
    out = StringIO()
    call_command("webhook_inbox", "replay", "--parked", stdout=out)
    assert f"{msg_id} user.created: applied" in out.getvalue()
    assert AuditEvent.objects.filter(action="test.effect").count() == 1
    assert User.objects.filter(email="ann@example.com").count() == 1
    replays = AuditEvent.objects.filter(action="webhook_event.replayed", target_id=msg_id).order_by("id")
    assert [r.details["previous"]["status"] for r in replays] == ["parked", "parked"]
    assert replays[0].details["via"] == "manage.py webhook_inbox"
    assert "KeyError" in replays[0].details["previous"]["error"]


def test_the_command_refuses_what_it_cannot_replay(clerk: ClerkDriver, settings: Any) -> None:
    with pytest.raises(CommandError, match="No stored event"):
        call_command("webhook_inbox", "replay", "msg_unknown", stdout=StringIO())
    with pytest.raises(CommandError, match="not both"):
        call_command("webhook_inbox", "replay", stdout=StringIO())
    settings.TASKS = DUMMY_BACKEND
    clerk.create_user("ann@example.com")
    msg_id = new_msg_id()
    deliver(Client(), clerk.event("user.created"), msg_id=msg_id)
    with pytest.raises(CommandError, match="received"):
        call_command("webhook_inbox", "replay", msg_id, stdout=StringIO())  # still open: the worker has it


def test_the_admin_lists_events_by_state_and_replays_parked_ones_audited(
    client: Client,
    clerk_session: Callable[..., ClerkSession],
    clerk: ClerkDriver,
    extra_handler: Callable[[str, webhooks.WebhookHandler], None],
) -> None:
    fixed = False

    def buggy(event: WebhookEvent) -> None:
        if not fixed:
            raise RuntimeError("not yet")

    extra_handler("user.created", buggy)
    clerk.create_user("ann@example.com")
    parked_id = new_msg_id()
    deliver(Client(), clerk.event("user.created"), msg_id=parked_id)
    session = clerk_session(Role.SUPER_ADMIN)
    client.cookies["__session"] = session.token
    applied_id = WebhookEvent.objects.exclude(svix_id=parked_id).values_list("svix_id", flat=True).first()

    page = client.get("/django-admin/core/webhookevent/", {"status__exact": "parked"})
    assert page.status_code == 200
    html = page.content.decode()
    assert parked_id in html
    assert "RuntimeError: not yet" in html
    assert "Replay the selected parked events" in html
    if applied_id:
        assert applied_id not in html

    fixed = True
    parked = WebhookEvent.objects.get(svix_id=parked_id)
    response = client.post(
        "/django-admin/core/webhookevent/",
        {"action": "replay_parked", "_selected_action": [parked.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    assert "Replayed 1 parked event(s): 1 applied." in response.content.decode()
    parked.refresh_from_db()
    assert parked.status == WebhookEvent.Status.APPLIED
    [replay] = AuditEvent.objects.filter(action="webhook_event.replayed")
    assert session.user is not None
    assert replay.actor_id == session.user.id
    assert replay.details["via"] == "admin"
    assert User.objects.filter(email="ann@example.com").count() == 1


# --------------------------------------------------------------------------- clerk_sync and the inbox agree
def test_a_replay_after_clerk_sync_changes_nothing(
    clerk: ClerkDriver, extra_handler: Callable[[str, webhooks.WebhookHandler], None]
) -> None:
    outage = True

    def clerk_like_outage(event: WebhookEvent) -> None:
        if outage:
            raise RuntimeError("a dependency is down")

    clerk.create_user("ann@example.com", first_name="Ann")
    deliver(Client(), clerk.event("user.created"))
    user = User.objects.get()
    extra_handler("user.updated", clerk_like_outage)
    clerk.call("PATCH", f"/users/{user.clerk_user_id}", {"first_name": "Annie", "last_name": "Lee"})
    msg_id = new_msg_id()
    deliver(Client(), clerk.event("user.updated"), msg_id=msg_id)
    assert WebhookEvent.objects.get(svix_id=msg_id).status == WebhookEvent.Status.PARKED
    user.refresh_from_db()
    assert user.first_name == "Ann"  # the drift the parked event leaves

    call_command("clerk_sync", stdout=StringIO())  # reconciliation repairs it from Clerk
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Annie", "Lee")
    synced = model_to_dict(user, exclude=["updated_at"])

    outage = False
    replayed = webhook_inbox.replay_event(event=WebhookEvent.objects.get(svix_id=msg_id))
    assert replayed.status == WebhookEvent.Status.APPLIED
    user.refresh_from_db()
    assert model_to_dict(user, exclude=["updated_at"]) == synced
    out = StringIO()
    call_command("clerk_sync", "--dry-run", stdout=out)
    assert "No drift." in out.getvalue(), out.getvalue()
