"""The invitation pages (``/settings/`` and ``/accept-invite/``) through Django's test client.

Signed-in requests carry a real session token in the ``__session`` cookie (the ``signed_in(..., via="cookie")``
fixture), invitations are made by the real services against the in-thread Clerk emulator, nothing is mocked.
htmx requests are plain requests with ``HX-Request: true``, as htmx sends them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from invitations import services
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.conftest import SignedInClient
from tests.invitations.factories import ticket_of

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def member(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(
        Role.MEMBER,
        via="cookie",
        workspace=workspace,
        workspace_role=WorkspaceRole.MEMBER,
        email="max@example.com",
        first_name="Max",
        last_name="Muster",
    )


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def invite(workspace: Workspace, inviter: Any, *emails: str, role: str = "member") -> list[services.InviteResult]:
    return services.invitations_create(workspace=workspace, inviter=inviter, emails=list(emails), role=role)


def open_invitation(workspace: Workspace, inviter: Any, email: str = "new@example.com") -> WorkspaceInvitation:
    [result] = invite(workspace, inviter, email)
    assert result.result == "invited", result
    assert result.invitation is not None
    return result.invitation


def settings_url(workspace: Workspace | None = None, **query: Any) -> str:
    params = {"workspace": workspace.pk} if workspace is not None else {}
    params.update(query)
    return "/settings/" + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def invite_url(workspace: Workspace) -> str:
    return f"/settings/workspaces/{workspace.pk}/invitations/"


def action_url(invitation: WorkspaceInvitation, action: str) -> str:
    return f"/settings/workspaces/{invitation.workspace_id}/invitations/{invitation.pk}/{action}/"


def follow(client: Client, response: Any) -> Any:
    """GET the redirect target as a browser would: without its #fragment (the test client would send it)."""
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"].split("#", 1)[0])


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The visible words of a page, tags stripped and whitespace folded (for phrases that span markup)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


