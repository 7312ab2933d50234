"""POST /webhooks/clerk/: svix verification, one stored event per message, rollback on failure, public but signed.

Test plan rows wh_signature_matrix, wh_replay_dedupe and wh_public_but_signed (docs/reliability.md); the
payloads are the envelopes the Clerk emulator emits, signed with the real svix library.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.db import connection, connections, transaction
from django.test import Client

from accounts import webhook_apply, webhook_inbox, webhook_registry, webhooks
from accounts.models import User
from accounts.roles import Role
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core.audit import audit
from core.models import AuditEvent, WebhookEvent
from core.request_id import RequestIdFilter
from tests.accounts.webhook_support import (
    OTHER_SECRET,
    SECRET,
    URL,
    ClerkDriver,
    body_of,
    deliver,
    finish_live_server_requests,
    new_msg_id,
    post,
    signed_headers,
    skewed,
)
from tests.internal_users.factories import InternalInvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signing_secret")]


@pytest.fixture
def user_created(clerk: ClerkDriver) -> dict[str, Any]:
    clerk.create_user("ann@example.com", first_name="Ann", last_name="Lee")
    return clerk.event("user.created")


def assert_error_shape(response: Any, code: str | None = None) -> None:
    body = response.json()
    assert set(body) == {"code", "message", "extra"}, body
    if code is not None:
        assert body["code"] == code


# --------------------------------------------------------------------------- wh_signature_matrix
def _matrix_case(case: str, body: str) -> tuple[str | bytes, dict[str, str]]:
    headers = signed_headers(body)
    if case == "valid":
        return body, headers
    if case == "body_tampered":
        return body.replace("ann@example.com", "eve@example.com"), headers
    if case == "body_reserialized":
        return json.dumps(json.loads(body), indent=2, sort_keys=True), headers
    if case == "wrong_secret":
        return body, signed_headers(body, secret=OTHER_SECRET)
    if case.startswith("missing_"):
        headers.pop(case.removeprefix("missing_").replace("_", "-"))
        return body, headers
    if case == "timestamp_6_min_old":
        return body, signed_headers(body, timestamp=skewed(-6))
    if case == "timestamp_6_min_ahead":
        return body, signed_headers(body, timestamp=skewed(6))
    if case == "timestamp_not_a_number":
        return body, {**headers, "svix-timestamp": "soon"}
    if case == "signature_garbage":
        return body, {**headers, "svix-signature": "garbage"}
    if case == "signature_not_base64":
        return body, {**headers, "svix-signature": "v1,@@@not*base64@@@"}
    if case == "signature_unknown_version_only":
        return body, {**headers, "svix-signature": headers["svix-signature"].replace("v1,", "v9,")}
    if case == "non_utf8_body":
        raw = b'{"type": "user.created", "data": {"id": "\xff\xfe"}}'
        return raw, signed_headers(raw.decode("latin-1"))
    if case == "meta_style_header_names":
        # Header names as they appear in request.META: a receiver passing META to svix would see none of them.
        return body, {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    raise AssertionError(case)


SIGNATURE_MATRIX = [
    "valid",
    "body_tampered",
    "body_reserialized",
    "wrong_secret",
    "missing_svix_id",
    "missing_svix_timestamp",
    "missing_svix_signature",
    "timestamp_6_min_old",
    "timestamp_6_min_ahead",
    "timestamp_not_a_number",
    "signature_garbage",
    "signature_not_base64",
    "signature_unknown_version_only",
    "non_utf8_body",
    "meta_style_header_names",
]


@pytest.mark.parametrize("case", SIGNATURE_MATRIX)
def test_signature_matrix_only_valid_is_accepted(client: Client, user_created: dict[str, Any], case: str) -> None:
    body, headers = _matrix_case(case, body_of(user_created))
    response = post(client, body, headers)
    if case == "valid":
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "received"
        assert WebhookEvent.objects.count() == 1
        assert User.objects.filter(email="ann@example.com").exists()
    else:
        assert response.status_code == 400, (case, response.status_code, response.content)
        assert_error_shape(response, "invalid_signature")
        assert WebhookEvent.objects.count() == 0
        assert User.objects.count() == 0


def test_signature_header_with_several_signatures_passes_if_one_matches(
    client: Client, user_created: dict[str, Any]
) -> None:
    body = body_of(user_created)
    headers = signed_headers(body)
    wrong = signed_headers(body, msg_id=headers["svix-id"], secret=OTHER_SECRET)["svix-signature"]
    headers["svix-signature"] = f"{wrong} {headers['svix-signature']}"
    assert post(client, body, headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[1, 2, 3]",
        '"user.created"',
        '{"data": {"id": "user_1"}, "object": "event"}',
        '{"type": 5, "data": {}}',
        '{"type": "", "data": {}}',
        '{"type": "user.created", "data": ["not", "an", "object"]}',
        '{"type": "user.created"}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=[
        "empty",
        "not_json",
        "array",
        "string",
        "no_type",
        "type_not_string",
        "type_empty",
        "data_not_object",
        "no_data",
        "nested_too_deep",
    ],
)
def test_correctly_signed_but_malformed_payload_is_400(client: Client, body: str) -> None:
    response = post(client, body, signed_headers(body))
    assert response.status_code == 400, response.content
    assert_error_shape(response, "invalid_payload")
    assert WebhookEvent.objects.count() == 0


def test_oversized_body_is_413(client: Client) -> None:
    envelope = {"type": "user.updated", "object": "event", "data": {"id": "user_1", "pad": "x" * 1_100_000}}
    response = deliver(client, envelope)
    assert response.status_code == 413
    assert_error_shape(response, "payload_too_large")
    assert WebhookEvent.objects.count() == 0


def test_get_is_405(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert_error_shape(response, "method_not_allowed")


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!not base64!!"])
def test_missing_or_malformed_secret_refuses_without_crashing(
    client: Client, settings: Any, user_created: dict[str, Any], caplog: pytest.LogCaptureFixture, secret: str
) -> None:
    body = body_of(user_created)
    headers = signed_headers(body)
    settings.CLERK_WEBHOOK_SIGNING_SECRET = secret
    with caplog.at_level(logging.ERROR, logger="accounts.webhooks"):
        response = post(client, body, headers)
    assert response.status_code == 503
    assert_error_shape(response, "webhook_not_configured")
    assert "CLERK_WEBHOOK_SIGNING_SECRET" in caplog.text
    assert WebhookEvent.objects.count() == 0


# --------------------------------------------------------------------------- storage and dispatch
def test_stored_event_keeps_what_arrived(client: Client, user_created: dict[str, Any]) -> None:
    msg_id = new_msg_id()
    response = client.post(
        URL,
        data=body_of(user_created),
        content_type="application/json",
        headers={**signed_headers(body_of(user_created), msg_id=msg_id), "X-Request-ID": "req-wh-1"},
    )
    assert response.status_code == 200
    assert response.json() == {"status": "received", "svix_id": msg_id}
    event = WebhookEvent.objects.get()
    assert event.svix_id == msg_id
    assert event.type == "user.created"
    assert event.object_id == user_created["data"]["id"]
    assert event.payload == user_created
    assert event.status == WebhookEvent.Status.APPLIED  # the immediate task backend applied it on enqueue
    assert event.attempts == 1
    assert event.clerk_timestamp == user_created["timestamp"]
    assert event.processed_at is not None
    assert event.signed_at is not None
    assert event.request_id == "req-wh-1"
    assert event.remote_ip == "127.0.0.1"


def test_unknown_event_type_is_acknowledged_and_recorded_as_ignored(
    client: Client, clerk: ClerkDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = clerk.create_user("ann@example.com")
    clerk.call("POST", "/sessions", {"user_id": user["id"]})
    envelope = clerk.event("session.created")
    monkeypatch.setitem(webhook_registry._handlers, "session.created", [])
    response = deliver(client, envelope)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.processed_at is not None


def _tombstone(svix_id: str, event_type: str, object_id: str, updated_at: int | None = None) -> None:
    data: dict[str, Any] = {"id": object_id, "deleted": True}
    if updated_at is not None:
        data["updated_at"] = updated_at
    WebhookEvent.objects.create(
        svix_id=svix_id, type=event_type, object_id=object_id, payload={"type": event_type, "data": data}
    )


def test_tombstones_of_several_objects_are_read_in_one_query(django_assert_num_queries: Any) -> None:
    _tombstone("msg_1", "user.deleted", "user_1")
    _tombstone("msg_2", "organizationMembership.deleted", "orgmem_1", updated_at=100)
    _tombstone("msg_3", "organizationMembership.deleted", "orgmem_1", updated_at=300)  # removed twice: newest wins
    _tombstone("msg_4", "organizationMembership.deleted", "orgmem_2", updated_at=50)
    _tombstone("msg_5", "organizationMembership.deleted", "orgmem_2")  # one without a version: deleted for good
    WebhookEvent.objects.create(svix_id="msg_6", type="user.updated", object_id="user_2", payload={"data": {}})
    with django_assert_num_queries(1):
        deleted = webhooks.tombstones("user_1", "user_2", "orgmem_1", "orgmem_2", "", "org_9")
    assert deleted.rule_out("user_1")
    assert deleted.rule_out("user_1", updated_at=10**15)  # users never come back
    assert not deleted.rule_out("user_2")  # an update is no tombstone
    assert not deleted.rule_out("org_9")
    assert not deleted.rule_out("")
    assert deleted.rule_out("orgmem_1", updated_at=300)
    assert not deleted.rule_out("orgmem_1", updated_at=301)  # newer than its last removal: applies
    assert deleted.rule_out("orgmem_1")
    assert deleted.rule_out("orgmem_2", updated_at=10**15)
    assert webhooks.deleted_in_clerk("orgmem_1", updated_at=200)
    assert not webhooks.deleted_in_clerk("orgmem_1", updated_at=400)


def test_handler_failure_is_acknowledged_rolled_back_and_parked_then_replayed(
    client: Client,
    user_created: dict[str, Any],
    extra_handler: Callable[[str, webhooks.WebhookHandler], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(event: WebhookEvent) -> None:
        raise RuntimeError("boom while handling")

    extra_handler("user.created", explode)  # runs after the accounts handler has written the user
    msg_id = new_msg_id()
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.ERROR, logger="accounts.webhook_apply"):
        response = client.post(
            URL,
            data=body_of(user_created),
            content_type="application/json",
            headers={**signed_headers(body_of(user_created), msg_id=msg_id), "X-Request-ID": "req-wh-fail"},
        )
    # Stored and acknowledged: Svix stops retrying, the inbox keeps the event.
    assert response.status_code == 200
    assert response.json() == {"status": "received", "svix_id": msg_id}
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PARKED
    assert event.attempts == webhook_apply.IMMEDIATE_ATTEMPTS
    assert "RuntimeError: boom while handling" in event.last_error
    assert User.objects.count() == 0  # the accounts handler's upsert was rolled back with the failure
    records = [r for r in caplog.records if r.name == "accounts.webhook_apply"]
    assert len(records) == webhook_apply.IMMEDIATE_ATTEMPTS
    assert msg_id in records[0].getMessage()
    assert records[0].request_id == "req-wh-fail"  # type: ignore[attr-defined]
    assert records[0].exc_info is not None

    # Svix's redelivery is a duplicate; once the handler is fixed, the operator replays the parked event.
    assert deliver(client, user_created, msg_id=msg_id).json()["status"] == "duplicate"
    webhooks.unregister("user.created", explode)
    replayed = webhook_inbox.replay_event(event=event)
    assert replayed.status == WebhookEvent.Status.APPLIED
    assert replayed.attempts == 1
    assert replayed.last_error == ""
    assert User.objects.filter(email="ann@example.com").count() == 1


def test_replaying_an_applied_event_reruns_handlers_idempotently(client: Client, user_created: dict[str, Any]) -> None:
    assert deliver(client, user_created).status_code == 200
    User.objects.all().delete()
    event = webhook_inbox.replay_event(event=WebhookEvent.objects.get())
    assert event.status == WebhookEvent.Status.APPLIED
    assert User.objects.filter(email="ann@example.com").exists()


# --------------------------------------------------------------------------- wh_replay_dedupe
def test_same_delivery_twice_stores_once_and_changes_nothing(client: Client, user_created: dict[str, Any]) -> None:
    body = body_of(user_created)
    headers = signed_headers(body)
    first = post(client, body, headers)
    assert first.status_code == 200
    assert first.json()["status"] == "received"
    User.objects.update(first_name="Changed locally")

    second = post(client, body, headers)
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    assert User.objects.get().first_name == "Changed locally"  # the duplicate did not run the handler again


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deliveries_store_one_event_with_one_effect(
    live_server: Any,
    user_created: dict[str, Any],
    extra_handler: Callable[[str, webhooks.WebhookHandler], None],
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serializes the whole database")
    calls: list[str] = []

    def count_effect(event: WebhookEvent) -> None:
        calls.append(event.svix_id)
        audit("test.webhook_effect", target_type="webhook", target_id=event.svix_id)

    extra_handler("user.created", count_effect)
    body = body_of(user_created)
    headers = {**signed_headers(body), "content-type": "application/json"}
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait(timeout=10)
        response = httpx.post(live_server.url + URL, content=body.encode(), headers=headers, timeout=30)
        with lock:
            results.append((response.status_code, response.json().get("status", response.text)))

    threads = [threading.Thread(target=send) for _ in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        finish_live_server_requests(live_server)

    assert len(results) == 20
    assert all(status == 200 for status, _ in results), results
    assert sorted(outcome for _, outcome in results) == ["duplicate"] * 19 + ["received"]
    assert WebhookEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="test.webhook_effect").count() == 1
    assert len(calls) == 1
    assert User.objects.filter(email="ann@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_events_about_one_clerk_object_are_serialized_until_commit() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    held = threading.Event()
    order: list[str] = []

    def first() -> None:
        try:
            with transaction.atomic():
                webhooks.lock_clerk_objects("user_1", "org_1")
                order.append("first locked")
                held.set()
                time.sleep(0.3)
                order.append("first commits")
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert held.wait(timeout=10)
    with transaction.atomic():
        webhooks.lock_clerk_objects("org_2", "user_1")  # shares one id: waits for the first to commit
        order.append("second locked")
    thread.join(timeout=10)
    assert order == ["first locked", "first commits", "second locked"]


# --------------------------------------------------------------------------- wh_public_but_signed
def test_public_no_csrf_token_or_session_needed(user_created: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    response = deliver(client, user_created)
    assert response.status_code == 200
    assert User.objects.filter(email="ann@example.com").exists()


def test_admin_session_does_not_stand_in_for_a_signature(user_created: dict[str, Any]) -> None:
    admin = User.objects.create_user("boss@example.com", "user_boss", role=Role.SUPER_ADMIN, is_internal=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    body = body_of(user_created)
    headers = {**signed_headers(body, secret=OTHER_SECRET), "Authorization": "Bearer looks.like.a-token"}
    response = post(client, body, headers)
    assert response.status_code == 400
    assert_error_shape(response, "invalid_signature")
    assert not User.objects.filter(email="ann@example.com").exists()
    assert WebhookEvent.objects.count() == 0


# --------------------------------------------------------------------------- the emulator delivers
@pytest.mark.django_db(transaction=True)
def test_emulator_delivers_signed_webhooks_to_the_live_endpoint(
    live_server: Any, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer, clerk: ClerkDriver
) -> None:
    clerk_emulator.webhook_url = live_server.url + URL
    clerk_emulator.webhook_secret = SECRET
    InternalInvitationFactory.create(email="dee@example.com", role="pm")  # the role in her metadata was invited
    try:
        user = clerk.create_user("dee@example.com", first_name="Dee", public_metadata={"role": "pm", "internal": True})
        org = clerk.create_organization("Acme", created_by=user["id"])
        assert clerk_emulator_server.dispatcher.wait_idle(timeout=20)
    finally:
        clerk_emulator.webhook_url = None
        finish_live_server_requests(live_server, clerk_emulator_server)

    deliveries = clerk_emulator_server.dispatcher.deliveries
    assert [d.status for d in deliveries] == ["delivered"] * len(deliveries), [d.summary() for d in deliveries]
    local = User.objects.get(clerk_user_id=user["id"])
    assert (local.email, local.first_name, local.role, local.is_internal) == ("dee@example.com", "Dee", "pm", True)
    membership = local.workspace_memberships.get()
    assert (membership.workspace.clerk_organization_id, membership.role) == (org["id"], "admin")
    assert WebhookEvent.objects.count() == len(deliveries)
