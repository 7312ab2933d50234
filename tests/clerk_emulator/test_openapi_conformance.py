"""Every Backend API operation the emulator serves, answered with JSON that matches Clerk's published OpenAPI
spec (bapi 2025-11-10) for that operation and status: required keys present, no keys where the schema says
``additionalProperties: false``, the right types, enums and nullability.

The SDK contract tests prove the SDK can parse the emulator; this proves the stricter thing, the spec itself.
A final check makes sure no route of ``clerk_emulator.bapi`` escapes validation."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from clerk_emulator import bapi, invitations
from clerk_emulator.state import Emulator
from tests.clerk_emulator.openapi import assert_clerk_error, assert_conforms, operation_for, spec, violations

DAY_S = 86_400


class Recorder:
    """Sends requests, validates each answer against its operation in the spec, remembers what was covered."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.covered: set[tuple[str, str]] = set()

    def __call__(self, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        template = operation_for(method, "/v1" + path)
        self.covered.add((method.upper(), _shape(template)))
        return assert_conforms(template, method, response)


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", template.removeprefix("/v1"))


@pytest.fixture
def call(bapi: httpx.Client) -> Recorder:
    return Recorder(bapi)


# Each scenario drives a group of operations; ``test_scenario`` runs them one by one, and
# ``test_every_backend_route_is_validated`` runs them all to prove no route of ``clerk_emulator.bapi`` is missed.


def scenario_users(call: Recorder, clerk_emulator: Emulator) -> None:
    ann = call(
        "POST",
        "/users",
        json={
            "email_address": ["ann@example.com", "ann.other@example.com"],
            "phone_number": ["+15555550100"],
            "password": "correct-horse-1",
            "first_name": "Ann",
            "username": "ann",
            "external_id": "ext-ann",
            "public_metadata": {"a": 1},
            "private_metadata": {"b": 2},
            "unsafe_metadata": {"c": 3},
        },
    )
    bare = call("POST", "/users", json={"external_id": "only-external"})
    assert bare["email_addresses"] == []
    assert bare["primary_email_address_id"] is None
    call("GET", "/users", params={"limit": 1})
    call("GET", "/users", params={"query": "ann", "order_by": "-email_address"})
    assert call("GET", "/users/count", params={"email_address": "ann@example.com"})["total_count"] == 1
    call("GET", f"/users/{ann['id']}")
    call("PATCH", f"/users/{ann['id']}", json={"last_name": "Lee", "public_metadata": {"replaced": True}})
    call("PATCH", f"/users/{ann['id']}/metadata", json={"public_metadata": {"x": {"y": 1}}})
    call("PUT", f"/users/{ann['id']}/metadata", json={"private_metadata": {"z": 1}})
    call("POST", f"/users/{ann['id']}/lock")
    call("POST", f"/users/{ann['id']}/unlock")
    call("POST", f"/users/{ann['id']}/ban")
    call("POST", f"/users/{ann['id']}/unban")
    call("GET", f"/users/{ann['id']}/organization_memberships")
    deleted = call("DELETE", f"/users/{bare['id']}")
    assert deleted == {"object": "user", "id": bare["id"], "deleted": True}


def scenario_user_with_ticket_verified_email_and_unverified_phone(call: Recorder, clerk_emulator: Emulator) -> None:
    """Verification objects are a ``oneOf`` keyed by ``object``: check the variants the emulator produces."""
    from clerk_emulator import users

    with clerk_emulator.lock:
        user = users.new_user(clerk_emulator, email="t@example.com", email_verification="ticket", phone="+15555550111")
        unverified = users.new_user(clerk_emulator, email="u@example.com", email_verification=None)
    ticket = call("GET", f"/users/{user.id}")
    assert ticket["email_addresses"][0]["verification"]["object"] == "verification_ticket"
    assert ticket["phone_numbers"][0]["verification"]["status"] == "unverified"
    assert call("GET", f"/users/{unverified.id}")["email_addresses"][0]["verification"] is None


def scenario_organizations_and_memberships(call: Recorder, clerk_emulator: Emulator) -> None:
    owner = call("POST", "/users", json={"email_address": ["owner@example.com"]})
    member = call("POST", "/users", json={"email_address": ["member@example.com"]})
    org = call("POST", "/organizations", json={"name": "Acme", "created_by": owner["id"]})
    bare = call("POST", "/organizations", json={"name": "Bare"})
    assert "created_by" not in bare  # optional and not nullable in the spec
    call("GET", "/organizations")
    call("GET", "/organizations", params={"include_members_count": "true", "query": "acme"})
    call("GET", f"/organizations/{org['id']}", params={"include_members_count": "true"})
    call("GET", "/organizations/acme")
    call("PATCH", f"/organizations/{org['id']}", json={"name": "Acme 2", "admin_delete_enabled": False})
    call("PATCH", f"/organizations/{org['id']}/metadata", json={"public_metadata": {"k": "v"}})
    call("POST", f"/organizations/{org['id']}/memberships", json={"user_id": member["id"], "role": "org:member"})
    call("GET", f"/organizations/{org['id']}/memberships", params={"role": "org:member"})
    call("PATCH", f"/organizations/{org['id']}/memberships/{member['id']}", json={"role": "org:admin"})
    call("GET", f"/users/{member['id']}/organization_memberships")
    call("DELETE", f"/organizations/{org['id']}/memberships/{member['id']}")
    deleted = call("DELETE", f"/organizations/{bare['id']}")
    assert deleted["deleted"] is True
    assert deleted["object"] == "organization"
    # A membership whose user is gone still serializes (public_user_data of a deleted user).
    call("POST", f"/organizations/{org['id']}/memberships", json={"user_id": member["id"], "role": "org:member"})
    call("GET", f"/organizations/{org['id']}/memberships")


def scenario_organization_invitations_in_every_status(call: Recorder, clerk_emulator: Emulator) -> None:
    owner = call("POST", "/users", json={"email_address": ["owner@example.com"], "first_name": "O"})
    joiner = call("POST", "/users", json={"email_address": ["joiner@example.com"]})
    org = call("POST", "/organizations", json={"name": "Acme", "created_by": owner["id"]})
    base = f"/organizations/{org['id']}/invitations"
    pending = call("POST", base, json={"email_address": "p@example.com", "role": "org:member"})
    by_admin = call(
        "POST", base, json={"email_address": "q@example.com", "role": "org:admin", "inviter_user_id": owner["id"]}
    )
    assert by_admin["public_inviter_data"]["user_id"] == owner["id"]
    to_accept = call("POST", base, json={"email_address": "joiner@example.com", "role": "org:member"})
    to_expire = call("POST", base, json={"email_address": "e@example.com", "role": "org:member", "expires_in_days": 1})
    call("POST", f"{base}/bulk", json=[{"email_address": "b1@example.com", "role": "org:member"}])
    revoked = call("POST", f"{base}/{pending['id']}/revoke", json={"requesting_user_id": owner["id"]})
    assert revoked["status"] == "revoked"
    assert revoked["url"] is None
    with clerk_emulator.lock:
        invitations.accept_organization_invitation(
            clerk_emulator, clerk_emulator.organization_invitations[to_accept["id"]], clerk_emulator.users[joiner["id"]]
        )
    clerk_emulator.advance_clock(DAY_S + 1)
    statuses = {inv["id"]: inv["status"] for inv in call("GET", base, params={"limit": 100})["data"]}
    assert statuses[to_accept["id"]] == "accepted"
    assert statuses[to_expire["id"]] == "expired"
    assert statuses[pending["id"]] == "revoked"
    call("GET", base, params={"status": "expired"})
    call("GET", f"{base}/pending")
    call("GET", f"{base}/{to_expire['id']}")
    instance_wide = call("GET", "/organization_invitations", params={"limit": 100})
    assert {inv["public_organization_data"]["id"] for inv in instance_wide["data"]} == {org["id"]}


def scenario_application_invitations_in_every_status(call: Recorder, clerk_emulator: Emulator) -> None:
    created = call("POST", "/invitations", json={"email_address": "a@example.com", "notify": False})
    assert "revoked" not in created
    call("POST", "/invitations/bulk", json=[{"email_address": "b@example.com"}, {"email_address": "c@example.com"}])
    revoked = call("POST", f"/invitations/{created['id']}/revoke")
    assert revoked["revoked"] is True
    assert revoked["status"] == "revoked"
    accepted = call("POST", "/invitations", json={"email_address": "d@example.com", "expires_in_days": 365})
    with clerk_emulator.lock:
        invitations.accept_app_invitation(clerk_emulator, clerk_emulator.invitations[accepted["id"]])
    call("POST", "/invitations", json={"email_address": "e@example.com", "expires_in_days": 1})
    clerk_emulator.advance_clock(DAY_S + 1)
    every = call("GET", "/invitations", params={"limit": 100})
    # Revoked ones are left out unless asked for with status=revoked.
    assert sorted(inv["status"] for inv in every) == ["accepted", "expired", "pending", "pending"]
    call("GET", "/invitations", params={"status": "revoked"})
    call("GET", "/invitations", params={"query": "d@", "order_by": "expires_at"})


def scenario_sessions_jwks_and_templates(call: Recorder, clerk_emulator: Emulator) -> None:
    user = call("POST", "/users", json={"email_address": ["s@example.com"]})
    org = call("POST", "/organizations", json={"name": "Acme", "created_by": user["id"]})
    session = call("POST", "/sessions", json={"user_id": user["id"], "active_organization_id": org["id"]})
    call("GET", "/sessions", params={"user_id": user["id"]})
    call("GET", f"/sessions/{session['id']}")
    token = call("POST", f"/sessions/{session['id']}/tokens", json={"expires_in_seconds": 120})
    assert set(token) == {"object", "jwt"}
    call("POST", f"/sessions/{session['id']}/tokens")
    call("POST", f"/sessions/{session['id']}/revoke")
    call("GET", "/jwks")
    call("GET", "/templates/email")
    call("GET", "/templates/sms")
    call("GET", "/templates/email/organization_invitation")
    call("POST", "/templates/email/invitation/toggle_delivery", json={"delivered_by_clerk": False})
    call("POST", "/templates/sms/verification_code/toggle_delivery", json={})


SCENARIOS = [
    scenario_users,
    scenario_user_with_ticket_verified_email_and_unverified_phone,
    scenario_organizations_and_memberships,
    scenario_organization_invitations_in_every_status,
    scenario_application_invitations_in_every_status,
    scenario_sessions_jwks_and_templates,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__.removeprefix("scenario_"))
def test_scenario(scenario: Any, call: Recorder, clerk_emulator: Emulator) -> None:
    scenario(call, clerk_emulator)


def test_every_backend_route_is_validated(call: Recorder, clerk_emulator: Emulator) -> None:
    for scenario in SCENARIOS:
        clerk_emulator.reset()
        scenario(call, clerk_emulator)
    routes = {(method, _shape(rule.rule)) for rule in bapi.RULES for method in (rule.methods or ()) if method != "HEAD"}
    missing = routes - call.covered
    assert not missing, f"routes never validated against the spec: {sorted(missing)}"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/users/user_missing", None, 404),
        ("POST", "/users", {"email_address": ["not-an-email"]}, 422),
        ("POST", "/users", {"bogus": 1}, 422),
        ("GET", "/users", None, 422),  # with a bad order_by, see params below
        ("POST", "/invitations", {"email_address": 5}, 422),
        ("POST", "/invitations/bulk", [], 400),
        ("POST", "/organizations", {}, 422),
        ("GET", "/organizations/org_missing", None, 404),
        (
            "POST",
            "/organizations/org_missing/invitations",
            {"email_address": "a@example.com", "role": "org:member"},
            404,
        ),
        ("POST", "/sessions", {"user_id": "user_missing"}, 404),
        ("GET", "/templates/fax", None, 400),
    ],
)
def test_error_answers_match_the_declared_error_schema(
    call: Recorder, method: str, path: str, body: Any, status: int
) -> None:
    params = {"order_by": "password"} if path == "/users" and method == "GET" else None
    response = call.client.request(method, path, json=body, params=params)
    assert_clerk_error(response, status)
    template = operation_for(method, "/v1" + path)
    assert_conforms(template, method, response)  # the operation declares this status with ClerkErrors