# --------------------------------------------------------------------------- /settings/: who sees what
class TestSettingsPage:
    def test_anonymous_is_sent_to_sign_in(self, client: Client) -> None:
        response = client.get("/settings/")
        assert response.status_code == 302
        assert response["Location"] == "/sign-in/?next=%2Fsettings%2F"

    def test_a_member_sees_the_members_but_no_invite_controls(
        self, member: SignedInClient, admin: SignedInClient, workspace: Workspace
    ) -> None:
        open_invitation(workspace, admin.user, "secret-invitee@example.com")
        response = member.get("/settings/")
        assert response.status_code == 200
        page = html(response)
        assert "Acme Inc" in page
        for expected in ("Ada Lovelace", "ada@example.com", "Max Muster", "max@example.com", "Joined "):
            assert expected in page
        assert "badge-ws-admin" in page
        assert "badge-ws-member" in page
        assert "(you)" in page
        # No invite button, dialog, pending list or action forms; nothing about pending invitations leaks.
        assert "Invite members" not in page
        assert "invite-dialog" not in page
        assert "Pending invitations" not in page
        assert "secret-invitee@example.com" not in page
        assert "/resend/" not in page
        assert "/revoke/" not in page
        assert "pending.js" not in page  # htmx stays: a member may leave the workspace in place
        # The script for the one action a member has here: leaving, on their own row (invitations/members.js).
        assert "members.js" in page
        assert "Make admin" not in page

    def test_an_admin_sees_the_invite_button_and_the_pending_invitations(
        self, admin: SignedInClient, workspace: Workspace
    ) -> None:
        invitation = open_invitation(workspace, admin.user, "new@example.com")
        response = admin.get("/settings/")
        assert response.status_code == 200
        page = html(response)
        assert "Invite members" in page
        assert '<dialog id="invite-dialog"' in page
        assert " open>" not in page.split('<dialog id="invite-dialog"', 1)[1].split("\n", 1)[0]
        assert "Pending invitations" in page
        row = page.split(f'id="invitation-{invitation.pk}"', 1)[1].split("</tr>", 1)[0]
        assert "new@example.com" in row
        assert "Member" in row
        assert "in 7 days" in row  # 7 days minus the moment since sending, rounded
        assert "Ada Lovelace" in row  # the inviter
        assert f'hx-post="{action_url(invitation, "resend")}"' in row
        assert f'hx-post="{action_url(invitation, "revoke")}"' in row
        assert 'hx-target="closest tr"' in row
        assert "data-confirm=" in row  # revoking asks first, in our own dialog (static/core/confirm.js)
        assert "hx-confirm=" not in row  # never the browser's confirm()
        assert row.count('name="csrfmiddlewaretoken"') == 2  # plain forms: work without JavaScript
        assert "vendor/htmx.min.js" in page
        assert "invitations/settings.js" in page

    def test_the_nav_links_to_settings(self, admin: SignedInClient) -> None:
        page = html(admin.get("/settings/"))
        assert '<a href="/settings/" aria-current="page">Settings</a>' in page
        assert '<a href="/settings/">Settings</a>' in html(admin.get("/dashboard/"))

    def test_invite_1_opens_the_dialog_without_javascript(self, admin: SignedInClient, workspace: Workspace) -> None:
        page = html(admin.get(settings_url(workspace, invite=1)))
        assert re.search(r'<dialog id="invite-dialog"[^>]* open>', page)

    def test_a_user_without_workspaces_gets_an_empty_state(self, signed_in: Callable[..., SignedInClient]) -> None:
        loner = signed_in(Role.MEMBER, via="cookie")
        response = loner.get("/settings/")
        assert response.status_code == 200
        assert "You are not in a workspace yet" in html(response)
        assert "Invite members" not in html(response)

    def test_staff_switch_between_every_workspace(
        self, signed_in: Callable[..., SignedInClient], clerk_workspace: Callable[..., Workspace], workspace: Workspace
    ) -> None:
        other = clerk_workspace("Globex")
        pm = signed_in(Role.PM, via="cookie")
        page = html(pm.get("/settings/"))
        assert 'id="ws-switch"' in page
        assert f'<option value="{workspace.pk}" selected>Acme Inc</option>' in page  # the first, by name
        assert f'<option value="{other.pk}">Globex</option>' in page
        page = html(pm.get(settings_url(other)))
        assert "<h1>Globex</h1>" in page
        assert "Invite members" in page  # pm may invite everywhere

    def test_a_member_of_one_workspace_has_no_switcher(self, member: SignedInClient) -> None:
        assert 'id="ws-switch"' not in html(member.get("/settings/"))

    @pytest.mark.parametrize("chosen", ["999999", "abc", "-1"])
    def test_a_workspace_outside_reach_is_404(self, member: SignedInClient, chosen: str) -> None:
        response = member.get(f"/settings/?workspace={chosen}")
        assert response.status_code == 404

    def test_another_workspace_of_which_one_is_not_a_member_is_404(
        self, member: SignedInClient, clerk_workspace: Callable[..., Workspace]
    ) -> None:
        other = clerk_workspace("Globex")
        assert member.get(settings_url(other)).status_code == 404


