"""The OpenAPI schema at /api/schema/ renders, is valid, and documents the workspace invitation API truthfully."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

WORKSPACE = "/api/workspaces/{workspace_id}"
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    (f"{WORKSPACE}/invitations/", "get"): {
        "id": "workspace_invitations_list",
        "statuses": {"200", "400", "401", "403", "404"},
    },
    (f"{WORKSPACE}/invitations/", "post"): {
        "id": "workspace_invitations_create",
        "statuses": {"200", "400", "401", "403", "404", "415", "429", "502", "503"},
    },
    (f"{WORKSPACE}/invitations/{{invitation_id}}/resend/", "post"): {
        "id": "workspace_invitations_resend",
        "statuses": {"200", "400", "401", "403", "404", "409", "422", "429", "502", "503"},
    },
    (f"{WORKSPACE}/invitations/{{invitation_id}}/revoke/", "post"): {
        "id": "workspace_invitations_revoke",
        "statuses": {"200", "400", "401", "403", "404", "409", "422", "429", "502", "503"},
    },
    (f"{WORKSPACE}/invitations/{{invitation_id}}/", "get"): {
        "id": "workspace_invitations_retrieve",
        "statuses": {"200", "401", "403", "404"},
    },
    (f"{WORKSPACE}/invitations/{{invitation_id}}/link/", "post"): {
        "id": "workspace_invitations_link",
        "statuses": {"200", "401", "403", "404", "409", "429", "502", "503"},
    },
    (f"{WORKSPACE}/members/", "get"): {
        "id": "workspace_members_list",
        "statuses": {"200", "400", "401", "404"},
    },
    ("/api/workspaces/", "get"): {"id": "workspaces_list", "statuses": {"200", "400", "401", "404"}},
    (f"{WORKSPACE}/", "get"): {"id": "workspaces_retrieve", "statuses": {"200", "401", "404"}},
    (f"{WORKSPACE}/invitations/check/", "post"): {
        "id": "workspace_invitations_check",
        "statuses": {"200", "400", "401", "403", "404", "415", "429"},
    },
    (f"{WORKSPACE}/invitations/import/", "post"): {
        "id": "workspace_invitations_import",
        "statuses": {"200", "400", "401", "403", "404", "415", "429", "502", "503"},
    },
    (f"{WORKSPACE}/invitations/bulk/", "post"): {
        "id": "workspace_invitations_bulk",
        "statuses": {"200", "400", "401", "403", "404", "429", "502", "503"},
    },
    (f"{WORKSPACE}/members/{{user}}/", "patch"): {
        "id": "workspace_members_update",
        "statuses": {"200", "400", "401", "403", "404", "409", "415", "422", "429", "502", "503"},
    },
    (f"{WORKSPACE}/members/{{user}}/", "delete"): {
        "id": "workspace_members_remove",
        "statuses": {"204", "401", "403", "404", "409", "422", "429", "502", "503"},
    },
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    body: dict[str, Any] = response.json()
    return body


def _ref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node or "allOf" in node:
        ref = node["allOf"][0] if "allOf" in node else node
        node = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref
    return node


def _json_schema(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return _ref(schema, response["content"]["application/json"]["schema"])


def test_schema_renders_anonymously_and_lists_every_operation(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    for (path, method), expected in OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation["operationId"] == expected["id"]
        assert set(operation["responses"]) == expected["statuses"], (path, method)
        assert operation["security"] == [{"clerkSession": []}]
        parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
        if "{workspace_id}" in path:
            assert parameters[("path", "workspace_id")]["schema"]["type"] == "integer"
        if "{user}" in path:
            assert parameters[("path", "user")]["schema"]["type"] == "string"
        if "{invitation_id}" in path:
            assert parameters[("path", "invitation_id")]["schema"]["type"] == "integer"
        # Every error is documented in the one shape.
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                error = _json_schema(schema, response)
                assert set(error["properties"]) == {"code", "message", "extra"}, (path, method, status)
    # Nothing else under the workspace prefix: no undocumented method sneaks in.
    workspace_paths = {path for path in schema["paths"] if path.startswith("/api/workspaces")}
    assert workspace_paths == {path for path, _ in OPERATIONS}
    for path in workspace_paths:
        documented = {method for method in schema["paths"][path] if method != "parameters"}
        assert documented == {method for p, method in OPERATIONS if p == path}


def test_list_documents_the_status_filter_and_pagination(schema: dict[str, Any]) -> None:
    operation = schema["paths"][f"{WORKSPACE}/invitations/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(parameters) >= {"status", "page", "page_size"}
    assert set(parameters["status"]["schema"]["enum"]) == {
        "pending",
        "queued",
        "accepted",
        "revoked",
        "expired",
        "failed",
        "open",
        "history",
    }
    page = _json_schema(schema, operation["responses"]["200"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    invitation = _ref(schema, page["properties"]["results"]["items"])
    assert set(invitation["properties"]) == {
        "id",
        "email",
        "role",
        "status",
        "expires_at",
        "last_sent_at",
        "send_count",
        "created_at",
        "inviter",
        "accepted_at",
        "revoked_at",
        "failure_reason",
    }
    assert set(_ref(schema, invitation["properties"]["status"])["enum"]) >= {"pending", "expired"}


def test_create_documents_its_request_and_per_email_results(schema: dict[str, Any]) -> None:
    operation = schema["paths"][f"{WORKSPACE}/invitations/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json"}
    assert operation["requestBody"]["required"] is True
    request = _ref(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(request["required"]) == {"emails", "role"}
    assert request["additionalProperties"] is False
    emails = request["properties"]["emails"]
    assert (emails["minItems"], emails["maxItems"], emails["items"]["maxLength"]) == (1, 100, 320)
    pattern = re.compile(emails["items"]["pattern"])  # spelled \uXXXX for ECMA-262; Python reads it the same
    assert pattern.search("ann@example.com")
    for bad in ("a\rb", "a\nb", "a\x00b", "a\u2028b"):
        assert not pattern.search(bad)
    assert set(_ref(schema, request["properties"]["role"])["enum"]) == {"admin", "member"}
    body = _json_schema(schema, operation["responses"]["200"])
    result = _ref(schema, body["properties"]["results"]["items"])
    assert set(result["properties"]) == {"email", "result", "message", "code", "invitation"}
    assert set(_ref(schema, result["properties"]["result"])["enum"]) == {
        "invited",
        "already_member",
        "already_invited",
        "invalid_email",
        "queued",
        "failed",
        "revoked",
    }


def test_actions_take_no_body(schema: dict[str, Any]) -> None:
    for action in ("resend", "revoke"):
        assert "requestBody" not in schema["paths"][f"{WORKSPACE}/invitations/{{invitation_id}}/{action}/"]["post"]


def test_schema_generation_is_valid_and_warning_free() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out, stderr=err)
    assert "workspace" in out.getvalue()


def test_member_and_workspace_shapes_are_documented(schema: dict[str, Any]) -> None:
    patch = schema["paths"][f"{WORKSPACE}/members/{{user}}/"]["patch"]
    request = _ref(schema, patch["requestBody"]["content"]["application/json"]["schema"])
    assert (request["required"], request["additionalProperties"]) == (["role"], False)
    assert set(_ref(schema, request["properties"]["role"])["enum"]) == {"admin", "member"}
    member = _json_schema(schema, patch["responses"]["200"])
    assert "clerk_user_id" in member["properties"]
    assert "requestBody" not in schema["paths"][f"{WORKSPACE}/members/{{user}}/"]["delete"]
    page = _json_schema(schema, schema["paths"]["/api/workspaces/"]["get"]["responses"]["200"])
    workspace = _ref(schema, page["properties"]["results"]["items"])
    assert set(workspace["properties"]) == {"id", "name", "slug", "role", "member_count", "permissions"}
    assert set(_ref(schema, workspace["properties"]["permissions"])["properties"]) == {
        "invite",
        "manage_members",
        "leave",
    }


def test_the_member_list_documents_its_capped_count(schema: dict[str, Any]) -> None:
    operation = schema["paths"][f"{WORKSPACE}/members/"]["get"]
    page = _json_schema(schema, operation["responses"]["200"])
    assert page["required"] == ["count", "count_capped", "next", "previous", "results"]
    assert (page["properties"]["count"]["maximum"], page["properties"]["count_capped"]["type"]) == (1000, "boolean")
    assert "clerk_user_id" in _ref(schema, page["properties"]["results"]["items"])["properties"]
    assert "count_capped" in operation["description"]
    # The other lists keep DRF's exact count.
    invitations = _json_schema(schema, schema["paths"][f"{WORKSPACE}/invitations/"]["get"]["responses"]["200"])
    assert "count_capped" not in invitations["properties"]
