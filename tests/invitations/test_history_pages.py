"""The history, timeline and invite-link pages of /settings/ (invitations/history_views.py): real session cookies,
the real services against the in-thread Clerk emulator, PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from core.models import AuditEvent
from invitations import services
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.conftest import SignedInClient
from tests.invitations.factories import WorkspaceInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(
        Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN, via="cookie", email="ada@example.com"
    )


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def invite(workspace: Workspace, inviter: User, email: str) -> WorkspaceInvitation:
    [result] = services.invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.invitation is not None
    return result.invitation


def history_url(workspace: Workspace) -> str:
    return f"/settings/workspaces/{workspace.pk}/history/"


def test_settings_page_offers_the_history(admin: SignedInClient, workspace: Workspace) -> None:
    body = admin.get(f"/settings/?workspace={workspace.pk}").content.decode()
    assert f'href="{history_url(workspace)}"' in body
    assert f'hx-get="{history_url(workspace)}?embed=1"' in body


def test_history_lists_what_is_over_with_filters_and_search(admin: SignedInClient, workspace: Workspace) -> None:
    revoked = invite(workspace, user_of(admin), "ann@example.com")
    services.invitation_revoke(invitation=revoked, actor=user_of(admin))
    invite(workspace, user_of(admin), "still-open@example.com")
    WorkspaceInvitationFactory.create(workspace=workspace, status=InvitationStatus.ACCEPTED, email="bo@globex.test")

    page = admin.get(history_url(workspace)).content.decode()
    assert "ann@example.com" in page
    assert "Revoked by ada@example.com" in page
    assert "bo@globex.test" in page
    assert "still-open@example.com" not in page

    only_revoked = admin.get(history_url(workspace), {"status": "revoked"}).content.decode()
    assert "ann@example.com" in only_revoked
    assert "bo@globex.test" not in only_revoked
    searched = admin.get(history_url(workspace), {"q": "GLOBEX"}).content.decode()
    assert "bo@globex.test" in searched
    assert "ann@example.com" not in searched


def test_embed_and_htmx_get_the_section_only(admin: SignedInClient, workspace: Workspace) -> None:
    for response in (
        admin.get(history_url(workspace), {"embed": "1"}),
        admin.get(history_url(workspace), HTTP_HX_REQUEST="true"),
    ):
        body = response.content.decode()
        assert response.status_code == 200
        assert body.lstrip().startswith("<section")
        assert "<html" not in body


def test_a_bad_status_is_a_400_page_with_the_message(admin: SignedInClient, workspace: Workspace) -> None:
    response = admin.get(history_url(workspace), {"status": "pending"})
    assert response.status_code == 400
    assert "Unknown history status" in response.content.decode()


def test_paging_links_and_the_same_queries_per_page(admin: SignedInClient, workspace: Workspace) -> None:
    for n in range(55):
        WorkspaceInvitationFactory.create(workspace=workspace, status=InvitationStatus.REVOKED, email=f"r{n}@x.test")
    with CaptureQueriesContext(connection) as first_queries:
        first = admin.get(history_url(workspace)).content.decode()
    next_link = re.search(r'href="([^"]*cursor=[^"]+)"', first)
    assert next_link is not None
    with CaptureQueriesContext(connection) as second_queries:
        second = admin.get(next_link.group(1).replace("&amp;", "&")).content.decode()
    assert first.count('class="invite-row') == 50
    assert second.count('class="invite-row') == 5
    assert len(first_queries) == len(second_queries)


def test_timeline_page_and_htmx_panel(admin: SignedInClient, workspace: Workspace) -> None:
    invitation = invite(workspace, user_of(admin), "cy@example.com")
    services.invitation_resend(invitation=invitation, actor=user_of(admin))
    url = f"/settings/workspaces/{workspace.pk}/invitations/{invitation.pk}/"

    page = admin.get(url).content.decode()
    panel = admin.get(url, HTTP_HX_REQUEST="true").content.decode()

    for body in (page, panel):
        assert "Invited as member" in body
        assert "Resent: new link and expiry" in body
        assert "Get invite link" in body
    assert "<html" not in panel


def test_copy_link_shows_it_once_no_store_and_audited(
    admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
) -> None:
    invitation = invite(workspace, user_of(admin), "dee@example.com")
    remote_url = clerk_gateway.organization_invitations[invitation.clerk_invitation_id or ""].url or ""
    link_url = f"/settings/workspaces/{workspace.pk}/invitations/{invitation.pk}/link/"
    timeline_url = f"/settings/workspaces/{workspace.pk}/invitations/{invitation.pk}/"

    response = admin.post(link_url)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert remote_url.replace("&", "&amp;") in body
    assert "Copy link" in body
    assert AuditEvent.objects.filter(action="workspace_invitation.link_shown", actor_id=user_of(admin).pk).count() == 1
    again = admin.get(timeline_url).content.decode()
    assert remote_url.replace("&", "&amp;") not in again  # shown once: the page never has it again
    assert "Invite link shown to ada@example.com" in again
    assert admin.get(link_url).status_code == 405


def test_copy_link_of_a_revoked_invitation_says_why(admin: SignedInClient, workspace: Workspace) -> None:
    invitation = invite(workspace, user_of(admin), "eve@example.com")
    services.invitation_revoke(invitation=invitation, actor=user_of(admin))
    response = admin.post(f"/settings/workspaces/{workspace.pk}/invitations/{invitation.pk}/link/")
    assert response.status_code == 409
    assert "no longer pending" in response.content.decode()


def test_members_get_403_and_other_workspaces_404(
    signed_in: Callable[..., SignedInClient], workspace: Workspace, clerk_workspace: Callable[..., Workspace]
) -> None:
    member = signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER, via="cookie")
    assert member.get(history_url(workspace)).status_code == 403
    other = clerk_workspace("Globex")
    assert member.get(history_url(other)).status_code == 404
