"""The staff pages when an action cannot be done: refusals come back as a message on the list, Clerk outages as the
styled error page with nothing half-made, and the accept page never reveals more than the link says."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from clerk_emulator.state import Emulator, Fault
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.conftest import ClerkSession
from tests.internal_users.factories import INVITATIONS_PATH, InternalInvitationFactory
from tests.internal_users.test_pages import USERS, csrf_post

pytestmark = pytest.mark.django_db


def test_clerk_down_during_an_invite_shows_the_error_page_and_keeps_nothing(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.ADMIN)
    clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=500))
    response = csrf_post(client, USERS, {"email": "new@example.com", "role": "pm"})
    assert response.status_code in (502, 503)
    assert "Clerk" in response.content.decode() or "identity provider" in response.content.decode()
    assert not InternalInvitation.objects.exists()


def test_grant_role_with_a_bad_form_answers_400_with_the_field_error(
    browser: Callable[..., tuple[Client, User]],
) -> None:
    client, _ = browser(Role.ADMIN)
    response = csrf_post(client, "/internal/users/grant-role/", {"email": "not-an-email", "role": "pm"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_grant_role_when_clerk_is_down_shows_the_error_page(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator, clerk_session: Callable[..., ClerkSession]
) -> None:
    client, _ = browser(Role.SUPER_ADMIN)
    target = clerk_session(Role.MEMBER, email="member@example.com").user
    assert target is not None
    clerk_gateway.faults.append(Fault("PATCH", "*", 5, status=503))
    response = csrf_post(client, "/internal/users/grant-role/", {"email": "member@example.com", "role": "pm"})
    assert response.status_code in (502, 503)
    assert User.objects.get(pk=target.pk).role == Role.MEMBER


def test_resending_a_revoked_invitation_is_refused_with_a_message(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.SUPER_ADMIN)
    row = InternalInvitationFactory.create(status=InternalInvitationStatus.REVOKED, email="gone@example.com")
    calls = len(clerk_gateway.request_log)
    response = csrf_post(client, f"/internal/users/invitations/{row.pk}/resend/")
    assert response.status_code == 302
    assert "revoked" in client.get(USERS + "?status=revoked").content.decode()
    assert len(clerk_gateway.request_log) == calls


def test_an_admin_reactivating_or_removing_a_super_admin_is_refused_with_a_message(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.ADMIN)
    _, root = browser(Role.SUPER_ADMIN, email="root@example.com")
    calls = len(clerk_gateway.request_log)
    response = csrf_post(client, f"/internal/users/{root.clerk_user_id}/reactivate/")
    assert response.status_code == 302
    assert "Only a super admin" in client.get(USERS).content.decode()
    assert len(clerk_gateway.request_log) == calls


def test_a_super_admin_cannot_remove_themselves_from_the_page(browser: Callable[..., tuple[Client, User]]) -> None:
    client, root = browser(Role.SUPER_ADMIN)
    _, other = browser(Role.SUPER_ADMIN, email="other-root@example.com")
    response = csrf_post(client, f"/internal/users/{root.clerk_user_id}/remove/", {"confirm_email": (root.email or "")})
    assert response.status_code == 302
    assert User.objects.filter(pk=root.pk).exists()
    assert other.pk != root.pk


@pytest.mark.parametrize("invitation_id", ["999999", "12abc", "9" * 30])
def test_the_accept_page_with_an_unknown_or_odd_invitation_id_shows_no_greeting(
    client: Client, invitation_id: str
) -> None:
    response = client.get(f"/internal/accept-invite/?invitation_id={invitation_id}&__clerk_ticket=t")
    assert response.status_code == 200
    assert "to join the staff as" not in response.content.decode()
