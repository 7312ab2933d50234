"""Edge cases of the accounts app, against the in-thread Clerk emulator: odd answers from Clerk, races the gateway
and the services settle, webhook events that carry too little, drift the reconcilers repair (or refuse to), the
admin login redirect and the admin's filters, and a demo whose seeding cannot proceed."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import authentication, clerk, role_claims, sync, webhooks
from accounts.authentication import InvalidSessionToken, authenticate_request
from accounts.clerk_types import ClerkMembership, ClerkUser
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.permissions import require_role
from accounts.roles import Role, WorkspaceRole
from accounts.services import (
    membership_delete_from_clerk,
    staff_user_create,
    user_ensure,
    user_upsert_from_clerk,
    workspace_create,
    workspace_member_ensure,
)
from accounts.webhook_inbox import store_event
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.exceptions import InvalidInput, NotAuthenticated, PermissionDenied, UpstreamError
from core.models import WebhookEvent
from core.reconcile import clerk_sync
from tests.accounts.factories import UserFactory
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver, new_msg_id, post, signed_headers
from tests.conftest import ClerkSession

pytestmark = pytest.mark.django_db

# A Clerk ``updated_at`` (ms) far in the future: local data newer than anything Clerk will send.
FUTURE_MS = 10**15


def requests_to(em: Emulator, method: str, path: str) -> int:
    return sum(1 for m, p, _ in list(em.request_log) if m == method and p == path)


def bearer_request(token: str) -> Any:
    return RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def backend_api(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    """Raw Backend API calls, for what the gateway does not offer (phone-only users, several addresses)."""
    with httpx.Client(
        base_url=clerk_emulator_server.api_url,
        headers={"Authorization": f"Bearer {clerk_emulator.secret_key}"},
        timeout=10,
    ) as http:
        yield http


# --------------------------------------------------------------------------- the gateway's odd answers
class TestGatewayAnswers:
    def test_a_token_answer_without_a_token_is_unavailable(self, clerk_emulator: Emulator) -> None:
        session = clerk.create_session(clerk.create_user(email="ann@example.com").id)
        clerk_emulator.faults.append(
            Fault(method="POST", path=f"/v1/sessions/{session.id}/tokens", status=200, remaining=1)
        )
        with pytest.raises(clerk.ClerkUnavailable, match="no session token") as caught:
            clerk.create_session_token(session.id)
        assert caught.value.retryable is False

    def test_a_jwks_answer_without_keys_is_unavailable(self, clerk_emulator: Emulator) -> None:
        clerk_emulator.faults.append(Fault(method="GET", path="/v1/jwks", status=200, remaining=1))
        with pytest.raises(clerk.ClerkUnavailable, match="no signing keys") as caught:
            clerk.get_jwks()
        assert caught.value.retryable is False
        assert requests_to(clerk_emulator, "GET", "/v1/jwks") == 1  # not retried

    def test_a_programming_error_is_not_disguised_as_an_outage(self, clerk_emulator: Emulator) -> None:
        with pytest.raises(TypeError):
            clerk._call("users.get", clerk.client().users.get, idempotent=True, user_id="user_x", no_such_argument=1)
        assert requests_to(clerk_emulator, "GET", "/v1/users/user_x") == 0


class TestClerkUserParsing:
    def test_the_primary_email_and_phone_win_over_later_ones(self, backend_api: httpx.Client) -> None:
        created = backend_api.post(
            "/users",
            json={
                "email_address": ["first@example.com", "second@example.com"],
                "phone_number": ["+15555550100", "+15555550101"],
            },
        ).json()
        user = clerk.get_user(created["id"])
        primary_email = next(
            a["email_address"] for a in created["email_addresses"] if a["id"] == created["primary_email_address_id"]
        )
        primary_phone = next(
            n["phone_number"] for n in created["phone_numbers"] if n["id"] == created["primary_phone_number_id"]
        )
        assert user.email == primary_email == "first@example.com"
        assert user.phone_number == primary_phone == "+15555550100"

    def test_non_primary_and_malformed_entries_after_the_primary_are_skipped(self) -> None:
        user = ClerkUser.from_json(
            {
                "id": "user_1",
                "primary_email_address_id": "idn_1",
                "email_addresses": [
                    {"id": "idn_1", "email_address": "Main@Example.com", "verification": {"strategy": "ticket"}},
                    {"id": "idn_2", "email_address": "other@example.com", "verification": {"strategy": "email_code"}},
                    "garbage",
                ],
                "primary_phone_number_id": "idn_3",
                "phone_numbers": [
                    {"id": "idn_3", "phone_number": "+15555550100", "verification": {"status": "verified"}},
                    {"id": "idn_4", "phone_number": "+15555550199", "verification": {"status": "unverified"}},
                    7,
                ],
            }
        )
        assert (user.email, user.email_verified_by_ticket) == ("main@example.com", True)
        assert (user.phone_number, user.phone_verified) == ("+15555550100", True)


# --------------------------------------------------------------------------- session verification
class TestSessionVerification:
    def test_a_private_key_in_the_jwks_is_never_used(self) -> None:
        def jwk(key: Any, kid: str) -> dict[str, Any]:
            data: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
            return {**data, "kid": kid, "use": "sig", "alg": "RS256"}

        leaked = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        keys = authentication._parse_jwks({"keys": [jwk(leaked, "ins_private"), jwk(other, "ins_public")]})
        assert set(keys) == {"ins_public"}

    def test_concurrent_first_requests_fetch_the_jwks_once(
        self, settings: Any, clerk_emulator: Emulator, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        settings.CLERK_JWT_KEY = ""  # verify through the JWKS (the setting change forgets the keys)
        tokens = [clerk_session(mirror=False).token for _ in range(2)]
        # The first fetch is slow: the second request waits for it instead of fetching again.
        slow = Fault(method="GET", path="/v1/jwks", delay_s=0.5, remaining=1)
        clerk_emulator.faults.append(slow)
        claims: list[str] = []
        errors: list[BaseException] = []

        def verify(token: str) -> None:
            try:
                claims.append(authentication.verify_session_token(token)["sub"])
            except BaseException as exc:  # pragma: no cover - reported by the assertion below
                errors.append(exc)

        first = threading.Thread(target=verify, args=(tokens[0],))
        first.start()
        deadline = time.monotonic() + 5
        while not slow.hits:  # the first request is now inside the slow fetch
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = threading.Thread(target=verify, args=(tokens[1],))
        second.start()
        first.join(10)
        second.join(10)
        assert errors == []
        assert len(claims) == 2
        assert requests_to(clerk_emulator, "GET", "/v1/jwks") == 1

    def test_the_keys_are_still_fetched_when_the_shared_cache_is_down(
        self, settings: Any, clerk_emulator: Emulator, clerk_session: Callable[..., ClerkSession], caplog: Any
    ) -> None:
        session = clerk_session()
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
        }
        caplog.set_level(logging.WARNING, logger="accounts.authentication")
        settings.CLERK_JWT_KEY = ""  # forgets the keys: the shared copy cannot be deleted either
        result = authenticate_request(bearer_request(session.token))
        assert result is not None
        assert result[0] == session.user
        messages = [record.getMessage() for record in caplog.records]
        assert any(message.startswith("shared JWKS copy not deleted") for message in messages)
        assert any(message.startswith("shared JWKS copy unreadable") for message in messages)
        assert any(message.startswith("shared JWKS copy not stored") for message in messages)
        assert requests_to(clerk_emulator, "GET", "/v1/jwks") == 1

    def test_a_first_seen_user_older_than_the_local_row_for_their_email_is_refused(
        self, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        session = clerk_session(mirror=False, email="taken@example.com")
        newer: User = UserFactory.create(email="taken@example.com", clerk_updated_at=FUTURE_MS)
        with pytest.raises(InvalidSessionToken) as caught:
            authenticate_request(bearer_request(session.token))
        assert caught.value.reason == "user_stale"
        response = APIClient().get("/api/workspaces/1/members/", HTTP_AUTHORIZATION=f"Bearer {session.token}")
        assert response.status_code == 401
        assert response.json() == {
            "code": "not_authenticated",
            "message": "This account is not available.",
            "extra": {},
        }
        newer.refresh_from_db()
        assert newer.clerk_user_id != session.clerk_user.id  # the newer row is left as it was

    def test_the_api_schema_documents_the_clerk_session_scheme(self) -> None:
        response = APIClient().get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        scheme = response.json()["components"]["securitySchemes"]["clerkSession"]
        assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
        assert "__session" in scheme["description"]


# --------------------------------------------------------------------------- webhooks: registry, helpers, endpoint
class TestWebhookRegistry:
    def test_registering_a_handler_twice_runs_it_once(self) -> None:
        calls: list[str] = []

        def handler(event: WebhookEvent) -> str | None:
            calls.append(event.svix_id)
            return None

        webhooks.register("test.twice", handler)
        webhooks.register("test.twice", handler)
        try:
            assert webhooks.handlers_for("test.twice") == (handler,)
            event = store_event(svix_id=new_msg_id(), payload={"type": "test.twice", "data": {}})
            assert event is not None
            event.refresh_from_db()
            assert event.status == WebhookEvent.Status.APPLIED
            assert calls == [event.svix_id]
        finally:
            webhooks.unregister("test.twice", handler)
        assert webhooks.handlers_for("test.twice") == ()

    def test_no_ids_means_no_lock_and_no_tombstone_query(self, django_assert_num_queries: Any) -> None:
        with django_assert_num_queries(0):
            webhooks.lock_clerk_objects("", "")
            deleted = webhooks.tombstones("", "")
        assert not deleted.rule_out("")
        assert not deleted.rule_out("user_1")


class TestWebhookEndpoint:
    @pytest.fixture(autouse=True)
    def signing_secret(self, settings: Any) -> None:
        settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET

    def test_an_unreadable_content_length_reads_as_empty_and_fails_verification(self, client: Client) -> None:
        body = '{"type": "user.created", "data": {}}'
        response = client.post(
            webhooks_url(), data=body, content_type="application/json", headers=signed_headers(body), CONTENT_LENGTH="x"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        assert not WebhookEvent.objects.exists()

    def test_an_overlong_svix_id_is_refused(self, client: Client) -> None:
        body = '{"type": "user.created", "data": {}}'
        response = post(client, body, signed_headers(body, msg_id="msg_" + "x" * 300))
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_payload"
        assert response.json()["message"] == "The webhook id is too long."
        assert not WebhookEvent.objects.exists()


def webhooks_url() -> str:
    return reverse("clerk-webhook")


# --------------------------------------------------------------------------- webhook handlers: thin or late events
class TestWebhookHandlers:
    @pytest.fixture(autouse=True)
    def signing_secret(self, settings: Any) -> None:
        settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET

    @pytest.fixture
    def driver(self, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
        driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
        yield driver
        driver.close()

    @pytest.mark.parametrize(
        ("event_type", "note"),
        [
            ("user.created", "no user id; ignored"),
            ("organization.updated", "no organization id; ignored"),
            ("organizationMembership.created", "membership without organization or user id; ignored"),
        ],
    )
    def test_an_event_without_ids_is_acknowledged_with_a_note(self, client: Client, event_type: str, note: str) -> None:
        response = deliver(client, {"type": event_type, "object": "event", "data": {"object": "thing"}})
        assert response.status_code == 200
        assert response.json()["status"] == "received"
        assert WebhookEvent.objects.get().note == note
        assert not User.objects.exists()
        assert not Workspace.objects.exists()

    def test_a_late_membership_of_a_deleted_organization_is_ignored(self, client: Client, driver: ClerkDriver) -> None:
        user = driver.create_user("ann@example.com")
        org = driver.create_organization("Acme")
        driver.add_member(org["id"], user["id"])
        events = driver.events()
        membership_created = next(e for e in events if e["type"] == "organizationMembership.created")
        for event in events:
            if event["type"] in ("user.created", "organization.created"):
                assert deliver(client, event).status_code == 200
        driver.call("DELETE", f"/organizations/{org['id']}")
        assert deliver(client, driver.event("organization.deleted")).status_code == 200

        response = deliver(client, membership_created)

        assert response.status_code == 200
        stored = WebhookEvent.objects.get(svix_id=response.json()["svix_id"])
        assert (
            stored.note == f"organization or user of membership {membership_created['data']['id']} was deleted; ignored"
        )
        assert not WorkspaceMembership.objects.exists()
        assert not Workspace.objects.exists()

    def test_a_membership_of_a_user_whose_email_has_newer_local_data_is_ignored(
        self, client: Client, driver: ClerkDriver
    ) -> None:
        newer: User = UserFactory.create(email="ann@example.com", clerk_updated_at=FUTURE_MS)
        user = driver.create_user("ann@example.com")
        org = driver.create_organization("Acme")
        driver.add_member(org["id"], user["id"])
        events = {event["type"]: event for event in driver.events()}
        assert deliver(client, events["organization.created"]).status_code == 200

        response = deliver(client, events["organizationMembership.created"])

        assert response.status_code == 200
        stored = WebhookEvent.objects.get(svix_id=response.json()["svix_id"])
        assert stored.note == f"user {user['id']} no longer exists in Clerk; ignored"
        assert not WorkspaceMembership.objects.exists()
        newer.refresh_from_db()
        assert newer.clerk_user_id != user["id"]


# --------------------------------------------------------------------------- services
class TestServices:
    def test_a_ban_seen_twice_keeps_the_first_disabled_time(self, clerk_session: Callable[..., ClerkSession]) -> None:
        session = clerk_session()
        banned = clerk.ban_user(session.clerk_user.id)
        first = user_upsert_from_clerk(clerk_user=banned).disabled_at
        assert first is not None
        again = user_upsert_from_clerk(clerk_user=clerk.get_user(session.clerk_user.id))
        assert again.disabled_at == first
        assert not again.is_active

    def test_a_membership_deletion_without_a_clerk_id_removes_the_row(
        self, clerk_workspace: Callable[..., Workspace], clerk_session: Callable[..., ClerkSession]
    ) -> None:
        workspace = clerk_workspace("Acme")
        session = clerk_session(workspace=workspace)
        assert WorkspaceMembership.objects.filter(workspace=workspace).count() == 1
        deletion = ClerkMembership.from_json(
            {
                "organization": {"id": workspace.clerk_organization_id},
                "public_user_data": {"user_id": session.clerk_user.id},
            }
        )
        assert membership_delete_from_clerk(membership=deletion) is True
        assert not WorkspaceMembership.objects.exists()
        assert membership_delete_from_clerk(membership=deletion) is False

    def test_a_clerk_user_created_concurrently_is_adopted(self, clerk_emulator: Emulator) -> None:
        # Our create is held up in Clerk while someone else creates the same email: Clerk refuses ours as a
        # duplicate, and the user made by the other caller is the one mirrored.
        slow = Fault(method="POST", path="/v1/users", delay_s=2.0, remaining=1)
        clerk_emulator.faults.append(slow)
        theirs: list[ClerkUser] = []

        def create_meanwhile() -> None:
            deadline = time.monotonic() + 5
            while not slow.hits and time.monotonic() < deadline:
                time.sleep(0.01)
            theirs.append(clerk.create_user(email="race@example.com", password="their-password-1"))

        other = threading.Thread(target=create_meanwhile)
        other.start()
        user, created = user_ensure(email="race@example.com", password="our-password-12")
        other.join(10)
        assert created is False
        assert [u.id for u in theirs] == [user.clerk_user_id]
        assert len(clerk.list_users(email_addresses=["race@example.com"])) == 1

    def test_only_staff_roles_can_be_given(self, clerk_emulator: Emulator) -> None:
        with pytest.raises(InvalidInput, match="not a staff role") as caught:
            staff_user_create(email="a@example.com", password="long-password-1", role=Role.MEMBER)
        assert caught.value.code == "invalid_role"
        assert not clerk_emulator.users
        assert not User.objects.exists()

    def test_clerk_refusing_a_membership_is_passed_on(
        self,
        clerk_emulator: Emulator,
        clerk_workspace: Callable[..., Workspace],
        clerk_session: Callable[..., ClerkSession],
    ) -> None:
        workspace = clerk_workspace("Acme")
        user = clerk_session().user
        assert user is not None
        clerk_emulator.faults.append(
            Fault(
                method="POST", path="/v1/organizations/*", status=403, code="organization_quota_exceeded", remaining=1
            )
        )
        with pytest.raises(clerk.ClerkRejected) as caught:
            workspace_member_ensure(workspace=workspace, user=user, role=WorkspaceRole.MEMBER)
        assert caught.value.clerk_code == "organization_quota_exceeded"
        assert not WorkspaceMembership.objects.exists()

    def test_already_a_member_but_not_listed_is_passed_on(
        self,
        clerk_emulator: Emulator,
        clerk_workspace: Callable[..., Workspace],
        clerk_session: Callable[..., ClerkSession],
    ) -> None:
        workspace = clerk_workspace("Acme")
        user = clerk_session().user
        assert user is not None
        clerk_emulator.faults.append(
            Fault(
                method="POST",
                path="/v1/organizations/*",
                status=400,
                code="already_a_member_in_organization",
                remaining=1,
            )
        )
        with pytest.raises(clerk.ClerkRejected) as caught:
            workspace_member_ensure(workspace=workspace, user=user, role=WorkspaceRole.ADMIN)
        assert caught.value.http_status == 409
        assert not WorkspaceMembership.objects.exists()
        assert clerk.list_organization_memberships(workspace.clerk_organization_id) == []

    def test_a_workspace_whose_owner_cannot_be_added_says_it_was_created(self, clerk_emulator: Emulator) -> None:
        clerk.create_user(email="owner@example.com", password="long-password-1")
        clerk_emulator.faults.append(Fault(method="POST", path="/v1/organizations/*", status=503, remaining=1))
        with pytest.raises(UpstreamError) as caught:
            workspace_create(name="Acme", slug="acme", owner_email="owner@example.com")
        assert caught.value.code == "clerk_unavailable"
        assert "The workspace 'acme' was created, but adding owner@example.com as its admin failed" in (
            caught.value.message
        )
        workspace = Workspace.objects.get(slug="acme")
        assert not workspace.memberships.exists()
        assert clerk.get_organization("acme").id == workspace.clerk_organization_id


# --------------------------------------------------------------------------- reconcilers (clerk_sync)
def drift_kinds(report: Any) -> set[tuple[str, str]]:
    return {(drift.area, drift.kind) for drift in report.drifts}


class TestReconcilers:
    def test_a_staff_role_stripped_of_internal_in_clerk_is_pushed_back(
        self, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        session = clerk_session(Role.PM)
        clerk.update_user_metadata(session.clerk_user.id, public_metadata={"internal": None})
        report = clerk_sync(only=["users"])
        assert drift_kinds(report) == {("users", "role_metadata_differs")}
        assert all(drift.repaired for drift in report.drifts)
        assert clerk.get_user(session.clerk_user.id).public_metadata == {"role": "pm", "internal": True}
        assert clerk_sync(only=["users"]).drifts == []

    def test_a_user_still_in_clerk_is_not_deleted(self, clerk_session: Callable[..., ClerkSession]) -> None:
        session = clerk_session()
        with pytest.raises(RuntimeError, match="exists in Clerk"):
            sync._delete_user_if_gone(session.clerk_user.id)
        assert User.objects.filter(clerk_user_id=session.clerk_user.id).exists()

    def test_a_workspace_deleted_in_clerk_is_removed(self, clerk_workspace: Callable[..., Workspace]) -> None:
        kept = clerk_workspace("Kept")
        gone = clerk_workspace("Gone")
        clerk._call(
            "organizations.delete", clerk.client().organizations.delete, organization_id=gone.clerk_organization_id
        )
        report = clerk_sync(only=["workspaces"])
        assert drift_kinds(report) == {("workspaces", "deleted_in_clerk")}
        assert [drift.clerk_id for drift in report.drifts] == [gone.clerk_organization_id]
        assert all(drift.repaired for drift in report.drifts)
        assert list(Workspace.objects.all()) == [kept]

    def test_a_workspace_still_in_clerk_is_not_deleted(self, clerk_workspace: Callable[..., Workspace]) -> None:
        workspace = clerk_workspace("Acme")
        with pytest.raises(RuntimeError, match="exists in Clerk"):
            sync._delete_workspace_if_gone(workspace.clerk_organization_id)
        assert Workspace.objects.filter(pk=workspace.pk).exists()

    def test_a_membership_of_a_user_never_mirrored_brings_the_user_along(
        self, clerk_workspace: Callable[..., Workspace], clerk_user_factory: Callable[..., ClerkUser]
    ) -> None:
        workspace = clerk_workspace("Acme")
        remote = clerk_user_factory(email="new@example.com")
        clerk.create_organization_membership(workspace.clerk_organization_id, user_id=remote.id, role="org:admin")
        report = clerk_sync(only=["workspaces"])
        assert drift_kinds(report) == {("memberships", "missing_locally")}
        membership = WorkspaceMembership.objects.select_related("user").get(workspace=workspace)
        assert (membership.user.email, membership.role) == ("new@example.com", WorkspaceRole.ADMIN)

    def test_a_dry_run_does_not_look_at_members_of_a_workspace_it_did_not_create(
        self, clerk_user_factory: Callable[..., ClerkUser]
    ) -> None:
        organization = clerk.create_organization(name="Remote", slug="remote")
        member = clerk_user_factory(email="m@example.com")
        clerk.create_organization_membership(organization.id, user_id=member.id, role="org:member")
        report = clerk_sync(dry_run=True, only=["workspaces"])
        assert drift_kinds(report) == {("workspaces", "missing_locally")}
        assert not report.drifts[0].repaired
        assert not Workspace.objects.exists()
        assert not User.objects.exists()


# --------------------------------------------------------------------------- admin login and admin lists
class TestAdmin:
    @pytest.fixture
    def super_admin(self, client: Client, clerk_session: Callable[..., ClerkSession]) -> Client:
        client.cookies["__session"] = clerk_session(Role.SUPER_ADMIN).token
        return client

    def test_an_unsafe_next_is_replaced_by_the_admin_index(self, client: Client) -> None:
        response = client.get(reverse("admin:login"), {"next": "https://evil.example.com/"})
        assert response.status_code == 302
        assert response["Location"] == "/sign-in/?next=%2Fdjango-admin%2F"

    def test_a_signed_in_super_admin_goes_straight_to_next(self, super_admin: Client) -> None:
        response = super_admin.get(reverse("admin:login"), {"next": "/django-admin/accounts/user/"})
        assert response.status_code == 302
        assert response["Location"] == "/django-admin/accounts/user/"

    def test_users_filter_by_status(self, super_admin: Client) -> None:
        UserFactory.create(email="active@example.com")
        UserFactory.create(email="gone@example.com", disabled_at=timezone.now())
        url = reverse("admin:accounts_user_changelist")

        def listed(status: str) -> set[str]:
            response = super_admin.get(url, {"status": status})
            assert response.status_code == 200
            return {user.email for user in response.context["cl"].result_list}

        assert "gone@example.com" not in listed("active")
        assert "active@example.com" in listed("active")
        assert listed("disabled") == {"gone@example.com"}

    def test_workspaces_list_their_member_count(
        self,
        super_admin: Client,
        clerk_workspace: Callable[..., Workspace],
        clerk_session: Callable[..., ClerkSession],
    ) -> None:
        workspace = clerk_workspace("Acme")
        clerk_session(workspace=workspace)
        clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
        response = super_admin.get(reverse("admin:accounts_workspace_changelist"))
        assert response.status_code == 200
        assert '<td class="field-member_count">2</td>' in response.content.decode()


# --------------------------------------------------------------------------- rundemo
def test_rundemo_explains_a_seeding_failure(settings: Any, clerk_emulator_server: EmulatorServer) -> None:
    """A database holding newer data for a demo email (say, the demo run against a real Clerk first) stops the demo
    with Clerk's reason, instead of a traceback."""
    settings.APP_BASE_URL = "http://127.0.0.1:8000"
    settings.CLERK_EMULATOR_EMBEDDED = True
    settings.CLERK_EMULATOR_PORT = 0  # any free port
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    UserFactory.create(email="admin@example.com", clerk_updated_at=FUTURE_MS)
    before = {id(server) for server in _emulator_servers()}
    try:
        with pytest.raises(CommandError, match=r"Seeding the demo failed: .* \(clerk_data_stale\)"):
            call_command("rundemo", "--no-serve")
        assert User.objects.get(email="super@example.com").role == Role.SUPER_ADMIN  # seeded before the failure
    finally:
        for server in _emulator_servers():  # the command leaves its emulator running when it fails
            if id(server) not in before and server is not clerk_emulator_server:
                server.stop()