# --------------------------------------------------------------------------- inviting
class TestInvite:
    def test_the_plain_form_shows_one_result_per_email_in_the_open_dialog(
        self, admin: SignedInClient, member: SignedInClient, workspace: Workspace
    ) -> None:
        open_invitation(workspace, admin.user, "pending@example.com")
        emails = "ann@example.com, not-an-email\nBOB@example.com max@example.com;pending@example.com ann@example.com"
        response = admin.post(invite_url(workspace), {"emails": emails, "role": "member"})
        assert response.status_code == 200
        page = html(response)
        assert re.search(r'<dialog id="invite-dialog"[^>]* open>', page)  # no JavaScript: the dialog stays open
        results = dict(re.findall(r'data-result="(\w+)">.*?class="result-email break">([^<]+)<', page, re.S))
        assert sorted(re.findall(r'data-result="(\w+)"', page)) == sorted(
            ["invited", "invalid_email", "invited", "already_member", "already_invited"]
        )
        assert results  # the markup pairs each result with its email
        visible = text(response)
        assert "2 invited · 1 already a member · 1 already invited · 1 invalid address" in visible
        assert "not-an-email Not a valid email address" in visible
        assert "max@example.com Already a member" in visible
        assert "pending@example.com Already invited" in visible
        # Only the address worth correcting is left in the textarea; the role is kept.
        assert re.search(r'<textarea id="invite-emails"[^>]*>not-an-email</textarea>', page, re.S)
        # The new invitations are in the pending list of the same page.
        pending = page.split('id="pending"', 1)[1]
        assert "ann@example.com" in pending
        assert "bob@example.com" in pending
        assert WorkspaceInvitation.objects.filter(workspace=workspace, status=InvitationStatus.PENDING).count() == 3

    def test_htmx_gets_the_dialog_body_and_the_pending_list_out_of_band(
        self, admin: SignedInClient, workspace: Workspace
    ) -> None:
        response = admin.post(invite_url(workspace), {"emails": "ann@example.com", "role": "admin"}, **HTMX)
        assert response.status_code == 200
        page = html(response)
        assert "<html" not in page
        assert page.lstrip().startswith('<div id="invite-body"')
        assert '<section class="card" id="pending" aria-labelledby="pending-title" hx-swap-oob="outerHTML">' in page
        assert "1 invited" in page
        assert 'data-result="invited"' in page
        invitation = WorkspaceInvitation.objects.get(workspace=workspace, email="ann@example.com")
        assert invitation.role == "admin"
        assert f'id="invitation-{invitation.pk}"' in page

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"emails": "", "role": "member"}, "emails", "Enter at least one email address."),
            ({"emails": " , \n ;", "role": "member"}, "emails", "Enter at least one email address."),
            (
                {"emails": " ".join(f"p{i}@example.com" for i in range(101)), "role": "member"},
                "emails",
                "You entered 101 addresses; invite up to 100 people at a time.",
            ),
            ({"emails": "ann@example.com", "role": "owner"}, "role", "Choose Member or Admin."),
            ({"emails": "ann@example.com"}, "role", "Choose a role."),
        ],
    )
    def test_field_errors_show_beside_the_field(
        self, admin: SignedInClient, workspace: Workspace, data: dict[str, str], field: str, message: str
    ) -> None:
        for extra in ({}, HTMX):
            response = admin.post(invite_url(workspace), data, **extra)
            assert response.status_code == 400
            page = html(response)
            assert f'<p id="invite-{field}-error" class="field-error">{message}</p>' in page
            assert 'aria-invalid="true"' in page
            if extra:
                assert response["X-Partial"] == "1"  # settings.js swaps it in despite the 400
        assert not WorkspaceInvitation.objects.exists()

    def test_clerk_unavailable_is_a_friendly_message_not_a_500(
        self, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("*", "/v1/organizations/*", 100, status=503))
        response = admin.post(invite_url(workspace), {"emails": "ann@example.com", "role": "member"}, **HTMX)
        assert response.status_code == 503
        assert response["X-Partial"] == "1"
        assert "Clerk, our sign-in provider, is not answering right now." in html(response)
        assert 'id="invite-emails"' in html(response)  # the form is still there to try again
        response = admin.post(invite_url(workspace), {"emails": "ann@example.com", "role": "member"})
        assert response.status_code == 503
        assert "Clerk, our sign-in provider, is not answering right now." in html(response)
        assert "ann@example.com" in html(response)  # what was typed is kept

    def test_clerk_rate_limit_queues_the_invitation(
        self, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 5, status=429, retry_after=120))
        response = admin.post(invite_url(workspace), {"emails": "ann@example.com", "role": "member"}, **HTMX)
        assert response.status_code == 200
        assert 'data-result="queued"' in html(response)
        assert "Queued: will be sent shortly" in html(response)

    def test_our_rate_limit_answers_429(self, admin: SignedInClient, workspace: Workspace, settings: Any) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        assert admin.post(invite_url(workspace), {"emails": "a@example.com", "role": "member"}).status_code == 200
        response = admin.post(invite_url(workspace), {"emails": "b@example.com", "role": "member"})
        assert response.status_code == 429
        assert response["Retry-After"]
        assert "Too many requests" in html(response)

    def test_the_global_clerk_budget_is_a_friendly_429_in_the_dialog(
        self, admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "1/h"
        response = admin.post(
            invite_url(workspace), {"emails": "a@example.com b@example.com", "role": "member"}, **HTMX
        )
        assert response.status_code == 429
        assert response["X-Partial"] == "1"  # shown in the dialog, not as an error page
        assert re.search(
            r"Too many requests right now\. Wait \d+ seconds, then try to send the invitations", html(response)
        )
        assert not WorkspaceInvitation.objects.exists()

    def test_the_page_and_the_api_share_one_counter(
        self, admin: SignedInClient, workspace: Workspace, settings: Any, signed_in: Callable[..., SignedInClient]
    ) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        assert admin.post(invite_url(workspace), {"emails": "a@example.com", "role": "member"}).status_code == 200
        api = SignedInClient(admin.clerk_session, via="header")
        response = api.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["b@example.com"], "role": "member"},
            format="json",
        )
        assert response.status_code == 429