def test_the_validator_is_strict(bapi: httpx.Client) -> None:
    """The checks above would catch a wrong emulator: an extra key, a missing key, a wrong type, a bad null."""
    user = bapi.post("/users", json={"email_address": ["v@example.com"]}).json()
    assert not violations("/users/{user_id}", "GET", 200, user)
    broken: list[tuple[str, dict[str, Any]]] = [
        ("additional", {**user, "nickname": "x"}),
        ("required", {key: value for key, value in user.items() if key != "banned"}),
        ("type", {**user, "banned": "no"}),
        ("null", {**user, "has_image": None}),
        ("enum", {**user, "object": "person"}),
        ("oneOf", {**user, "email_addresses": [{**user["email_addresses"][0], "verification": {"object": "?"}}]}),
    ]
    for label, data in broken:
        assert violations("/users/{user_id}", "GET", 200, data), label
    org = bapi.post("/organizations", json={"name": "V"}).json()
    assert violations("/organizations/{organization_id}", "GET", 200, {**org, "slug": None})


# Valid values for required request fields, so that only the optional ones are left null.
_REQUIRED_VALUES: dict[str, Any] = {
    "email_address": "spec@example.com",
    "role": "org:member",
    "name": "Spec",
    "user_id": "{user}",
}


def _request_body_cases() -> list[Any]:
    routes = {(method, _shape(rule.rule)) for rule in bapi.RULES for method in (rule.methods or ())}
    cases = []
    for template, item in spec()["paths"].items():
        for method, operation in item.items():
            if (method.upper(), _shape(template)) not in routes or "requestBody" not in operation:
                continue
            cases.append(pytest.param(method.upper(), template, id=f"{method.upper()} {template}"))
    return cases


