"""The member and discovery API over HTTP: ``PATCH|DELETE /api/workspaces/{id}/members/{user}/``,
``GET /api/workspaces/`` and ``GET /api/workspaces/{id}/``, with real session tokens and the Clerk emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from core.models import AuditEvent
from tests.conftest import SignedInClient
from tests.invitations.factories import many_members

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "extra"}


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN, email="ada@example.com")


@pytest.fixture
def member(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(workspace=workspace, workspace_role=WorkspaceRole.MEMBER, email="max@example.com")


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def url(workspace: Workspace, user: User | str) -> str:
    clerk_id = user if isinstance(user, str) else user.clerk_user_id
    return f"/api/workspaces/{workspace.pk}/members/{clerk_id}/"


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code, body
    return body


def test_the_member_list_names_each_member_by_clerk_user_id(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace
) -> None:
    body = admin.get(f"/api/workspaces/{workspace.pk}/members/").json()
    ids = {row["email"]: row["clerk_user_id"] for row in body["results"]}
    assert ids == {"ada@example.com": user_of(admin).clerk_user_id, "max@example.com": user_of(member).clerk_user_id}


def test_the_member_list_is_newest_first_with_a_capped_count_and_page_links(
    admin: SignedInClient, workspace: Workspace
) -> None:
    crowd = many_members(workspace, 1_004)  # with the admin: 1,005 members
    list_url = f"/api/workspaces/{workspace.pk}/members/"
    body = admin.get(list_url, {"page_size": 100}).json()
    assert (body["count"], body["count_capped"], body["previous"]) == (1_000, True, None)
    assert body["next"] == f"http://testserver{list_url}?page=2&page_size=100"
    newest = [m.user.clerk_user_id for m in reversed(crowd)]
    assert [row["clerk_user_id"] for row in body["results"]] == newest[:100]
    last = admin.get(list_url, {"page_size": 100, "page": 11}).json()
    assert [row["clerk_user_id"] for row in last["results"]] == [*newest[1_000:], user_of(admin).clerk_user_id]
    assert (last["count"], last["count_capped"], last["next"]) == (1_000, True, None)
    assert last["previous"] == f"http://testserver{list_url}?page=10&page_size=100"
    error(admin.get(list_url, {"page_size": 100, "page": 12}), 404, "not_found")


def test_a_small_member_list_counts_exactly_and_ends_where_it_ends(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace
) -> None:
    body = admin.get(f"/api/workspaces/{workspace.pk}/members/").json()
    assert (body["count"], body["count_capped"], body["next"], body["previous"]) == (2, False, None, None)
    assert [row["email"] for row in body["results"]] == ["max@example.com", "ada@example.com"]  # newest first
    error(admin.get(f"/api/workspaces/{workspace.pk}/members/", {"page": 2}), 404, "not_found")
    error(admin.get(f"/api/workspaces/{workspace.pk}/members/", {"page": "0"}), 400, "invalid")


def test_a_member_page_costs_the_same_queries_at_any_size(admin: SignedInClient, workspace: Workspace) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin.get(f"/api/workspaces/{workspace.pk}/members/", {"page": 2, "page_size": 5}).status_code == 200
        return len(ctx.captured_queries)

    many_members(workspace, 12, prefix="few")
    few = queries()
    many_members(workspace, 1_100, prefix="many")
    assert queries() == few


def test_patch_changes_the_role_and_is_audited_with_the_request_id(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
) -> None:
    response = admin.patch(
        url(workspace, user_of(member)), {"role": "admin"}, format="json", HTTP_X_REQUEST_ID="req-member-patch"
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert response.json()["clerk_user_id"] == user_of(member).clerk_user_id
    assert WorkspaceMembership.objects.get(workspace=workspace, user=user_of(member)).role == "admin"
    event = AuditEvent.objects.get(action="workspace_member.role_changed")
    assert (event.request_id, event.actor_id) == ("req-member-patch", user_of(admin).pk)


def test_patch_refusals_have_the_error_shape(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
) -> None:
    before = len(clerk_gateway.request_log)
    error(admin.patch(url(workspace, user_of(admin)), {"role": "member"}, format="json"), 409, "last_admin")
    error(member.patch(url(workspace, user_of(admin)), {"role": "member"}, format="json"), 403, "permission_denied")
    error(member.patch(url(workspace, user_of(member)), {"role": "admin"}, format="json"), 403, "permission_denied")
    error(admin.patch(url(workspace, "user_nobody"), {"role": "admin"}, format="json"), 404, "not_found")
    body = error(admin.patch(url(workspace, user_of(member)), {"role": "owner"}, format="json"), 400, "invalid")
    assert "role" in body["extra"]["fields"]
    error(admin.patch(url(workspace, user_of(member)), {"role": "admin", "x": 1}, format="json"), 400, "invalid")
    error(admin.patch(url(workspace, user_of(member)), {}, format="json"), 400, "invalid")
    assert clerk_gateway.request_log[before:] == []


def test_put_and_post_are_not_offered(admin: SignedInClient, member: SignedInClient, workspace: Workspace) -> None:
    assert admin.put(url(workspace, user_of(member)), {"role": "admin"}, format="json").status_code == 405
    assert admin.post(url(workspace, user_of(member)), {"role": "admin"}, format="json").status_code == 405


def test_delete_removes_a_member_and_a_member_may_leave(
    admin: SignedInClient,
    member: SignedInClient,
    signed_in: Callable[..., SignedInClient],
    workspace: Workspace,
) -> None:
    carol = signed_in(workspace=workspace, email="carol@example.com")
    assert admin.delete(url(workspace, user_of(carol))).status_code == 204
    error(member.delete(url(workspace, user_of(admin))), 403, "permission_denied")
    assert member.delete(url(workspace, user_of(member))).status_code == 204
    remaining = set(WorkspaceMembership.objects.filter(workspace=workspace).values_list("user__email", flat=True))
    assert remaining == {"ada@example.com"}
    # Gone from the workspace: it is out of their reach now, like any workspace that is not theirs.
    error(member.get(f"/api/workspaces/{workspace.pk}/members/"), 404, "not_found")
    error(admin.delete(url(workspace, user_of(carol))), 404, "not_found")
    error(admin.delete(url(workspace, user_of(admin))), 409, "last_admin")


def test_another_workspace_is_404_whatever_the_method(
    signed_in: Callable[..., SignedInClient],
    clerk_workspace: Callable[..., Workspace],
    member: SignedInClient,
    workspace: Workspace,
) -> None:
    other = clerk_workspace("Globex")
    outsider = signed_in(workspace=other, workspace_role=WorkspaceRole.ADMIN)
    error(outsider.delete(url(workspace, user_of(member))), 404, "not_found")
    error(outsider.patch(url(workspace, user_of(member)), {"role": "admin"}, format="json"), 404, "not_found")
    error(outsider.get(f"/api/workspaces/{workspace.pk}/"), 404, "not_found")


# --------------------------------------------------------------------------- discovery
def test_workspaces_lists_mine_with_my_role_and_what_i_may_do(
    admin: SignedInClient,
    member: SignedInClient,
    signed_in: Callable[..., SignedInClient],
    clerk_workspace: Callable[..., Workspace],
    workspace: Workspace,
) -> None:
    clerk_workspace("Not mine")
    body = member.get("/api/workspaces/").json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row == {
        "id": workspace.pk,
        "name": workspace.name,
        "slug": workspace.slug,
        "role": "member",
        "member_count": 2,
        "permissions": {"invite": False, "manage_members": False, "leave": True},
    }
    mine = admin.get(f"/api/workspaces/{workspace.pk}/").json()
    # The only admin may manage, not leave.
    assert (mine["role"], mine["permissions"]) == ("admin", {"invite": True, "manage_members": True, "leave": False})


def test_staff_see_every_workspace_without_a_role_in_it(
    signed_in: Callable[..., SignedInClient],
    clerk_workspace: Callable[..., Workspace],
    workspace: Workspace,
    member: SignedInClient,
) -> None:
    clerk_workspace("Globex")
    pm = signed_in(Role.PM)
    body = pm.get("/api/workspaces/").json()
    assert [row["name"] for row in body["results"]] == sorted([workspace.name, "Globex"])
    acme = next(row for row in body["results"] if row["id"] == workspace.pk)
    assert acme["role"] is None
    assert acme["member_count"] == 1
    assert acme["permissions"] == {"invite": True, "manage_members": True, "leave": False}


def test_discovery_answers_a_page_in_a_fixed_number_of_queries(
    signed_in: Callable[..., SignedInClient],
    clerk_workspace: Callable[..., Workspace],
    django_assert_max_num_queries: Any,
) -> None:
    pm = signed_in(Role.PM)
    for index in range(3):
        clerk_workspace(f"Workspace {index}")
    with django_assert_max_num_queries(4):  # the session user, the count, the page
        assert pm.get("/api/workspaces/").status_code == 200
    for index in range(3, 12):
        clerk_workspace(f"Workspace {index}")
    with django_assert_max_num_queries(4):
        assert pm.get("/api/workspaces/").json()["count"] == 12


def test_discovery_refuses_anonymous_callers_and_bad_ids(client: Any, admin: SignedInClient) -> None:
    error(client.get("/api/workspaces/"), 401, "not_authenticated")
    error(admin.get("/api/workspaces/0/"), 404, "not_found")
    error(admin.get("/api/workspaces/abc/"), 404, "not_found")
