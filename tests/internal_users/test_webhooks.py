"""Staff webhooks (issue 5, items 3 and 4): ``user.created`` from an accepted staff invitation, role claims without
one, ``user.updated`` ban status, ``user.deleted``, and ``email.created`` for Clerk's ``invitation`` template.

Every event is one the in-thread Clerk emulator emitted for a real change (an invitation ticket accepted through its
Frontend API, a ban through its Backend API, ...), signed with svix and POSTed to ``/webhooks/clerk/``. Work the
handlers put off until commit (the branded email) runs when the test's transaction "commits"
(``django_capture_on_commit_callbacks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import clerk
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core.models import AuditEvent, WebhookEvent
from internal_users import services
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver, new_msg_id
from tests.clerk_emulator.fapi_support import Browser
from tests.internal_users.factories import InternalInvitationFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def webhook_settings(settings: Any) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    settings.APP_BASE_URL = "https://app.example.com"


@pytest.fixture
def driver(clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
    d = ClerkDriver(clerk_gateway, clerk_emulator_server)
    yield d
    d.close()


@pytest.fixture
def root(clerk_user_factory: Callable[..., Any]) -> User:
    return user_upsert_from_clerk(
        clerk_user=clerk_user_factory(role=Role.SUPER_ADMIN, email="root@example.com"), trust_role=True
    )


@pytest.fixture
def invite(django_capture_on_commit_callbacks: Capture, root: User) -> Callable[..., InternalInvitation]:
    def do(email: str = "pat@example.com", role: str = Role.PM) -> InternalInvitation:
        with django_capture_on_commit_callbacks(execute=True):
            return services.internal_invite(email=email, role=role, actor=root)

    return do


@pytest.fixture
def post(client: Client, django_capture_on_commit_callbacks: Capture) -> Callable[..., dict[str, Any]]:
    """Sign and deliver one event (optionally under a given svix-id); after-commit work runs; returns the body."""

    def do(event: dict[str, Any], *, msg_id: str | None = None) -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, event, msg_id=msg_id)
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    return do


def accept_ticket(server: EmulatorServer, em: Emulator, row: InternalInvitation) -> dict[str, Any]:
    """What /internal/accept-invite/ does in the browser: ``signUp.create`` with the ticket (Frontend API)."""
    assert row.clerk_invitation_id
    ticket = (em.invitations[row.clerk_invitation_id].url or "").split("ticket=", 1)[1]
    response = Browser(server.url, origin="http://testserver").call(
        "POST",
        "/v1/client/sign_ups",
        json={
            "strategy": "ticket",
            "ticket": ticket,
            "password": PASSWORD,
            "first_name": "Pat",
            "last_name": "Lee",
            "phone_number": "+15555550123",
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ignored_claims() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="user.role_claim_ignored"))


# =========================================================================== user.created
class TestUserCreated:
    def test_accepting_the_invitation_maps_the_role_and_marks_the_invitation_accepted(
        self,
        clerk_gateway: Emulator,
        clerk_emulator_server: EmulatorServer,
        driver: ClerkDriver,
        invite: Callable[..., InternalInvitation],
        post: Callable[..., dict[str, Any]],
    ) -> None:
        row = invite("pat@example.com", Role.PM)
        driver.events()  # drop what came before
        accept_ticket(clerk_emulator_server, clerk_gateway, row)
        event = driver.event("user.created")
        assert event["data"]["public_metadata"] == {"role": "pm", "internal": True}

        assert post(event)["status"] == "received"
        user = User.objects.get(email="pat@example.com")
        assert (user.role, user.is_internal, user.first_name, user.phone_number) == ("pm", True, "Pat", "+15555550123")
        assert user.phone_verification_required is False  # internal users never see the SMS code
        row.refresh_from_db()
        assert (row.status, row.accepted_user) == (InternalInvitationStatus.ACCEPTED, user)
        assert row.accepted_at is not None
        assert AuditEvent.objects.filter(action="internal_invitation.accepted", target_id=str(row.pk)).count() == 1
        assert ignored_claims() == []

    def test_a_redelivered_user_created_changes_nothing(
        self,
        clerk_gateway: Emulator,
        clerk_emulator_server: EmulatorServer,
        driver: ClerkDriver,
        invite: Callable[..., InternalInvitation],
        post: Callable[..., dict[str, Any]],
    ) -> None:
        row = invite()
        driver.events()
        accept_ticket(clerk_emulator_server, clerk_gateway, row)
        event, msg_id = driver.event("user.created"), new_msg_id()
        post(event, msg_id=msg_id)
        assert post(event, msg_id=msg_id)["status"] == "duplicate"
        post(event)  # the same data as a new message: the user already has the role; no claim, no new audit
        assert User.objects.get(email="pat@example.com").role == Role.PM
        assert AuditEvent.objects.filter(action="internal_invitation.accepted").count() == 1
        assert ignored_claims() == []

    def test_a_metadata_role_without_any_invitation_is_ignored_and_audited(
        self, driver: ClerkDriver, post: Callable[..., dict[str, Any]]
    ) -> None:
        created = driver.create_user("sneaky@example.com", public_metadata={"role": "super_admin", "internal": True})
        post(driver.event("user.created"))
        user = User.objects.get(clerk_user_id=created["id"])
        assert (user.role, user.is_internal, user.phone_verification_required) == ("member", False, True)
        [event] = ignored_claims()
        assert (event.target_id, event.outcome) == (str(user.pk), AuditEvent.Outcome.DENIED)
        assert event.details == {"clerk_user_id": created["id"], "claimed_role": "super_admin", "kept_role": "member"}

    @pytest.mark.parametrize(
        ("invitation", "why"),
        [
            ({"role": Role.PM}, "another role"),
            ({"role": Role.ADMIN, "expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
            ({"role": Role.ADMIN, "status": InternalInvitationStatus.REVOKED}, "revoked"),
            ({"role": Role.ADMIN, "status": InternalInvitationStatus.EXPIRED}, "expired (swept)"),
            ({"role": Role.ADMIN, "email": "someone.else@example.com"}, "another email"),
        ],
    )
    def test_a_metadata_role_without_a_matching_pending_invitation_is_ignored(
        self, driver: ClerkDriver, post: Callable[..., dict[str, Any]], invitation: dict[str, Any], why: str
    ) -> None:
        row = InternalInvitationFactory.create(**{"email": "pat@example.com", **invitation})
        status_before = row.status
        created = driver.create_user("pat@example.com", public_metadata={"role": "admin", "internal": True})
        post(driver.event("user.created"))
        user = User.objects.get(clerk_user_id=created["id"])
        assert (user.role, user.is_internal) == ("member", False), why
        assert len(ignored_claims()) == 1, why
        row.refresh_from_db()
        assert (row.status, row.accepted_user) == (status_before, None), why

    def test_an_unknown_role_is_never_a_claim(self, driver: ClerkDriver, post: Callable[..., dict[str, Any]]) -> None:
        InternalInvitationFactory.create(email="pat@example.com", role=Role.PM)
        driver.create_user("pat@example.com", public_metadata={"role": "owner", "internal": True})
        post(driver.event("user.created"))
        assert User.objects.get(email="pat@example.com").role == Role.MEMBER
        assert InternalInvitation.objects.get().status == InternalInvitationStatus.PENDING


# =========================================================================== user.updated: ban status
class TestBanMirrored:
    def test_banned_sets_disabled_at_and_unbanned_clears_it(
        self,
        clerk_gateway: Emulator,
        clerk_emulator_server: EmulatorServer,
        driver: ClerkDriver,
        invite: Callable[..., InternalInvitation],
        post: Callable[..., dict[str, Any]],
    ) -> None:
        row = invite()
        driver.events()
        accept_ticket(clerk_emulator_server, clerk_gateway, row)
        post(driver.event("user.created"))
        user = User.objects.get(email="pat@example.com")
        assert user.is_active

        driver.call("POST", f"/users/{user.clerk_user_id}/ban")  # e.g. from Clerk's dashboard
        banned = driver.event("user.updated")
        assert banned["data"]["banned"] is True
        post(banned)
        banned_user = User.objects.get(pk=user.pk)
        assert banned_user.disabled_at is not None
        assert not banned_user.is_active
        assert banned_user.role == Role.PM  # the role stays; only access is switched off

        driver.call("POST", f"/users/{user.clerk_user_id}/unban")
        post(driver.event("user.updated"))
        user.refresh_from_db()
        assert user.disabled_at is None
        assert user.is_active

    def test_a_late_ban_event_after_the_unban_changes_nothing(
        self, driver: ClerkDriver, post: Callable[..., dict[str, Any]]
    ) -> None:
        created = driver.create_user("pat@example.com")
        driver.call("POST", f"/users/{created['id']}/ban")
        driver.call("POST", f"/users/{created['id']}/unban")
        user_created, banned, unbanned = driver.events()
        post(user_created)
        post(unbanned)
        post(banned)  # older than what is stored
        assert User.objects.get(clerk_user_id=created["id"]).disabled_at is None


# =========================================================================== user.deleted
def test_user_deleted_removes_the_local_user_and_keeps_the_history(
    clerk_gateway: Emulator,
    clerk_emulator_server: EmulatorServer,
    driver: ClerkDriver,
    invite: Callable[..., InternalInvitation],
    post: Callable[..., dict[str, Any]],
) -> None:
    row = invite()
    driver.events()
    accept_ticket(clerk_emulator_server, clerk_gateway, row)
    post(driver.event("user.created"))
    user = User.objects.get(email="pat@example.com")

    driver.call("DELETE", f"/users/{user.clerk_user_id}")
    post(driver.event("user.deleted"))
    assert not User.objects.filter(pk=user.pk).exists()
    row.refresh_from_db()
    assert (row.status, row.accepted_user) == (InternalInvitationStatus.ACCEPTED, None)
    assert AuditEvent.objects.filter(action="internal_invitation.accepted", target_id=str(row.pk)).exists()
    assert AuditEvent.objects.filter(action="internal_invitation.created", target_id=str(row.pk)).exists()


# =========================================================================== email.created (invitation template)
@pytest.fixture
def clerk_delivery_off(driver: ClerkDriver) -> ClerkDriver:
    """Switch Clerk's own delivery of the ``invitation`` email off: Clerk announces it with ``email.created``."""
    template = driver.call("POST", "/templates/email/invitation/toggle_delivery", {"delivered_by_clerk": False})
    assert template["delivered_by_clerk"] is False
    driver.events()
    return driver