@pytest.mark.parametrize(("method", "template"), _request_body_cases())
def test_every_field_the_spec_declares_is_accepted(
    bapi: httpx.Client, clerk_emulator: Emulator, method: str, template: str
) -> None:
    """A body naming every property of the operation's request schema (optional ones as null) is never refused
    as ``form_param_unknown``: the SDK may send any of them."""
    user = bapi.post("/users", json={"email_address": ["owner@example.com"]}).json()
    org = bapi.post("/organizations", json={"name": "Acme", "created_by": user["id"]}).json()
    member = bapi.post("/users", json={"email_address": ["member@example.com"]}).json()
    bapi.post(f"/organizations/{org['id']}/memberships", json={"user_id": member["id"], "role": "org:member"})
    invitation = bapi.post(
        f"/organizations/{org['id']}/invitations", json={"email_address": "p@example.com", "role": "org:member"}
    ).json()
    session = bapi.post("/sessions", json={"user_id": user["id"]}).json()
    ids = {
        "user_id": member["id"],
        "organization_id": org["id"],
        "invitation_id": invitation["id"],
        "session_id": session["id"],
        "template_type": "email",
        "slug": "invitation",
    }
    path = re.sub(r"\{([^}]+)\}", lambda match: ids[match.group(1)], template)
    request_body = spec()["paths"][template][method.lower()]["requestBody"]
    schema = request_body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    is_list = schema.get("type") == "array"
    item_schema = schema["items"] if is_list else schema
    if "$ref" in item_schema:
        item_schema = spec()["components"]["schemas"][item_schema["$ref"].rsplit("/", 1)[-1]]
    entry = dict.fromkeys(item_schema.get("properties", {}))
    for key in item_schema.get("required", []):
        entry[key] = _REQUIRED_VALUES[key].format(user=user["id"])
    response = bapi.request(method, path, json=[entry] if is_list else entry)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["errors"][0]["code"] != "form_param_unknown", response.text
