"""Hostile bodies: deeply nested JSON is a 400 in the error shape on every JSON endpoint, and every 5xx under /api/
is the JSON error shape, never an HTML page, with DEBUG on or off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from core.parsers import MAX_JSON_DEPTH
from internal_users.models import InternalInvitation
from invitations.models import WorkspaceInvitation
from tests.conftest import SignedInClient

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "extra"}


def nested(depth: int) -> str:
    return '{"emails": ' + "[" * depth + "]" * depth + ', "role": "member"}'


def endpoints(workspace: Workspace) -> list[str]:
    return [
        f"/api/workspaces/{workspace.pk}/invitations/",
        "/api/admin/internal-users/invitations/",
    ]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_deeply_nested_json_is_a_400_parse_error(
    depth: int, signed_in: Callable[..., SignedInClient], clerk_workspace: Callable[..., Workspace]
) -> None:
    workspace = clerk_workspace()
    client = signed_in(Role.SUPER_ADMIN, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    for url in endpoints(workspace):
        response = client.post(url, data=nested(depth), content_type="application/json")
        assert response.status_code == 400, (url, response.content[:200])
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["code"] == "parse_error"
    assert not WorkspaceInvitation.objects.exists()
    assert not InternalInvitation.objects.exists()


def test_nesting_within_the_limit_reaches_validation(
    signed_in: Callable[..., SignedInClient], clerk_workspace: Callable[..., Workspace]
) -> None:
    workspace = clerk_workspace()
    client = signed_in(Role.SUPER_ADMIN, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    response = client.post(
        f"/api/workspaces/{workspace.pk}/invitations/", data=nested(MAX_JSON_DEPTH - 2), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"  # parsed, then refused by the serializer


@pytest.fixture
def boom_client(settings: Any) -> Client:
    settings.ROOT_URLCONF = "tests.core.boom_urls"
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(("path", "status"), [("/api/boom/", 500), ("/api/plain-boom/", 500), ("/api/html-503/", 503)])
def test_every_5xx_under_the_api_is_the_json_error_shape(
    boom_client: Client, settings: Any, debug: bool, path: str, status: int
) -> None:
    settings.DEBUG = debug
    response = boom_client.get(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "server_error"
    assert "Traceback" not in response.content.decode()


def test_pages_keep_their_html_error_page(boom_client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = boom_client.get("/page-boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