def _emulator_servers() -> list[EmulatorServer]:
    # type(), not isinstance(): gc also lists weak proxies, which isinstance() would dereference.
    return [obj for obj in gc.get_objects() if type(obj) is EmulatorServer]


# --------------------------------------------------------------------------- the gateway's read retry budget
def test_a_slow_failing_read_stops_retrying_when_the_budget_is_spent(
    clerk_emulator: Emulator, clerk_user_factory: Callable[..., ClerkUser]
) -> None:
    ann = clerk_user_factory(email="ann@example.com")
    # Each attempt takes 0.8 s and fails: after two the next pause would end past READ_RETRY_BUDGET_S (2 s).
    clerk_emulator.faults.append(Fault(method="GET", path=f"/v1/users/{ann.id}", status=503, delay_s=0.8, remaining=4))
    started = time.monotonic()
    with pytest.raises(clerk.ClerkUnavailable):
        clerk.get_user(ann.id)
    assert time.monotonic() - started < clerk.READ_RETRY_BUDGET_S + 1
    assert requests_to(clerk_emulator, "GET", f"/v1/users/{ann.id}") == 2  # fewer than 1 + len(READ_RETRY_DELAYS_S)


# --------------------------------------------------------------------------- models, role claims, view guards
def test_create_superuser_makes_an_internal_super_admin_without_a_password() -> None:
    user = User.objects.create_superuser(" Root@Example.com ", "user_root")
    assert (user.email, user.clerk_user_id, user.role, user.is_internal) == (
        "root@example.com",
        "user_root",
        Role.SUPER_ADMIN,
        True,
    )
    assert user.is_superuser
    assert user.is_staff
    assert not user.has_usable_password()


