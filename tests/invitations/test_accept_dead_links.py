"""``/accept-invite/`` for a link that can no longer be used: accepted, revoked, superseded by a resend, expired.

Each gets its own explanation and a way on before any script runs (ClerkJS is not even loaded), and none of them
names the inviter, the role or the workspace (issue 13's disclosure rule), except the workspace of someone signed in
who is a member of it. Invitations are made, resent and revoked by the real services against the in-thread Clerk
emulator; the tickets are the ones in the emailed links.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from invitations import selectors, services
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.conftest import SignedInClient
from tests.invitations.factories import ticket_of

pytestmark = pytest.mark.django_db

NAMES = ("Ada", "Lovelace", "ada@example.com", "Acme Inc", "as a member", "as an admin")


@pytest.fixture
def no_cooldown(settings: Any) -> None:
    settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 0


def invitation_with_ticket(
    workspace: Workspace, admin: SignedInClient, em: Emulator, email: str = "new@example.com"
) -> tuple[WorkspaceInvitation, str]:
    assert admin.user is not None
    [result] = services.invitations_create(workspace=workspace, inviter=admin.user, emails=[email], role="member")
    assert result.invitation is not None
    assert result.invitation.clerk_invitation_id
    return result.invitation, ticket_of(em, result.invitation.clerk_invitation_id)


def accept_page(client: Client, ticket: str, status: str = "sign_up") -> str:
    response = client.get("/accept-invite/", {"__clerk_ticket": ticket, "__clerk_status": status})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return response.content.decode()


def assert_names_nobody(page: str) -> None:
    for name in NAMES:
        assert name not in page, name
    assert "invite-context" not in page
    assert "clerk.browser.js" not in page  # nothing left for ClerkJS to try


def assert_only_panel(page: str, name: str) -> None:
    assert f'data-state="{name}"' in page
    assert f'<div data-panel="{name}">' in page
    for other in ("expired", "revoked", "superseded", "accepted", "invalid", "loading", "sign-up"):
        if other != name:
            assert f'<div data-panel="{other}" hidden>' in page, other


class TestResentLink:
    def test_the_old_link_of_a_resent_invitation_says_a_newer_one_was_sent(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, no_cooldown: None
    ) -> None:
        invitation, old_ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        resent = services.invitation_resend(invitation=invitation, actor=admin.user)
        assert resent.clerk_invitation_id
        assert resent.clerk_invitation_id != invitation.clerk_invitation_id

        page = accept_page(client, old_ticket)
        assert_only_panel(page, "superseded")
        assert "A newer invitation link was sent" in page
        assert "only the link in the latest email works" in page
        assert_names_nobody(page)

        # The new link is the one that works: the page lets Clerk take it, with the greeting.
        fresh = accept_page(client, ticket_of(clerk_gateway, resent.clerk_invitation_id))
        assert 'data-state="ready"' in fresh
        assert "<strong>Ada Lovelace</strong> invited you to join <strong>Acme Inc</strong>" in fresh

    def test_a_link_resent_twice_is_superseded_both_times(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, no_cooldown: None
    ) -> None:
        invitation, first = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        once = services.invitation_resend(invitation=invitation, actor=admin.user)
        second = ticket_of(clerk_gateway, once.clerk_invitation_id or "")
        services.invitation_resend(invitation=once, actor=admin.user)
        for ticket in (first, second):
            assert_only_panel(accept_page(client, ticket), "superseded")

    def test_an_old_link_of_an_invitation_accepted_since_says_accepted(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, no_cooldown: None
    ) -> None:
        invitation, old_ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        services.invitation_resend(invitation=invitation, actor=admin.user)
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.ACCEPTED)
        assert_only_panel(accept_page(client, old_ticket), "accepted")

    def test_an_old_link_of_an_invitation_revoked_since_says_revoked(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, no_cooldown: None
    ) -> None:
        invitation, old_ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        resent = services.invitation_resend(invitation=invitation, actor=admin.user)
        services.invitation_revoke(invitation=resent, actor=admin.user)
        assert_only_panel(accept_page(client, old_ticket), "revoked")

    def test_the_preview_of_an_old_link_is_the_invitation_it_belonged_to(
        self, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, no_cooldown: None
    ) -> None:
        invitation, old_ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        services.invitation_resend(invitation=invitation, actor=admin.user)
        preview = selectors.invitation_preview_for_ticket(ticket=old_ticket)
        assert preview is not None
        assert (preview.invitation_id, preview.superseded, preview.accept_state) == (invitation.pk, True, "superseded")


class TestRevokedExpiredAccepted:
    def test_a_revoked_invitation_says_so_and_who_to_ask(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation, ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        assert admin.user is not None
        services.invitation_revoke(invitation=invitation, actor=admin.user)
        page = accept_page(client, ticket)
        assert_only_panel(page, "revoked")
        assert "This invitation was revoked" in page
        assert "ask the person who invited you, or another admin of the workspace, to invite you again" in page
        assert "Already a member? Sign in" in page
        assert_names_nobody(page)

    def test_an_expired_invitation_asks_for_a_new_one(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, settings: Any
    ) -> None:
        settings.INVITATION_EXPIRY_DAYS = 5
        invitation, ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        page = accept_page(client, ticket)
        assert_only_panel(page, "expired")
        assert "Invitations work for 5 days" in page
        assert "to send you a new one" in page
        assert_names_nobody(page)

    def test_an_accepted_invitation_offers_sign_in(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation, ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.ACCEPTED)
        page = accept_page(client, ticket)
        assert_only_panel(page, "accepted")
        assert "This invitation was already accepted" in page
        assert 'href="/sign-in/?next=/dashboard/">Sign in</a>' in page.replace("%2F", "/")
        assert_names_nobody(page)

    def test_an_accepted_invitation_opens_the_workspace_for_a_signed_in_member(
        self,
        signed_in: Callable[..., SignedInClient],
        admin: SignedInClient,
        workspace: Workspace,
        clerk_gateway: Emulator,
    ) -> None:
        invitation, ticket = invitation_with_ticket(workspace, admin, clerk_gateway, email="max@example.com")
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.ACCEPTED)
        max_ = signed_in(
            Role.MEMBER, via="cookie", workspace=workspace, workspace_role=WorkspaceRole.MEMBER, email="max@example.com"
        )
        page = accept_page(max_, ticket)
        assert_only_panel(page, "accepted")
        assert f'href="/settings/?workspace={workspace.pk}">Go to Acme Inc</a>' in page
        assert "You are a member of <strong>Acme Inc</strong>" in page

    def test_someone_signed_in_who_is_not_a_member_gets_sign_in_not_the_workspace(
        self,
        signed_in: Callable[..., SignedInClient],
        admin: SignedInClient,
        workspace: Workspace,
        clerk_workspace: Callable[..., Workspace],
        clerk_gateway: Emulator,
    ) -> None:
        invitation, ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.ACCEPTED)
        other = clerk_workspace("Other Co")
        outsider = signed_in(
            Role.MEMBER, via="cookie", workspace=other, workspace_role=WorkspaceRole.MEMBER, email="eve@example.com"
        )
        page = accept_page(outsider, ticket)
        assert_only_panel(page, "accepted")
        assert "Go to" not in page
        assert_names_nobody(page)

    def test_a_pending_invitation_still_goes_to_clerk(
        self, client: Client, admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        _, ticket = invitation_with_ticket(workspace, admin, clerk_gateway)
        page = accept_page(client, ticket)
        assert 'data-state="ready"' in page
        assert "clerk.browser.js" in page
        assert "Questions about this invitation? Ask Ada Lovelace." in page
