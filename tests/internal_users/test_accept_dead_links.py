"""``/internal/accept-invite/`` for a link that can no longer be used: accepted, revoked, superseded, expired.

Each gets its explanation and a way on before any script runs (ClerkJS is not loaded), with no inviter and no role
on the page, even with the right ``invitation_id`` (issue 13's disclosure rule). Staff invitations are made,
resent and revoked by the real services against the in-thread Clerk emulator; tickets are the emailed ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from clerk_emulator.state import Emulator
from internal_users import selectors, services
from internal_users.models import InternalInvitation, InternalInvitationStatus

pytestmark = pytest.mark.django_db

SECRETS = ("Rita", "Root", "root@example.com", "Project manager", "pia@example.com")


@pytest.fixture
def root(browser: Callable[..., tuple[Client, User]]) -> User:
    _, user = browser(Role.SUPER_ADMIN, first_name="Rita", last_name="Root", email="root@example.com")
    return user


def ticket_of(em: Emulator, row: InternalInvitation) -> str:
    assert row.clerk_invitation_id is not None
    url = em.invitations[row.clerk_invitation_id].url
    assert url is not None
    return parse_qs(urlsplit(url).query)["ticket"][0]


def accept_page(client: Client, row: InternalInvitation, ticket: str) -> str:
    response = client.get("/internal/accept-invite/", {"invitation_id": str(row.pk), "__clerk_ticket": ticket})
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    page = response.content.decode()
    assert ticket not in page
    return page


def assert_only_panel(page: str, name: str) -> None:
    assert f'data-state="{name}"' in page
    assert f'<div data-panel="{name}">' in page
    for other in ("expired", "revoked", "superseded", "accepted", "invalid", "loading", "sign-up"):
        if other != name:
            assert f'<div data-panel="{other}" hidden>' in page, other
    for secret in SECRETS:
        assert secret not in page, secret
    assert "clerk.browser.js" not in page


def test_the_old_link_of_a_resent_staff_invitation_says_a_newer_one_was_sent(
    client: Client, root: User, clerk_gateway: Emulator
) -> None:
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    old_ticket = ticket_of(clerk_gateway, row)
    resent = services.internal_invitation_resend(invitation=row, actor=root)
    assert resent.clerk_invitation_id != row.clerk_invitation_id

    page = accept_page(client, row, old_ticket)
    assert_only_panel(page, "superseded")
    assert "A newer invitation link was sent" in page
    assert "Open the most recent staff invitation email" in page

    fresh = accept_page(client, row, ticket_of(clerk_gateway, resent))
    assert 'data-state="ready"' in fresh
    assert "Rita Root" in fresh
    assert "Project manager" in fresh
    assert selectors.accept_state_for_ticket(ticket=old_ticket) == ("superseded", resent)


def test_a_revoked_staff_invitation_says_so_and_who_to_ask(client: Client, root: User, clerk_gateway: Emulator) -> None:
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    ticket = ticket_of(clerk_gateway, row)
    services.internal_invitation_revoke(invitation=row, actor=root)
    page = accept_page(client, row, ticket)
    assert_only_panel(page, "revoked")
    assert "ask the person who invited you, or another staff admin, to invite you again" in page


def test_an_expired_staff_invitation_asks_for_a_new_one(
    client: Client, root: User, clerk_gateway: Emulator, settings: Any
) -> None:
    settings.INVITATION_EXPIRY_DAYS = 3
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    ticket = ticket_of(clerk_gateway, row)
    InternalInvitation.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = accept_page(client, row, ticket)
    assert_only_panel(page, "expired")
    assert "Staff invitations work for 3 days" in page


def test_an_accepted_staff_invitation_offers_sign_in_or_the_dashboard(
    client: Client, root: User, clerk_gateway: Emulator, browser: Callable[..., tuple[Client, User]]
) -> None:
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    ticket = ticket_of(clerk_gateway, row)
    InternalInvitation.objects.filter(pk=row.pk).update(status=InternalInvitationStatus.ACCEPTED)

    signed_out = accept_page(client, row, ticket)
    assert_only_panel(signed_out, "accepted")
    assert "Sign in with it to continue." in signed_out
    assert "Go to the internal dashboard" not in signed_out

    staff, _ = browser(Role.PM)
    signed_in = accept_page(staff, row, ticket)
    assert_only_panel(signed_in, "accepted")
    assert 'href="/internal/">Go to the internal dashboard</a>' in signed_in

    member, _ = browser(Role.MEMBER)
    assert "Go to the internal dashboard" not in accept_page(member, row, ticket)
