"""Bad input never gets a 500 or a hang: every case answers a 4xx with Clerk's JSON error body
``{"errors": [{"message", "long_message", "code"}]}`` and ``content-type: application/json``.

The requests go straight over HTTP (no SDK, which would refuse to send most of them). Placeholders such as
``{user}`` are replaced by ids of real resources created for each test, so only the bad part is bad."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from clerk_emulator import bapi as bapi_routes
from clerk_emulator.state import Emulator
from tests.clerk_emulator.openapi import assert_clerk_error

BIG = str(10**30)
DEEP = "[" * 200 + "]" * 200


@pytest.fixture
def world(bapi: httpx.Client) -> dict[str, str]:
    """One of everything, so that each bad request differs from a good one in a single way."""
    user = bapi.post("/users", json={"email_address": ["owner@example.com"]}).json()
    org = bapi.post("/organizations", json={"name": "Acme", "created_by": user["id"]}).json()
    orginv = bapi.post(
        f"/organizations/{org['id']}/invitations", json={"email_address": "p@example.com", "role": "org:member"}
    ).json()
    inv = bapi.post("/invitations", json={"email_address": "s@example.com", "notify": False}).json()
    session = bapi.post("/sessions", json={"user_id": user["id"]}).json()
    return {"user": user["id"], "org": org["id"], "orginv": orginv["id"], "inv": inv["id"], "sess": session["id"]}


def send(bapi: httpx.Client, world: dict[str, str], method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    path = path.format(**world)
    if isinstance(body, str | bytes):
        return bapi.request(method, path, content=body, headers={"content-type": "application/json"}, **kwargs)
    if body is None:
        return bapi.request(method, path, **kwargs)
    return bapi.request(method, path, json=body, **kwargs)


# -- bodies: (method, path, raw or JSON body, status, code) ---------------------------------------------------------

MALFORMED: list[tuple[Any, ...]] = [
    ("POST", "/users", "{", 400, "request_body_invalid"),
    ("POST", "/users", "{'email_address': ['a@example.com']}", 400, "request_body_invalid"),
    ("POST", "/invitations", '{"email_address": "a@example.com",}', 400, "request_body_invalid"),
    ("POST", "/invitations", '{"email_address": "a@example.com", "expires_in_days": NaN}', 400, "request_body_invalid"),
    ("POST", "/invitations", b'{"email_address": "\xff\xfe@example.com"}', 400, "request_body_invalid"),
    ("POST", "/organizations", DEEP, 400, "request_body_invalid"),
    ("PATCH", "/users/{user}/metadata", '{"public_metadata": ' + '{"a": ' * 100 + "1" + "}" * 101, 400, None),
    ("POST", "/sessions", "Infinity", 400, "request_body_invalid"),
]

WRONG_SHAPE: list[tuple[Any, ...]] = [
    ("POST", "/users", [], 400, "request_body_invalid"),
    ("POST", "/users", "[]", 400, "request_body_invalid"),
    ("POST", "/invitations", [{"email_address": "a@example.com"}], 400, "request_body_invalid"),
    ("POST", "/invitations", '"a@example.com"', 400, "request_body_invalid"),
    ("POST", "/invitations/bulk", {"email_address": "a@example.com"}, 400, "request_body_invalid"),
    ("POST", "/invitations/bulk", ["a@example.com"], 400, "request_body_invalid"),
    ("POST", "/organizations", "42", 400, "request_body_invalid"),
    ("PATCH", "/users/{user}", [], 400, "request_body_invalid"),
    ("PATCH", "/organizations/{org}", [], 400, "request_body_invalid"),
    ("POST", "/organizations/{org}/memberships", [], 400, "request_body_invalid"),
    ("POST", "/organizations/{org}/invitations", [{"email_address": "a@example.com"}], 400, "request_body_invalid"),
    ("POST", "/organizations/{org}/invitations/bulk", {"email_address": "a@example.com"}, 400, None),
    ("POST", "/sessions", [], 400, "request_body_invalid"),
    ("POST", "/sessions/{sess}/tokens", [], 400, "request_body_invalid"),
    ("POST", "/organizations/{org}/invitations/{orginv}/revoke", "true", 400, "request_body_invalid"),
]

WRONG_TYPES: list[tuple[Any, ...]] = [
    ("POST", "/users", {"email_address": [5]}, 422, "form_param_format_invalid"),
    ("POST", "/users", {"email_address": "not-an-email"}, 422, "form_param_format_invalid"),
    ("POST", "/users", {"phone_number": ["12345"]}, 422, "form_param_format_invalid"),
    ("POST", "/users", {"email_address": ["a@example.com"], "password": 12345678}, 422, "form_param_format_invalid"),
    ("POST", "/users", {"email_address": ["a@example.com"], "public_metadata": "x"}, 422, "form_param_format_invalid"),
    ("POST", "/users", {"email_address": ["a@example.com"], "banned": "yes"}, 422, "form_param_format_invalid"),
    ("PATCH", "/users/{user}", {"first_name": 7}, 422, "form_param_format_invalid"),
    ("PATCH", "/users/{user}", {"public_metadata": []}, 422, "form_param_format_invalid"),
    ("PATCH", "/users/{user}/metadata", {"public_metadata": 5}, 422, "form_param_format_invalid"),
    ("PUT", "/users/{user}/metadata", {"private_metadata": "x"}, 422, "form_param_format_invalid"),
    ("POST", "/invitations", {"email_address": 5}, 422, "form_param_format_invalid"),
    ("POST", "/invitations", {"email_address": "a@example.com", "expires_in_days": "7"}, 422, None),
    ("POST", "/invitations", {"email_address": "a@example.com", "expires_in_days": 7.5}, 422, None),
    ("POST", "/invitations", {"email_address": "a@example.com", "expires_in_days": True}, 422, None),
    ("POST", "/invitations", {"email_address": "a@example.com", "expires_in_days": 10**40}, 422, None),
    ("POST", "/invitations", {"email_address": "a@example.com", "notify": "no"}, 422, "form_param_format_invalid"),
    ("POST", "/invitations", {"email_address": "a@example.com", "template_slug": "x"}, 422, None),
    ("POST", "/invitations", {"email_address": "a" * 400 + "@example.com"}, 422, None),
    ("POST", "/invitations/bulk", [{"email_address": ["a@example.com"]}], 422, "form_param_format_invalid"),
    ("POST", "/organizations", {"name": 5}, 422, "form_param_format_invalid"),
    ("POST", "/organizations", {"name": "x" * 300}, 422, None),
    ("POST", "/organizations", {"name": "<b>hi</b>"}, 422, "form_param_value_invalid"),
    ("POST", "/organizations", {"name": "Acme", "slug": "Not A Slug"}, 422, "form_param_value_invalid"),
    ("POST", "/organizations", {"name": "Acme", "max_allowed_memberships": "5"}, 422, None),
    ("POST", "/organizations", {"name": "Acme", "max_allowed_memberships": -1}, 422, None),
    ("PATCH", "/organizations/{org}", {"admin_delete_enabled": "false"}, 422, None),
    ("PATCH", "/organizations/{org}/metadata", {"public_metadata": [1]}, 422, None),
    ("POST", "/organizations/{org}/memberships", {"user_id": 5, "role": "org:member"}, 422, None),
    ("POST", "/organizations/{org}/memberships", {"user_id": "{user}", "role": ["org:admin"]}, 422, None),
    ("PATCH", "/organizations/{org}/memberships/{user}", {"role": 1}, 422, None),
    ("POST", "/organizations/{org}/invitations", {"email_address": 5, "role": "org:member"}, 422, None),
    (
        "POST",
        "/organizations/{org}/invitations",
        {"email_address": "a@b.co", "role": "org:member", "notify": 1},
        422,
        None,
    ),
    (
        "POST",
        "/organizations/{org}/invitations",
        {"email_address": "a@example.com", "role": "org:member", "expires_in_days": "30"},
        422,
        None,
    ),
    ("POST", "/organizations/{org}/invitations/{orginv}/revoke", {"requesting_user_id": 5}, 422, None),
    ("POST", "/sessions", {"user_id": 5}, 422, "form_param_format_invalid"),
    ("POST", "/sessions/{sess}/tokens", {"expires_in_seconds": "60"}, 422, None),
    ("POST", "/sessions/{sess}/tokens", {"expires_in_seconds": 5}, 422, "form_param_value_invalid"),
    ("POST", "/templates/email/invitation/toggle_delivery", {"delivered_by_clerk": "no"}, 422, None),
]

UNKNOWN_FIELDS: list[tuple[Any, ...]] = [
    ("POST", "/users", {"email_address": ["a@example.com"], "bogus": 1}, "bogus"),
    ("PATCH", "/users/{user}", {"favourite_colour": "blue"}, "favourite_colour"),
    ("PATCH", "/users/{user}/metadata", {"public_metadata": {}, "extra": {}}, "extra"),
    ("POST", "/invitations", {"email_address": "a@example.com", "role": "admin"}, "role"),
    ("POST", "/invitations/bulk", [{"email_address": "a@example.com", "bogus": True}], "bogus"),
    ("POST", "/organizations", {"name": "Acme", "owner": "me"}, "owner"),
    ("PATCH", "/organizations/{org}", {"colour": "red"}, "colour"),
    ("POST", "/organizations/{org}/memberships", {"user_id": "{user}", "role": "org:member", "x": 1}, "x"),
    ("PATCH", "/organizations/{org}/memberships/{user}", {"role": "org:member", "x": 1}, "x"),
    ("POST", "/organizations/{org}/invitations", {"email_address": "a@b.co", "role": "org:member", "x": 1}, "x"),
    ("POST", "/organizations/{org}/invitations/{orginv}/revoke", {"reason": "x"}, "reason"),
    ("POST", "/sessions", {"user_id": "{user}", "device": "x"}, "device"),
    ("POST", "/sessions/{sess}/tokens", {"template": "x"}, "template"),
    ("POST", "/templates/email/invitation/toggle_delivery", {"enabled": False}, "enabled"),
]

MISSING_REQUIRED: list[tuple[Any, ...]] = [
    ("POST", "/users", {}, "form_data_missing"),
    ("POST", "/users", None, "form_data_missing"),
    ("POST", "/invitations", {}, "form_param_missing"),
    ("POST", "/invitations", None, "form_param_missing"),
    ("POST", "/invitations", {"email_address": ""}, "form_param_missing"),
    ("POST", "/invitations/bulk", [{}], "form_param_missing"),
    ("POST", "/organizations", {}, "form_param_missing"),
    ("POST", "/organizations", {"name": "   "}, "form_param_missing"),
    ("POST", "/organizations/{org}/memberships", {"role": "org:member"}, "form_param_missing"),
    ("POST", "/organizations/{org}/memberships", {"user_id": "{user}"}, "form_param_missing"),
    ("PATCH", "/organizations/{org}/memberships/{user}", {}, "form_param_missing"),
    ("POST", "/organizations/{org}/invitations", {"email_address": "a@example.com"}, "form_param_missing"),
    ("POST", "/organizations/{org}/invitations", {"role": "org:member"}, "form_param_missing"),
    ("POST", "/organizations/{org}/invitations/bulk", [{"role": "org:member"}], "form_param_missing"),
    ("POST", "/sessions", {}, "form_param_missing"),
    ("POST", "/sessions", None, "form_param_missing"),
]

QUERY: list[tuple[str, dict[str, str]]] = [
    ("/users", {"limit": "abc"}),
    ("/users", {"limit": "1.5"}),
    ("/users", {"limit": "0"}),
    ("/users", {"limit": "501"}),
    ("/users", {"limit": BIG}),
    ("/users", {"limit": "9" * 5000}),
    ("/users", {"offset": "-1"}),
    ("/users", {"offset": "ten"}),
    ("/users", {"offset": BIG}),
    ("/users", {"order_by": "-password"}),
    ("/users", {"banned": "maybe"}),
    ("/users", {"created_at_before": "yesterday"}),
    ("/users/count", {"last_active_at_after": "soon"}),
    ("/users/{user}/organization_memberships", {"limit": "-5"}),
    ("/organizations", {"limit": "1000"}),
    ("/organizations", {"include_members_count": "perhaps"}),
    ("/organizations", {"order_by": "slug"}),
    ("/organizations/{org}", {"include_members_count": "2"}),
    ("/organizations/{org}/memberships", {"offset": "x"}),
    ("/organizations/{org}/memberships", {"order_by": "role"}),
    ("/organizations/{org}/invitations", {"status": "weird"}),
    ("/organizations/{org}/invitations", {"limit": "501"}),
    ("/organizations/{org}/invitations/pending", {"limit": "none"}),
    ("/organization_invitations", {"status": "all"}),
    ("/organization_invitations", {"order_by": "role"}),
    ("/invitations", {"status": "pending,revoked"}),
    ("/invitations", {"limit": "-1"}),
    ("/invitations", {"paginated": "sometimes"}),
    ("/invitations", {"order_by": "status"}),
    ("/sessions", {"user_id": "{user}", "status": "gone"}),
    ("/sessions", {"user_id": "{user}", "limit": "x"}),
    ("/sessions", {}),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), MALFORMED + WRONG_SHAPE)
def test_malformed_or_misshapen_body(
    bapi: httpx.Client,
    world: dict[str, str],
    clerk_emulator: Emulator,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
) -> None:
    before = (len(clerk_emulator.users), len(clerk_emulator.invitations), len(clerk_emulator.organizations))
    assert_clerk_error(send(bapi, world, method, path, body), status, code)
    after = (len(clerk_emulator.users), len(clerk_emulator.invitations), len(clerk_emulator.organizations))
    assert after == before


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), WRONG_TYPES)
def test_wrong_types(
    bapi: httpx.Client, world: dict[str, str], method: str, path: str, body: Any, status: int, code: str | None
) -> None:
    body = _fill(body, world)
    error = assert_clerk_error(send(bapi, world, method, path, body), status, code)["errors"][0]
    assert error["code"].startswith("form_"), error
    assert "param_name" in error.get("meta", {}), error


@pytest.mark.parametrize(("method", "path", "body", "field"), UNKNOWN_FIELDS)
def test_unknown_fields(
    bapi: httpx.Client, world: dict[str, str], method: str, path: str, body: Any, field: str
) -> None:
    error = assert_clerk_error(send(bapi, world, method, path, _fill(body, world)), 422, "form_param_unknown")
    assert error["errors"][0]["meta"] == {"param_name": field}


@pytest.mark.parametrize(("method", "path", "body", "code"), MISSING_REQUIRED)
def test_missing_required_fields(
    bapi: httpx.Client, world: dict[str, str], method: str, path: str, body: Any, code: str
) -> None:
    assert_clerk_error(send(bapi, world, method, path, _fill(body, world)), 422, code)


@pytest.mark.parametrize(("path", "params"), QUERY)
def test_bad_query_parameters(bapi: httpx.Client, world: dict[str, str], path: str, params: dict[str, str]) -> None:
    filled = {key: value.format(**world) for key, value in params.items()}
    error = assert_clerk_error(send(bapi, world, "GET", path, params=filled), 422)["errors"][0]
    assert error["code"].startswith("form_param_"), error


def test_a_huge_offset_is_just_an_empty_page(bapi: httpx.Client, world: dict[str, str]) -> None:
    assert bapi.get("/users", params={"offset": "1000000"}).json() == []
    assert bapi.get("/organizations", params={"offset": str(2**62)}).json()["data"] == []


def test_an_oversized_body_is_refused(bapi: httpx.Client) -> None:
    response = bapi.post("/invitations", json={"email_address": "a@example.com", "public_metadata": {"x": "y" * 2**21}})
    assert_clerk_error(response, 413, "request_body_invalid")


def test_an_oversized_chunked_body_is_refused(bapi: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"email_address": "a@example.com", "public_metadata": {"x": "'
        for _ in range(2**11):
            yield b"y" * 1024
        yield b'"}}'

    response = bapi.post("/invitations", content=chunks(), headers={"content-type": "application/json"})
    assert_clerk_error(response, 413, "request_body_invalid")


def test_unknown_route_and_wrong_method(bapi: httpx.Client) -> None:
    assert_clerk_error(bapi.get("/no_such_thing"), 404, "resource_not_found")
    assert_clerk_error(bapi.put("/invitations", json={}), 405)
    assert_clerk_error(bapi.delete("/jwks"), 405)


# -- unknown ids on every path that has one --------------------------------------------------------------------------

VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/organizations/{}/memberships"): {"user_id": "{user}", "role": "org:member"},
    ("PATCH", "/organizations/{}/memberships/{}"): {"role": "org:admin"},
    ("POST", "/organizations/{}/invitations"): {"email_address": "new@example.com", "role": "org:member"},
    ("POST", "/organizations/{}/invitations/bulk"): [{"email_address": "new@example.com", "role": "org:member"}],
    ("POST", "/templates/{}/{}/toggle_delivery"): {"delivered_by_clerk": False},
    ("PATCH", "/users/{}"): {"first_name": "X"},
    ("PATCH", "/organizations/{}"): {"name": "X"},
}
# What a known id of each parameter looks like; each case replaces one of them with an unknown id.
KNOWN = {
    "user_id": "{user}",
    "organization_id": "{org}",
    "invitation_id": None,  # depends on the route: organization or application invitation
    "session_id": "{sess}",
    "template_type": "email",
    "slug": "invitation",
}


def _id_cases() -> list[Any]:
    cases = []
    for rule in bapi_routes.RULES:
        names = re.findall(r"<([^>]+)>", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for unknown in names:
                if unknown == "template_type":
                    continue  # an unknown template type is a 400, checked below
                cases.append(pytest.param(method, rule.rule, unknown, id=f"{method} {rule.rule} ?{unknown}"))
    return cases


@pytest.mark.parametrize(("method", "rule", "unknown"), _id_cases())
def test_unknown_ids_are_404(
    bapi: httpx.Client, world: dict[str, str], clerk_emulator: Emulator, method: str, rule: str, unknown: str
) -> None:
    def value(name: str) -> str:
        if name == unknown:
            return "slug_missing" if name == "slug" else "xyz_2missing0000000000000000000"
        if name == "invitation_id":
            return world["orginv"] if "/organizations/" in rule else world["inv"]
        known = KNOWN[name]
        assert known is not None
        return known.format(**world)

    path = re.sub(r"<([^>]+)>", lambda match: value(match.group(1)), rule).removeprefix("/v1")
    shape = (method, re.sub(r"<[^>]+>", "{}", rule).removeprefix("/v1"))
    body = _fill(VALID_BODIES.get(shape), world)
    users_before = len(clerk_emulator.users)
    assert_clerk_error(send(bapi, world, method, path, body), 404, "resource_not_found")
    assert len(clerk_emulator.users) == users_before


def test_unknown_template_type_is_400(bapi: httpx.Client) -> None:
    assert_clerk_error(bapi.get("/templates/fax"), 400, "template_type_unsupported")
    assert_clerk_error(
        bapi.post("/templates/fax/invitation/toggle_delivery", json={}), 400, "template_type_unsupported"
    )


def test_nothing_above_left_the_emulator_broken(bapi: httpx.Client, world: dict[str, str]) -> None:
    """After a burst of garbage on one connection, the same client still gets normal answers."""
    for body in ("{", "[]", DEEP, '"x"'):
        bapi.post("/users", content=body, headers={"content-type": "application/json"})
    assert bapi.get(f"/users/{world['user']}").status_code == 200


def _fill(body: Any, world: dict[str, str]) -> Any:
    """Replace ``"{user}"``-style placeholders inside a JSON body (raw string bodies are sent as they are)."""
    if isinstance(body, str):
        return body.format(**world) if re.fullmatch(r"\{\w+\}", body) else body
    if isinstance(body, dict):
        return {key: _fill(value, world) for key, value in body.items()}
    if isinstance(body, list):
        return [_fill(item, world) for item in body]
    return body
