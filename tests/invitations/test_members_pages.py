"""Member row actions on ``/settings/`` through Django's test client: the confirmation first (a page without
JavaScript, the product's dialog with it), then the change, in place for htmx or as a redirect with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from tests.conftest import SignedInClient
from tests.invitations.factories import many_members

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(
        via="cookie", workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Ada", last_name="Admin"
    )


@pytest.fixture
def member(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(via="cookie", workspace=workspace, first_name="Max", last_name="Muster")


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def role_url(workspace: Workspace, user: User) -> str:
    return f"/settings/workspaces/{workspace.pk}/members/{user.clerk_user_id}/role/"


def remove_url(workspace: Workspace, user: User) -> str:
    return f"/settings/workspaces/{workspace.pk}/members/{user.clerk_user_id}/remove/"


def role_of(workspace: Workspace, user: User) -> str | None:
    row = WorkspaceMembership.objects.filter(workspace=workspace, user=user).first()
    return row.role if row else None


def test_an_admin_sees_row_actions_with_their_own_dialog_and_a_member_only_leave(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace
) -> None:
    page = admin.get(f"/settings/?workspace={workspace.pk}").content.decode()
    assert 'aria-label="Make admin: Max Muster"' in page
    assert 'aria-label="Remove Max Muster from the workspace"' in page
    assert 'data-confirm-title="Remove Max Muster?"' in page
    assert 'data-confirm="Max Muster loses access to Acme Inc at once.' in page  # static/core/confirm.js asks
    assert "members.js" in page
    assert "hx-confirm" not in page.split('id="members"')[1].split("</section>")[0]  # not the browser's confirm()
    # Ada is the only admin: her own demotion and leaving are disabled, with the reason.
    assert "You are the only admin: make someone else an admin first" in page

    own = member.get(f"/settings/?workspace={workspace.pk}").content.decode()
    assert "Make admin: Max Muster" not in own
    assert "Remove Ada Admin" not in own
    assert 'data-confirm-title="Leave Acme Inc?"' in own
    assert "members.js" in own


def test_without_javascript_a_post_asks_first_then_changes_the_role(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
) -> None:
    before = len(clerk_gateway.request_log)
    ask = admin.post(role_url(workspace, user_of(member)), {"role": "admin"})
    assert ask.status_code == 200
    body = ask.content.decode()
    assert "Make Max Muster an admin?" in body
    assert 'name="confirm" value="yes"' in body
    assert clerk_gateway.request_log[before:] == []
    assert role_of(workspace, user_of(member)) == "member"

    done = admin.post(role_url(workspace, user_of(member)), {"role": "admin", "confirm": "yes"}, follow=True)
    assert done.redirect_chain[-1][0].endswith(f"?workspace={workspace.pk}#members")
    assert "Max Muster is now an admin of Acme Inc." in done.content.decode()
    assert role_of(workspace, user_of(member)) == "admin"


def test_htmx_swaps_the_members_card_in_place(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace
) -> None:
    response = admin.post(role_url(workspace, user_of(member)), {"role": "admin"}, **HTMX)
    assert response.status_code == 200
    card = response.content.decode()
    assert card.strip().startswith('<section class="card" id="members"')
    assert "<html" not in card
    row = card.split(f'id="member-{user_of(member).clerk_user_id}"')[1].split("</li>")[0]
    assert "data-focus-after-swap" in row
    assert "badge-ws-admin" in row
    assert "now an admin of Acme Inc." in row
    assert 'aria-label="Make member: Max Muster"' in row
    # Ada is no longer the only admin: her own actions are enabled in the same answer.
    assert "You are the only admin" not in card


def test_the_last_admin_refusal_is_shown_on_the_row(admin: SignedInClient, workspace: Workspace) -> None:
    response = admin.post(role_url(workspace, user_of(admin)), {"role": "member"}, **HTMX)
    assert response.status_code == 409
    assert response["X-Partial"] == "1"
    assert "only admin" in response.content.decode()
    plain = admin.post(remove_url(workspace, user_of(admin)), {"confirm": "yes"}, follow=True)
    assert "make someone else an admin before you leave" in plain.content.decode()
    assert role_of(workspace, user_of(admin)) == "admin"


def test_removing_asks_then_removes(admin: SignedInClient, member: SignedInClient, workspace: Workspace) -> None:
    ask = admin.get(remove_url(workspace, user_of(member)))
    assert ask.status_code == 200
    assert "Remove Max Muster?" in ask.content.decode()
    response = admin.post(remove_url(workspace, user_of(member)), **HTMX)
    assert response.status_code == 200
    card = response.content.decode()
    assert "Max Muster was removed from the workspace." in card
    assert 'aria-label="1 member"' in card
    assert role_of(workspace, user_of(member)) is None


def test_a_member_leaves_and_lands_on_the_dashboard(member: SignedInClient, workspace: Workspace) -> None:
    response = member.post(remove_url(workspace, user_of(member)), **HTMX)
    assert response["HX-Redirect"] == "/dashboard/"
    assert role_of(workspace, user_of(member)) is None


def test_a_member_may_not_act_on_others(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
) -> None:
    before = len(clerk_gateway.request_log)
    assert member.post(remove_url(workspace, user_of(admin)), {"confirm": "yes"}).status_code == 403
    assert member.post(role_url(workspace, user_of(member)), {"role": "admin", "confirm": "yes"}).status_code == 403
    assert member.get(remove_url(workspace, user_of(admin))).status_code == 403
    assert clerk_gateway.request_log[before:] == []


def test_an_unknown_member_is_the_404_page(admin: SignedInClient, workspace: Workspace) -> None:
    response = admin.get(f"/settings/workspaces/{workspace.pk}/members/user_nobody/remove/")
    assert response.status_code == 404


def test_the_members_card_pages_newest_first_with_a_capped_count(admin: SignedInClient, workspace: Workspace) -> None:
    crowd = many_members(workspace, 1_004)  # with Ada: 1,005 members
    first = admin.get(f"/settings/?workspace={workspace.pk}").content.decode()
    card = first.split('id="members"')[1].split("</section>")[0]
    assert 'aria-label="1,000+ members">1,000+</span>' in card
    assert card.count('class="list-row member-row"') == 50
    assert card.index(f"member-{crowd[-1].user.clerk_user_id}") < card.index(f"member-{crowd[-50].user.clerk_user_id}")
    assert f"member-{crowd[-51].user.clerk_user_id}" not in card
    assert "1\N{EN DASH}50 of 1,000+, newest first" in card
    assert f"?workspace={workspace.pk}&amp;members_page=2#members" in card
    last = admin.get(f"/settings/?workspace={workspace.pk}&members_page=21").content.decode()
    card = last.split('id="members"')[1].split("</section>")[0]
    assert "1001\N{EN DASH}1005 of 1,000+, newest first" in card
    assert f"member-{user_of(admin).clerk_user_id}" in card  # the first to join is the last row
    assert 'rel="next"' not in card
    assert "members_page=20#members" in card
    past = admin.get(f"/settings/?workspace={workspace.pk}&members_page=99").content.decode()
    assert "1\N{EN DASH}50 of 1,000+" in past  # past the end: the first page again


def test_an_htmx_row_action_answers_with_the_page_it_was_on(
    admin: SignedInClient, member: SignedInClient, workspace: Workspace
) -> None:
    many_members(workspace, 60)  # Ada and Max joined first: they are on page 2 of 62
    page = admin.get(f"/settings/?workspace={workspace.pk}&members_page=2").content.decode()
    row = page.split(f'id="member-{user_of(member).clerk_user_id}"')[1].split("</li>")[0]
    assert '<input type="hidden" name="members_page" value="2">' in row
    response = admin.post(role_url(workspace, user_of(member)), {"role": "admin", "members_page": "2"}, **HTMX)
    card = response.content.decode()
    assert "51\N{EN DASH}62 of 62, newest first" in card
    row = card.split(f'id="member-{user_of(member).clerk_user_id}"')[1].split("</li>")[0]
    assert f"now an admin of {workspace.name}." in row
    assert "You are the only admin" not in card  # two admins now, though Ada's row is the only other one shown
