"""Database errors while a webhook event is applied or stored (issues 6 and 14): nothing half-done, nothing lost.

A handler registered for ``user.created`` after the accounts handler (which has just upserted the user) fails with a
database error, raised or real: ``OperationalError`` (a lost connection, a cancelled statement) or ``IntegrityError``
(a constraint). The delivery is still acknowledged (2xx, stored in the inbox); each attempt rolls back every write
of the handlers (the event and its effects are one transaction), the connection stays usable, and after
``MAX_ATTEMPTS`` the event is parked with its error. Once the fault is gone, replaying it applies it once, and
Svix's redeliveries are duplicates that change nothing. A database error while *storing* is the one 5xx: nothing
is kept, so Svix's retry is stored as if for the first time.

Run inside the test's transaction (the endpoint's atomic block is then a savepoint) and, for the real errors, with
real commits (``transaction=True``), which is how production sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from accounts import webhook_apply, webhook_inbox, webhooks
from accounts.models import User
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core.audit import audit
from core.models import AuditEvent, WebhookEvent
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver, new_msg_id

EMAIL = "ann@example.com"
PARTIAL_WRITE = "reliability.partial_write"  # an audit row the failing handler writes before it fails


def _write_then(exc: Exception) -> Callable[[WebhookEvent], str | None]:
    def handler(event: WebhookEvent) -> str | None:
        audit(PARTIAL_WRITE, target_type="webhook_event", target_id=event.svix_id)
        raise exc

    return handler


def _real_integrity_error(event: WebhookEvent) -> str | None:
    audit(PARTIAL_WRITE, target_type="webhook_event", target_id=event.svix_id)
    WebhookEvent.objects.create(svix_id=event.svix_id, type=event.type, payload={})  # unique svix_id: refused
    return None


def _real_operational_error(event: WebhookEvent) -> str | None:
    audit(PARTIAL_WRITE, target_type="webhook_event", target_id=event.svix_id)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '20ms'")
        cursor.execute("SELECT pg_sleep(1)")  # cancelled by the server: OperationalError (QueryCanceled)
    return None


FAULTS: dict[str, Callable[[WebhookEvent], str | None]] = {
    "raised_operational_error": _write_then(OperationalError("server closed the connection unexpectedly")),
    "raised_integrity_error": _write_then(IntegrityError("duplicate key value violates unique constraint")),
    "real_integrity_error": _real_integrity_error,
    "real_operational_error": _real_operational_error,
}
REAL = ["real_integrity_error", "real_operational_error"]


@pytest.fixture
def user_created(settings: Any, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> dict[str, Any]:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
    try:
        driver.create_user(EMAIL, first_name="Ann", last_name="Lee")
        return driver.event("user.created")
    finally:
        driver.close()


@pytest.fixture
def faulty_handler() -> Iterator[Callable[[str], Callable[[WebhookEvent], str | None]]]:
    registered: list[Callable[[WebhookEvent], str | None]] = []

    def add(name: str) -> Callable[[WebhookEvent], str | None]:
        handler = FAULTS[name]
        webhooks.register("user.created", handler)  # after the accounts handler, which upserts the user
        registered.append(handler)
        return handler

    yield add
    for handler in registered:
        webhooks.unregister("user.created", handler)


def _needs_postgres(name: str) -> None:
    if name == "real_operational_error" and connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")


def _fail_then_retry(
    user_created: dict[str, Any], faulty_handler: Callable[[str], Callable[[WebhookEvent], str | None]], name: str
) -> None:
    _needs_postgres(name)
    handler = faulty_handler(name)
    client = Client()
    msg_id = new_msg_id()

    response = deliver(client, user_created, msg_id=msg_id)

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "received", "svix_id": msg_id}
    event = WebhookEvent.objects.get(svix_id=msg_id)
    assert event.status == WebhookEvent.Status.PARKED
    assert event.attempts == webhook_apply.IMMEDIATE_ATTEMPTS
    assert ("OperationalError" in event.last_error) or ("IntegrityError" in event.last_error), event.last_error
    assert not User.objects.filter(email=EMAIL).exists()  # the accounts handler's upsert is rolled back too
    assert not AuditEvent.objects.filter(action=PARTIAL_WRITE).exists()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"  # nothing of the failed transaction lingers on the connection

    # Svix's redelivery changes nothing; the fault is fixed and the operator replays the parked event.
    assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "duplicate"
    webhooks.unregister("user.created", handler)
    replayed = webhook_inbox.replay_event(event=event)
    assert (replayed.status, replayed.attempts, replayed.last_error) == (WebhookEvent.Status.APPLIED, 1, "")
    again = deliver(client, user_created, msg_id=msg_id)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert WebhookEvent.objects.filter(svix_id=msg_id).count() == 1
    assert User.objects.filter(email=EMAIL).count() == 1
    assert not AuditEvent.objects.filter(action=PARTIAL_WRITE).exists()
    assert AuditEvent.objects.filter(action="webhook_event.replayed", target_id=msg_id).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(FAULTS))
def test_database_error_in_a_handler_is_5xx_then_a_clean_retry(
    user_created: dict[str, Any], faulty_handler: Callable[[str], Callable[[WebhookEvent], str | None]], name: str
) -> None:
    _fail_then_retry(user_created, faulty_handler, name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", REAL)
def test_real_database_error_with_real_commits(
    user_created: dict[str, Any], faulty_handler: Callable[[str], Callable[[WebhookEvent], str | None]], name: str
) -> None:
    _fail_then_retry(user_created, faulty_handler, name)


@pytest.mark.django_db
def test_a_transient_error_heals_on_the_next_attempt_without_any_change(user_created: dict[str, Any]) -> None:
    """A deadlock or failover on the first attempt only: the worker's retry of the stored event simply succeeds."""
    attempts: list[str] = []

    def flaky(event: WebhookEvent) -> str | None:
        attempts.append(event.svix_id)
        if len(attempts) == 1:
            raise OperationalError("deadlock detected")
        return None

    webhooks.register("user.created", flaky)
    try:
        client = Client()
        msg_id = new_msg_id()
        assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "received"
        assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "duplicate"
    finally:
        webhooks.unregister("user.created", flaky)
    assert attempts == [msg_id, msg_id]  # failed once, retried once; the duplicate never reached the handlers
    event = WebhookEvent.objects.get(svix_id=msg_id)
    assert (event.status, event.attempts, event.last_error) == (WebhookEvent.Status.APPLIED, 2, "")
    assert User.objects.filter(email=EMAIL).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_error_while_storing_is_5xx_and_keeps_nothing(
    user_created: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one 5xx left: the INSERT itself fails (a failover). Nothing is kept, so Svix's retry is not a duplicate."""
    insert_once = WebhookEvent.objects.insert_once

    def failover(event: WebhookEvent, **options: Any) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '20ms'")
            cursor.execute("SELECT pg_sleep(1)")  # cancelled by the server, as a statement during a failover
        return insert_once(event, **options)

    client = Client()
    msg_id = new_msg_id()
    monkeypatch.setattr(WebhookEvent.objects, "insert_once", failover)
    response = deliver(client, user_created, msg_id=msg_id)
    assert response.status_code == 500, response.content
    assert set(response.json()) == {"code", "message", "extra"}
    assert response.json()["code"] == "webhook_failed"
    assert not WebhookEvent.objects.exists()
    monkeypatch.setattr(WebhookEvent.objects, "insert_once", insert_once)
    assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "received"
    assert WebhookEvent.objects.get(svix_id=msg_id).status == WebhookEvent.Status.APPLIED
    assert User.objects.filter(email=EMAIL).count() == 1
