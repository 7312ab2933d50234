"""The staff API (internal_users/api/): invite, resend, revoke, grant a role, deactivate, reactivate, remove, list.

Everything runs for real: session tokens from the in-thread Clerk emulator, the real services and gateway (the SDK
over HTTP), the emulator's request log to see what reached Clerk, Django's mail outbox for our branded email.
Nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.roles import Role
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent
from internal_users import services
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from tests.conftest import ClerkSession, SignedInClient

pytestmark = pytest.mark.django_db

BASE = "/api/admin/internal-users/"
INVITATIONS = f"{BASE}invitations/"
GRANT_ROLE = f"{BASE}grant-role/"
ERROR_KEYS = {"code", "message", "extra"}
ENTRY_KEYS = {
    "kind",
    "status",
    "email",
    "role",
    "name",
    "first_name",
    "last_name",
    "image_url",
    "phone_number",
    "clerk_user_id",
    "invitation_id",
    "invited_by",
    "created_at",
    "expires_at",
    "last_sent_at",
    "send_count",
    "email_status",
    "email_error",
    "failure_reason",
    "disabled_at",
}
USER_ONLY = {"name", "first_name", "last_name", "image_url", "phone_number", "clerk_user_id", "disabled_at"}
INVITATION_ONLY = {
    "invitation_id",
    "invited_by",
    "expires_at",
    "last_sent_at",
    "send_count",
    "email_status",
    "email_error",
    "failure_reason",
}


# --------------------------------------------------------------------------- helpers
def invitation_action(invitation_id: object, action: str) -> str:
    return f"{INVITATIONS}{invitation_id}/{action}/"


def user_url(clerk_user_id: object) -> str:
    return f"{BASE}{clerk_user_id}/"


def user_action(clerk_user_id: object, action: str) -> str:
    return f"{BASE}{clerk_user_id}/{action}/"


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str)
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_invitation(body: dict[str, Any]) -> None:
    assert set(body) == ENTRY_KEYS
    assert body["kind"] == "invitation"
    assert all(body[key] is None for key in USER_ONLY), body
    assert isinstance(body["invitation_id"], int)


def assert_user(body: dict[str, Any]) -> None:
    assert set(body) == ENTRY_KEYS
    assert body["kind"] == "user"
    assert all(body[key] is None for key in INVITATION_ONLY), body
    assert body["clerk_user_id"].startswith("user_")


@contextmanager
def no_clerk_calls(emulator: Emulator) -> Iterator[None]:
    """Nothing inside the block reaches Clerk (session tokens are verified offline)."""
    before = len(emulator.request_log)
    yield
    assert emulator.request_log[before:] == []


def clerk_calls(emulator: Emulator, method: str, pattern: str) -> int:
    return sum(1 for m, path, _status in emulator.request_log if m == method and re.fullmatch(pattern, path))


def create_invitation_calls(emulator: Emulator) -> int:
    return clerk_calls(emulator, "POST", r"/v1/invitations")


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def invite(client: APIClient, email: str, role: str = "pm", **more: Any) -> Any:
    return client.post(INVITATIONS, {"email": email, "role": role, **more}, format="json")


def link_in(message: Any) -> str:
    match = re.search(r"https?://\S+ticket=\S+", message.body)
    assert match is not None, message.body
    return match.group(0)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def owner(clerk_session: Callable[..., ClerkSession]) -> User:
    """A super admin who made the world the tests act on (never the caller)."""
    user = clerk_session(Role.SUPER_ADMIN, email="owner@example.com").user
    assert user is not None
    return user


@pytest.fixture
def super_admin(signed_in: Callable[..., SignedInClient]) -> SignedInClient:
    return signed_in(Role.SUPER_ADMIN, email="root@example.com", first_name="Rita")


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient]) -> SignedInClient:
    return signed_in(Role.ADMIN, email="admin@example.com", first_name="Adam")


@pytest.fixture
def staff_member(clerk_session: Callable[..., ClerkSession]) -> ClerkSession:
    """A project manager on the staff, the target of user actions."""
    return clerk_session(Role.PM, email="pat@example.com", first_name="Pat", last_name="Lee")


def make_invitation(owner: User, email: str, role: str = Role.PM) -> InternalInvitation:
    """A pending staff invitation made by the service (through the emulator), as a real invite would."""
    return services.internal_invite(email=email, role=role, actor=owner)


# --------------------------------------------------------------------------- authorization matrix
@pytest.fixture
def world(
    owner: User,
    staff_member: ClerkSession,
    clerk_user_factory: Callable[..., ClerkUser],
) -> dict[str, Any]:
    """One of everything an endpoint can act on, made before the caller signs in."""
    return {
        "invitation": make_invitation(owner, "invitee@example.com"),
        "target": staff_member,
        "account": clerk_user_factory(email="has.account@example.com"),
    }


def _call(client: APIClient, endpoint: str, world: dict[str, Any]) -> Any:
    invitation: InternalInvitation = world["invitation"]
    target: ClerkSession = world["target"]
    if endpoint == "list":
        return client.get(BASE)
    if endpoint == "invite":
        return invite(client, "someone.new@example.com", "pm")
    if endpoint in ("resend", "revoke"):
        return client.post(invitation_action(invitation.pk, endpoint))
    if endpoint == "grant_role":
        return client.post(GRANT_ROLE, {"email": "has.account@example.com", "role": "pm"}, format="json")
    if endpoint in ("deactivate", "reactivate"):
        return client.post(user_action(target.clerk_user.id, endpoint))
    if endpoint == "remove":
        return client.delete(user_url(target.clerk_user.id))
    raise AssertionError(endpoint)


ENDPOINTS = ["list", "invite", "resend", "revoke", "grant_role", "deactivate", "reactivate", "remove"]
SUCCESS = {
    "list": 200,
    "invite": 201,
    "resend": 200,
    "revoke": 200,
    "grant_role": 200,
    "deactivate": 200,
    "reactivate": 200,
    "remove": 204,
}


class TestPermissionMatrix:
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    def test_anonymous_gets_401_and_nothing_reaches_clerk(
        self, endpoint: str, world: dict[str, Any], clerk_gateway: Emulator
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = _call(APIClient(), endpoint, world)
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.PM])
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    def test_member_and_pm_get_403_and_nothing_changes(
        self,
        endpoint: str,
        role: str,
        world: dict[str, Any],
        signed_in: Callable[..., SignedInClient],
        clerk_gateway: Emulator,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        client = signed_in(role)
        with no_clerk_calls(clerk_gateway), caplog.at_level(logging.WARNING, logger="internal_users.api.views"):
            response = _call(client, endpoint, world)
        assert_error(response, 403, "permission_denied")
        assert any("api access denied" in record.getMessage() for record in caplog.records)
        denied = AuditEvent.objects.filter(action="internal_users.denied", actor_id=user_of(client).pk)
        assert denied.count() == (0 if endpoint == "list" else 1)  # refused writes leave an audit event
        assert all(event.outcome == AuditEvent.Outcome.DENIED for event in denied)
        invitation = InternalInvitation.objects.get(pk=world["invitation"].pk)
        assert invitation.status == InternalInvitationStatus.PENDING
        assert invitation.send_count == 1
        target = User.objects.get(pk=world["target"].user.pk)
        assert target.is_active
        assert not InternalInvitation.objects.filter(email="someone.new@example.com").exists()
        assert not User.objects.filter(email="has.account@example.com").exists()

    @pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.ADMIN])
    @pytest.mark.parametrize("endpoint", ENDPOINTS)
    def test_super_admin_and_admin_may_manage_only_super_admin_removes(
        self,
        endpoint: str,
        role: str,
        world: dict[str, Any],
        signed_in: Callable[..., SignedInClient],
        clerk_gateway: Emulator,
    ) -> None:
        client = signed_in(role)
        if endpoint == "remove" and role == Role.ADMIN:
            with no_clerk_calls(clerk_gateway):
                response = _call(client, endpoint, world)
            assert "super_admin" in assert_error(response, 403, "permission_denied")["message"]
            assert User.objects.filter(pk=world["target"].user.pk).exists()
            assert AuditEvent.objects.get(action="internal_users.denied").target_id == world["target"].clerk_user.id
            return
        response = _call(client, endpoint, world)
        assert response.status_code == SUCCESS[endpoint], response.content
        if endpoint == "remove":
            assert response.content == b""
        else:
            assert response["Content-Type"].startswith("application/json")

    def test_cookie_sessions_need_the_csrf_token_for_writes(
        self, signed_in: Callable[..., SignedInClient], clerk_gateway: Emulator
    ) -> None:
        client = signed_in(Role.SUPER_ADMIN, via="cookie", enforce_csrf_checks=True)
        assert client.get(BASE).status_code == 200
        with no_clerk_calls(clerk_gateway):
            body = assert_error(invite(client, "csrf@example.com"), 403, "permission_denied")
        assert "CSRF" in body["message"]
        assert not InternalInvitation.objects.exists()


# --------------------------------------------------------------------------- invite
class TestInvite:
    def test_invites_with_a_clerk_application_invitation_and_exactly_one_branded_email(
        self,
        super_admin: SignedInClient,
        clerk_gateway: Emulator,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = invite(super_admin, "  New.Person@Example.COM ", "admin")

        assert response.status_code == 201, response.content
        body = response.json()
        assert_invitation(body)
        invitation_id = body["invitation_id"]
        assert body["email"] == "new.person@example.com"
        assert body["role"] == "admin"
        assert body["status"] == "pending"
        assert body["invited_by"] == "root@example.com"
        assert body["send_count"] == 1
        assert body["email_status"] == "queued"  # the email task runs after the commit
        assert body["expires_at"] is not None
        assert body["last_sent_at"] is not None
        # Clerk: one application invitation, without Clerk's own email, carrying the role.
        [created] = clerk_gateway.invitations.values()
        assert created.email_address == "new.person@example.com"
        assert created.public_metadata == {"role": "admin", "internal": True}
        assert created.redirect_url is not None
        assert created.redirect_url.endswith(f"/internal/accept-invite/?invitation_id={invitation_id}")
        assert not [m for m in clerk_gateway.messages if m.to == "new.person@example.com"]
        # Ours: exactly one email, whose link is Clerk's ticket link tagged with our invitation id.
        assert len(mail.outbox) == 1
        [message] = mail.outbox
        assert message.to == ["new.person@example.com"]
        link = link_in(message)
        assert parse_qs(urlsplit(link).query)["invitation_id"] == [str(invitation_id)]
        assert created.url is not None
        assert link.startswith(created.url)
        row = InternalInvitation.objects.get(pk=invitation_id)
        assert row.email_status == EmailDelivery.SENT
        assert row.clerk_invitation_id == created.id
        assert AuditEvent.objects.filter(action="internal_invitation.created", target_id=str(invitation_id)).exists()

    def test_the_invitation_is_listed_as_pending(self, super_admin: SignedInClient) -> None:
        created = invite(super_admin, "listed@example.com").json()
        results = super_admin.get(BASE, {"status": "pending"}).json()["results"]
        assert [(r["kind"], r["invitation_id"], r["status"]) for r in results] == [
            ("invitation", created["invitation_id"], "pending")
        ]

    @pytest.mark.parametrize(
        "extra",
        [
            {"public_metadata": {"role": "super_admin"}},
            {"notify": True},
            {"redirect_url": "https://evil.example.com/"},
            {"internal": True},
        ],
    )
    def test_unknown_fields_are_refused_before_anything_happens(
        self, admin: SignedInClient, clerk_gateway: Emulator, extra: dict[str, Any]
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = invite(admin, "x@example.com", "pm", **extra)
        body = assert_error(response, 400, "invalid")
        assert set(body["extra"]["fields"]) == set(extra)
        assert not InternalInvitation.objects.exists()

    @pytest.mark.parametrize("url", [INVITATIONS, GRANT_ROLE])
    @pytest.mark.parametrize("role", ["member", "owner", "", "SUPER_ADMIN", " pm"])
    def test_role_must_be_a_staff_role(
        self, super_admin: SignedInClient, clerk_gateway: Emulator, role: str, url: str
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.post(url, {"email": "x@example.com", "role": role}, format="json")
        assert_error(response, 400, "invalid_role")
        assert not InternalInvitation.objects.exists()

    @pytest.mark.parametrize("role", [1, None, ["pm"], {"role": "pm"}, True])
    def test_role_must_be_a_string(self, super_admin: SignedInClient, clerk_gateway: Emulator, role: Any) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.post(INVITATIONS, {"email": "x@example.com", "role": role}, format="json")
        body = assert_error(response, 400, "invalid")
        assert set(body["extra"]["fields"]) == {"role"}

    @pytest.mark.parametrize("email", ["not-an-email", "a@", "a b@example.com"])
    def test_malformed_email_is_invalid_email(
        self, super_admin: SignedInClient, clerk_gateway: Emulator, email: str
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = invite(super_admin, email)
        assert_error(response, 400, "invalid_email")

    @pytest.mark.parametrize(
        "email",
        ["a@example.com\r\nBcc: x@example.com", "a\x00@example.com", 7, None, ""],
    )
    def test_email_must_be_a_plain_string(
        self, super_admin: SignedInClient, clerk_gateway: Emulator, email: Any
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.post(INVITATIONS, {"email": email, "role": "pm"}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] in {"invalid", "invalid_email"}

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "a@example.com", "role": "\ud800"},
            {"email": "a@example.com", "role": "pm", "\udfff": 1},
            {"email": ["\ud800"], "role": "pm"},
            {"email": "\ud800@example.com", "role": "pm"},
            {"email": "a@\ud800.com", "role": "pm"},
        ],
    )
    def test_lone_surrogates_are_a_parse_error_not_a_500(
        self, super_admin: SignedInClient, clerk_gateway: Emulator, body: dict[str, Any]
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            for url in (INVITATIONS, GRANT_ROLE):  # json.dumps escapes to ASCII: the surrogate reaches the server
                response = super_admin.post(url, json.dumps(body), content_type="application/json")
                assert_error(response, 400, "parse_error")

    def test_a_valid_surrogate_pair_is_just_text(self, super_admin: SignedInClient) -> None:
        raw = json.dumps({"email": "\U0001f600@example.com", "role": "pm"})  # "\ud83d\ude00" on the wire
        assert_error(super_admin.post(INVITATIONS, raw, content_type="application/json"), 400, "invalid_email")

    def test_missing_fields_and_bad_bodies(self, super_admin: SignedInClient, clerk_gateway: Emulator) -> None:
        with no_clerk_calls(clerk_gateway):
            body = assert_error(super_admin.post(INVITATIONS, {}, format="json"), 400, "invalid")
            assert set(body["extra"]["fields"]) == {"email", "role"}
            assert_error(super_admin.post(INVITATIONS, ["x@example.com"], format="json"), 400, "invalid")
            response = super_admin.post(INVITATIONS, "{not json", content_type="application/json")
            assert_error(response, 400, "parse_error")
            response = super_admin.post(INVITATIONS, {"email": "x@example.com", "role": "pm"})  # multipart form
            assert_error(response, 415, "unsupported_media_type")

    def test_admin_cannot_invite_a_super_admin_and_clerk_is_never_called(
        self, admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = invite(admin, "boss@example.com", "super_admin")
        assert_error(response, 403, "super_admin_required")
        assert not InternalInvitation.objects.exists()
        denied = AuditEvent.objects.get(action="internal_invitation.created")
        assert denied.outcome == AuditEvent.Outcome.DENIED
        assert denied.actor_id == user_of(admin).pk

    @pytest.mark.parametrize("role", ["admin", "pm"])
    def test_admin_may_invite_admins_and_pms(self, admin: SignedInClient, role: str) -> None:
        response = invite(admin, f"{role}.new@example.com", role)
        assert response.status_code == 201, response.content
        assert response.json()["role"] == role

    def test_super_admin_may_invite_a_super_admin(self, super_admin: SignedInClient, clerk_gateway: Emulator) -> None:
        response = invite(super_admin, "boss@example.com", "super_admin")
        assert response.status_code == 201, response.content
        [created] = clerk_gateway.invitations.values()
        assert created.public_metadata["role"] == "super_admin"

    def test_an_email_with_a_clerk_account_is_already_a_user_then_grant_role_makes_them_staff(
        self,
        super_admin: SignedInClient,
        clerk_gateway: Emulator,
        clerk_user_factory: Callable[..., ClerkUser],
    ) -> None:
        account = clerk_user_factory(email="known@example.com", first_name="Kim", last_name="Ode")
        assert not User.objects.filter(email="known@example.com").exists()  # in Clerk only

        response = invite(super_admin, "Known@Example.com", "admin")
        body = assert_error(response, 409, "already_a_user")
        assert body["extra"] == {"email": "known@example.com", "action": "grant_role"}
        assert not InternalInvitation.objects.exists()  # nothing half-made left behind
        assert not clerk_gateway.invitations

        response = super_admin.post(GRANT_ROLE, {"email": "known@example.com", "role": "admin"}, format="json")
        assert response.status_code == 200, response.content
        granted = response.json()
        assert_user(granted)
        assert (granted["clerk_user_id"], granted["role"], granted["status"]) == (account.id, "admin", "active")
        assert (granted["name"], granted["first_name"], granted["last_name"]) == ("Kim Ode", "Kim", "Ode")
        user = User.objects.get(clerk_user_id=account.id)
        assert user.is_internal
        assert user.role == Role.ADMIN
        assert clerk_gateway.users[account.id].public_metadata == {"role": "admin", "internal": True}
        listed = super_admin.get(BASE, {"q": "known@"}).json()["results"]
        assert [(r["kind"], r["clerk_user_id"], r["status"]) for r in listed] == [("user", account.id, "active")]

    def test_a_local_account_is_already_a_user_without_asking_clerk(
        self, super_admin: SignedInClient, signed_in: Callable[..., SignedInClient], clerk_gateway: Emulator
    ) -> None:
        signed_in(Role.MEMBER, email="member@example.com")
        with no_clerk_calls(clerk_gateway):
            response = invite(super_admin, "member@example.com")
        assert_error(response, 409, "already_a_user")

    def test_staff_and_pending_invitations_conflict(
        self, super_admin: SignedInClient, admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        assert invite(super_admin, "twice@example.com").status_code == 201
        with no_clerk_calls(clerk_gateway):
            assert_error(invite(super_admin, "TWICE@example.com"), 409, "already_invited")
            assert_error(invite(super_admin, "admin@example.com"), 409, "already_staff")
        assert InternalInvitation.objects.filter(email="twice@example.com").count() == 1

    def test_clerk_outage_is_503_and_leaves_nothing_behind(
        self, super_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/invitations", 1, status=500))
        response = invite(super_admin, "later@example.com")
        assert_error(response, 503, "clerk_unavailable")
        assert not InternalInvitation.objects.exists()
        assert not mail.outbox

    def test_clerk_rate_limit_is_passed_on_with_retry_after(
        self, super_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/invitations", 1, status=429, retry_after=42))
        response = invite(super_admin, "later@example.com")
        body = assert_error(response, 429, "rate_limited")
        assert response["Retry-After"] == "42"
        assert body["extra"]["retry_after"] == 42
        assert not InternalInvitation.objects.exists()


# --------------------------------------------------------------------------- resend / revoke
class TestResendAndRevoke:
    def test_resend_revokes_the_old_clerk_invitation_and_sends_a_new_email(
        self,
        super_admin: SignedInClient,
        clerk_gateway: Emulator,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            created = invite(super_admin, "again@example.com").json()
        invitation_id = created["invitation_id"]
        old_clerk_id = InternalInvitation.objects.get(pk=invitation_id).clerk_invitation_id
        assert old_clerk_id is not None

        with django_capture_on_commit_callbacks(execute=True):
            response = super_admin.post(invitation_action(invitation_id, "resend"))

        assert response.status_code == 200, response.content
        body = response.json()
        assert_invitation(body)
        assert body["invitation_id"] == invitation_id  # the local id stays
        assert body["status"] == "pending"
        assert body["send_count"] == 2
        row = InternalInvitation.objects.get(pk=invitation_id)
        assert row.clerk_invitation_id not in (None, old_clerk_id)
        assert clerk_gateway.invitations[old_clerk_id].status == "revoked"
        assert clerk_gateway.invitations[row.clerk_invitation_id].status == "pending"
        assert len(mail.outbox) == 2
        first, second = (link_in(message) for message in mail.outbox)
        assert first != second
        for link in (first, second):
            assert parse_qs(urlsplit(link).query)["invitation_id"] == [str(invitation_id)]
        assert second.startswith(clerk_gateway.invitations[row.clerk_invitation_id].url or "-")

    def test_an_expired_or_failed_invitation_can_be_resent(
        self, admin: SignedInClient, owner: User, clerk_gateway: Emulator
    ) -> None:
        expired = make_invitation(owner, "late@example.com")
        InternalInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        failed = make_invitation(owner, "broken@example.com")
        InternalInvitation.objects.filter(pk=failed.pk).update(
            status=InternalInvitationStatus.FAILED, failure_reason="clerk_unavailable: down"
        )
        for invitation in (expired, failed):
            response = admin.post(invitation_action(invitation.pk, "resend"))
            assert response.status_code == 200, response.content
            body = response.json()
            assert (body["status"], body["send_count"], body["failure_reason"]) == ("pending", 2, "")
            row = InternalInvitation.objects.get(pk=invitation.pk)
            assert row.expires_at > timezone.now() + timedelta(days=6)
            assert clerk_gateway.invitations[invitation.clerk_invitation_id or ""].status == "revoked"

    def test_revoke_revokes_in_clerk_and_is_idempotent(
        self, super_admin: SignedInClient, owner: User, clerk_gateway: Emulator
    ) -> None:
        invitation = make_invitation(owner, "gone@example.com")
        response = super_admin.post(invitation_action(invitation.pk, "revoke"))
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "revoked"
        assert clerk_gateway.invitations[invitation.clerk_invitation_id or ""].status == "revoked"

        with no_clerk_calls(clerk_gateway):
            again = super_admin.post(invitation_action(invitation.pk, "revoke"))
            assert again.status_code == 200
            assert again.json()["status"] == "revoked"
            assert_error(super_admin.post(invitation_action(invitation.pk, "resend")), 409, "invitation_not_pending")
        listed = super_admin.get(BASE).json()["results"]
        assert invitation.pk not in [r["invitation_id"] for r in listed]  # the default list shows open ones only

    @pytest.mark.parametrize("action", ["resend", "revoke"])
    def test_admin_cannot_touch_a_super_admin_invitation_and_clerk_is_never_called(
        self, action: str, admin: SignedInClient, owner: User, clerk_gateway: Emulator
    ) -> None:
        invitation = make_invitation(owner, "boss@example.com", Role.SUPER_ADMIN)
        with no_clerk_calls(clerk_gateway):
            response = admin.post(invitation_action(invitation.pk, action))
        assert_error(response, 403, "super_admin_required")
        row = InternalInvitation.objects.get(pk=invitation.pk)
        assert (row.status, row.send_count, row.clerk_invitation_id) == (
            InternalInvitationStatus.PENDING,
            1,
            invitation.clerk_invitation_id,
        )
        assert clerk_gateway.invitations[invitation.clerk_invitation_id or ""].status == "pending"

    @pytest.mark.parametrize("action", ["resend", "revoke"])
    @pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "12345"])
    def test_malformed_or_unknown_ids_are_a_json_404(
        self, action: str, raw_id: str, super_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            assert_error(super_admin.post(invitation_action(raw_id, action)), 404, "not_found")

    def test_only_post_is_allowed(self, super_admin: SignedInClient, owner: User) -> None:
        invitation = make_invitation(owner, "m@example.com")
        assert super_admin.get(INVITATIONS).status_code == 405
        assert super_admin.delete(INVITATIONS).status_code == 405
        assert super_admin.get(invitation_action(invitation.pk, "resend")).status_code == 405


# --------------------------------------------------------------------------- users
class TestUserActions:
    def test_deactivate_bans_in_clerk_and_reactivate_lifts_the_ban(
        self, super_admin: SignedInClient, staff_member: ClerkSession, clerk_gateway: Emulator
    ) -> None:
        target = APIClient()
        target.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_member.token}")
        clerk_id = staff_member.clerk_user.id

        response = super_admin.post(user_action(clerk_id, "deactivate"))

        assert response.status_code == 200, response.content
        body = response.json()
        assert_user(body)
        assert (body["clerk_user_id"], body["status"], body["role"]) == (clerk_id, "inactive", "pm")
        assert body["disabled_at"] is not None
        assert clerk_gateway.users[clerk_id].banned
        assert clerk_gateway.sessions[staff_member.session_id].status == "revoked"
        with pytest.raises(clerk.ClerkRejected) as refused:
            clerk.create_session(clerk_id)  # a banned user cannot start a session
        assert refused.value.clerk_code == "user_banned"
        assert_error(target.get(BASE), 401)  # their still-unexpired token no longer works here either
        listed = super_admin.get(BASE, {"status": "inactive"}).json()["results"]
        assert [r["clerk_user_id"] for r in listed] == [clerk_id]

        response = super_admin.post(user_action(clerk_id, "reactivate"))

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "active"
        assert response.json()["disabled_at"] is None
        assert not clerk_gateway.users[clerk_id].banned
        assert clerk.create_session(clerk_id).status == "active"
        assert User.objects.get(clerk_user_id=clerk_id).is_active

    def test_deactivate_and_reactivate_are_idempotent(self, admin: SignedInClient, staff_member: ClerkSession) -> None:
        clerk_id = staff_member.clerk_user.id
        for _ in range(2):
            assert admin.post(user_action(clerk_id, "deactivate")).json()["status"] == "inactive"
        for _ in range(2):
            assert admin.post(user_action(clerk_id, "reactivate")).json()["status"] == "active"

    def test_remove_deletes_the_clerk_user_and_ours_and_keeps_the_audit_trail(
        self, super_admin: SignedInClient, staff_member: ClerkSession, clerk_gateway: Emulator
    ) -> None:
        user = staff_member.user
        assert user is not None
        clerk_id = staff_member.clerk_user.id
        assert super_admin.post(user_action(clerk_id, "deactivate")).status_code == 200

        response = super_admin.delete(user_url(clerk_id))

        assert response.status_code == 204, response.content
        assert clerk_id not in clerk_gateway.users
        with pytest.raises(clerk.ClerkNotFound):
            clerk.get_user(clerk_id)
        assert not User.objects.filter(pk=user.pk).exists()
        trail = AuditEvent.objects.filter(target_type="user", target_id=str(user.pk))
        assert {"staff_user.deactivated", "staff_user.removed"} <= set(trail.values_list("action", flat=True))
        removed = trail.get(action="staff_user.removed")
        assert removed.details["email"] == "pat@example.com"
        assert removed.actor_id == user_of(super_admin).pk
        assert_error(super_admin.delete(user_url(clerk_id)), 404, "not_found")  # gone here too

    @pytest.mark.parametrize(("method", "action"), [("post", "deactivate"), ("post", "reactivate"), ("delete", None)])
    def test_admin_cannot_act_on_a_super_admin_and_clerk_is_never_called(
        self,
        method: str,
        action: str | None,
        admin: SignedInClient,
        owner: User,
        clerk_gateway: Emulator,
    ) -> None:
        url = user_action(owner.clerk_user_id, action) if action else user_url(owner.clerk_user_id)
        with no_clerk_calls(clerk_gateway):
            response = getattr(admin, method)(url)
        assert_error(response, 403, "permission_denied" if method == "delete" else "super_admin_required")
        assert User.objects.get(pk=owner.pk).is_active
        assert not clerk_gateway.users[owner.clerk_user_id].banned

    def test_admin_cannot_demote_a_super_admin_or_promote_to_super_admin(
        self, admin: SignedInClient, owner: User, staff_member: ClerkSession, clerk_gateway: Emulator
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = admin.post(GRANT_ROLE, {"email": owner.email, "role": "pm"}, format="json")
            assert_error(response, 403, "super_admin_required")
            response = admin.post(GRANT_ROLE, {"email": "pat@example.com", "role": "super_admin"}, format="json")
            assert_error(response, 403, "super_admin_required")
        assert User.objects.get(pk=owner.pk).role == Role.SUPER_ADMIN

    @pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.ADMIN])
    @pytest.mark.parametrize(("method", "action"), [("post", "deactivate"), ("delete", None)])
    def test_nobody_deactivates_or_removes_themselves(
        self,
        role: str,
        method: str,
        action: str | None,
        signed_in: Callable[..., SignedInClient],
        clerk_gateway: Emulator,
    ) -> None:
        client = signed_in(role)
        me = user_of(client)
        url = user_action(me.clerk_user_id, action) if action else user_url(me.clerk_user_id)
        with no_clerk_calls(clerk_gateway):
            response = getattr(client, method)(url)
        if method == "delete" and role == Role.ADMIN:
            assert_error(response, 403, "permission_denied")
        else:
            assert_error(response, 403, "cannot_act_on_self")
        assert User.objects.get(pk=me.pk).is_active
        assert client.get(BASE).status_code == 200  # still signed in and still staff

    def test_nobody_changes_their_own_role(self, super_admin: SignedInClient, clerk_gateway: Emulator) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.post(GRANT_ROLE, {"email": "root@example.com", "role": "pm"}, format="json")
        assert_error(response, 403, "cannot_act_on_self")
        assert user_of(super_admin).role == Role.SUPER_ADMIN

    def test_the_last_active_super_admin_is_protected(
        self, super_admin: SignedInClient, admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        """The only super admin: nobody else may act on them, and they may not act on themselves."""
        root = user_of(super_admin)
        assert User.objects.filter(role=Role.SUPER_ADMIN, disabled_at__isnull=True).count() == 1
        with no_clerk_calls(clerk_gateway):
            assert_error(admin.post(user_action(root.clerk_user_id, "deactivate")), 403, "super_admin_required")
            assert_error(admin.delete(user_url(root.clerk_user_id)), 403, "permission_denied")
            response = admin.post(GRANT_ROLE, {"email": root.email, "role": "admin"}, format="json")
            assert_error(response, 403, "super_admin_required")
            assert_error(super_admin.post(user_action(root.clerk_user_id, "deactivate")), 403, "cannot_act_on_self")
            assert_error(super_admin.delete(user_url(root.clerk_user_id)), 403, "cannot_act_on_self")
            response = super_admin.post(GRANT_ROLE, {"email": root.email, "role": "admin"}, format="json")
            assert_error(response, 403, "cannot_act_on_self")
        root.refresh_from_db()
        assert (root.role, root.is_active) == (Role.SUPER_ADMIN, True)

    def test_a_super_admin_may_deactivate_another_super_admin(
        self, super_admin: SignedInClient, owner: User, clerk_gateway: Emulator
    ) -> None:
        response = super_admin.post(user_action(owner.clerk_user_id, "deactivate"))
        assert response.status_code == 200, response.content
        assert clerk_gateway.users[owner.clerk_user_id].banned

    def test_grant_role_changes_a_staff_members_role(
        self, super_admin: SignedInClient, staff_member: ClerkSession, clerk_gateway: Emulator
    ) -> None:
        response = super_admin.post(GRANT_ROLE, {"email": "Pat@example.com", "role": "admin"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["role"] == "admin"
        assert clerk_gateway.users[staff_member.clerk_user.id].public_metadata["role"] == "admin"
        with no_clerk_calls(clerk_gateway):  # the role they already have: nothing to do
            assert (
                super_admin.post(GRANT_ROLE, {"email": "pat@example.com", "role": "admin"}, format="json").json()[
                    "role"
                ]
                == "admin"
            )

    def test_grant_role_without_an_account_is_no_account(self, super_admin: SignedInClient) -> None:
        response = super_admin.post(GRANT_ROLE, {"email": "nobody@example.com", "role": "pm"}, format="json")
        assert_error(response, 404, "no_account")

    def test_grant_role_refuses_unknown_fields(self, super_admin: SignedInClient, clerk_gateway: Emulator) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.post(
                GRANT_ROLE, {"email": "x@example.com", "role": "pm", "is_internal": True}, format="json"
            )
        body = assert_error(response, 400, "invalid")
        assert set(body["extra"]["fields"]) == {"is_internal"}

    @pytest.mark.parametrize(
        "raw_id", ["not-a-user", "user_", "user_abc-def", "user_" + "a" * 60, "%00", "user_%0A", "USER_abc"]
    )
    @pytest.mark.parametrize(("method", "action"), [("post", "deactivate"), ("post", "reactivate"), ("delete", None)])
    def test_malformed_or_unknown_user_ids_are_a_json_404(
        self,
        raw_id: str,
        method: str,
        action: str | None,
        super_admin: SignedInClient,
        clerk_gateway: Emulator,
    ) -> None:
        url = user_action(raw_id, action) if action else user_url(raw_id)
        with no_clerk_calls(clerk_gateway):
            assert_error(getattr(super_admin, method)(url), 404, "not_found")

    def test_a_user_who_is_not_staff_is_not_found(
        self, super_admin: SignedInClient, signed_in: Callable[..., SignedInClient], clerk_gateway: Emulator
    ) -> None:
        member = user_of(signed_in(Role.MEMBER))
        with no_clerk_calls(clerk_gateway):
            assert_error(super_admin.post(user_action(member.clerk_user_id, "deactivate")), 404, "not_found")
            assert_error(super_admin.delete(user_url(member.clerk_user_id)), 404, "not_found")

    def test_user_actions_take_only_their_methods(
        self, super_admin: SignedInClient, staff_member: ClerkSession
    ) -> None:
        clerk_id = staff_member.clerk_user.id
        assert super_admin.get(user_action(clerk_id, "deactivate")).status_code == 405
        assert super_admin.get(user_url(clerk_id)).status_code == 405
        assert super_admin.post(BASE, {}, format="json").status_code == 405
        assert super_admin.get(GRANT_ROLE).status_code == 405


# --------------------------------------------------------------------------- list
def _invitation_row(email: str, *, role: str = Role.PM, status: str = "pending", age_s: int = 0) -> InternalInvitation:
    now = timezone.now()
    row = InternalInvitation.objects.create(
        email=email,
        role=role,
        status=status,
        inviter_email="owner@example.com",
        expires_at=now + timedelta(days=7),
        send_count=1,
        last_sent_at=now,
        email_status=EmailDelivery.SENT,
        failure_reason="clerk_error: boom" if status == "failed" else "",
    )
    InternalInvitation.objects.filter(pk=row.pk).update(created_at=now - timedelta(seconds=age_s))
    row.refresh_from_db()
    return row


def _staff_row(email: str, *, role: str = Role.PM, first: str = "", last: str = "", active: bool = True) -> User:
    return User.objects.create(
        clerk_user_id=f"user_{re.sub(r'[^a-z0-9]', '', email)}",
        email=email,
        first_name=first,
        last_name=last,
        role=role,
        is_internal=True,
        disabled_at=None if active else timezone.now(),
    )


@pytest.fixture
def roster(super_admin: SignedInClient) -> dict[str, Any]:
    """3 open invitations, one expired, one revoked; the caller plus 5 staff users (one inactive), one member."""
    invitations = [
        _invitation_row("inv.new@example.com", age_s=10),
        _invitation_row("inv.mid@example.com", role=Role.ADMIN, age_s=20),
        _invitation_row("inv.failed@example.com", status="failed", age_s=30),
        _invitation_row("inv.expired@example.com", status="expired", age_s=40),
        _invitation_row("inv.revoked@example.com", status="revoked", age_s=50),
    ]
    users = [
        _staff_row("alice@example.com", first="Alice", last="Smith"),
        _staff_row("bob@example.com", role=Role.ADMIN, first="Bob", last="Jones"),
        _staff_row("carol@example.com", first="Carol", last="Smith", active=False),
        _staff_row("dave@example.com", role=Role.SUPER_ADMIN, first="Dave"),
        _staff_row("erin@example.com"),
    ]
    User.objects.create(clerk_user_id="user_member", email="member@example.com", role=Role.MEMBER)
    return {"invitations": invitations, "users": users}


def _cursor(*parts: object) -> str:
    """A cursor as the selector encodes one (unpadded url-safe base64 of a JSON list)."""
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _keys(results: list[dict[str, Any]]) -> list[str]:
    return [r["email"] for r in results]


class TestList:
    def test_default_list_is_open_invitations_newest_first_then_staff_by_email(
        self, super_admin: SignedInClient, roster: dict[str, Any], clerk_gateway: Emulator
    ) -> None:
        with no_clerk_calls(clerk_gateway):
            response = super_admin.get(BASE)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "next", "previous", "counts"}
        assert _keys(body["results"]) == [
            "inv.new@example.com",
            "inv.mid@example.com",
            "inv.failed@example.com",
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "dave@example.com",
            "erin@example.com",
            "root@example.com",
        ]
        assert (body["next"], body["previous"]) == (None, None)
        assert body["counts"] == {"pending": 2, "active": 5, "inactive": 1}
        first, failed, alice, carol = body["results"][0], body["results"][2], body["results"][3], body["results"][5]
        assert_invitation(first)
        assert (first["status"], first["role"], first["invited_by"]) == ("pending", "pm", "owner@example.com")
        assert (failed["status"], failed["failure_reason"]) == ("failed", "clerk_error: boom")
        assert_user(alice)
        assert (alice["status"], alice["name"], alice["first_name"], alice["last_name"]) == (
            "active",
            "Alice Smith",
            "Alice",
            "Smith",
        )
        assert (carol["status"], carol["disabled_at"] is not None) == ("inactive", True)

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"status": "pending"}, ["inv.new@example.com", "inv.mid@example.com"]),
            ({"status": "failed"}, ["inv.failed@example.com"]),
            ({"status": "expired"}, ["inv.expired@example.com"]),
            ({"status": "inactive"}, ["carol@example.com"]),
            (
                {"status": "active"},
                ["alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com", "root@example.com"],
            ),
            ({"role": "admin"}, ["inv.mid@example.com", "bob@example.com"]),
            ({"role": "super_admin"}, ["dave@example.com", "root@example.com"]),
            ({"status": "active", "role": "pm"}, ["alice@example.com", "erin@example.com"]),
            ({"q": "smith"}, ["alice@example.com", "carol@example.com"]),
            ({"q": "alice smith"}, ["alice@example.com"]),
            ({"q": "INV.M"}, ["inv.mid@example.com"]),
            ({"q": "nobody"}, []),
            ({"q": "", "cursor": ""}, None),  # a blank search or cursor: everything, from the start
        ],
    )
    def test_filters_and_search(
        self, super_admin: SignedInClient, roster: dict[str, Any], params: dict[str, str], expected: list[str] | None
    ) -> None:
        response = super_admin.get(BASE, params)
        assert response.status_code == 200, response.content
        if expected is None:
            assert len(response.json()["results"]) == 9
        else:
            assert _keys(response.json()["results"]) == expected
        assert response.json()["counts"] == {"pending": 2, "active": 5, "inactive": 1}

    def test_an_invitation_past_its_expiry_is_listed_as_expired(
        self, super_admin: SignedInClient, roster: dict[str, Any]
    ) -> None:
        stale = roster["invitations"][0]
        InternalInvitation.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert _keys(super_admin.get(BASE, {"status": "expired"}).json()["results"]) == [
            "inv.new@example.com",
            "inv.expired@example.com",
        ]
        [entry] = [
            r for r in super_admin.get(BASE, {"status": "expired"}).json()["results"] if r["email"] == stale.email
        ]
        assert entry["status"] == "expired"

    @pytest.mark.parametrize("page_size", [1, 2, 4])
    def test_cursor_pagination_walks_forward_and_back(
        self, super_admin: SignedInClient, roster: dict[str, Any], page_size: int
    ) -> None:
        everything = _keys(super_admin.get(BASE).json()["results"])
        pages: list[list[str]] = []
        url: str | None = f"http://testserver{BASE}?page_size={page_size}"
        previous_links: list[str | None] = []
        while url is not None:
            body = super_admin.get(url).json()
            pages.append(_keys(body["results"]))
            previous_links.append(body["previous"])
            assert len(body["results"]) <= page_size
            url = body["next"]
            if url is not None:
                query = parse_qs(urlsplit(url).query)
                assert query["page_size"] == [str(page_size)]  # other parameters are kept
        assert [key for page in pages for key in page] == everything
        assert all(len(page) == page_size for page in pages[:-1])
        assert previous_links[0] is None
        # Back from the last page, page by page, to the first.
        url = previous_links[-1]
        back: list[list[str]] = [pages[-1]]
        while url is not None:
            body = super_admin.get(url).json()
            back.append(_keys(body["results"]))
            url = body["previous"]
        assert back[::-1] == pages

    def test_pagination_keeps_the_filters(self, super_admin: SignedInClient, roster: dict[str, Any]) -> None:
        first = super_admin.get(BASE, {"status": "active", "page_size": "2"}).json()
        assert _keys(first["results"]) == ["alice@example.com", "bob@example.com"]
        second = super_admin.get(first["next"]).json()
        assert _keys(second["results"]) == ["dave@example.com", "erin@example.com"]
        third = super_admin.get(second["next"]).json()
        assert (_keys(third["results"]), third["next"]) == (["root@example.com"], None)
        assert _keys(super_admin.get(third["previous"]).json()["results"]) == ["dave@example.com", "erin@example.com"]

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"status": "bogus"}, "invalid_filter"),
            ({"status": "queued"}, "invalid_filter"),  # "accepted" and "revoked" are filters now
            ({"role": "member"}, "invalid_filter"),
            ({"role": "root"}, "invalid_filter"),
            ({"cursor": "garbage"}, "invalid_cursor"),
            ({"cursor": _cursor("user", "a", -1, 0)}, "invalid_cursor"),
            ({"cursor": _cursor("user", "a", 1, 2)}, "invalid_cursor"),
            ({"cursor": _cursor("invitation", "yesterday", 1, 0)}, "invalid_cursor"),
            ({"cursor": _cursor("user", "\x00", 1, 0)}, "invalid_cursor"),  # PostgreSQL refuses NUL in text
            ({"cursor": _cursor("user", "\ud800", 1, 0)}, "invalid_cursor"),  # not encodable as UTF-8
            ({"status": ""}, "invalid_filter"),
            ({"status": " pending"}, "invalid_filter"),
            ({"role": "PM"}, "invalid_filter"),
            ({"cursor": "not a cursor!"}, "invalid_cursor"),
            ({"cursor": "A" * 1001}, "invalid_cursor"),
            ({"page_size": "0"}, "invalid"),
            ({"page_size": "050"}, "invalid"),
            ({"page_size": "5.0"}, "invalid"),
            ({"page_size": " 5"}, "invalid"),
            ({"page_size": ""}, "invalid"),
            ({"page_size": "9" * 400}, "invalid"),
            ({"page_size": "201"}, "invalid"),
            ({"page_size": "ten"}, "invalid"),
            ({"q": "a\x00b"}, "invalid"),
            ({"q": "x" * 101}, "invalid"),
        ],
    )
    def test_invalid_query_parameters(
        self, super_admin: SignedInClient, roster: dict[str, Any], params: dict[str, str], code: str
    ) -> None:
        assert_error(super_admin.get(BASE, params), 404 if code == "invalid_cursor" else 400, code)

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ("status=pending&status=bogus", "invalid_filter"),
            ("status=bogus&status=pending", "invalid_filter"),
            ("page_size=x&page_size=5", "invalid"),
            ("cursor=!!&cursor=", "invalid_cursor"),
        ],
    )
    def test_every_value_of_a_repeated_parameter_is_checked(
        self, super_admin: SignedInClient, roster: dict[str, Any], query: str, code: str
    ) -> None:
        assert_error(super_admin.get(f"{BASE}?{query}"), 404 if code == "invalid_cursor" else 400, code)

    def test_the_last_value_of_a_repeated_parameter_counts(
        self, super_admin: SignedInClient, roster: dict[str, Any]
    ) -> None:
        body = super_admin.get(f"{BASE}?status=pending&status=inactive&page_size=1&page_size=5").json()
        assert _keys(body["results"]) == ["carol@example.com"]

    def test_page_size_bounds(self, super_admin: SignedInClient, roster: dict[str, Any]) -> None:
        assert len(super_admin.get(BASE, {"page_size": 1}).json()["results"]) == 1
        assert len(super_admin.get(BASE, {"page_size": 200}).json()["results"]) == 9

    def test_unknown_query_parameters_are_ignored(self, super_admin: SignedInClient, roster: dict[str, Any]) -> None:
        assert len(super_admin.get(BASE, {"page": "3", "utm": "x"}).json()["results"]) == 9


# --------------------------------------------------------------------------- rate limits
class TestRateLimits:
    def test_invites_are_limited_per_user(
        self, settings: Any, admin: SignedInClient, super_admin: SignedInClient
    ) -> None:
        settings.INTERNAL_USERS_API_INVITE_RATE = "2/h"
        assert invite(admin, "a1@example.com").status_code == 201
        assert invite(admin, "a2@example.com").status_code == 201
        response = invite(admin, "a3@example.com")
        body = assert_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) > 0
        assert body["extra"]["retry_after"] == int(response["Retry-After"])
        assert invite(super_admin, "a3@example.com").status_code == 201  # someone else's counter

    def test_actions_share_one_per_user_limit(
        self, settings: Any, admin: SignedInClient, staff_member: ClerkSession, clerk_gateway: Emulator
    ) -> None:
        settings.INTERNAL_USERS_API_ACTION_RATE = "2/h"
        clerk_id = staff_member.clerk_user.id
        assert admin.post(user_action(clerk_id, "deactivate")).status_code == 200
        assert admin.post(user_action(clerk_id, "reactivate")).status_code == 200
        with no_clerk_calls(clerk_gateway):
            assert_error(admin.post(user_action(clerk_id, "deactivate")), 429, "rate_limited")
        assert admin.get(BASE).status_code == 200  # reading is not limited

    def test_resends_are_limited_per_user(self, settings: Any, admin: SignedInClient, owner: User) -> None:
        settings.INTERNAL_USERS_API_RESEND_RATE = "1/h"
        invitation = make_invitation(owner, "r@example.com")
        assert admin.post(invitation_action(invitation.pk, "resend")).status_code == 200
        assert_error(admin.post(invitation_action(invitation.pk, "resend")), 429, "rate_limited")

    def test_one_global_budget_of_clerk_invitations_for_invites_and_resends(
        self, settings: Any, admin: SignedInClient, super_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        settings.INTERNAL_USERS_GLOBAL_INVITATIONS_RATE = "2/h"
        created = invite(admin, "g1@example.com").json()
        assert_error(invite(admin, "admin@example.com"), 409, "already_staff")  # refused before Clerk: given back
        assert super_admin.post(invitation_action(created["invitation_id"], "resend")).status_code == 200
        before = create_invitation_calls(clerk_gateway)
        with no_clerk_calls(clerk_gateway):
            body = assert_error(invite(super_admin, "g2@example.com"), 429, "rate_limited")
        assert body["extra"]["limit"] == "global_staff_invitations"
        assert_error(super_admin.post(invitation_action(created["invitation_id"], "resend")), 429, "rate_limited")
        assert create_invitation_calls(clerk_gateway) == before
        assert not InternalInvitation.objects.filter(email="g2@example.com").exists()

    def test_the_default_budget_stays_below_clerks_hourly_cap(self, settings: Any) -> None:
        from core.ratelimits import split_rate

        count, period = split_rate(settings.INTERNAL_USERS_GLOBAL_INVITATIONS_RATE)
        assert count * 3600 / period < 100  # Clerk: 100 application invitations per hour and instance

    def test_requests_refused_by_the_role_check_do_not_count(
        self, settings: Any, signed_in: Callable[..., SignedInClient]
    ) -> None:
        settings.INTERNAL_USERS_API_INVITE_RATE = "1/h"
        pm = signed_in(Role.PM)
        for _ in range(3):
            assert invite(pm, "p@example.com").status_code == 403
        User.objects.filter(pk=user_of(pm).pk).update(role=Role.ADMIN)  # takes effect on the next request
        assert invite(pm, "p@example.com").status_code == 201
        assert invite(pm, "q@example.com").status_code == 429
