"""The emulator's browser-facing endpoints (its stand-in for Clerk's Frontend API), driven over HTTP with httpx."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.clerk_emulator.fapi_support import (
    ORIGIN,
    PASSWORD,
    Browser,
    error_code,
    make_org,
    make_user,
    org_invitation,
    ticket_of,
    verify,
)

# -- script, CORS, environment, client ---------------------------------------------------------------------------


def test_credentialed_cors_for_the_configured_app_origins_only(
    browser: Browser, clerk_emulator_server: EmulatorServer
) -> None:
    preflight = browser.http.options(
        "/v1/client/sign_ins",
        headers={"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]

    response = browser.call("GET", "/v1/client")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]
    error = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "nobody@example.com", "password": "x"})
    assert error.status_code == 422
    assert error.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert error.headers["Access-Control-Allow-Credentials"] == "true"

    stranger = Browser(clerk_emulator_server.url, origin="http://attacker.example.test")
    answer = stranger.call("GET", "/v1/client")
    assert answer.status_code == 200  # the browser, not the server, withholds it from the page
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Credentials" not in answer.headers
    refused = stranger.http.options("/v1/client", headers={"Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    stranger.http.close()


def test_environment_describes_the_documented_instance(browser: Browser) -> None:
    env = browser.ok("GET", "/v1/environment")
    assert env["display_config"]["instance_environment_type"] == "development"
    settings = env["user_settings"]
    assert settings["sign_up"]["mode"] == "restricted"
    phone = settings["attributes"]["phone_number"]
    assert (phone["enabled"], phone["required"], phone["verify_at_sign_up"]) == (True, False, False)
    assert settings["attributes"]["password"]["required"] is True
    assert "reset_password_email_code" in settings["attributes"]["email_address"]["first_factors"]
    assert env["organization_settings"]["enabled"] is True
    assert browser.ok("PATCH", "/v1/environment", json={"origin": ORIGIN}) == env  # ClerkJS's touch


def test_the_dev_browser_names_the_client(browser: Browser, clerk_emulator: Emulator) -> None:
    assert browser.ok("GET", "/v1/client") == {"response": None, "client": None}  # none until a flow starts
    first = browser.ok("PUT", "/v1/client")
    assert first["response"]["object"] == "client"
    assert first["response"]["sessions"] == []
    again = browser.ok("GET", "/v1/client")
    assert again["response"]["id"] == first["response"]["id"]
    assert len(clerk_emulator.clients) == 1
    by_cookie = browser.http.get("/v1/client", cookies={"__clerk_db_jwt": browser.dev_browser or ""})
    assert by_cookie.json()["response"]["id"] == first["response"]["id"]
    for unknown in ({}, {"__clerk_db_jwt": "dvb_unknown"}):
        response = browser.http.get("/v1/client", params=unknown)
        assert response.status_code == 401
        assert error_code(response) == "dev_browser_unauthenticated"
    browser.ok("DELETE", "/v1/client")
    assert browser.ok("GET", "/v1/client")["response"] is None


# -- sign-in and sessions ----------------------------------------------------------------------------------------


def test_password_sign_in_touch_and_token(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    user_id = make_user(sdk)
    body = browser.ok("POST", "/v1/client/sign_ins", json={"identifier": "Ann@Example.com", "password": PASSWORD})
    attempt = body["response"]
    assert attempt["object"] == "sign_in_attempt"
    assert attempt["status"] == "complete"
    assert attempt["identifier"] == "Ann@Example.com"
    session_id = attempt["created_session_id"]
    assert [s["id"] for s in body["client"]["sessions"]] == [session_id]
    assert body["client"]["sessions"][0]["user"]["id"] == user_id

    touched = browser.ok("POST", f"/v1/client/sessions/{session_id}/touch", json={})
    assert touched["response"]["id"] == session_id
    assert touched["client"]["last_active_session_id"] == session_id

    claims = verify(clerk_emulator, browser.token(session_id))
    assert claims["sub"] == user_id
    assert claims["sid"] == session_id
    assert claims["azp"] == ORIGIN
    assert claims["iss"] == clerk_emulator.frontend_api_url
    assert claims["v"] == 2
    assert "o" not in claims


def test_form_encoded_sign_in_as_clerkjs_sends_it(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    response = browser.call("POST", "/v1/client/sign_ins", data={"identifier": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["response"]["status"] == "complete"


def test_wrong_password_and_unknown_identifier_are_refused(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    wrong = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "password": "nope"})
    assert wrong.status_code == 422
    assert error_code(wrong) == "form_password_incorrect"
    assert wrong.json()["errors"][0]["meta"] == {"param_name": "password"}
    unknown = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "zed@example.com", "password": "x"})
    assert unknown.status_code == 422
    assert error_code(unknown) == "form_identifier_not_found"


def test_banned_user_is_refused_at_sign_in_and_at_token_refresh(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    user_id = make_user(sdk)
    session_id = browser.sign_in("ann@example.com")
    verify(clerk_emulator, browser.token(session_id))

    sdk.users.ban(user_id=user_id)
    refresh = browser.call("POST", f"/v1/client/sessions/{session_id}/tokens")
    assert refresh.status_code == 401
    assert error_code(refresh) == "signed_out"
    assert browser.ok("GET", "/v1/client")["response"]["sessions"] == []

    again = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "password": PASSWORD})
    assert again.status_code == 403
    assert error_code(again) == "user_banned"


def test_locked_user_is_refused_at_sign_in(browser: Browser, sdk: Clerk) -> None:
    user_id = make_user(sdk)
    sdk.users.lock(user_id=user_id)
    response = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert error_code(response) == "user_locked"


def test_ended_session_gets_no_token_and_sign_out_all(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    make_user(sdk, "bob@example.com")
    first = browser.sign_in("ann@example.com")
    second = browser.sign_in("bob@example.com")

    ended = browser.ok("POST", f"/v1/client/sessions/{first}/end")
    assert ended["response"]["status"] == "ended"
    assert [s["id"] for s in ended["client"]["sessions"]] == [second]
    refused = browser.call("POST", f"/v1/client/sessions/{first}/tokens")
    assert refused.status_code == 401
    assert error_code(refused) == "signed_out"

    signed_out = browser.ok("DELETE", "/v1/client/sessions")
    assert signed_out["response"]["sessions"] == []
    assert signed_out["response"]["last_active_session_id"] is None
    assert browser.call("POST", f"/v1/client/sessions/{second}/tokens").status_code == 401


def test_sessions_belong_to_their_client(browser: Browser, other_browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    session_id = browser.sign_in("ann@example.com")
    other_browser.ok("PUT", "/v1/client")
    for method, path in [
        ("POST", f"/v1/client/sessions/{session_id}/tokens"),
        ("POST", f"/v1/client/sessions/{session_id}/touch"),
        ("POST", f"/v1/client/sessions/{session_id}/end"),
        ("GET", f"/v1/me?_clerk_session_id={session_id}"),
    ]:
        response = other_browser.call(method, path)
        assert response.status_code == 404, path
        assert error_code(response) == "resource_not_found"
    assert browser.call("POST", f"/v1/client/sessions/{session_id}/tokens").status_code == 200


def test_session_endpoints_without_a_client_are_signed_out(browser: Browser) -> None:
    response = browser.call("POST", "/v1/client/sessions/sess_123/tokens")
    assert response.status_code == 401
    assert error_code(response) == "signed_out"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_malformed_bodies_and_unknown_ids_give_clerk_errors(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    malformed = browser.call(
        "POST", "/v1/client/sign_ins", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert error_code(malformed) == "request_body_invalid"
    not_an_object = browser.call(
        "POST", "/v1/client/sign_ups", content=b'["ticket"]', headers={"Content-Type": "application/json"}
    )
    assert not_an_object.status_code == 400
    assert error_code(not_an_object) == "request_body_invalid"
    # Parameters ClerkJS adds across versions are ignored, not refused.
    extra = {"identifier": "ann@example.com", "password": PASSWORD, "locale": "en-US", "timezone": "Europe/Oslo"}
    assert browser.ok("POST", "/v1/client/sign_ins", json=extra)["response"]["status"] == "complete"

    session_id = browser.sign_in("ann@example.com")
    for method, path in [
        ("POST", "/v1/client/sessions/sess_unknown/tokens"),
        ("POST", "/v1/client/sessions/sess_unknown/touch"),
        ("POST", f"/v1/me/phone_numbers/idn_unknown/prepare_verification?_clerk_session_id={session_id}"),
        ("GET", "/v1/nothing/here"),
    ]:
        response = browser.call(method, path)
        assert response.status_code == 404, path
        assert error_code(response) == "resource_not_found"


def test_touch_sets_active_organization_only_for_members(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    ann = make_user(sdk)
    bob = make_user(sdk, "bob@example.com")
    acme = make_org(sdk, ann, "Acme")
    other = make_org(sdk, bob, "Other")
    session_id = browser.sign_in("ann@example.com")

    touched = browser.ok("POST", f"/v1/client/sessions/{session_id}/touch", json={"active_organization_id": "acme"})
    assert touched["response"]["last_active_organization_id"] == acme
    claims = verify(clerk_emulator, browser.token(session_id))
    assert claims["o"]["id"] == acme
    assert claims["o"]["rol"] == "admin"
    assert claims["o"]["slg"] == "acme"

    refused = browser.call("POST", f"/v1/client/sessions/{session_id}/touch", json={"active_organization_id": other})
    assert refused.status_code == 403
    assert error_code(refused) == "not_a_member_in_organization"

    cleared = browser.ok("POST", f"/v1/client/sessions/{session_id}/touch", json={"active_organization_id": ""})
    assert cleared["response"]["last_active_organization_id"] is None
    assert "o" not in verify(clerk_emulator, browser.token(session_id))


def test_jwks_publishes_the_signing_key(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    make_user(sdk)
    token = browser.token(browser.sign_in("ann@example.com"))
    keys = browser.ok("GET", "/.well-known/jwks.json")["keys"]
    assert [key["kid"] for key in keys] == [jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"])
    assert claims["azp"] == ORIGIN


# -- invitation links --------------------------------------------------------------------------------------------


def test_ticket_accept_redirects_a_new_email_to_sign_up(browser: Browser, sdk: Clerk) -> None:
    org_id = make_org(sdk, make_user(sdk))
    redirect_url = f"{ORIGIN}/invitations/accept?invitation_id=inv_42&lang=en"
    _, ticket = org_invitation(sdk, org_id, "new@example.com", redirect_url=redirect_url)
    response = browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ORIGIN}/invitations/accept"
    query = parse_qs(location.query)
    assert query == {
        "invitation_id": ["inv_42"],
        "lang": ["en"],
        "__clerk_ticket": [ticket],
        "__clerk_status": ["sign_up"],
    }


def test_ticket_accept_sends_an_existing_user_to_sign_in(browser: Browser, sdk: Clerk) -> None:
    org_id = make_org(sdk, make_user(sdk))
    make_user(sdk, "bob@example.com")
    _, ticket = org_invitation(sdk, org_id, "bob@example.com", redirect_url=f"{ORIGIN}/accept")
    response = browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query)["__clerk_status"] == ["sign_in"]


def test_ticket_accept_without_redirect_url_explains(browser: Browser, sdk: Clerk) -> None:
    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "new@example.com")
    response = browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "new@example.com" in response.text
    assert "redirect_url" in response.text


@pytest.mark.parametrize(
    ("problem", "title", "code"),
    [
        ("revoked", "This invitation was revoked", "organization_invitation_revoked_code"),
        ("used", "This invitation was already accepted", "organization_invitation_already_accepted"),
    ],
)
def test_an_unusable_ticket_without_redirect_url_gets_a_page_named_for_its_code(
    browser: Browser, sdk: Clerk, problem: str, title: str, code: str
) -> None:
    org_id = make_org(sdk, make_user(sdk))
    invitation_id, ticket = org_invitation(sdk, org_id, "new@example.com")
    if problem == "revoked":
        sdk.organization_invitations.revoke(organization_id=org_id, invitation_id=invitation_id)
    else:
        browser.ok("POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD})
    page = browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    assert page.status_code == 400
    assert page.headers["Content-Type"].startswith("text/html")
    assert title in page.text
    assert code in page.text
    assert "new@example.com" not in page.text


@pytest.mark.parametrize(
    ("problem", "code"),
    [
        ("expired", "ticket_expired_code"),
        ("revoked", "organization_invitation_revoked_code"),
        ("used", "organization_invitation_already_accepted"),
        ("garbage", "ticket_invalid_code"),
    ],
)
def test_unusable_tickets_are_refused_at_accept_and_at_sign_up(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator, problem: str, code: str
) -> None:
    admin = make_user(sdk)
    org_id = make_org(sdk, admin)
    invitation_id, ticket = org_invitation(
        sdk, org_id, "new@example.com", redirect_url=f"{ORIGIN}/accept", expires_in_days=7
    )
    if problem == "expired":
        clerk_emulator.advance_clock(8 * 86400)
    elif problem == "revoked":
        sdk.organization_invitations.revoke(organization_id=org_id, invitation_id=invitation_id)
    elif problem == "used":
        browser.ok("POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD})
    else:
        ticket = ticket[:-6] + "abcdef"

    page = browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    if problem == "garbage":
        # A ticket this instance never issued has no redirect URL to follow: Clerk's own page explains it.
        assert page.status_code == 400
        assert page.headers["Content-Type"].startswith("text/html")
        assert code in page.text
        assert "Location" not in page.headers
    else:
        # A ticket of ours goes to the app all the same; the attempt there fails with the code, and the app says why.
        assert page.status_code == 303
        assert page.headers["Location"].startswith(f"{ORIGIN}/accept?")
        assert f"__clerk_ticket={ticket}" in page.headers["Location"]

    sign_up = browser.call(
        "POST",
        "/v1/client/sign_ups",
        json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD},
    )
    assert sign_up.status_code == 400
    assert error_code(sign_up) == code


def test_ticket_accept_without_a_ticket_is_a_clean_400(browser: Browser) -> None:
    response = browser.call("GET", "/v1/tickets/accept")
    assert response.status_code == 400
    assert "<h1>" in response.text


# -- sign-up with a ticket ---------------------------------------------------------------------------------------


def test_application_ticket_sign_up_copies_metadata(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    invitation = sdk.invitations.create(
        request={
            "email_address": "staff@example.com",
            "public_metadata": {"staff_role": "support"},
            "redirect_url": f"{ORIGIN}/staff/accept",
        }
    )
    body = browser.ok(
        "POST",
        "/v1/client/sign_ups",
        json={
            "strategy": "ticket",
            "ticket": ticket_of(invitation.url),
            "password": PASSWORD,
            "first_name": "Sam",
            "last_name": "Staff",
        },
    )
    attempt = body["response"]
    assert attempt["object"] == "sign_up_attempt"
    assert attempt["status"] == "complete"
    assert attempt["email_address"] == "staff@example.com"
    assert (attempt["first_name"], attempt["last_name"]) == ("Sam", "Staff")
    assert attempt["missing_fields"] == []
    assert attempt["unverified_fields"] == []
    user = sdk.users.get(user_id=attempt["created_user_id"])
    assert user.public_metadata == {"staff_role": "support"}
    assert user.email_addresses[0].verification is not None
    assert user.email_addresses[0].verification.status == "verified"
    accepted = sdk.invitations.list(status=models.ListInvitationsQueryParamStatus.ACCEPTED)
    assert [i.id for i in accepted] == [invitation.id]
    claims = verify(clerk_emulator, browser.token(attempt["created_session_id"]))
    assert claims["sub"] == attempt["created_user_id"]


def test_organization_ticket_sign_up_adds_membership(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    org_id = make_org(sdk, make_user(sdk))
    invitation_id, ticket = org_invitation(sdk, org_id, "new@example.com", redirect_url=f"{ORIGIN}/accept")
    body = browser.ok(
        "POST",
        "/v1/client/sign_ups",
        json={
            "strategy": "ticket",
            "ticket": ticket,
            "password": PASSWORD,
            "first_name": "Nia",
            "phone_number": "+15555550100",
        },
    )
    attempt = body["response"]
    assert attempt["phone_number"] == "+15555550100"
    user_id = attempt["created_user_id"]
    memberships = sdk.organization_memberships.list(organization_id=org_id, user_id=[user_id])
    assert [m.role for m in memberships.data] == ["org:member"]
    invitation = sdk.organization_invitations.get(organization_id=org_id, invitation_id=invitation_id)
    assert invitation.status == "accepted"

    session = body["client"]["sessions"][0]
    assert session["last_active_organization_id"] == org_id
    assert session["user"]["organization_memberships"][0]["organization"]["id"] == org_id
    claims = verify(clerk_emulator, browser.token(attempt["created_session_id"]))
    assert claims["sub"] == user_id
    assert claims["o"]["id"] == org_id
    assert claims["o"]["rol"] == "member"


def test_organization_ticket_sign_in_for_an_existing_user(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    org_id = make_org(sdk, make_user(sdk))
    bob = make_user(sdk, "bob@example.com")
    _, ticket = org_invitation(sdk, org_id, "bob@example.com")
    body = browser.ok("POST", "/v1/client/sign_ins", json={"strategy": "ticket", "ticket": ticket})
    attempt = body["response"]
    assert attempt["status"] == "complete"
    assert attempt["identifier"] == "bob@example.com"
    claims = verify(clerk_emulator, browser.token(attempt["created_session_id"]))
    assert claims["sub"] == bob
    assert claims["o"]["rol"] == "member"
    again = browser.call("POST", "/v1/client/sign_ins", json={"strategy": "ticket", "ticket": ticket})
    assert again.status_code == 400
    assert error_code(again) == "organization_invitation_already_accepted"


def test_sign_up_needs_a_ticket_bound_to_its_email(browser: Browser, sdk: Clerk) -> None:
    no_ticket = browser.call(
        "POST", "/v1/client/sign_ups", json={"email_address": "walk-in@example.com", "password": PASSWORD}
    )
    assert no_ticket.status_code == 403
    assert error_code(no_ticket) == "not_allowed_access"

    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "new@example.com")
    other_email = browser.call(
        "POST",
        "/v1/client/sign_ups",
        json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD, "email_address": "other@example.com"},
    )
    assert other_email.status_code == 422
    assert error_code(other_email) == "form_param_value_invalid"
    short_password = browser.call(
        "POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": ticket, "password": "short"}
    )
    assert short_password.status_code == 422
    assert error_code(short_password) == "form_password_length_too_short"


# -- the signed-in user and phone verification -------------------------------------------------------------------


def test_phone_verification_with_the_code_from_the_mailbox(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    user_id = make_user(sdk)
    session_id = browser.sign_in("ann@example.com")
    me = browser.ok("GET", f"/v1/me?_clerk_session_id={session_id}")["response"]
    assert me["id"] == user_id
    assert "private_metadata" not in me

    query = f"?_clerk_session_id={session_id}"
    phone = browser.ok("POST", f"/v1/me/phone_numbers{query}", json={"phone_number": "+15555550123"})["response"]
    assert phone["verification"] is None  # nothing sent yet
    prepared = browser.ok(
        "POST", f"/v1/me/phone_numbers/{phone['id']}/prepare_verification{query}", json={"strategy": "phone_code"}
    )
    assert prepared["response"]["id"] == phone["id"]
    sms = [m for m in clerk_emulator.messages if m.kind == "sms"]
    assert [m.to for m in sms] == ["+15555550123"]
    code = sms[0].code
    assert code is not None
    assert code in sms[0].body_plain

    wrong = browser.call(
        "POST",
        f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{query}",
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 422
    assert error_code(wrong) == "form_code_incorrect"

    verified = browser.ok(
        "POST", f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{query}", json={"code": code}
    )
    assert verified["response"]["verification"]["status"] == "verified"
    assert verified["client"]["sessions"][0]["user"]["phone_numbers"][0]["verification"]["status"] == "verified"
    assert sdk.users.get(user_id=user_id).phone_numbers[0].verification is not None


def test_me_uses_the_last_active_session_and_needs_one(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    assert browser.call("GET", "/v1/me").status_code == 401
    session_id = browser.sign_in("ann@example.com")
    assert browser.ok("GET", "/v1/me")["response"]["primary_email_address_id"]
    browser.ok("POST", f"/v1/client/sessions/{session_id}/end")
    response = browser.call("GET", f"/v1/me?_clerk_session_id={session_id}")
    assert response.status_code == 401
    assert error_code(response) == "signed_out"
