"""The Clerk gateway (accounts/clerk.py) against the in-thread emulator, through the official SDK over HTTP.

Covers the error mapping (400/404/409/422/429/5xx, timeout, connection refused, unreadable responses), the retry
policy (reads retry briefly and within a budget; writes are sent exactly once, even after a timeout), the client's
configuration, and the typed results of each function.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import httpx
import pytest
from clerk_backend_api import models
from django.core.exceptions import ImproperlyConfigured

from accounts import clerk
from accounts.clerk_types import ClerkUser
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.api import exception_handler
from core.exceptions import RateLimited, UpstreamUnavailable

pytestmark = pytest.mark.django_db

TIMEOUT_MS = 300


def calls(em: Emulator, method: str, path: str) -> int:
    return sum(1 for m, p, _ in em.request_log if m == method and p == path)


def wait_for_log(em: Emulator, method: str, path: str, count: int, *, within_s: float = 5.0) -> None:
    """The emulator logs a request after answering it; wait for a slow (faulted) one to finish."""
    deadline = time.monotonic() + within_s
    while calls(em, method, path) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ann(clerk_gateway: Emulator) -> ClerkUser:
    return clerk.create_user(email="ann@example.com", first_name="Ann", last_name="Lee")


# --------------------------------------------------------------------------- configuration
class TestClient:
    def test_one_cached_client_with_explicit_timeout_and_no_sdk_retries(self, settings: Any) -> None:
        client = clerk.client()
        assert clerk.client() is client
        config = client.sdk_configuration
        assert config.timeout_ms == settings.CLERK_TIMEOUT_MS
        assert config.server_url == settings.CLERK_API_URL
        assert config.retry_config is clerk.NO_RETRIES
        assert config.retry_config.strategy == "none"
        assert config.retry_config.retry_connection_errors is False

    def test_a_changed_clerk_setting_rebuilds_the_client(self, settings: Any) -> None:
        before = clerk.client()
        settings.CLERK_TIMEOUT_MS = 1234
        after = clerk.client()
        assert after is not before
        assert after.sdk_configuration.timeout_ms == 1234

    def test_missing_secret_key_is_a_clear_configuration_error(self, settings: Any) -> None:
        settings.CLERK_SECRET_KEY = ""
        with pytest.raises(ImproperlyConfigured, match="CLERK_SECRET_KEY"):
            clerk.get_user("user_x")

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8787", "ftp://example.com/v1", "api.clerk.com/v1"])
    def test_api_url_must_be_the_backend_api_base(self, settings: Any, url: str) -> None:
        settings.CLERK_API_URL = url
        with pytest.raises(ImproperlyConfigured, match="CLERK_API_URL"):
            clerk.client()

    def test_empty_api_url_means_clerks_own(self, settings: Any) -> None:
        settings.CLERK_API_URL = ""
        assert clerk.client().sdk_configuration.get_server_details()[0] == "https://api.clerk.com/v1"


# --------------------------------------------------------------------------- error mapping
class TestErrorMapping:
    def test_400_is_rejected_with_clerks_code_and_message(self, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(
            Fault("POST", "/v1/users", 1, status=400, code="request_body_invalid", message="Body is wrong")
        )
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.create_user(email="bob@example.com")
        error = caught.value
        assert (error.status, error.http_status, error.clerk_code) == (400, 400, "request_body_invalid")
        assert error.message == "Body is wrong"
        assert error.extra == {"clerk_code": "request_body_invalid"}
        assert isinstance(error.__cause__, models.ClerkErrors)

    def test_an_existing_identifier_is_a_conflict(self, ann: ClerkUser) -> None:
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.create_user(email="ann@example.com")
        assert (caught.value.status, caught.value.http_status) == (422, 409)
        assert caught.value.clerk_code == "form_identifier_exists"

    def test_already_a_member_is_a_conflict(self, ann: ClerkUser) -> None:
        org = clerk.create_organization(name="Acme", created_by=ann.id)
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.create_organization_membership(org.id, user_id=ann.id, role="org:member")
        assert caught.value.http_status == 409
        assert caught.value.clerk_code == "already_a_member_in_organization"

    def test_422_is_rejected_as_unprocessable(self, clerk_gateway: Emulator) -> None:
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.create_user(email="not-an-email")
        assert (caught.value.status, caught.value.http_status) == (422, 422)
        assert caught.value.clerk_code.startswith("form_param")

    def test_injected_422_on_an_undeclared_status_is_still_rejected(self, clerk_gateway: Emulator) -> None:
        # GET /invitations declares no 4xx: the SDK raises SDKError, which the gateway maps the same way.
        clerk_gateway.faults.append(Fault("GET", "/v1/invitations", 1, status=422, code="form_param_value_invalid"))
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.list_invitations()
        assert (caught.value.status, caught.value.http_status) == (422, 422)
        assert caught.value.clerk_code == "form_param_value_invalid"
        assert isinstance(caught.value.__cause__, models.SDKError)

    def test_404_is_not_found(self, clerk_gateway: Emulator) -> None:
        with pytest.raises(clerk.ClerkNotFound) as caught:
            clerk.get_user("user_does_not_exist")
        assert (caught.value.status, caught.value.http_status, caught.value.clerk_code) == (
            404,
            404,
            "resource_not_found",
        )

    def test_429_is_rate_limited_with_retry_after_and_not_retried(self, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(Fault("GET", "/v1/users", 5, status=429, retry_after=17))
        started = time.monotonic()
        with pytest.raises(clerk.ClerkRateLimited) as caught:
            clerk.list_users()
        assert time.monotonic() - started < 1.0
        assert calls(clerk_gateway, "GET", "/v1/users") == 1
        error = caught.value
        assert isinstance(error, RateLimited)
        assert (error.status, error.http_status, error.retry_after) == (429, 429, 17)

    def test_rate_limited_renders_as_our_429_with_retry_after(self, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/invitations", 1, status=429, retry_after=42))
        with pytest.raises(clerk.ClerkRateLimited) as caught:
            clerk.create_invitation(email="new@example.com", notify=False)
        response = exception_handler(caught.value, {})
        assert response is not None
        assert response.status_code == 429
        assert response["Retry-After"] == "42"
        assert response.data["code"] == "rate_limited"

    def test_real_hourly_cap_is_rate_limited(self, clerk_gateway: Emulator) -> None:
        clerk_gateway.caps_enabled = True
        clerk_gateway.caps["invitations.create"].limit = 1
        clerk.create_invitation(email="one@example.com", notify=False)
        with pytest.raises(clerk.ClerkRateLimited) as caught:
            clerk.create_invitation(email="two@example.com", notify=False)
        assert 1 <= caught.value.retry_after <= 3600

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_5xx_on_a_write_is_unavailable_and_sent_once(self, clerk_gateway: Emulator, status: int) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/users", 5, status=status))
        with pytest.raises(clerk.ClerkUnavailable) as caught:
            clerk.create_user(email="bob@example.com")
        error = caught.value
        assert isinstance(error, UpstreamUnavailable)
        assert (error.status, error.http_status, error.code) == (status, 503, "clerk_unavailable")
        assert calls(clerk_gateway, "POST", "/v1/users") == 1

    def test_5xx_renders_as_our_503(self, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations", 1, status=500))
        with pytest.raises(clerk.ClerkUnavailable) as caught:
            clerk.create_organization(name="Acme")
        response = exception_handler(caught.value, {})
        assert response is not None
        assert (response.status_code, response.data["code"]) == (503, "clerk_unavailable")

    def test_a_refused_secret_key_is_a_server_side_error(self, settings: Any, clerk_gateway: Emulator) -> None:
        settings.CLERK_SECRET_KEY = "sk_test_wrong"
        with pytest.raises(clerk.ClerkError) as caught:
            clerk.get_user("user_x")
        assert type(caught.value) is clerk.ClerkError
        assert (caught.value.status, caught.value.http_status) == (401, 502)

    def test_unreadable_and_missing_responses_are_unavailable(self) -> None:
        response = httpx.Response(200, text="{}", request=httpx.Request("GET", "http://clerk.test/v1/users/u"))
        invalid = models.ResponseValidationError("bad shape", response, ValueError("bad"), "{}")
        translated = clerk.translate(invalid)
        assert isinstance(translated, clerk.ClerkUnavailable)
        assert translated.retryable is False
        assert isinstance(clerk.translate(models.NoResponseError()), clerk.ClerkUnavailable)
        assert clerk.translate(ValueError("a bug")) is None


# --------------------------------------------------------------------------- timeouts, refused connections, retries
class TestTransport:
    def test_write_timeout_is_unavailable_within_budget_and_never_resent(
        self, settings: Any, clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer
    ) -> None:
        settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
        delay_s = TIMEOUT_MS / 1000 + 1
        clerk_gateway.faults.append(Fault("POST", "/v1/users", 1, delay_s=delay_s))
        started = time.monotonic()
        with pytest.raises(clerk.ClerkUnavailable) as caught:
            clerk.create_user(email="slow@example.com")
        elapsed = time.monotonic() - started
        assert elapsed < TIMEOUT_MS / 1000 + 0.5
        assert isinstance(caught.value.__cause__, httpx.TimeoutException)
        # Clerk finishes the request after we gave up: the user exists, created by exactly one POST.
        assert clerk_emulator_server.wait_requests_answered(timeout=delay_s + 2)
        assert calls(clerk_gateway, "POST", "/v1/users") == 1
        assert [u.email for u in clerk.list_users(email_addresses=["slow@example.com"])] == ["slow@example.com"]

    def test_read_timeout_is_retried_once_and_succeeds(
        self, settings: Any, clerk_gateway: Emulator, ann: ClerkUser
    ) -> None:
        settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
        path = f"/v1/users/{ann.id}"
        clerk_gateway.faults.append(Fault("GET", path, 1, delay_s=TIMEOUT_MS / 1000 + 1))
        started = time.monotonic()
        assert clerk.get_user(ann.id) == ann
        assert time.monotonic() - started < clerk.READ_RETRY_BUDGET_S + TIMEOUT_MS / 1000
        wait_for_log(clerk_gateway, "GET", path, 2)
        assert calls(clerk_gateway, "GET", path) == 2

    def test_read_that_keeps_timing_out_gives_up_within_budget(
        self, settings: Any, clerk_gateway: Emulator, ann: ClerkUser
    ) -> None:
        settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
        clerk_gateway.faults.append(Fault("GET", f"/v1/users/{ann.id}", 10, delay_s=TIMEOUT_MS / 1000 + 1))
        started = time.monotonic()
        with pytest.raises(clerk.ClerkUnavailable):
            clerk.get_user(ann.id)
        assert time.monotonic() - started < clerk.READ_RETRY_BUDGET_S + TIMEOUT_MS / 1000 + 0.3

    def test_read_5xx_is_retried_and_recovers(self, clerk_gateway: Emulator, ann: ClerkUser) -> None:
        path = f"/v1/users/{ann.id}"
        clerk_gateway.faults.append(Fault("GET", path, 1, status=503))
        assert clerk.get_user(ann.id).email == "ann@example.com"
        assert [s for m, p, s in clerk_gateway.request_log if (m, p) == ("GET", path)] == [503, 200]

    def test_read_5xx_that_persists_stops_after_bounded_retries(self, clerk_gateway: Emulator, ann: ClerkUser) -> None:
        path = f"/v1/users/{ann.id}"
        clerk_gateway.faults.append(Fault("GET", path, 100, status=500))
        started = time.monotonic()
        with pytest.raises(clerk.ClerkUnavailable):
            clerk.get_user(ann.id)
        assert time.monotonic() - started < clerk.READ_RETRY_BUDGET_S
        assert calls(clerk_gateway, "GET", path) == 1 + len(clerk.READ_RETRY_DELAYS_S)

    def test_5xx_with_a_long_retry_after_does_not_stall_a_read(self, clerk_gateway: Emulator, ann: ClerkUser) -> None:
        # The SDK's own backoff would sleep for the whole Retry-After; ours never does.
        clerk_gateway.faults.append(Fault("GET", f"/v1/users/{ann.id}", 1, status=503, retry_after=3600))
        started = time.monotonic()
        assert clerk.get_user(ann.id).id == ann.id
        assert time.monotonic() - started < 1.0

    def test_connection_refused_is_unavailable_quickly(self, settings: Any) -> None:
        settings.CLERK_API_URL = f"http://127.0.0.1:{closed_port()}/v1"
        settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
        started = time.monotonic()
        with pytest.raises(clerk.ClerkUnavailable) as caught:
            clerk.create_user(email="bob@example.com")
        assert time.monotonic() - started < TIMEOUT_MS / 1000 + 0.5
        assert isinstance(caught.value.__cause__, httpx.ConnectError)
        assert caught.value.status is None

        started = time.monotonic()
        with pytest.raises(clerk.ClerkUnavailable):
            clerk.get_user("user_x")
        assert time.monotonic() - started < clerk.READ_RETRY_BUDGET_S + TIMEOUT_MS / 1000

    def test_test_settings_cannot_reach_real_clerk(self) -> None:
        from config.settings import test as test_settings

        assert test_settings.CLERK_API_URL.startswith("http://127.0.0.1:")
        assert "api.clerk.com" not in test_settings.CLERK_API_URL


# --------------------------------------------------------------------------- logging
def test_errors_are_logged_without_secrets_or_invitation_urls(
    clerk_gateway: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    org = clerk.create_organization(name="Acme")
    invitation = clerk.create_organization_invitation(org.id, email="ann@example.com", role="org:member")
    clerk_gateway.faults.append(Fault("POST", "*", 1, status=500))
    with pytest.raises(clerk.ClerkUnavailable):
        clerk.create_organization_invitation(org.id, email="bob@example.com", role="org:member")
    with pytest.raises(clerk.ClerkRejected):
        clerk.create_organization_invitation(org.id, email="ann@example.com", role="org:member")
    assert "clerk organization_invitations.create failed" in caplog.text
    assert clerk_gateway.secret_key not in caplog.text
    assert invitation.url
    assert invitation.url not in caplog.text
    assert "ticket=" not in caplog.text


# --------------------------------------------------------------------------- typed results
class TestFunctions:
    def test_users(self, ann: ClerkUser) -> None:
        assert ann.email == "ann@example.com"
        assert (ann.first_name, ann.last_name) == ("Ann", "Lee")
        assert clerk.get_user(ann.id) == ann
        bob = clerk.create_user(email="Bob@Example.com", password="correct-horse-9", public_metadata={"role": "pm"})
        assert bob.email == "bob@example.com"
        assert bob.public_metadata == {"role": "pm"}
        assert {u.id for u in clerk.list_users()} == {ann.id, bob.id}
        assert [u.id for u in clerk.list_users(email_addresses=["bob@example.com"])] == [bob.id]
        assert [u.id for u in clerk.list_users(user_ids=[ann.id])] == [ann.id]
        assert [u.id for u in clerk.list_users(query="ann")] == [ann.id]
        assert len(clerk.list_users(limit=1)) == 1
        updated = clerk.update_user_metadata(ann.id, public_metadata={"role": "admin", "internal": True})
        assert updated.public_metadata == {"role": "admin", "internal": True}
        assert clerk.ban_user(ann.id).banned is True
        assert clerk.unban_user(ann.id).banned is False
        clerk.delete_user(bob.id)
        with pytest.raises(clerk.ClerkNotFound):
            clerk.get_user(bob.id)

    def test_an_empty_filter_matches_nobody_without_calling_clerk(
        self, clerk_gateway: Emulator, ann: ClerkUser
    ) -> None:
        before = len(clerk_gateway.request_log)
        assert clerk.list_users(email_addresses=[]) == []
        assert clerk.list_users(user_ids=[]) == []
        assert len(clerk_gateway.request_log) == before

    def test_organizations_and_memberships(self, ann: ClerkUser) -> None:
        org = clerk.create_organization(name="Acme", slug="acme", created_by=ann.id)
        assert (org.name, org.slug) == ("Acme", "acme")
        assert clerk.get_organization("acme").id == org.id
        bob = clerk.create_user(email="bob@example.com")
        membership = clerk.create_organization_membership(org.id, user_id=bob.id, role="org:member")
        assert (membership.organization.id, membership.user_id, membership.role) == (org.id, bob.id, "org:member")
        listed = clerk.list_organization_memberships(org.id)
        assert {(m.user_id, m.role) for m in listed} == {(ann.id, "org:admin"), (bob.id, "org:member")}
        assert clerk.delete_organization_membership(org.id, user_id=bob.id).user_id == bob.id
        assert [m.user_id for m in clerk.list_organization_memberships(org.id)] == [ann.id]

    def test_organization_invitations(self, ann: ClerkUser) -> None:
        org = clerk.create_organization(name="Acme", created_by=ann.id)
        invitation = clerk.create_organization_invitation(
            org.id,
            email="carl@example.com",
            role="org:member",
            inviter_user_id=ann.id,
            redirect_url="http://testserver/accept-invite/",
            expires_in_days=7,
        )
        assert (invitation.email, invitation.role, invitation.status) == ("carl@example.com", "org:member", "pending")
        assert invitation.organization_id == org.id
        assert invitation.expires_at - invitation.created_at == 7 * 86_400_000
        bulk = clerk.bulk_create_organization_invitations(
            org.id,
            [
                {"email_address": "dan@example.com", "role": "org:admin", "inviter_user_id": ann.id},
                {"email_address": "eve@example.com", "role": "org:member", "inviter_user_id": ann.id},
            ],
        )
        assert [(i.email, i.role) for i in bulk] == [
            ("dan@example.com", "org:admin"),
            ("eve@example.com", "org:member"),
        ]
        pending = clerk.list_organization_invitations(org.id, status="pending")
        assert {i.email for i in pending} == {"carl@example.com", "dan@example.com", "eve@example.com"}
        assert [i.id for i in clerk.list_organization_invitations(org.id, email_address="dan@example.com")] == [
            bulk[0].id
        ]
        assert clerk.get_organization_invitation(org.id, invitation.id) == invitation
        revoked = clerk.revoke_organization_invitation(org.id, invitation.id, requesting_user_id=ann.id)
        assert revoked.status == "revoked"
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.revoke_organization_invitation(org.id, invitation.id, requesting_user_id=ann.id)
        assert caught.value.http_status == 409

    def test_bulk_is_limited_to_ten_before_calling_clerk(self, clerk_gateway: Emulator) -> None:
        entries = [{"email_address": f"p{i}@example.com", "role": "org:member"} for i in range(11)]
        with pytest.raises(ValueError, match="10"):
            clerk.bulk_create_organization_invitations("org_x", entries)
        assert clerk.bulk_create_organization_invitations("org_x", []) == []
        assert clerk_gateway.request_log == []

    def test_application_invitations(self, ann: ClerkUser) -> None:
        invitation = clerk.create_invitation(
            email="staff@example.com",
            public_metadata={"role": "admin", "internal": True},
            redirect_url="http://testserver/internal/accept-invite/?invitation_id=1",
            expires_in_days=7,
            notify=False,
        )
        assert (invitation.email, invitation.status) == ("staff@example.com", "pending")
        assert invitation.public_metadata == {"role": "admin", "internal": True}
        assert invitation.url
        assert [i.id for i in clerk.list_invitations(status="pending")] == [invitation.id]
        assert [i.id for i in clerk.list_invitations(query="staff")] == [invitation.id]
        assert clerk.revoke_invitation(invitation.id).status == "revoked"
        assert clerk.list_invitations(status="pending") == []
        with pytest.raises(clerk.ClerkRejected) as caught:
            clerk.create_invitation(email="ann@example.com", notify=False)
        assert caught.value.http_status == 409

    def test_sessions_tokens_and_jwks(self, clerk_gateway: Emulator, ann: ClerkUser) -> None:
        session = clerk.create_session(ann.id)
        assert (session.user_id, session.status) == (ann.id, "active")
        token = clerk.create_session_token(session.id)
        claims = clerk_gateway.keys.decode(token)
        assert (claims["sub"], claims["sid"]) == (ann.id, session.id)
        assert "azp" not in claims
        jwks = clerk.get_jwks()
        assert [key["kid"] for key in jwks["keys"]] == [clerk_gateway.keys.kid]
        assert all(value is not None for key in jwks["keys"] for value in key.values())
