"""The OpenAPI schema at /api/schema/ documents the staff API truthfully: every operation, every error status."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

BASE = "/api/admin/internal-users"
INVITATION_ACTION = {"200", "400", "401", "403", "404", "409", "422", "429", "502", "503"}
USER_ACTION = {"200", "400", "401", "403", "404", "409", "422", "429", "502", "503"}
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    (f"{BASE}/", "get"): {"id": "internal_users_list", "statuses": {"200", "400", "401", "403", "404"}},
    (f"{BASE}/invitations/", "post"): {
        "id": "internal_invitations_create",
        "statuses": {"201", "400", "401", "403", "409", "415", "422", "429", "502", "503"},
    },
    (f"{BASE}/invitations/{{invitation_id}}/resend/", "post"): {
        "id": "internal_invitations_resend",
        "statuses": INVITATION_ACTION,
    },
    (f"{BASE}/invitations/{{invitation_id}}/revoke/", "post"): {
        "id": "internal_invitations_revoke",
        "statuses": INVITATION_ACTION,
    },
    (f"{BASE}/invitations/{{invitation_id}}/", "get"): {
        "id": "internal_invitations_retrieve",
        "statuses": {"200", "401", "403", "404"},
    },
    (f"{BASE}/invitations/{{invitation_id}}/link/", "post"): {
        "id": "internal_invitations_link",
        "statuses": {"200", "401", "403", "404", "409", "502", "503"},
    },
    (f"{BASE}/grant-role/", "post"): {
        "id": "internal_users_grant_role",
        "statuses": {"200", "400", "401", "403", "404", "409", "415", "422", "429", "502", "503"},
    },
    (f"{BASE}/{{clerk_user_id}}/deactivate/", "post"): {"id": "internal_users_deactivate", "statuses": USER_ACTION},
    (f"{BASE}/{{clerk_user_id}}/reactivate/", "post"): {"id": "internal_users_reactivate", "statuses": USER_ACTION},
    (f"{BASE}/{{clerk_user_id}}/", "delete"): {
        "id": "internal_users_remove",
        "statuses": {"204", "401", "403", "404", "409", "422", "429", "502", "503"},
    },
}
ENTRY_FIELDS = {
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


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _ref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node or "allOf" in node:
        ref = node["allOf"][0] if "allOf" in node else node
        node = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref
    return node


def _json_schema(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return _ref(schema, response["content"]["application/json"]["schema"])


def test_every_operation_is_documented_with_its_errors(schema: dict[str, Any]) -> None:
    for (path, method), expected in OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation["operationId"] == expected["id"]
        assert operation["tags"] == ["internal users"]
        assert operation["summary"]
        assert operation["description"]
        assert set(operation["responses"]) == expected["statuses"], (path, method)
        assert operation["security"] == [{"clerkSession": []}]
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                error = _json_schema(schema, response)
                assert set(error["properties"]) == {"code", "message", "extra"}, (path, method, status)
                assert response["description"], (path, method, status)
    # Nothing else under the prefix: no undocumented route or method.
    paths = {path for path in schema["paths"] if path.startswith(f"{BASE}/")}
    assert paths == {path for path, _ in OPERATIONS}
    for path in paths:
        documented = {method for method in schema["paths"][path] if method != "parameters"}
        assert documented == {method for p, method in OPERATIONS if p == path}, path


def test_path_parameters(schema: dict[str, Any]) -> None:
    for path, method in OPERATIONS:
        parameters = {(p["in"], p["name"]): p for p in schema["paths"][path][method].get("parameters", [])}
        if "{invitation_id}" in path:
            assert parameters[("path", "invitation_id")]["schema"]["type"] == "integer"
        if "{clerk_user_id}" in path:
            pattern = re.compile(parameters[("path", "clerk_user_id")]["schema"]["pattern"])
            assert pattern.search("user_2abcDEF123")
            assert not pattern.search("user-1")


def test_list_documents_filters_cursor_and_page(schema: dict[str, Any]) -> None:
    operation = schema["paths"][f"{BASE}/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(parameters) == {"status", "role", "q", "cursor", "page_size"}
    page_size = parameters["page_size"]["schema"]
    assert (page_size["type"], page_size["minimum"], page_size["maximum"], page_size["default"]) == (
        "integer",
        1,
        200,
        50,
    )
    assert parameters["q"]["schema"]["maxLength"] == 100
    assert re.compile(parameters["cursor"]["schema"]["pattern"]).fullmatch("eyJhIjoxfQ")
    assert set(parameters["status"]["schema"]["enum"]) == {
        "pending",
        "expired",
        "failed",
        "revoked",
        "accepted",
        "active",
        "inactive",
    }
    assert set(parameters["role"]["schema"]["enum"]) == {"super_admin", "admin", "pm"}
    page = _json_schema(schema, operation["responses"]["200"])
    assert set(page["properties"]) == {"results", "next", "previous", "counts"}
    assert set(_ref(schema, page["properties"]["counts"])["properties"]) == {"pending", "active", "inactive"}
    entry = _ref(schema, page["properties"]["results"]["items"])
    assert set(entry["properties"]) == ENTRY_FIELDS
    assert set(_ref(schema, entry["properties"]["kind"])["enum"]) == {"invitation", "user"}
    assert set(_ref(schema, entry["properties"]["status"])["enum"]) == {
        "pending",
        "expired",
        "failed",
        "accepted",
        "revoked",
        "active",
        "inactive",
    }
    assert set(_ref(schema, entry["properties"]["role"])["enum"]) == {"super_admin", "admin", "pm"}


@pytest.mark.parametrize("path", [f"{BASE}/invitations/", f"{BASE}/grant-role/"])
def test_bodies_are_strict_and_answers_are_staff_entries(schema: dict[str, Any], path: str) -> None:
    operation = schema["paths"][path]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json"}
    assert operation["requestBody"]["required"] is True
    request = _ref(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(request["properties"]) == {"email", "role"}
    assert set(request["required"]) == {"email", "role"}
    assert request["additionalProperties"] is False
    email = request["properties"]["email"]
    assert (email["format"], email["maxLength"]) == ("email", 320)
    assert not re.compile(email["pattern"]).search("a@example.com\nBcc: b@example.com")
    assert set(_ref(schema, request["properties"]["role"])["enum"]) == {"super_admin", "admin", "pm"}
    success = "201" if path.endswith("invitations/") else "200"
    assert set(_json_schema(schema, operation["responses"][success])["properties"]) == ENTRY_FIELDS


def test_actions_take_no_body(schema: dict[str, Any]) -> None:
    for (path, method), _expected in OPERATIONS.items():
        if path.endswith(("/resend/", "/revoke/", "/deactivate/", "/reactivate/")) or method == "delete":
            assert "requestBody" not in schema["paths"][path][method], path


def test_the_workspace_api_keeps_its_enum_names(schema: dict[str, Any]) -> None:
    """Our `role` and `status` are other choice sets; the workspace API's components keep their names."""
    components = schema["components"]["schemas"]
    assert set(components["RoleEnum"]["enum"]) == {"admin", "member"}
    assert "queued" in components["StatusEnum"]["enum"]
    assert set(components["StaffRoleEnum"]["enum"]) == {"super_admin", "admin", "pm"}
