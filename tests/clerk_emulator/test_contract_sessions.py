"""Sessions, session tokens, JWKS and template delivery through the official SDK.

A token is checked three ways: its claims decoded, verified by the SDK's own ``authenticate_request`` with the
instance's PEM key (networkless, as production may run), and verified with the key served at ``/v1/jwks``."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from clerk_backend_api import Clerk, models
from clerk_backend_api.security import authenticate_request
from clerk_backend_api.security.types import AuthenticateRequestOptions, AuthStatus

from clerk_emulator.state import Emulator


@pytest.fixture
def member(sdk: Clerk) -> tuple[str, str]:
    """A user who is an admin of the organization with slug ``acme``: (user id, organization id)."""
    user = sdk.users.create(email_address=["sess@example.com"])
    assert user.id is not None
    org = sdk.organizations.create(request={"name": "Acme", "created_by": user.id})
    return user.id, org.id


def token_for(sdk: Clerk, session_id: str, **kwargs: Any) -> str:
    token = sdk.sessions.create_token(session_id=session_id, **kwargs)
    assert token.object == models.CreateSessionTokenObject.TOKEN
    assert token.jwt is not None
    return token.jwt


def authenticate(token: str, em: Emulator, **options: Any) -> Any:
    request = httpx.Request("GET", "http://app.test/", headers={"Authorization": f"Bearer {token}"})
    return authenticate_request(request, AuthenticateRequestOptions(jwt_key=em.keys.public_pem, **options))


def test_create_session(sdk: Clerk, member: tuple[str, str]) -> None:
    user_id, org_id = member
    session = sdk.sessions.create(request={"user_id": user_id, "active_organization_id": org_id})
    assert session.id.startswith("sess_")
    assert session.object == models.SessionObject.SESSION
    assert session.status == models.Status.ACTIVE
    assert session.user_id == user_id
    assert session.last_active_organization_id == org_id
    assert session.client_id.startswith("client_")
    assert session.expire_at > session.created_at
    assert sdk.sessions.get(session_id=session.id) == session
    assert sdk.users.get(user_id=user_id).last_sign_in_at == session.created_at


def test_create_session_for_a_non_member_organization_is_refused(sdk: Clerk, member: tuple[str, str]) -> None:
    _, org_id = member
    outsider = sdk.users.create(email_address=["out@example.com"])
    with pytest.raises(models.SDKError) as caught:
        sdk.sessions.create(request={"user_id": outsider.id or "", "active_organization_id": org_id})
    assert caught.value.status_code == 403
    assert "not_a_member_in_organization" in caught.value.body


def test_create_session_for_an_unknown_user_is_404(sdk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.sessions.create(request={"user_id": "user_missing"})
    assert caught.value.status_code == 404


def test_session_token_carries_clerk_v2_claims(sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]) -> None:
    user_id, org_id = member
    session = sdk.sessions.create(request={"user_id": user_id, "active_organization_id": org_id})
    before = int(time.time())
    token = token_for(sdk, session.id)
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("RS256", clerk_emulator.keys.kid)
    claims = jwt.decode(token, clerk_emulator.keys.public_pem, algorithms=["RS256"])
    assert (claims["sub"], claims["sid"], claims["v"]) == (user_id, session.id, 2)
    assert claims["iss"] == clerk_emulator.frontend_api_url
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["nbf"] <= claims["iat"]
    assert claims["exp"] - claims["iat"] == 60  # Clerk's default session token lifetime
    assert "azp" not in claims  # no browser origin behind a Backend API token
    # Org claim: role without the ``org:`` prefix; system permissions are never put in session claims.
    assert claims["o"] == {"id": org_id, "slg": "acme", "rol": "admin"}


def test_session_token_without_an_active_organization_has_no_org_claim(
    sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]
) -> None:
    user_id, _ = member
    session = sdk.sessions.create(request={"user_id": user_id})
    claims = jwt.decode(token_for(sdk, session.id), clerk_emulator.keys.public_pem, algorithms=["RS256"])
    assert "o" not in claims


def test_session_token_lifetime_can_be_set(sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]) -> None:
    session = sdk.sessions.create(request={"user_id": member[0]})
    claims = jwt.decode(
        token_for(sdk, session.id, expires_in_seconds=600), clerk_emulator.keys.public_pem, algorithms=["RS256"]
    )
    assert claims["exp"] - claims["iat"] == 600


def test_sdk_authenticate_request_accepts_the_token(
    sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]
) -> None:
    user_id, org_id = member
    session = sdk.sessions.create(request={"user_id": user_id, "active_organization_id": org_id})
    state = authenticate(token_for(sdk, session.id), clerk_emulator)
    assert state.is_signed_in, state.reason
    assert state.status == AuthStatus.SIGNED_IN
    assert state.payload is not None
    assert (state.payload["sub"], state.payload["sid"]) == (user_id, session.id)
    assert (state.payload["org_id"], state.payload["org_slug"], state.payload["org_role"]) == (org_id, "acme", "admin")


def test_sdk_authenticate_request_rejects_a_token_signed_by_another_key(
    sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]
) -> None:
    from clerk_emulator.tokens import SigningKeys

    session = sdk.sessions.create(request={"user_id": member[0]})
    genuine = jwt.decode(token_for(sdk, session.id), clerk_emulator.keys.public_pem, algorithms=["RS256"])
    forged = SigningKeys().sign(genuine)
    assert not authenticate(forged, clerk_emulator).is_signed_in


def test_token_verifies_with_the_served_jwks(sdk: Clerk, clerk_emulator: Emulator, member: tuple[str, str]) -> None:
    jwks = sdk.jwks.get_jwks()
    assert jwks.keys is not None
    [key] = jwks.keys
    assert (key.kty, key.alg, key.use, key.kid) == ("RSA", "RS256", "sig", clerk_emulator.keys.kid)
    public_key = jwt.PyJWK(key.model_dump(exclude_none=True))
    session = sdk.sessions.create(request={"user_id": member[0]})
    claims = jwt.decode(token_for(sdk, session.id), public_key, algorithms=["RS256"])
    assert claims["sid"] == session.id


def test_revoked_session_mints_no_tokens(sdk: Clerk, member: tuple[str, str]) -> None:
    session = sdk.sessions.create(request={"user_id": member[0]})
    revoked = sdk.sessions.revoke(session_id=session.id)
    assert revoked.status == models.Status.REVOKED
    assert sdk.sessions.get(session_id=session.id).status == models.Status.REVOKED
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.sessions.create_token(session_id=session.id)
    assert caught.value.status_code == 401
    # Revoking again keeps it revoked.
    assert sdk.sessions.revoke(session_id=session.id).status == models.Status.REVOKED


def test_list_sessions_for_a_user(sdk: Clerk, member: tuple[str, str]) -> None:
    user_id, _ = member
    first = sdk.sessions.create(request={"user_id": user_id})
    second = sdk.sessions.create(request={"user_id": user_id})
    sdk.sessions.revoke(session_id=first.id)
    assert {s.id for s in sdk.sessions.list(user_id=user_id)} == {first.id, second.id}
    active = sdk.sessions.list(user_id=user_id, status=models.QueryParamStatus.ACTIVE)
    assert [s.id for s in active] == [second.id]


def test_toggle_template_delivery(sdk: Clerk, clerk_emulator: Emulator) -> None:
    email = models.ToggleTemplateDeliveryPathParamTemplateType.EMAIL
    template = sdk.email_sms_templates.toggle_template_delivery(
        template_type=email, slug="invitation", delivered_by_clerk=False
    )
    assert (template.slug, template.template_type, template.delivered_by_clerk) == ("invitation", "email", False)
    # With delivery off, Clerk does not send the email and announces it with ``email.created`` instead.
    invitation = sdk.invitations.create(request={"email_address": "self-sent@example.com"})
    [message] = clerk_emulator.messages
    assert message.delivered_by_clerk is False
    [event] = [e for e in clerk_emulator.events if e["type"] == "email.created"]
    assert event["data"]["to_email_address"] == "self-sent@example.com"
    assert event["data"]["data"]["action_url"] == invitation.url
    back_on = sdk.email_sms_templates.toggle_template_delivery(
        template_type=email, slug="invitation", delivered_by_clerk=True
    )
    assert back_on.delivered_by_clerk is True
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.email_sms_templates.toggle_template_delivery(template_type=email, slug="no_such_template")
    assert caught.value.status_code == 404
