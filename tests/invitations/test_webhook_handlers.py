"""Invitations' webhook handlers, fed with the events the Clerk emulator really emitted (signed with svix and POSTed
to /webhooks/clerk/): acceptance, revocation and memberships, in any order, any number of times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from clerk_emulator import auth, sessions
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent, WebhookEvent
from invitations import services
from invitations.models import WorkspaceInvitation
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.conftest import ClerkSession
from tests.invitations.factories import bulk_path, clerk_pending, ticket_of

pytestmark = pytest.mark.django_db

ACCEPT_EVENTS = ["user.created", "organizationInvitation.accepted", "organizationMembership.created"]


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET


@pytest.fixture
def admin(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> User:
    user = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN).user
    assert user is not None
    return user


def invite(workspace: Workspace, admin: User, email: str = "ivy@example.com") -> WorkspaceInvitation:
    result = services.invitations_create(workspace=workspace, inviter=admin, emails=[email], role="member")[0]
    assert result.invitation is not None, result
    return result.invitation


def sign_up_with_ticket(em: Emulator, clerk_invitation_id: str) -> str:
    """What the accept page does through ClerkJS: sign up with the ticket from the emailed link; the user id."""
    with em.lock:
        session = auth.sign_up(
            em,
            sessions.new_client(em),
            {"strategy": "ticket", "ticket": ticket_of(em, clerk_invitation_id), "password": "long-enough-3"},
        )
    return session.user_id


def of_types(events: list[dict[str, Any]], types: list[str]) -> list[dict[str, Any]]:
    found = {event["type"]: event for event in events if event["type"] in types}
    assert sorted(found) == sorted(types), [event["type"] for event in events]
    return [found[t] for t in types]


def deliver_all(client: Client, events: list[dict[str, Any]]) -> None:
    for event in events:
        response = deliver(client, event)
        assert response.status_code == 200, (event["type"], response.content)


def state(row: WorkspaceInvitation) -> tuple[Any, ...]:
    row.refresh_from_db()
    return (
        row.status,
        row.clerk_invitation_id,
        row.accepted_by.clerk_user_id if row.accepted_by else None,
        row.accepted_at is not None,
        row.revoked_at is not None,
        WorkspaceMembership.objects.filter(workspace=row.workspace, user__email=row.email).exists(),
    )


# --------------------------------------------------------------------------- acceptance
@pytest.mark.parametrize(
    "order",
    [
        [0, 1, 2],
        [2, 1, 0],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [0, 2, 1, 1, 2, 0],  # duplicates: Svix delivers at least once
    ],
)
def test_acceptance_ends_the_same_in_any_order(
    order: list[int],
    client: Client,
    workspace: Workspace,
    admin: User,
    driver: ClerkDriver,
    clerk_emulator: Emulator,
) -> None:
    row = invite(workspace, admin)
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
    events = of_types(driver.events(), ACCEPT_EVENTS)

    deliver_all(client, [events[i] for i in order])

    assert state(row) == ("accepted", row.clerk_invitation_id, user_id, True, False, True)
    assert User.objects.get(clerk_user_id=user_id).email == "ivy@example.com"
    assert AuditEvent.objects.filter(action="workspace_invitation.accepted", target_id=str(row.pk)).count() == 1


def test_accepted_before_we_learned_the_clerk_id_matches_by_email(
    client: Client,
    workspace: Workspace,
    admin: User,
    driver: ClerkDriver,
    clerk_emulator: Emulator,
    clerk_emulator_server: EmulatorServer,
    settings: Any,
) -> None:
    # Our send timed out twice: Clerk created the invitation, our row is queued without its id.
    settings.CLERK_TIMEOUT_MS = 500
    clerk_emulator.faults.append(Fault("POST", bulk_path(workspace.clerk_organization_id), 2, delay_s=1.0))
    with pytest.raises(clerk.ClerkUnavailable):
        services.invitations_create(workspace=workspace, inviter=admin, emails=["ivy@example.com"], role="member")
    assert clerk_emulator_server.wait_requests_answered()
    row = WorkspaceInvitation.objects.get()
    assert (row.status, row.clerk_invitation_id) == ("queued", None)
    (clerk_id,) = clerk_pending(clerk_emulator, workspace.clerk_organization_id)["ivy@example.com"]

    user_id = sign_up_with_ticket(clerk_emulator, clerk_id)
    (accepted,) = of_types(driver.events(), ["organizationInvitation.accepted"])
    deliver_all(client, [accepted])

    assert state(row) == ("accepted", clerk_id, user_id, True, False, False)
    # The queued row is no longer sent.
    assert services.invitations_send_queued(now=timezone.now() + timedelta(hours=2)) == 0


def test_accepting_user_unknown_here_is_fetched_from_clerk(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, admin)
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
    (accepted,) = of_types(driver.events(), ["organizationInvitation.accepted"])
    assert not User.objects.filter(clerk_user_id=user_id).exists()

    deliver_all(client, [accepted])

    assert state(row)[:3] == ("accepted", row.clerk_invitation_id, user_id)


def test_membership_created_accepts_the_open_invitation(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver
) -> None:
    row = invite(workspace, admin)
    # The person signs up some other way and an admin adds them in Clerk's dashboard.
    person = driver.create_user("ivy@example.com")
    driver.add_member(workspace.clerk_organization_id, person["id"])
    events = of_types(driver.events(), ["user.created", "organizationMembership.created"])

    deliver_all(client, list(reversed(events)))

    assert state(row) == ("accepted", row.clerk_invitation_id, person["id"], True, False, True)


def test_membership_deleted_leaves_invitations_alone(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, admin)
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
    deliver_all(client, of_types(driver.events(), ACCEPT_EVENTS))
    driver.call("DELETE", f"/organizations/{workspace.clerk_organization_id}/memberships/{user_id}")
    (deleted,) = of_types(driver.events(), ["organizationMembership.deleted"])

    deliver_all(client, [deleted])

    assert state(row) == ("accepted", row.clerk_invitation_id, user_id, True, False, False)


def test_accepted_for_an_unknown_organization_is_acknowledged_and_ignored(
    client: Client, driver: ClerkDriver, clerk_emulator: Emulator
) -> None:
    org = driver.create_organization("Elsewhere")
    invitation = driver.call(
        "POST", f"/organizations/{org['id']}/invitations", {"email_address": "ivy@example.com", "role": "org:member"}
    )
    sign_up_with_ticket(clerk_emulator, invitation["id"])
    (accepted,) = of_types(driver.events(), ["organizationInvitation.accepted"])
    deliver_all(client, [accepted])
    event = WebhookEvent.objects.get(type="organizationInvitation.accepted")
    assert "ignored" in event.note
    assert WorkspaceInvitation.objects.count() == 0


# --------------------------------------------------------------------------- revocation
def test_revoked_in_clerk_revokes_here_once(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver
) -> None:
    row = invite(workspace, admin)
    driver.call(
        "POST", f"/organizations/{workspace.clerk_organization_id}/invitations/{row.clerk_invitation_id}/revoke"
    )
    (revoked,) = of_types(driver.events(), ["organizationInvitation.revoked"])

    deliver_all(client, [revoked, revoked])

    assert state(row) == ("revoked", row.clerk_invitation_id, None, False, True, False)
    row.refresh_from_db()
    assert row.revoked_by is None
    assert AuditEvent.objects.filter(action="workspace_invitation.revoked", target_id=str(row.pk)).count() == 1


def test_the_echo_of_our_own_revoke_changes_nothing(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver
) -> None:
    row = invite(workspace, admin)
    services.invitation_revoke(invitation=row, actor=admin)
    (revoked,) = of_types(driver.events(), ["organizationInvitation.revoked"])
    deliver_all(client, [revoked])
    row.refresh_from_db()
    assert (row.status, row.revoked_by_id) == ("revoked", admin.pk)
    assert AuditEvent.objects.filter(action="workspace_invitation.revoked").count() == 1


def test_the_revocation_a_resend_causes_does_not_revoke_the_resent_invitation(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver
) -> None:
    row = invite(workspace, admin)
    resent = services.invitation_resend(invitation=row, actor=admin)
    (revoked,) = of_types(driver.events(), ["organizationInvitation.revoked"])
    assert revoked["data"]["id"] == row.clerk_invitation_id

    deliver_all(client, [revoked])

    assert state(row)[:2] == ("pending", resent.clerk_invitation_id)


def test_a_late_revocation_never_undoes_an_acceptance(
    client: Client, workspace: Workspace, admin: User, driver: ClerkDriver
) -> None:
    row = invite(workspace, admin)
    driver.call(
        "POST", f"/organizations/{workspace.clerk_organization_id}/invitations/{row.clerk_invitation_id}/revoke"
    )
    (revoked,) = of_types(driver.events(), ["organizationInvitation.revoked"])
    WorkspaceInvitation.objects.filter(pk=row.pk).update(status="accepted", accepted_at=timezone.now())
    deliver_all(client, [revoked])
    assert state(row)[:2] == ("accepted", row.clerk_invitation_id)
