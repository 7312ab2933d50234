"""Session authentication (accounts/authentication.py): the DRF class, the page middleware and the shared helper.

Requests go through the whole middleware stack to tiny test-only views (this module is the URLconf). Tokens come
from the Clerk emulator's Backend API (``signed_in`` / ``clerk_session``) or are signed here with the emulator's
key (or a foreign one) to shape their claims.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts import authentication, clerk
from accounts.authentication import InvalidSessionToken, authenticate_request, verify_session_token
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.permissions import HasAnyRole
from accounts.roles import Role
from accounts.selectors import user_for_session, user_get_by_clerk_id
from accounts.webhooks import clerk_webhook
from clerk_emulator.state import Emulator, Fault
from clerk_emulator.tokens import SigningKeys
from core.models import AuditEvent
from internal_users.models import InternalInvitationStatus
from tests.accounts.factories import UserFactory
from tests.conftest import ClerkSession, SignedInClient
from tests.internal_users.factories import InternalInvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


# --------------------------------------------------------------------------- test-only views (this is the URLconf)
class WhoAmI(APIView):
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        assert isinstance(request.auth, dict)
        return Response(
            {"clerk_user_id": request.user.clerk_user_id, "role": request.user.role, "sid": request.auth["sid"]}
        )

    def post(self, request: Request) -> Response:
        return self.get(request)


class AdminsOnly(APIView):
    permission_classes = [HasAnyRole.of(Role.SUPER_ADMIN, Role.ADMIN)]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


def page(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse(
        {
            "authenticated": bool(user.is_authenticated),
            "clerk_user_id": getattr(user, "clerk_user_id", None),
            "sub": request.auth_claims.get("sub"),  # type: ignore[attr-defined]
        }
    )


urlpatterns = [
    path("api/whoami/", WhoAmI.as_view()),
    path("api/admins-only/", AdminsOnly.as_view()),
    path("page/", page),
    path("webhooks/clerk/", clerk_webhook),
]

WHOAMI = "/api/whoami/"


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def foreign_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def mint(clerk_gateway: Emulator) -> Callable[..., str]:
    """A session token with Clerk's v2 claims for ``sub``, signed with the emulator's key unless told otherwise;
    a claim passed as ``None`` is left out."""

    def make(sub: str, *, key: str | None = None, kid: str | None = None, alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "sub": sub,
            "sid": "sess_test",
            "iat": now,
            "nbf": now - 10,
            "exp": now + 60,
            "iss": clerk_gateway.frontend_api_url,
            "v": 2,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        signing_key = key or clerk_gateway.keys.private_pem
        return jwt.encode(payload, signing_key, algorithm=alg, headers={"kid": kid or clerk_gateway.keys.kid})

    return make


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def gets(em: Emulator, path: str) -> int:
    return sum(1 for method, p, _ in em.request_log if method == "GET" and p == path)


@pytest.fixture
def member(clerk_session: Callable[..., ClerkSession]) -> ClerkSession:
    return clerk_session(Role.MEMBER, email="mia@example.com")


# --------------------------------------------------------------------------- the API: who gets in
class TestApiAuthentication:
    def test_valid_bearer_token_authenticates(self, member: ClerkSession) -> None:
        response = bearer(member.token).get(WHOAMI)
        assert response.status_code == 200
        assert response.json() == {"clerk_user_id": member.clerk_user.id, "role": "member", "sid": member.session_id}

    def test_no_token_is_401_with_a_bearer_challenge(self) -> None:
        response = APIClient().get(WHOAMI)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_other_authorization_schemes_are_not_tokens(self, member: ClerkSession) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"mia:secret").decode())
        assert client.get(WHOAMI).status_code == 401

    @pytest.mark.parametrize(
        ("offsets", "message"),
        [
            ({"iat": -120, "nbf": -130, "exp": -60}, "expired"),
            ({"nbf": 60}, "not valid yet"),
            ({"iat": 60, "nbf": None}, "not valid yet"),
            ({"exp": None}, "not valid"),
            ({"iat": None}, "not valid"),
        ],
    )
    def test_time_claims(
        self, member: ClerkSession, mint: Callable[..., str], offsets: dict[str, int | None], message: str
    ) -> None:
        now = int(time.time())
        claims = {name: None if offset is None else now + offset for name, offset in offsets.items()}
        response = bearer(mint(member.clerk_user.id, **claims)).get(WHOAMI)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert message in response.json()["message"]

    @pytest.mark.parametrize("sub", [None, "", 42])
    def test_a_token_must_name_its_user(self, mint: Callable[..., str], sub: Any) -> None:
        assert bearer(mint(sub)).get(WHOAMI).status_code == 401

    def test_small_clock_skew_is_tolerated(self, member: ClerkSession, mint: Callable[..., str]) -> None:
        now = int(time.time())
        assert bearer(mint(member.clerk_user.id, exp=now - 2)).get(WHOAMI).status_code == 200
        assert bearer(mint(member.clerk_user.id, iat=now + 2, nbf=now + 2)).get(WHOAMI).status_code == 200

    def test_token_signed_by_another_key_is_401(
        self, member: ClerkSession, mint: Callable[..., str], foreign_key_pem: str
    ) -> None:
        response = bearer(mint(member.clerk_user.id, key=foreign_key_pem)).get(WHOAMI)
        assert response.status_code == 401

    @pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "ak_machine_token_123"])
    def test_garbage_is_401(self, token: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(WHOAMI).status_code == 401

    def test_unsigned_and_hmac_tokens_are_401(self, member: ClerkSession, clerk_gateway: Emulator) -> None:
        now = int(time.time())
        claims = {"sub": member.clerk_user.id, "sid": "sess_x", "iat": now, "exp": now + 60}
        unsigned = jwt.encode(claims, key="", algorithm="none", headers={"kid": clerk_gateway.keys.kid})
        assert bearer(unsigned).get(WHOAMI).status_code == 401
        hmac = jwt.encode(claims, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256")
        assert bearer(hmac).get(WHOAMI).status_code == 401

    def test_wrong_azp_is_401(self, member: ClerkSession, mint: Callable[..., str]) -> None:
        response = bearer(mint(member.clerk_user.id, azp="https://evil.example")).get(WHOAMI)
        assert response.status_code == 401
        assert "not issued for this site" in response.json()["message"]

    @pytest.mark.parametrize("azp", ["http://testserver", "http://testserver/", None])
    def test_authorized_or_absent_azp_is_accepted(
        self, member: ClerkSession, mint: Callable[..., str], azp: str | None
    ) -> None:
        # Tokens the Backend API mints for scripts (as `member.token` is) carry no azp at all.
        assert bearer(mint(member.clerk_user.id, azp=azp)).get(WHOAMI).status_code == 200

    def test_empty_authorized_parties_turns_the_azp_check_off(
        self, settings: Any, member: ClerkSession, mint: Callable[..., str]
    ) -> None:
        settings.CLERK_AUTHORIZED_PARTIES = []
        assert bearer(mint(member.clerk_user.id, azp="https://anywhere.example")).get(WHOAMI).status_code == 200

    def test_deactivated_user_is_refused(self, member: ClerkSession) -> None:
        assert member.user is not None
        User.objects.filter(pk=member.user.pk).update(disabled_at=timezone.now())
        response = bearer(member.token).get(WHOAMI)
        assert response.status_code == 401
        assert "deactivated" in response.json()["message"]

    def test_user_banned_in_clerk_and_unknown_here_is_refused_and_mirrored_as_disabled(
        self, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        session = clerk_session(mirror=False, email="ban@example.com")
        clerk.ban_user(session.clerk_user.id)
        response = bearer(session.token).get(WHOAMI)
        assert response.status_code == 401
        assert User.objects.get(clerk_user_id=session.clerk_user.id).disabled_at is not None

    def test_role_change_in_the_database_applies_on_the_next_request(
        self, signed_in: Callable[..., SignedInClient]
    ) -> None:
        client = signed_in(Role.ADMIN)
        assert client.user is not None
        assert client.get("/api/admins-only/").status_code == 200
        User.objects.filter(pk=client.user.pk).update(role=Role.MEMBER)
        response = client.get("/api/admins-only/")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        User.objects.filter(pk=client.user.pk).update(role=Role.SUPER_ADMIN)
        assert client.get("/api/admins-only/").status_code == 200

    def test_bearer_wins_over_the_cookie(self, clerk_session: Callable[..., ClerkSession]) -> None:
        ann, bob = clerk_session(email="ann@example.com"), clerk_session(email="bob@example.com")
        client = bearer(ann.token)
        client.cookies[authentication.SESSION_COOKIE] = bob.token
        assert client.get(WHOAMI).json()["clerk_user_id"] == ann.clerk_user.id


# --------------------------------------------------------------------------- first sight: upsert from Clerk
class TestUserSeenForTheFirstTime:
    def test_first_request_fetches_and_upserts_the_user_once(
        self, clerk_gateway: Emulator, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        # A staff member who just accepted a pm invitation: the metadata role matches a pending invitation.
        invitation = InternalInvitationFactory.create(email="pat@example.com", role=Role.PM)
        session = clerk_session(Role.PM, mirror=False, email="Pat@Example.com", first_name="Pat")
        user_path = f"/v1/users/{session.clerk_user.id}"
        assert not User.objects.filter(clerk_user_id=session.clerk_user.id).exists()

        response = bearer(session.token).get(WHOAMI)
        assert response.status_code == 200
        assert response.json()["role"] == "pm"
        user = User.objects.get(clerk_user_id=session.clerk_user.id)
        assert (user.email, user.first_name, user.role, user.is_internal) == ("pat@example.com", "Pat", "pm", True)
        assert gets(clerk_gateway, user_path) == 1
        invitation.refresh_from_db()
        assert (invitation.status, invitation.accepted_user) == (InternalInvitationStatus.ACCEPTED, user)

        assert bearer(session.token).get(WHOAMI).status_code == 200
        assert gets(clerk_gateway, user_path) == 1

    def test_a_metadata_role_without_an_invitation_is_ignored_and_audited(
        self, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        # Someone wrote {"role": "super_admin"} into their Clerk metadata (the dashboard, another app): no grant.
        session = clerk_session(Role.SUPER_ADMIN, mirror=False, email="mallory@example.com")
        response = bearer(session.token).get(WHOAMI)
        assert response.status_code == 200
        assert response.json()["role"] == "member"
        user = User.objects.get(clerk_user_id=session.clerk_user.id)
        assert (user.role, user.is_internal) == ("member", False)
        event = AuditEvent.objects.get(action="user.role_claim_ignored")
        assert (event.target_id, event.outcome) == (str(user.pk), AuditEvent.Outcome.DENIED)
        assert event.details["claimed_role"] == "super_admin"
        assert bearer(session.token).get("/api/admins-only/").status_code == 403

    def test_user_deleted_in_clerk_is_401_and_not_created(self, clerk_session: Callable[..., ClerkSession]) -> None:
        session = clerk_session(mirror=False)
        clerk.delete_user(session.clerk_user.id)
        response = bearer(session.token).get(WHOAMI)
        assert response.status_code == 401
        assert not User.objects.filter(clerk_user_id=session.clerk_user.id).exists()

    def test_clerk_down_is_503_not_401(
        self, clerk_gateway: Emulator, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        session = clerk_session(mirror=False)
        clerk_gateway.faults.append(Fault("GET", f"/v1/users/{session.clerk_user.id}", 10, status=503))
        response = bearer(session.token).get(WHOAMI)
        assert response.status_code == 503
        assert response.json()["code"] == "clerk_unavailable"
        assert not User.objects.filter(clerk_user_id=session.clerk_user.id).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_of_one_user_make_one_row(clerk_session: Callable[..., ClerkSession]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serializes the whole database")
    session = clerk_session(mirror=False, email="race@example.com")
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def first_request() -> None:
        try:
            barrier.wait(timeout=10)
            result = authenticate_request(
                RequestFactory().get("/", headers={"Authorization": f"Bearer {session.token}"})
            )
            assert result is not None
            results.append(result[0].pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 8
    assert len(set(results)) == 1
    assert User.objects.filter(clerk_user_id=session.clerk_user.id).count() == 1


# --------------------------------------------------------------------------- keys: PEM and JWKS
class TestKeys:
    def test_pem_without_newlines_still_verifies(
        self, settings: Any, clerk_gateway: Emulator, member: ClerkSession
    ) -> None:
        settings.CLERK_JWT_KEY = clerk_gateway.keys.public_pem.replace("\n", "")
        assert bearer(member.token).get(WHOAMI).status_code == 200
        assert gets(clerk_gateway, "/v1/jwks") == 0

    def test_a_bad_pem_is_a_configuration_error(self, settings: Any, member: ClerkSession) -> None:
        settings.CLERK_JWT_KEY = "-----BEGIN PUBLIC KEY-----not a key-----END PUBLIC KEY-----"
        with pytest.raises(ImproperlyConfigured, match="CLERK_JWT_KEY"):
            verify_session_token(member.token)

    def test_jwks_is_fetched_once_then_no_clerk_call_in_steady_state(
        self, settings: Any, clerk_gateway: Emulator, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        ann, bob = clerk_session(email="ann@example.com"), clerk_session(email="bob@example.com")
        settings.CLERK_JWT_KEY = ""
        log_before = len(clerk_gateway.request_log)
        for session in (ann, bob, ann, bob, ann):
            assert bearer(session.token).get(WHOAMI).status_code == 200
        assert clerk_gateway.request_log[log_before:] == [("GET", "/v1/jwks", 200)]

    def test_jwks_is_shared_through_the_cache(
        self, settings: Any, clerk_gateway: Emulator, member: ClerkSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings.CLERK_JWT_KEY = ""
        assert bearer(member.token).get(WHOAMI).status_code == 200
        # Another process (a fresh in-process copy) finds the keys in Django's cache.
        monkeypatch.setattr(authentication, "_jwks", authentication._JwksKeys())
        assert bearer(member.token).get(WHOAMI).status_code == 200
        assert gets(clerk_gateway, "/v1/jwks") == 1

    def test_unknown_kid_refreshes_at_most_once_per_interval(
        self,
        settings: Any,
        clerk_gateway: Emulator,
        member: ClerkSession,
        mint: Callable[..., str],
        foreign_key_pem: str,
    ) -> None:
        settings.CLERK_JWT_KEY = ""
        for kid in ("ins_forged_1", "ins_forged_2", "ins_forged_3"):
            response = bearer(mint(member.clerk_user.id, key=foreign_key_pem, kid=kid)).get(WHOAMI)
            assert response.status_code == 401
        assert gets(clerk_gateway, "/v1/jwks") == 1
        assert bearer(member.token).get(WHOAMI).status_code == 200
        assert gets(clerk_gateway, "/v1/jwks") == 1

    def test_a_rotated_key_is_picked_up_by_a_refresh(
        self,
        settings: Any,
        clerk_gateway: Emulator,
        clerk_session: Callable[..., ClerkSession],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        settings.CLERK_JWT_KEY = ""
        monkeypatch.setattr(authentication, "JWKS_REFRESH_INTERVAL_S", 0.0)  # as if long after our last fetch
        before = clerk_session(email="ann@example.com")
        assert bearer(before.token).get(WHOAMI).status_code == 200
        monkeypatch.setattr(clerk_gateway, "keys", SigningKeys())  # Clerk rotates its instance key
        after = clerk_session(email="bob@example.com")
        assert bearer(after.token).get(WHOAMI).status_code == 200
        assert gets(clerk_gateway, "/v1/jwks") == 2
        # The retired key is no longer trusted.
        assert bearer(before.token).get(WHOAMI).status_code == 401

    def test_jwks_unavailable_is_503_and_retried_shortly_after(
        self, settings: Any, clerk_gateway: Emulator, member: ClerkSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings.CLERK_JWT_KEY = ""
        clerk_gateway.faults.append(Fault("GET", "/v1/jwks", 100, status=503))
        response = bearer(member.token).get(WHOAMI)
        assert (response.status_code, response.json()["code"]) == (503, "clerk_unavailable")
        fetches = gets(clerk_gateway, "/v1/jwks")
        # Within the pause after a failure, no new fetch: still 503, nobody is signed out.
        assert bearer(member.token).get(WHOAMI).status_code == 503
        assert gets(clerk_gateway, "/v1/jwks") == fetches
        clerk_gateway.faults.clear()
        monkeypatch.setattr(authentication, "JWKS_RETRY_AFTER_FAILURE_S", 0.0)
        authentication._jwks.next_fetch_at = 0.0
        assert bearer(member.token).get(WHOAMI).status_code == 200


# --------------------------------------------------------------------------- cookies and CSRF
class TestCookieAuthentication:
    def test_cookie_authenticates_safe_requests(self, signed_in: Callable[..., SignedInClient]) -> None:
        client = signed_in(via="cookie", enforce_csrf_checks=True)
        assert client.get(WHOAMI).status_code == 200

    def test_cookie_authenticated_unsafe_request_needs_csrf(self, signed_in: Callable[..., SignedInClient]) -> None:
        client = signed_in(via="cookie", enforce_csrf_checks=True)
        response = client.post(WHOAMI)
        assert response.status_code == 403
        assert "CSRF" in response.json()["message"]

    def test_cookie_authenticated_unsafe_request_with_csrf_token_passes(
        self, signed_in: Callable[..., SignedInClient]
    ) -> None:
        client = signed_in(via="cookie", enforce_csrf_checks=True)
        csrf = "a" * 32
        client.cookies["csrftoken"] = csrf
        assert client.post(WHOAMI, headers={"X-CSRFToken": csrf}).status_code == 200

    def test_bearer_authenticated_unsafe_request_needs_no_csrf(self, signed_in: Callable[..., SignedInClient]) -> None:
        client = signed_in(via="header", enforce_csrf_checks=True)
        assert client.post(WHOAMI).status_code == 200


# --------------------------------------------------------------------------- pages: the middleware
class TestMiddleware:
    def test_valid_cookie_sets_user_and_claims(self, member: ClerkSession) -> None:
        client = Client()
        client.cookies[authentication.SESSION_COOKIE] = member.token
        assert client.get("/page/").json() == {
            "authenticated": True,
            "clerk_user_id": member.clerk_user.id,
            "sub": member.clerk_user.id,
        }

    def test_bearer_header_works_for_pages_too(self, member: ClerkSession) -> None:
        response = Client().get("/page/", headers={"Authorization": f"Bearer {member.token}"})
        assert response.json()["authenticated"] is True

    def test_no_token_is_anonymous_without_any_lookup(
        self, clerk_gateway: Emulator, django_assert_num_queries: Any
    ) -> None:
        with django_assert_num_queries(0):
            response = Client().get("/page/")
        assert response.json() == {"authenticated": False, "clerk_user_id": None, "sub": None}
        assert clerk_gateway.request_log == []

    @pytest.mark.parametrize("case", ["expired", "foreign", "garbage", "deactivated"])
    def test_refused_tokens_make_an_anonymous_page_visitor(
        self, case: str, member: ClerkSession, mint: Callable[..., str], foreign_key_pem: str
    ) -> None:
        now = int(time.time())
        if case == "expired":
            token = mint(member.clerk_user.id, iat=now - 120, nbf=now - 120, exp=now - 60)
        elif case == "foreign":
            token = mint(member.clerk_user.id, key=foreign_key_pem)
        elif case == "garbage":
            token = "garbage"
        else:
            token = member.token
            User.objects.filter(clerk_user_id=member.clerk_user.id).update(disabled_at=timezone.now())
        client = Client()
        client.cookies[authentication.SESSION_COOKIE] = token
        response = client.get("/page/")
        assert response.status_code == 200
        assert response.json()["authenticated"] is False

    def test_webhook_endpoint_ignores_session_tokens(self, settings: Any, clerk_gateway: Emulator) -> None:
        settings.CLERK_WEBHOOK_SIGNING_SECRET = (
            "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
        )
        client = Client()
        client.cookies[authentication.SESSION_COOKIE] = "garbage"
        response = client.post("/webhooks/clerk/", data="{}", content_type="application/json")
        assert response.status_code == 400  # the unsigned body is refused by svix verification, not by us
        assert clerk_gateway.request_log == []


# --------------------------------------------------------------------------- the helper pages reuse
class TestAuthenticateRequest:
    def test_none_without_token(self, rf: RequestFactory) -> None:
        assert authenticate_request(rf.get("/")) is None

    def test_user_and_claims_with_a_token(self, rf: RequestFactory, member: ClerkSession) -> None:
        request = rf.get("/", headers={"Authorization": f"Bearer {member.token}"})
        result = authenticate_request(request)
        assert result is not None
        user, claims = result
        assert user == member.user
        assert (claims["sub"], claims["sid"]) == (member.clerk_user.id, member.session_id)

    def test_refused_token_raises_with_a_reason(self, rf: RequestFactory, mint: Callable[..., str]) -> None:
        now = int(time.time())
        request = rf.get("/", headers={"Authorization": f"Bearer {mint('user_x', exp=now - 60, iat=now - 120)}"})
        with pytest.raises(InvalidSessionToken) as caught:
            authenticate_request(request)
        assert caught.value.reason == "token_expired"
        assert caught.value.http_status == 401

    def test_verified_once_per_request(
        self, rf: RequestFactory, clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser]
    ) -> None:
        clerk_user = clerk_user_factory(email="once@example.com")
        token = clerk.create_session_token(clerk.create_session(clerk_user.id).id)
        request = rf.get("/", headers={"Authorization": f"Bearer {token}"})
        first = authenticate_request(request)
        assert first is not None
        assert authenticate_request(request) is first
        assert gets(clerk_gateway, f"/v1/users/{clerk_user.id}") == 1


def test_the_session_read_returns_the_same_user_as_the_orm() -> None:
    user: User = UserFactory.create(role="admin", is_internal=True, phone_number="+15555550100")
    found = user_for_session(clerk_user_id=user.clerk_user_id)
    assert found is not None
    orm = user_get_by_clerk_id(clerk_user_id=user.clerk_user_id)
    assert orm is not None
    fields = [field.attname for field in User._meta.concrete_fields]
    assert {name: getattr(found, name) for name in fields} == {name: getattr(orm, name) for name in fields}
    assert found._state.adding is False
    assert found._state.db == "default"
    assert user_for_session(clerk_user_id="user_missing") is None
