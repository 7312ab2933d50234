"""The emulator's webhooks: svix-signed, Clerk's envelope and payloads, delivered off-thread, retried with the same id.

A real HTTP receiver (tests/clerk_emulator/receiver.py) verifies every request with ``svix.webhooks.Webhook``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator import auth, sessions
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from clerk_emulator.webhooks import WebhookDispatcher
from tests.clerk_emulator.receiver import SECRET, Receiver

FAST = (0.02, 0.02, 0.02)


@pytest.fixture
def dispatcher(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> WebhookDispatcher:
    clerk_emulator_server.dispatcher.retry_delays_s = FAST  # the clerk_emulator fixture puts the default back
    return clerk_emulator_server.dispatcher


@pytest.fixture
def receiver(clerk_emulator: Emulator, dispatcher: WebhookDispatcher) -> Iterator[Receiver]:
    with Receiver() as receiver:
        clerk_emulator.webhook_url = receiver.url
        clerk_emulator.webhook_secret = SECRET
        yield receiver


def control(server: EmulatorServer, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{server.url}/__emulator{path}", json=body, timeout=5)


def _toggle(sdk: Clerk, slug: str, delivered_by_clerk: bool) -> None:
    with warnings.catch_warnings():  # the SDK marks the call deprecated; it is still Clerk's only switch
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk.email_sms_templates.toggle_template_delivery(
            template_type=models.ToggleTemplateDeliveryPathParamTemplateType.EMAIL,
            slug=slug,
            delivered_by_clerk=delivered_by_clerk,
        )


# --------------------------------------------------------------------------------------------- envelope, shapes


def test_user_created_is_signed_and_carries_the_full_user(
    sdk: Clerk, bapi: httpx.Client, clerk_emulator: Emulator, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    user = sdk.users.create(email_address=["ann@example.com"], first_name="Ann", public_metadata={"role": "pm"})
    assert dispatcher.wait_idle(timeout=5)

    [request] = receiver.requests
    assert request.verified, "svix.webhooks.Webhook(secret).verify() refused the emulator's signature"
    assert request.headers["svix-id"].startswith("msg_")
    assert abs(int(request.headers["svix-timestamp"]) - time.time()) < 60  # seconds, as Svix sends
    assert request.headers["svix-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    event = request.event
    assert set(event) >= {"data", "object", "type", "timestamp", "instance_id"}
    assert (event["object"], event["type"], event["instance_id"]) == (
        "event",
        "user.created",
        clerk_emulator.instance_id,
    )
    assert isinstance(event["timestamp"], int)
    # data is the user exactly as the Backend API returns it (the official SDK model parses it too).
    assert event["data"] == bapi.get(f"/users/{user.id}").json()
    assert models.User.model_validate(event["data"]).id == user.id
    assert event["data"]["public_metadata"] == {"role": "pm"}
    assert event == clerk_emulator.events[0]  # what is sent is what the emulator recorded

    [delivery] = dispatcher.deliveries
    assert (delivery.msg_id, delivery.event_type, delivery.status) == (request.svix_id, "user.created", "delivered")


def test_every_change_is_announced_in_order(
    sdk: Clerk, bapi: httpx.Client, clerk_emulator: Emulator, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    admin = sdk.users.create(email_address=["admin@example.com"], password="long-enough-1")
    member = sdk.users.create(email_address=["member@example.com"], password="long-enough-2")
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    sdk.organizations.update(organization_id=org.id, name="Acme Inc")
    sdk.organization_memberships.create(organization_id=org.id, user_id=member.id, role="org:member")
    sdk.organization_memberships.update(organization_id=org.id, user_id=member.id, role="org:admin")
    sdk.organization_memberships.delete(organization_id=org.id, user_id=member.id)
    invitation = sdk.organization_invitations.create(
        organization_id=org.id, email_address="new@example.com", role="org:member", notify=False
    )
    sdk.organization_invitations.revoke(
        organization_id=org.id, invitation_id=invitation.id, requesting_user_id=admin.id
    )
    sdk.users.update(user_id=member.id, first_name="Mem")
    session = sdk.sessions.create(request={"user_id": admin.id})
    sdk.sessions.revoke(session_id=session.id)
    sdk.organizations.delete(organization_id=org.id)
    sdk.users.delete(user_id=member.id)
    assert dispatcher.wait_idle(timeout=5)

    expected = [
        "user.created",
        "user.created",
        "organization.created",
        "organizationMembership.created",  # the creator becomes admin
        "organization.updated",
        "organizationMembership.created",
        "organizationMembership.updated",
        "organizationMembership.deleted",
        "organizationInvitation.created",
        "organizationInvitation.revoked",
        "user.updated",
        "session.created",
        "session.revoked",
    ]
    types = receiver.types()
    assert types[: len(expected)] == expected
    assert "organization.deleted" in types[len(expected) :]
    assert types[-1] == "user.deleted"
    assert types == [e["type"] for e in clerk_emulator.events]
    assert all(r.verified for r in receiver.requests)
    assert len({r.svix_id for r in receiver.requests}) == len(receiver.requests)  # one message per event

    events = receiver.events()
    revoked = next(e for e in events if e["type"] == "organizationInvitation.revoked")["data"]
    assert (revoked["object"], revoked["id"], revoked["status"]) == (
        "organization_invitation",
        invitation.id,
        "revoked",
    )
    deleted_org = next(e for e in events if e["type"] == "organization.deleted")["data"]
    assert deleted_org == {"object": "organization", "id": org.id, "deleted": True} | {
        k: v for k, v in deleted_org.items() if k not in ("object", "id", "deleted")
    }
    assert events[-1]["data"]["id"] == member.id
    assert events[-1]["data"]["deleted"] is True
    membership = next(e for e in events if e["type"] == "organizationMembership.updated")["data"]
    assert (membership["role"], membership["organization"]["id"]) == ("org:admin", org.id)
    assert membership["public_user_data"]["user_id"] == member.id


def test_accepting_an_organization_invitation_announces_it_with_the_user_id(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    admin = sdk.users.create(email_address=["admin@example.com"], password="long-enough-1")
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    invitation = sdk.organization_invitations.create(
        organization_id=org.id,
        email_address="invitee@example.com",
        role="org:member",
        inviter_user_id=admin.id,
        notify=False,
    )
    assert invitation.url is not None
    ticket = invitation.url.split("?ticket=", 1)[1]
    assert dispatcher.wait_idle(timeout=5)
    already = len(receiver.requests)

    with clerk_emulator.lock:  # what the browser's sign-up with the ticket does through the Frontend API
        session = auth.sign_up(
            clerk_emulator,
            sessions.new_client(clerk_emulator),
            {"strategy": "ticket", "ticket": ticket, "password": "long-enough-3", "first_name": "Ivy"},
        )
    assert dispatcher.wait_idle(timeout=5)

    events = {e["type"]: e["data"] for e in receiver.events()[already:]}
    assert sorted(events) == [
        "organizationInvitation.accepted",
        "organizationMembership.created",
        "session.created",
        "user.created",
    ]  # Svix does not promise an order, and neither does the emulator
    new_user = events["user.created"]
    assert new_user["id"] == session.user_id
    assert new_user["email_addresses"][0]["verification"]["strategy"] == "ticket"
    accepted = events["organizationInvitation.accepted"]
    assert accepted["user_id"] == session.user_id
    assert (accepted["id"], accepted["status"], accepted["role"]) == (invitation.id, "accepted", "org:member")
    assert accepted["organization_id"] == org.id
    assert models.OrganizationInvitation.model_validate(accepted).id == invitation.id
    membership = events["organizationMembership.created"]
    assert (membership["public_user_data"]["user_id"], membership["organization"]["id"]) == (session.user_id, org.id)
    assert all(r.verified for r in receiver.requests)


@pytest.mark.parametrize("kind", ["organization_invitation", "invitation"])
def test_email_created_when_the_template_is_not_delivered_by_clerk(
    kind: str, sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    _toggle(sdk, kind, delivered_by_clerk=False)
    if kind == "organization_invitation":
        admin = sdk.users.create(email_address=["admin@example.com"], first_name="Ada", last_name="Admin")
        org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
        url = sdk.organization_invitations.create(
            organization_id=org.id, email_address="Invitee@Example.com", role="org:member", inviter_user_id=admin.id
        ).url
    else:
        url = sdk.invitations.create(request={"email_address": "Invitee@Example.com", "notify": True}).url
    assert dispatcher.wait_idle(timeout=5)

    [event] = [e for e in receiver.events() if e["type"] == "email.created"]
    email = event["data"]
    assert (email["object"], email["slug"], email["to_email_address"]) == ("email", kind, "invitee@example.com")
    assert email["id"].startswith("ema_")
    assert email["delivered_by_clerk"] is False
    assert email["data"]["action_url"] == url
    assert url is not None
    assert url in email["body"]
    assert url in email["body_plain"]
    assert {"from_email_name", "subject", "status", "data"} <= set(email)
    assert all(r.verified for r in receiver.requests)

    # With delivery back on, Clerk sends the email itself and announces nothing.
    _toggle(sdk, kind, delivered_by_clerk=True)
    sdk.invitations.create(request={"email_address": "second@example.com"})
    assert dispatcher.wait_idle(timeout=5)
    assert [e["type"] for e in receiver.events()].count("email.created") == 1


def test_nothing_is_sent_without_a_target_but_events_are_recorded(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher
) -> None:
    sdk.users.create(email_address=["ann@example.com"])
    assert [e["type"] for e in clerk_emulator.events] == ["user.created"]
    assert dispatcher.deliveries == []
    assert dispatcher.wait_idle(timeout=0.1)


def test_target_configured_at_runtime_over_the_control_api(
    sdk: Clerk, clerk_emulator_server: EmulatorServer, dispatcher: WebhookDispatcher
) -> None:
    with Receiver() as receiver:
        response = control(clerk_emulator_server, "POST", "/webhooks", {"url": receiver.url, "secret": SECRET})
        assert response.status_code == 200
        assert response.json()["configured"] is True
        sdk.users.create(email_address=["ann@example.com"])
        assert dispatcher.wait_idle(timeout=5)
        assert receiver.types() == ["user.created"]
        assert receiver.requests[0].verified

        assert control(clerk_emulator_server, "POST", "/webhooks", {"url": None}).json()["configured"] is False
        sdk.users.create(email_address=["bob@example.com"])
        assert dispatcher.wait_idle(timeout=5)
        assert receiver.types() == ["user.created"]


# --------------------------------------------------------------------------------------------- retries


def test_a_failing_receiver_gets_retries_with_the_same_svix_id(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher
) -> None:
    with Receiver(statuses=[500, 500]) as receiver:
        clerk_emulator.webhook_url, clerk_emulator.webhook_secret = receiver.url, SECRET
        sdk.users.create(email_address=["ann@example.com"])
        assert dispatcher.wait_idle(timeout=5)

    assert len(receiver.requests) == 3
    assert len({r.svix_id for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert all(r.verified for r in receiver.requests)  # each attempt is signed afresh
    [delivery] = dispatcher.deliveries
    assert delivery.status == "delivered"
    assert [a["status"] for a in delivery.attempts] == [500, 500, 200]


def test_redirects_count_as_failures_and_retries_run_out(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher
) -> None:
    dispatcher.retry_delays_s = (0.01, 0.01)
    with Receiver(statuses=[302, 404, 503]) as receiver:
        clerk_emulator.webhook_url, clerk_emulator.webhook_secret = receiver.url, SECRET
        sdk.users.create(email_address=["ann@example.com"])
        assert dispatcher.wait_idle(timeout=5)

    assert [r.path for r in receiver.requests] == ["/webhooks/clerk"] * 3  # the redirect was not followed
    [delivery] = dispatcher.deliveries
    assert delivery.status == "failed"
    assert [a["status"] for a in delivery.attempts] == [302, 404, 503]


def test_connection_failures_are_retried_and_recorded(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher
) -> None:
    with Receiver() as closed:
        url = closed.url  # nothing listens there once the receiver is closed
    clerk_emulator.webhook_url, clerk_emulator.webhook_secret = url, SECRET
    sdk.users.create(email_address=["ann@example.com"])
    assert dispatcher.wait_idle(timeout=5)
    [delivery] = dispatcher.deliveries
    assert delivery.status == "failed"
    assert len(delivery.attempts) == len(FAST) + 1
    assert all(a["status"] is None and "ConnectError" in a["error"] for a in delivery.attempts)


def test_a_bad_secret_set_behind_the_api_does_not_kill_the_worker(
    sdk: Clerk, clerk_emulator: Emulator, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    clerk_emulator.webhook_secret = "whsec_not*base64"  # the control API refuses this; set it directly
    sdk.users.create(email_address=["ann@example.com"])
    assert dispatcher.wait_idle(timeout=5)
    [failed] = dispatcher.deliveries
    assert failed.status == "failed"
    assert failed.attempts[0]["error"]
    assert receiver.requests == []

    clerk_emulator.webhook_secret = SECRET
    sdk.users.create(email_address=["bob@example.com"])
    assert dispatcher.wait_idle(timeout=5)
    assert receiver.types() == ["user.created"]
    assert receiver.requests[0].verified


# --------------------------------------------------------------------------------------------- never blocking


def test_a_slow_receiver_never_holds_up_the_request_that_caused_the_event(
    sdk: Clerk, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer, dispatcher: WebhookDispatcher
) -> None:
    dispatcher.timeout_s = 1.5  # the first attempt hangs past this, then the retry answers at once
    with Receiver(sleep_s=[5.0]) as receiver:
        clerk_emulator.webhook_url, clerk_emulator.webhook_secret = receiver.url, SECRET
        user = sdk.users.create(email_address=["ann@example.com"])
        receiver.wait_for(1)  # the worker is now stuck on the sleeping receiver for 1.5 s
        started = time.monotonic()
        sdk.users.update(user_id=user.id, first_name="Ann")
        sdk.users.update(user_id=user.id, last_name="Lee")
        listing = control(clerk_emulator_server, "GET", "/webhooks")
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"requests waited {elapsed:.2f}s for the webhook receiver"
        assert listing.status_code == 200
        assert len(listing.json()["deliveries"]) == 3
        assert dispatcher.wait_idle(timeout=5)

    first = dispatcher.deliveries[0]
    assert first.status == "delivered"
    assert first.attempts[0]["status"] is None
    assert "Timeout" in first.attempts[0]["error"]
    assert [d.status for d in dispatcher.deliveries] == ["delivered"] * 3
    assert {r.svix_id for r in receiver.requests} == {d.msg_id for d in dispatcher.deliveries}


# --------------------------------------------------------------------------------------------- reset and stop


def test_reset_drops_queued_retries(
    sdk: Clerk, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer, dispatcher: WebhookDispatcher
) -> None:
    dispatcher.retry_delays_s = (0.15, 0.15, 0.15)
    with Receiver(statuses=[500] * 10) as receiver:
        clerk_emulator.webhook_url, clerk_emulator.webhook_secret = receiver.url, SECRET
        sdk.users.create(email_address=["ann@example.com"])
        receiver.wait_for(1)
        assert control(clerk_emulator_server, "POST", "/reset").status_code == 200
        assert dispatcher.wait_idle(timeout=5)
        assert dispatcher.deliveries == []
        time.sleep(0.4)  # longer than the retry delay: a retry that survived the reset would have arrived
        assert len(receiver.requests) == 1
    assert clerk_emulator.webhook_url == receiver.url  # reset keeps the configured target


def test_stop_returns_promptly_and_the_dispatcher_can_start_again() -> None:
    em = Emulator()
    dispatcher = WebhookDispatcher(em, retry_delays_s=(0.01,), timeout_s=5)
    em.dispatcher = dispatcher
    dispatcher.start()
    with Receiver(sleep_s=[3.0]) as receiver:
        em.webhook_url, em.webhook_secret = receiver.url, SECRET
        with em.lock:
            em.emit("user.created", {"id": "user_1"})
        receiver.wait_for(1)
        started = time.monotonic()
        dispatcher.stop(timeout=0.2)  # an attempt is in flight on a receiver that hangs
        assert time.monotonic() - started < 1.0

        restarted = WebhookDispatcher(em, retry_delays_s=(0.01,))
        em.dispatcher = restarted
        restarted.start()
        restarted.stop()
        restarted.start()
        with em.lock:
            em.emit("user.updated", {"id": "user_1"})
        assert restarted.wait_idle(timeout=5)
        restarted.stop()
    assert [d.status for d in restarted.deliveries] == ["delivered"]
    assert "user.updated" in receiver.types()