def test_a_membership_reads_as_who_where_and_as_what() -> None:
    membership = WorkspaceMembership.objects.create(
        workspace=Workspace.objects.create(clerk_organization_id="org_1", name="Acme", slug="acme"),
        user=UserFactory.create(email="ann@example.com"),
        role=WorkspaceRole.ADMIN,
    )
    assert str(membership) == f"{membership.user} in {membership.workspace} (admin)"
    assert "ann@example.com" in str(membership)


def test_a_role_claim_registered_twice_is_asked_once() -> None:
    asked: list[str] = []

    def claim(*, user: User, clerk_user: ClerkUser, role: Role) -> bool:
        asked.append(str(role))
        return False

    role_claims.register(claim)
    role_claims.register(claim)
    try:
        user = UserFactory.create()
        assert role_claims.accepted(user=user, clerk_user=ClerkUser.from_json({"id": "user_1"}), role=Role.PM) is False
        assert asked == ["pm"]
    finally:
        role_claims._claims.remove(claim)
    assert claim not in role_claims._claims


def test_require_role_guards_a_view() -> None:
    @require_role(Role.ADMIN)
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def request_as(user: Any) -> HttpRequest:
        request = RequestFactory().get("/")
        request.user = user
        return request

    with pytest.raises(NotAuthenticated):
        view(request_as(AnonymousUser()))
    with pytest.raises(PermissionDenied):
        view(request_as(UserFactory.create(role=Role.MEMBER)))
    assert view(request_as(UserFactory.create(role=Role.ADMIN, is_internal=True))).content == b"ok"