# --------------------------------------------------------------------------- resend and revoke
class TestResendAndRevoke:
    def test_resend_with_htmx_returns_the_updated_row(self, admin: SignedInClient, workspace: Workspace) -> None:
        invitation = open_invitation(workspace, admin.user)
        old_clerk_id = invitation.clerk_invitation_id
        response = admin.post(action_url(invitation, "resend"), **HTMX)
        assert response.status_code == 200
        assert response["X-Partial"] == "1"
        page = html(response)
        assert page.lstrip().startswith(f'<tr id="invitation-{invitation.pk}"')
        assert "Invitation sent again." in page
        assert "2 sends" in page
        assert 'hx-swap-oob="true"' in page  # the pending count, out of band
        invitation.refresh_from_db()
        assert invitation.send_count == 2
        assert invitation.clerk_invitation_id != old_clerk_id

    def test_revoke_with_htmx_returns_the_revoked_row(self, admin: SignedInClient, workspace: Workspace) -> None:
        invitation = open_invitation(workspace, admin.user)
        response = admin.post(action_url(invitation, "revoke"), **HTMX)
        assert response.status_code == 200
        page = html(response)
        assert page.lstrip().startswith(f'<tr id="invitation-{invitation.pk}" class="invite-row is-revoked"')
        assert "Invitation revoked; the link in their email no longer works." in page
        assert "/resend/" not in page  # nothing left to do with it
        assert re.search(r'id="pending-count" hx-swap-oob="true"[^>]*>0<', page)
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.REVOKED

    def test_without_javascript_resend_redirects_back_with_a_message(
        self, admin: SignedInClient, workspace: Workspace
    ) -> None:
        invitation = open_invitation(workspace, admin.user)
        response = admin.post(action_url(invitation, "resend"))
        assert response.status_code == 302
        assert response["Location"] == f"/settings/?workspace={workspace.pk}#pending"
        page = html(follow(admin, response))
        assert "new@example.com: invitation sent again." in page
        assert 'class="alert alert-success"' in page

    def test_without_javascript_revoke_asks_first(self, admin: SignedInClient, workspace: Workspace) -> None:
        invitation = open_invitation(workspace, admin.user)
        response = admin.post(action_url(invitation, "revoke"))
        assert response.status_code == 200
        assert "Revoke this invitation?" in html(response)
        assert '<input type="hidden" name="confirm" value="yes">' in html(response)
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING  # nothing happened yet
        assert admin.get(action_url(invitation, "revoke")).status_code == 200  # the same question by link
        response = admin.post(action_url(invitation, "revoke"), {"confirm": "yes"})
        page = html(follow(admin, response))
        assert "new@example.com: invitation revoked; the link in their email no longer works." in page
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.REVOKED

    def test_resending_a_revoked_invitation_explains_instead_of_failing(
        self, admin: SignedInClient, workspace: Workspace
    ) -> None:
        invitation = open_invitation(workspace, admin.user)
        services.invitation_revoke(invitation=invitation, actor=user_of(admin))
        response = admin.post(action_url(invitation, "resend"), **HTMX)
        assert response.status_code == 409
        assert response["X-Partial"] == "1"
        assert "Could not resend the invitation: this invitation is no longer pending" in html(response)
        assert "is-revoked" in html(response)  # the row as it is now
        response = admin.post(action_url(invitation, "resend"))
        assert "this invitation is no longer pending" in html(follow(admin, response))

    def test_clerk_unavailable_on_revoke_keeps_the_row_and_says_so(
        self, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation = open_invitation(workspace, admin.user)
        clerk_gateway.faults.append(Fault("*", "/v1/organizations/*", 100, status=503))
        response = admin.post(action_url(invitation, "revoke"), **HTMX)
        assert response.status_code == 503
        assert "Clerk, our sign-in provider, is not answering right now." in html(response)
        assert "/revoke/" in html(response)  # still open: the buttons are still there
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_an_invitation_of_another_workspace_is_404(
        self, admin: SignedInClient, workspace: Workspace, clerk_workspace: Callable[..., Workspace]
    ) -> None:
        other = clerk_workspace("Globex")
        invitation = open_invitation(workspace, admin.user)
        url = f"/settings/workspaces/{other.pk}/invitations/{invitation.pk}/resend/"
        assert admin.post(url, **HTMX).status_code == 404
        assert admin.post(f"/settings/workspaces/{workspace.pk}/invitations/999999/resend/").status_code == 404


# --------------------------------------------------------------------------- refusals
class TestRefusals:
    def test_a_member_posting_gets_the_403_page(
        self, admin: SignedInClient, member: SignedInClient, workspace: Workspace
    ) -> None:
        invitation = open_invitation(workspace, admin.user)
        for url, data in (
            (invite_url(workspace), {"emails": "x@example.com", "role": "member"}),
            (action_url(invitation, "resend"), {}),
            (action_url(invitation, "revoke"), {"confirm": "yes"}),
        ):
            response = member.post(url, data)
            assert response.status_code == 403, url
            assert "You can\u2019t open this page" in html(response)
        assert member.get(action_url(invitation, "revoke")).status_code == 403
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING
        assert invitation.send_count == 1
        assert not WorkspaceInvitation.objects.filter(email="x@example.com").exists()

    def test_anonymous_posts_go_to_sign_in(self, client: Client, workspace: Workspace) -> None:
        response = client.post(invite_url(workspace), {"emails": "x@example.com", "role": "member"})
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")

    def test_csrf_is_enforced(self, signed_in: Callable[..., SignedInClient], workspace: Workspace) -> None:
        admin = signed_in(
            Role.MEMBER,
            via="cookie",
            enforce_csrf_checks=True,
            workspace=workspace,
            workspace_role=WorkspaceRole.ADMIN,
        )
        invitation = open_invitation(workspace, admin.user)
        data = {"emails": "x@example.com", "role": "member"}
        assert admin.post(invite_url(workspace), data).status_code == 403
        assert admin.post(action_url(invitation, "revoke"), **HTMX).status_code == 403
        assert admin.post(action_url(invitation, "resend"), **HTMX).status_code == 403
        # With the token of the page (as the form and htmx send it) it works.
        page = html(admin.get("/settings/"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        response = admin.post(invite_url(workspace), {**data, "csrfmiddlewaretoken": token.group(1)})
        assert response.status_code == 200
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_get_on_a_post_only_url_is_405(self, admin: SignedInClient, workspace: Workspace) -> None:
        assert admin.get(invite_url(workspace)).status_code == 405


# --------------------------------------------------------------------------- /accept-invite/
class TestAcceptPage:
    def test_a_missing_ticket_is_a_clear_message(self, client: Client) -> None:
        response = client.get("/accept-invite/")
        assert response.status_code == 400
        page = html(response)
        assert '<div data-panel="missing">' in page  # shown, not hidden
        assert "This invitation link is incomplete" in page
        assert "clerk.browser.js" not in page  # nothing for ClerkJS to do

    def test_sign_up_shows_the_form_the_workspace_and_the_inviter(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation = open_invitation(workspace, admin.user, "newbie@example.com")
        assert invitation.clerk_invitation_id
        ticket = ticket_of(clerk_gateway, invitation.clerk_invitation_id)
        response = client.get("/accept-invite/", {"__clerk_ticket": ticket, "__clerk_status": "sign_up"})
        assert response.status_code == 200
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
        page = html(response)
        assert 'data-state="ready" data-status="sign_up"' in page
        assert 'data-email="newbie@example.com"' in page
        assert "<strong>Ada Lovelace</strong> invited you to join <strong>Acme Inc</strong> as a member." in page
        for field in ('id="accept-first-name"', 'id="accept-last-name"', 'id="accept-password"'):
            assert field in page
        assert 'autocomplete="new-password"' in page
        assert "At least 8 characters." in page
        assert 'class="password-toggle"' in page
        assert 'value="newbie@example.com" readonly' in page
        assert "Create account and join Acme Inc" in page
        assert "clerk.browser.js" in page
        assert "invitations/accept.js" in page
        assert ticket not in page  # read from the URL by the script, never echoed into the page

    def test_sign_in_joins_straight_away(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation = open_invitation(workspace, admin.user, "max@example.com")
        ticket = ticket_of(clerk_gateway, invitation.clerk_invitation_id or "")
        page = html(client.get("/accept-invite/", {"__clerk_ticket": ticket, "__clerk_status": "sign_in"}))
        assert 'data-status="sign_in"' in page
        assert "Joining Acme Inc…" in page

    def test_an_unknown_ticket_still_lets_clerk_decide(self, client: Client) -> None:
        page = html(client.get("/accept-invite/", {"__clerk_ticket": "not.a.jwt", "__clerk_status": "weird"}))
        assert 'data-state="ready" data-status="sign_up"' in page
        assert 'data-email=""' in page
        assert "You are invited" not in page
        assert "Create account and join" in page

    def test_complete_goes_on_to_the_dashboard(self, client: Client) -> None:
        page = html(client.get("/accept-invite/", {"__clerk_ticket": "x", "__clerk_status": "complete"}))
        assert 'data-status="complete"' in page
        assert 'data-next="/dashboard/"' in page


class TestAcceptJoined:
    """``/accept-invite/joined/``: what the accept page polls before opening the dashboard."""

    def test_anonymous_is_401(self, client: Client) -> None:
        response = client.get("/accept-invite/joined/", {"invitation": "1"})
        assert response.status_code == 401
        assert response.json() == {"joined": False}

    def test_true_once_the_caller_is_a_member_of_the_invitations_workspace(
        self, admin: SignedInClient, member: SignedInClient, workspace: Workspace, signed_in: Callable[..., Any]
    ) -> None:
        invitation = open_invitation(workspace, admin.user)
        url = "/accept-invite/joined/"
        assert member.get(url, {"invitation": invitation.pk}).json() == {"joined": True}
        outsider = signed_in(Role.MEMBER, via="cookie")
        assert outsider.get(url, {"invitation": invitation.pk}).json() == {"joined": False}
        assert member.get(url, {"invitation": "abc"}).json() == {"joined": False}
        assert member.get(url, {"invitation": "999999"}).json() == {"joined": False}
        assert "no-cache" in member.get(url, {"invitation": invitation.pk})["Cache-Control"]
