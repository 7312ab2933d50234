"""The emulator's less travelled paths, each as Clerk answers it: identifiers already taken, list filters and
orderings, profile updates, ticket sign-ins, and the phone-verification states a browser can reach."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from clerk_backend_api import Clerk

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.clerk_emulator.fapi_support import (
    PASSWORD,
    Browser,
    error_code,
    make_org,
    make_user,
    org_invitation,
    ticket_of,
)


def _user(bapi: httpx.Client, email: str, **fields: Any) -> dict[str, Any]:
    response = bapi.post("/users", json={"email_address": [email], "password": PASSWORD, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [user["id"] for user in response.json()]


def _clerk_code(response: httpx.Response) -> str:
    body = response.json()
    return str(body["errors"][0]["code"])


# -- users: identifiers taken -----------------------------------------------------------------------------------
def test_a_username_or_external_id_is_taken_once_at_create_and_at_update(bapi: httpx.Client) -> None:
    ann = _user(bapi, "ann@example.com", username="ann", external_id="ext-1")
    bob = _user(bapi, "bob@example.com")
    for field, value in (("username", "ann"), ("external_id", "ext-1")):
        created = bapi.post("/users", json={"email_address": ["carl@example.com"], field: value})
        assert created.status_code == 422
        assert _clerk_code(created) == "form_identifier_exists"
        assert created.json()["errors"][0]["meta"]["param_name"] == field
        updated = bapi.patch(f"/users/{bob['id']}", json={field: value})
        assert updated.status_code == 422
        assert _clerk_code(updated) == "form_identifier_exists"
    own = bapi.patch(f"/users/{ann['id']}", json={"username": "ann"})  # one's own value is not "taken"
    assert own.status_code == 200


# -- users: list filters and order -----------------------------------------------------------------------------
def test_list_filters_by_phone_external_id_username_and_name(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    ann = _user(bapi, "ann@example.com", username="annie", external_id="ext-a", first_name="Ann", last_name="Lee")
    bob = _user(bapi, "bob@example.com", username="bobby", first_name="Bob", phone_number=["+15555550101"])
    assert _ids(bapi.get("/users", params={"phone_number": "+15555550101"})) == [bob["id"]]
    assert _ids(bapi.get("/users", params={"phone_number": "+15555550199"})) == []
    assert _ids(bapi.get("/users", params={"external_id": "ext-a"})) == [ann["id"]]
    assert _ids(bapi.get("/users", params={"external_id": "ext-zzz"})) == []
    assert _ids(bapi.get("/users", params={"username": "bobby"})) == [bob["id"]]
    assert _ids(bapi.get("/users", params={"name_query": "ann lee"})) == [ann["id"]]
    assert _ids(bapi.get("/users", params={"name_query": "nobody"})) == []


def test_list_filters_by_creation_time_and_refuses_a_non_integer(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    first = _user(bapi, "first@example.com")
    clerk_emulator.advance_clock(5)
    second = _user(bapi, "second@example.com")
    middle = first["created_at"] + 1
    assert _ids(bapi.get("/users", params={"created_at_before": middle})) == [first["id"]]
    assert _ids(bapi.get("/users", params={"created_at_after": middle})) == [second["id"]]
    assert _ids(bapi.get("/users", params={"last_sign_in_at_after": middle})) == []  # nobody signed in
    bad = bapi.get("/users", params={"created_at_before": "yesterday"})
    assert bad.status_code == 422
    assert _clerk_code(bad) == "form_param_format_invalid"


def test_list_orders_by_phone_number_and_web3_wallet(bapi: httpx.Client) -> None:
    late = _user(bapi, "late@example.com", phone_number=["+15555550199"])
    early = _user(bapi, "early@example.com", phone_number=["+15555550100"])
    none = _user(bapi, "none@example.com")
    ascending = _ids(bapi.get("/users", params={"order_by": "+phone_number"}))
    assert ascending == [none["id"], early["id"], late["id"]]  # no phone sorts as "" (first)
    assert _ids(bapi.get("/users", params={"order_by": "-phone_number"})) == ascending[::-1]
    assert sorted(_ids(bapi.get("/users", params={"order_by": "+web3wallet"}))) == sorted(ascending)


# -- users: updates --------------------------------------------------------------------------------------------
def test_a_password_change_can_sign_out_other_sessions(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    ann = _user(bapi, "ann@example.com")
    session = bapi.post("/sessions", json={"user_id": ann["id"]}).json()
    too_short = bapi.patch(f"/users/{ann['id']}", json={"password": "short"})
    assert too_short.status_code == 422
    assert _clerk_code(too_short) == "form_password_length_too_short"
    kept = bapi.patch(f"/users/{ann['id']}", json={"password": "another-horse-10"})
    assert kept.status_code == 200
    assert bapi.get(f"/sessions/{session['id']}").json()["status"] == "active"
    ended = bapi.patch(f"/users/{ann['id']}", json={"password": "third-horse-11", "sign_out_of_other_sessions": True})
    assert ended.status_code == 200
    assert bapi.get(f"/sessions/{session['id']}").json()["status"] == "revoked"
    assert clerk_emulator.users[ann["id"]].password == "third-horse-11"


def test_primary_ids_must_name_the_users_own_addresses(bapi: httpx.Client) -> None:
    ann = _user(bapi, "ann@example.com", phone_number=["+15555550123"])
    own_email, own_phone = ann["email_addresses"][0]["id"], ann["phone_numbers"][0]["id"]
    updated = bapi.patch(
        f"/users/{ann['id']}", json={"primary_email_address_id": own_email, "primary_phone_number_id": own_phone}
    )
    assert updated.status_code == 200
    assert updated.json()["primary_phone_number_id"] == own_phone
    for field in ("primary_email_address_id", "primary_phone_number_id"):
        foreign = bapi.patch(f"/users/{ann['id']}", json={field: "idn_not_hers"})
        assert foreign.status_code == 404
        assert _clerk_code(foreign) == "resource_not_found"


def test_locking_twice_changes_nothing_the_second_time(bapi: httpx.Client) -> None:
    ann = _user(bapi, "ann@example.com")
    locked = bapi.post(f"/users/{ann['id']}/lock").json()
    again = bapi.post(f"/users/{ann['id']}/lock").json()
    assert locked["locked"] is again["locked"] is True
    assert again["updated_at"] == locked["updated_at"]


# -- sign-in and sign-up edges (FAPI) --------------------------------------------------------------------------
def test_an_unsupported_sign_in_strategy_is_refused(browser: Browser, sdk: Clerk) -> None:
    make_user(sdk)
    response = browser.call(
        "POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "strategy": "email_code"}
    )
    assert response.status_code == 422
    assert error_code(response) == "strategy_for_user_invalid"


def test_a_ticket_sign_in_needs_an_account_for_the_invited_email(browser: Browser, sdk: Clerk) -> None:
    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "nobody-yet@example.com")
    response = browser.call("POST", "/v1/client/sign_ins", json={"strategy": "ticket", "ticket": ticket})
    assert response.status_code == 422
    assert error_code(response) == "form_identifier_not_found"


def test_an_application_ticket_signs_an_existing_user_in_and_is_accepted(
    browser: Browser, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    invitation = sdk.invitations.create(request={"email_address": "staff@example.com", "notify": False})
    make_user(sdk, "staff@example.com")  # the account appeared after the invitation was sent
    signed_in = browser.ok(
        "POST", "/v1/client/sign_ins", json={"strategy": "ticket", "ticket": ticket_of(invitation.url)}
    )
    assert signed_in["response"]["status"] == "complete"
    assert clerk_emulator.invitations[invitation.id].status == "accepted"


def test_a_ticket_sign_up_for_an_email_that_has_an_account_is_refused(browser: Browser, sdk: Clerk) -> None:
    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "carl@example.com")
    make_user(sdk, "carl@example.com")  # Carl signed up some other way after being invited
    response = browser.call(
        "POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD}
    )
    assert response.status_code == 422
    assert error_code(response) == "form_identifier_exists"


# -- phone numbers (FAPI /v1/me) -------------------------------------------------------------------------------
@pytest.fixture
def signed_in_query(browser: Browser, sdk: Clerk) -> str:
    make_user(sdk)
    return f"?_clerk_session_id={browser.sign_in('ann@example.com')}"


def _add_phone(browser: Browser, query: str, number: str) -> dict[str, Any]:
    phone: dict[str, Any] = browser.ok("POST", f"/v1/me/phone_numbers{query}", json={"phone_number": number})[
        "response"
    ]
    return phone


def _verify_phone(browser: Browser, em: Emulator, query: str, phone_id: str) -> None:
    browser.ok("POST", f"/v1/me/phone_numbers/{phone_id}/prepare_verification{query}", json={})
    code = [message for message in em.messages if message.kind == "sms"][-1].code
    browser.ok("POST", f"/v1/me/phone_numbers/{phone_id}/attempt_verification{query}", json={"code": code})


def test_adding_a_number_twice_is_refused_and_a_second_number_is_not_primary(
    browser: Browser, signed_in_query: str, clerk_emulator: Emulator
) -> None:
    first = _add_phone(browser, signed_in_query, "+15555550123")
    again = browser.call("POST", f"/v1/me/phone_numbers{signed_in_query}", json={"phone_number": "+15555550123"})
    assert again.status_code == 422
    assert error_code(again) == "form_identifier_exists"
    second = _add_phone(browser, signed_in_query, "+15555550124")
    user = next(iter(clerk_emulator.users.values()))
    assert [phone.id for phone in user.phone_numbers] == [first["id"], second["id"]]
    assert user.primary_phone_number_id == first["id"]
    _verify_phone(browser, clerk_emulator, signed_in_query, second["id"])  # found past the first in the list
    assert user.phone_numbers[1].verified


def test_a_number_verified_by_someone_else_is_taken(
    browser: Browser, other_browser: Browser, sdk: Clerk, clerk_emulator: Emulator, signed_in_query: str
) -> None:
    phone = _add_phone(browser, signed_in_query, "+15555550123")
    _verify_phone(browser, clerk_emulator, signed_in_query, phone["id"])
    make_user(sdk, "bob@example.com")
    bob_query = f"?_clerk_session_id={other_browser.sign_in('bob@example.com')}"
    taken = other_browser.call("POST", f"/v1/me/phone_numbers{bob_query}", json={"phone_number": "+15555550123"})
    assert taken.status_code == 422
    assert error_code(taken) == "form_identifier_exists"


def test_verification_refuses_other_strategies_and_numbers_already_verified(
    browser: Browser, signed_in_query: str, clerk_emulator: Emulator
) -> None:
    phone = _add_phone(browser, signed_in_query, "+15555550123")
    path = f"/v1/me/phone_numbers/{phone['id']}"
    email_code = browser.call("POST", f"{path}/prepare_verification{signed_in_query}", json={"strategy": "email_code"})
    assert email_code.status_code == 400  # the spec declares no 422 for this operation
    assert error_code(email_code) == "verification_strategy_invalid"
    _verify_phone(browser, clerk_emulator, signed_in_query, phone["id"])
    for step, body in (("prepare_verification", {}), ("attempt_verification", {"code": "123456"})):
        response = browser.call("POST", f"{path}/{step}{signed_in_query}", json=body)
        assert response.status_code == 400
        assert error_code(response) == "verification_already_verified"


def test_a_code_must_be_sent_fresh_and_tried_at_most_three_times(
    browser: Browser, signed_in_query: str, clerk_emulator: Emulator
) -> None:
    phone = _add_phone(browser, signed_in_query, "+15555550123")
    attempt = f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{signed_in_query}"
    prepare = f"/v1/me/phone_numbers/{phone['id']}/prepare_verification{signed_in_query}"
    not_sent = browser.call("POST", attempt, json={"code": "123456"})
    assert not_sent.status_code == 400
    assert error_code(not_sent) == "verification_not_sent"

    browser.ok("POST", prepare, json={})
    clerk_emulator.advance_clock(11 * 60)  # codes live 10 minutes
    expired = browser.call("POST", attempt, json={"code": "123456"})
    assert expired.status_code == 400
    assert error_code(expired) == "verification_expired"

    browser.ok("POST", prepare, json={})
    code = [message for message in clerk_emulator.messages if message.kind == "sms"][-1].code
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert error_code(browser.call("POST", attempt, json={"code": wrong})) == "form_code_incorrect"
    blocked = browser.call("POST", attempt, json={"code": code})  # even the right code, after three misses
    assert blocked.status_code == 400
    assert error_code(blocked) == "verification_failed"
    browser.ok("POST", prepare, json={})  # a new code starts over
    fresh = [message for message in clerk_emulator.messages if message.kind == "sms"][-1].code
    assert browser.ok("POST", attempt, json={"code": fresh})["response"]["verification"]["status"] == "verified"


# -- FAPI: CORS, bodies, sessions ------------------------------------------------------------------------------
def test_a_request_without_an_origin_gets_no_cors_headers(clerk_emulator_server: EmulatorServer) -> None:
    with httpx.Client(base_url=clerk_emulator_server.url, timeout=10) as http:
        dev_browser = http.post("/v1/dev_browser").json()["id"]
        response = http.get("/v1/environment", params={"__clerk_db_jwt": dev_browser})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_oversized_body_is_refused_with_413(browser: Browser) -> None:
    response = browser.call("POST", "/v1/client/sign_ins", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert error_code(response) == "request_body_invalid"


def test_me_without_a_session_on_the_client_or_with_its_user_deleted_is_signed_out(
    browser: Browser, sdk: Clerk
) -> None:
    browser.ok("GET", "/v1/client")  # a client, but nobody signed in on it
    no_session = browser.call("GET", "/v1/me")
    assert no_session.status_code == 401
    assert error_code(no_session) == "signed_out"
    user_id = make_user(sdk)
    session_id = browser.sign_in("ann@example.com")
    sdk.users.delete(user_id=user_id)
    gone = browser.call("GET", f"/v1/me?_clerk_session_id={session_id}")
    assert gone.status_code == 401
    assert error_code(gone) == "signed_out"


def test_a_token_for_an_organization_needs_membership(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    from tests.clerk_emulator import session_tokens

    ann = make_user(sdk)
    own_org = make_org(sdk, ann, name="Own")
    foreign_org = make_org(sdk, make_user(sdk, "bob@example.com"), name="Foreign")
    session_id = browser.sign_in("ann@example.com")
    path = f"/v1/client/sessions/{session_id}/tokens"
    with_org = browser.ok("POST", path, json={"organization_id": own_org})["jwt"]
    assert session_tokens.verify(clerk_emulator, with_org, browser.http.headers["Origin"])["org_id"] == own_org
    without = browser.ok("POST", path, json={"organization_id": ""})["jwt"]
    assert "org_id" not in session_tokens.verify(clerk_emulator, without, browser.http.headers["Origin"])
    refused = browser.call("POST", path, json={"organization_id": foreign_org})
    assert refused.status_code == 403
    assert error_code(refused) == "not_a_member_in_organization"


def test_removing_a_session_ends_it_as_removed(browser: Browser, sdk: Clerk, clerk_emulator: Emulator) -> None:
    make_user(sdk)
    session_id = browser.sign_in("ann@example.com")
    removed = browser.ok("POST", f"/v1/client/sessions/{session_id}/remove")
    assert removed["response"]["status"] == "removed"
    assert clerk_emulator.sessions[session_id].status == "removed"
    assert browser.call("POST", f"/v1/client/sessions/{session_id}/tokens").status_code in (401, 404)


# -- organizations ---------------------------------------------------------------------------------------------
def test_updating_public_metadata_keeps_the_private_metadata(bapi: httpx.Client) -> None:
    owner = _user(bapi, "owner@example.com")
    org = bapi.post(
        "/organizations", json={"name": "Acme", "created_by": owner["id"], "private_metadata": {"plan": "gold"}}
    ).json()
    updated = bapi.patch(f"/organizations/{org['id']}", json={"public_metadata": {"tier": 2}})
    assert updated.status_code == 200
    assert updated.json()["public_metadata"] == {"tier": 2}
    assert updated.json()["private_metadata"] == {"plan": "gold"}


def test_organizations_filtered_by_id(bapi: httpx.Client) -> None:
    owner = _user(bapi, "owner@example.com")
    first = bapi.post("/organizations", json={"name": "First", "created_by": owner["id"]}).json()
    bapi.post("/organizations", json={"name": "Second", "created_by": owner["id"]})
    listed = bapi.get("/organizations", params={"organization_id": first["id"]})
    assert listed.status_code == 200
    assert [org["id"] for org in listed.json()["data"]] == [first["id"]]


def test_memberships_ordered_by_the_members_profile(bapi: httpx.Client) -> None:
    zed = _user(bapi, "zed@example.com", first_name="Zed", last_name="Adams", username="zed")
    amy = _user(
        bapi, "amy@example.com", first_name="Amy", last_name="Young", username="amy", phone_number=["+15555550100"]
    )
    org = bapi.post("/organizations", json={"name": "Acme", "created_by": zed["id"]}).json()
    bapi.post(f"/organizations/{org['id']}/memberships", json={"user_id": amy["id"], "role": "org:member"})

    def order(field: str) -> list[str]:
        response = bapi.get(f"/organizations/{org['id']}/memberships", params={"order_by": field})
        assert response.status_code == 200, response.text
        return [m["public_user_data"]["user_id"] for m in response.json()["data"]]

    assert order("+email_address") == [amy["id"], zed["id"]]
    assert order("+first_name") == [amy["id"], zed["id"]]
    assert order("+last_name") == [zed["id"], amy["id"]]
    assert order("-username") == [zed["id"], amy["id"]]
    assert order("+phone_number") == [zed["id"], amy["id"]]  # no phone sorts first
