"""Database errors inside a webhook (issue 6 item 3): 5xx and a clean retry.

A handler registered for ``user.created`` after the accounts handler (which has just upserted the user) fails with a
database error, raised or real: ``OperationalError`` (a lost connection, a cancelled statement) or ``IntegrityError``
(a constraint). The endpoint must answer 500 ``webhook_failed`` in the one error shape, keep no ``WebhookEvent``
row and none of the handlers' writes (the whole event is one transaction), and leave the connection usable. Once
the fault is gone, Svix's redelivery of the same ``svix-id`` is processed as if for the first time (2xx, applied
once), and a further redelivery is a duplicate that changes nothing.

Run inside the test's transaction (the endpoint's atomic block is then a savepoint) and, for the real errors, with
real commits (``transaction=True``), which is how production sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from accounts import webhooks
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

    assert response.status_code == 500, response.content
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == "webhook_failed"
    assert not WebhookEvent.objects.filter(svix_id=msg_id).exists()  # not stored: Svix's retry is not a duplicate
    assert not User.objects.filter(email=EMAIL).exists()  # the accounts handler's upsert is rolled back too
    assert not AuditEvent.objects.filter(action=PARTIAL_WRITE).exists()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"  # nothing of the failed transaction lingers on the connection

    # The fault is gone; Svix redelivers the same message (same svix-id, fresh signature).
    webhooks.unregister("user.created", handler)
    retry = deliver(client, user_created, msg_id=msg_id)
    assert retry.status_code == 200, retry.content
    assert retry.json()["status"] == "processed"
    again = deliver(client, user_created, msg_id=msg_id)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert WebhookEvent.objects.filter(svix_id=msg_id).count() == 1
    assert User.objects.filter(email=EMAIL).count() == 1
    assert not AuditEvent.objects.filter(action=PARTIAL_WRITE).exists()


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
def test_a_transient_error_heals_on_redelivery_without_any_change(user_created: dict[str, Any], settings: Any) -> None:
    """A deadlock or failover on the first attempt only: Svix's retry of the same message simply succeeds."""
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
        assert deliver(client, user_created, msg_id=msg_id).status_code == 500
        assert deliver(client, user_created, msg_id=msg_id).status_code == 200
        assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "duplicate"
    finally:
        webhooks.unregister("user.created", flaky)
    assert attempts == [msg_id, msg_id]  # the duplicate never reached the handlers
    assert WebhookEvent.objects.filter(svix_id=msg_id).count() == 1
    assert User.objects.filter(email=EMAIL).count() == 1
