"""Staff invitation timelines, the revoked/accepted filters and the invite link (internal_users/timeline.py,
links.py, history_views.py, api/history.py): real services against the in-thread Clerk emulator, PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from clerk_emulator.state import Emulator
from core.models import AuditEvent
from internal_users import links, selectors, services
from internal_users.errors import InvitationNotPending
from internal_users.models import InternalInvitation
from internal_users.timeline import internal_invitation_timeline
from tests.conftest import ClerkSession, SignedInClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_session(clerk_session: Callable[..., ClerkSession]) -> ClerkSession:
    return clerk_session(Role.SUPER_ADMIN, email="root@example.com")


@pytest.fixture
def owner(owner_session: ClerkSession) -> User:
    assert owner_session.user is not None
    return owner_session.user


def invite(owner: User, email: str, role: str = Role.PM) -> InternalInvitation:
    return services.internal_invite(email=email, role=role, actor=owner)


def test_timeline_created_resent_revoked(owner: User) -> None:
    row = invite(owner, "pat@example.com")
    services.internal_invitation_resend(invitation=row, actor=owner)
    services.internal_invitation_revoke(invitation=row, actor=owner)

    steps = internal_invitation_timeline(invitation=row)

    assert [step.kind for step in steps] == ["created", "resent", "revoked"]
    assert steps[0].label == "Invited as pm"
    assert steps[-1].label == "Revoked by root@example.com"


def test_revoked_and_accepted_filters(owner: User) -> None:
    revoked = invite(owner, "gone@example.com")
    services.internal_invitation_revoke(invitation=revoked, actor=owner)
    pending = invite(owner, "open@example.com")

    page = selectors.staff_list(filters=selectors.staff_filters(status="revoked"))
    default = selectors.staff_list()

    assert [entry.invitation_id for entry in page.entries] == [revoked.pk]
    ids = {entry.invitation_id for entry in default.entries}
    assert pending.pk in ids
    assert revoked.pk not in ids


def test_link_is_the_emails_link_audited_and_never_logged(
    owner: User, clerk_gateway: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    row = invite(owner, "lin@example.com")
    caplog.set_level(logging.DEBUG)

    link = links.internal_invitation_link_reveal(invitation=row, actor=owner)

    remote = clerk_gateway.invitations[row.clerk_invitation_id or ""]
    assert link.url == services.email_link(remote.url or "", invitation_id=row.pk)
    ticket = (remote.url or "").split("ticket=", 1)[1]
    event = AuditEvent.objects.get(action="internal_invitation.link_shown")
    assert (event.actor_id, event.target_id) == (owner.pk, str(row.pk))
    assert ticket not in str(event.details)
    assert ticket not in caplog.text
    assert internal_invitation_timeline(invitation=row)[-1].kind == "link_shown"


def test_no_link_for_a_revoked_invitation(owner: User) -> None:
    row = invite(owner, "rev@example.com")
    services.internal_invitation_revoke(invitation=row, actor=owner)
    with pytest.raises(InvitationNotPending):
        links.internal_invitation_link_reveal(invitation=row, actor=owner)


def test_an_admin_may_not_see_a_super_admin_invitations_link(
    owner: User, clerk_session: Callable[..., ClerkSession]
) -> None:
    row = invite(owner, "boss@example.com", role=Role.SUPER_ADMIN)
    admin = clerk_session(Role.ADMIN).user
    assert admin is not None
    with pytest.raises(Exception, match="super"):
        links.internal_invitation_link_reveal(invitation=row, actor=admin)
    assert not AuditEvent.objects.filter(action="internal_invitation.link_shown", outcome="success").exists()


def test_api_detail_and_link(owner_session: ClerkSession, owner: User, clerk_gateway: Emulator) -> None:
    api = SignedInClient(owner_session)
    row = invite(owner, "api@example.com")

    detail = api.get(f"/api/admin/internal-users/invitations/{row.pk}/")
    link = api.post(f"/api/admin/internal-users/invitations/{row.pk}/link/")

    assert detail.status_code == 200, detail.content
    body = detail.json()
    assert body["invitation"]["email"] == "api@example.com"
    assert [step["kind"] for step in body["timeline"]] == ["created"]
    assert link.status_code == 200, link.content
    assert link["Cache-Control"] == "no-store"
    assert "ticket=" in link.json()["url"]
    assert api.get(f"/api/admin/internal-users/invitations/{row.pk}/link/").status_code == 405
    assert api.get("/api/admin/internal-users/invitations/999999/").status_code == 404


def test_pages_timeline_and_link_once(owner_session: ClerkSession, owner: User, clerk_gateway: Emulator) -> None:
    browser = Client()
    browser.cookies["__session"] = owner_session.token
    row = invite(owner, "page@example.com")
    remote_url = clerk_gateway.invitations[row.clerk_invitation_id or ""].url or ""

    page = browser.get(f"/internal/users/invitations/{row.pk}/").content.decode()
    shown = browser.post(f"/internal/users/invitations/{row.pk}/link/")
    again = browser.get(f"/internal/users/invitations/{row.pk}/").content.decode()
    listing = browser.get("/internal/users/", {"status": "pending"}).content.decode()

    assert "Invited as pm" in page
    assert "Get invite link" in page
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    ticket = remote_url.split("ticket=", 1)[1]
    assert ticket in shown.content.decode()
    assert ticket not in again
    assert "Invite link shown to root@example.com" in again
    assert f'href="/internal/users/invitations/{row.pk}/"' in listing