class TestEmailCreated:
    def test_an_invitation_made_in_clerk_gets_our_branded_email_once(
        self, clerk_delivery_off: ClerkDriver, post: Callable[..., dict[str, Any]]
    ) -> None:
        made = clerk.create_invitation(
            email="outside@example.com", public_metadata={"role": "admin", "internal": True}, notify=True
        )
        event = clerk_delivery_off.event("email.created")
        assert event["data"]["slug"] == "invitation"
        msg_id = new_msg_id()

        assert post(event, msg_id=msg_id)["status"] == "received"
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["outside@example.com"]
        assert made.url
        assert made.url in message.body
        assert "Admin" in message.body
        assert "&amp;" not in message.body

        # Svix redelivers the same message: stored once, nothing sent again.
        assert post(event, msg_id=msg_id)["status"] == "duplicate"
        assert len(mail.outbox) == 1
        assert WebhookEvent.objects.filter(svix_id=msg_id).count() == 1

    def test_an_invitation_made_here_is_never_emailed_twice(
        self, clerk_delivery_off: ClerkDriver, post: Callable[..., dict[str, Any]]
    ) -> None:
        InternalInvitationFactory.create(email="ours@example.com", role=Role.PM)
        clerk.create_invitation(email="ours@example.com", public_metadata={"role": "pm", "internal": True}, notify=True)
        body = post(clerk_delivery_off.event("email.created"))
        assert body["status"] == "received"
        assert mail.outbox == []
        assert "made here" in WebhookEvent.objects.get(svix_id=body["svix_id"]).note

    def test_our_own_invitations_cause_no_email_created_at_all(
        self, clerk_delivery_off: ClerkDriver, invite: Callable[..., InternalInvitation]
    ) -> None:
        invite("pat@example.com")
        assert len(mail.outbox) == 1  # ours, from the task
        assert [e for e in clerk_delivery_off.events() if e["type"] == "email.created"] == []

    def test_an_invitation_without_a_staff_role_is_not_emailed(
        self, clerk_delivery_off: ClerkDriver, post: Callable[..., dict[str, Any]]
    ) -> None:
        clerk.create_invitation(email="plain@example.com", public_metadata={"role": "member"}, notify=True)
        body = post(clerk_delivery_off.event("email.created"))
        assert mail.outbox == []
        assert "staff role" in WebhookEvent.objects.get(svix_id=body["svix_id"]).note

    def test_other_templates_are_left_alone(self, driver: ClerkDriver, post: Callable[..., dict[str, Any]]) -> None:
        driver.call("POST", "/templates/email/organization_invitation/toggle_delivery", {"delivered_by_clerk": False})
        org = driver.create_organization("Acme")
        driver.call(
            "POST", f"/organizations/{org['id']}/invitations", {"email_address": "x@example.com", "role": "org:member"}
        )
        event = driver.event("email.created")
        assert event["data"]["slug"] == "organization_invitation"
        body = post(event)
        assert mail.outbox == []
        assert "not handled" in WebhookEvent.objects.get(svix_id=body["svix_id"]).note
