"""The accounts webhook handlers: users, workspaces and memberships mirrored from Clerk, idempotent and in any order.

Test plan row wh_out_of_order (docs/reliability.md): every event is one the Clerk emulator emitted for a real
change made through its Backend API, signed with svix and POSTed to the endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import models
from django.test import Client

from accounts.models import User, Workspace, WorkspaceMembership
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core.models import AuditEvent, WebhookEvent
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.internal_users.factories import InternalInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clerk_settings(settings: Any, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    # The gateway (accounts.clerk) talks to the in-thread emulator.
    settings.CLERK_API_URL = clerk_emulator_server.api_url
    settings.CLERK_SECRET_KEY = clerk_emulator.secret_key


@pytest.fixture
def clerk(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
    driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
    yield driver
    driver.close()


def deliver_all(client: Client, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bodies = []
    for event in events:
        response = deliver(client, event)
        assert response.status_code == 200, (event["type"], response.content)
        bodies.append(response.json())
    return bodies


def _row(obj: models.Model, skip: set[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in skip:
            continue
        value = getattr(obj, field.name)
        if isinstance(value, User):
            value = value.clerk_user_id
        elif isinstance(value, Workspace):
            value = value.clerk_organization_id
        elif isinstance(value, datetime):  # local clock (e.g. disabled_at): only whether it is set counts
            value = True
        row[field.name] = value
    return row


def local_state() -> dict[str, list[dict[str, Any]]]:
    """Every mirrored field of every row, without local ids and timestamps: equal states have 0 differing fields."""
    local = {"id", "created_at", "updated_at", "password", "last_login"}
    return {
        "users": sorted((_row(u, local) for u in User.objects.all()), key=lambda r: r["clerk_user_id"]),
        "workspaces": sorted(
            (_row(w, local) for w in Workspace.objects.all()), key=lambda r: r["clerk_organization_id"]
        ),
        "memberships": sorted(
            (_row(m, local) for m in WorkspaceMembership.objects.all()), key=lambda r: (r["workspace"], r["user"])
        ),
    }


def reset_local() -> None:
    """Forget every mirrored row; staff invitations accepted meanwhile are pending again (as before the events)."""
    InternalInvitation.objects.update(status=InternalInvitationStatus.PENDING, accepted_at=None, accepted_user=None)
    WebhookEvent.objects.all().delete()
    WorkspaceMembership.objects.all().delete()
    Workspace.objects.all().delete()
    User.objects.all().delete()


def assert_order_does_not_matter(client: Client, events: list[dict[str, Any]], order: list[int]) -> None:
    deliver_all(client, events)
    in_order = local_state()
    reset_local()
    deliver_all(client, [events[i] for i in order])
    assert local_state() == in_order


def invited(email: str, role: str) -> InternalInvitation:
    """A pending staff invitation: the only thing that lets a Clerk metadata role through (accounts.role_claims)."""
    invitation: InternalInvitation = InternalInvitationFactory.create(email=email, role=role)
    return invitation


# --------------------------------------------------------------------------- users
def test_user_created_mirrors_the_clerk_user(client: Client, clerk: ClerkDriver) -> None:
    invitation = invited("ann@example.com", "admin")
    created = clerk.create_user(
        "Ann@Example.com", first_name="Ann", last_name="Lee", public_metadata={"role": "admin", "internal": True}
    )
    event = clerk.event("user.created")
    deliver_all(client, [event])
    user = User.objects.get(clerk_user_id=created["id"])
    assert (user.email, user.first_name, user.last_name) == ("ann@example.com", "Ann", "Lee")
    assert (user.role, user.is_internal) == ("admin", True)
    assert user.image_url == created["image_url"]
    assert user.clerk_updated_at == created["updated_at"]
    assert user.disabled_at is None
    assert user.phone_verification_required is False
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_user) == (InternalInvitationStatus.ACCEPTED, user)


def test_metadata_role_without_a_matching_invitation_is_ignored_and_audited(client: Client, clerk: ClerkDriver) -> None:
    invited("ann@example.com", "pm")  # an invitation for another role grants nothing either
    created = clerk.create_user("ann@example.com", public_metadata={"role": "super_admin", "internal": True})
    deliver_all(client, [clerk.event("user.created")])
    user = User.objects.get(clerk_user_id=created["id"])
    assert (user.role, user.is_internal) == ("member", False)
    event = AuditEvent.objects.get(action="user.role_claim_ignored")
    assert (event.target_id, event.outcome) == (str(user.pk), AuditEvent.Outcome.DENIED)
    assert (event.details["claimed_role"], event.details["kept_role"]) == ("super_admin", "member")
    assert InternalInvitation.objects.get().status == InternalInvitationStatus.PENDING

    # Metadata edited later in Clerk's dashboard is no better: ignored and audited again.
    clerk.call("PATCH", f"/users/{created['id']}/metadata", {"public_metadata": {"role": "admin", "internal": True}})
    deliver_all(client, [clerk.event("user.updated")])
    user.refresh_from_db()
    assert user.role == "member"
    assert AuditEvent.objects.filter(action="user.role_claim_ignored").count() == 2


def test_user_updated_before_created_ends_as_in_order(client: Client, clerk: ClerkDriver) -> None:
    invited("ann@example.com", "pm")
    user = clerk.create_user("ann@example.com", first_name="Ann")
    clerk.call("PATCH", f"/users/{user['id']}", {"first_name": "Annie", "last_name": "Lee"})
    clerk.call("PATCH", f"/users/{user['id']}/metadata", {"public_metadata": {"role": "pm", "internal": True}})
    clerk.call("POST", f"/users/{user['id']}/ban")
    events = clerk.events()
    assert [e["type"] for e in events] == ["user.created", "user.updated", "user.updated", "user.updated"]
    assert_order_does_not_matter(client, events, order=[3, 1, 0, 2])
    local = User.objects.get()
    assert (local.first_name, local.role, local.is_active) == ("Annie", "pm", False)
    assert InternalInvitation.objects.get().accepted_user == local


def test_stale_update_after_a_newer_one_changes_nothing(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com", first_name="Ann")
    clerk.call("PATCH", f"/users/{user['id']}", {"first_name": "Bea"})
    clerk.call("PATCH", f"/users/{user['id']}", {"first_name": "Cat"})
    created, to_bea, to_cat = clerk.events()
    deliver_all(client, [created, to_cat])
    before = local_state()
    deliver_all(client, [to_bea, created])
    assert local_state() == before
    assert User.objects.get().first_name == "Cat"


def test_same_data_under_a_new_message_id_is_idempotent(client: Client, clerk: ClerkDriver) -> None:
    clerk.create_user("ann@example.com", first_name="Ann")
    event = clerk.event("user.created")
    deliver_all(client, [event])
    once = local_state()
    deliver_all(client, [event])  # Clerk re-sent it as a new message (a different svix-id)
    assert local_state() == once
    assert WebhookEvent.objects.count() == 2


def test_unknown_role_in_metadata_is_ignored_and_logged(
    client: Client, clerk: ClerkDriver, caplog: pytest.LogCaptureFixture
) -> None:
    invited("ann@example.com", "pm")
    user = clerk.create_user("ann@example.com", public_metadata={"role": "owner", "internal": True})
    clerk.call("PATCH", f"/users/{user['id']}/metadata", {"public_metadata": {"role": "pm"}})
    clerk.call("PATCH", f"/users/{user['id']}/metadata", {"public_metadata": {"role": "god-mode"}})
    created, to_pm, to_unknown = clerk.events()
    with caplog.at_level(logging.WARNING, logger="accounts.services"):
        deliver_all(client, [created])
    local = User.objects.get()
    assert (local.role, local.is_internal) == ("member", False)  # never trusted, never guessed
    assert "unknown role" in caplog.text
    deliver_all(client, [to_pm, to_unknown])
    local.refresh_from_db()
    assert (local.role, local.is_internal) == ("pm", True)  # the unknown role did not replace the known one


def test_user_deleted_is_removed_and_late_events_do_not_resurrect_it(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com", first_name="Ann")
    clerk.call("PATCH", f"/users/{user['id']}", {"first_name": "Annie"})
    clerk.call("DELETE", f"/users/{user['id']}")
    created, updated, deleted = clerk.events()
    deliver_all(client, [created, deleted])
    assert not User.objects.exists()
    [late] = deliver_all(client, [updated])
    assert late["status"] == "received"
    assert not User.objects.exists()
    assert "was deleted" in WebhookEvent.objects.get(type="user.updated").note
    # ... and the deletion first, before anything else arrived, is just as final.
    reset_local()
    deliver_all(client, [deleted, updated, created])
    assert not User.objects.exists()


def test_deleting_a_user_in_clerk_removes_the_user_and_memberships(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"])
    clerk.call("DELETE", f"/users/{user['id']}")
    events = clerk.events()
    assert [e["type"] for e in events][-2:] == ["organizationMembership.deleted", "user.deleted"]
    deliver_all(client, events)
    assert not User.objects.exists()
    assert not WorkspaceMembership.objects.exists()
    assert Workspace.objects.filter(clerk_organization_id=org["id"]).exists()


def test_email_taken_over_by_a_new_clerk_user_inherits_no_access(client: Client, clerk: ClerkDriver) -> None:
    invited("ann@example.com", "super_admin")
    old = clerk.create_user("ann@example.com", public_metadata={"role": "super_admin", "internal": True})
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], old["id"], role="org:admin")
    clerk.call("PATCH", f"/users/{old['id']}", {"first_name": "Old"})
    setup = clerk.events()
    old_updated = setup[-1]
    deliver_all(client, setup[:-1])
    assert User.objects.get().role == "super_admin"
    clerk.call("DELETE", f"/users/{old['id']}")
    old_gone = clerk.events()
    clerk.create_user("ann@example.com", first_name="New")
    new_created = clerk.event("user.created")

    # The new user's creation arrives before the old user's deletion: the row follows the email, but nothing of
    # the old user's access does.
    deliver_all(client, [new_created])
    local = User.objects.get()
    assert (local.clerk_user_id, local.first_name) == (new_created["data"]["id"], "New")
    assert (local.role, local.is_internal) == ("member", False)
    assert not WorkspaceMembership.objects.exists()

    # A stale update of the old user (older than the new user's data) does not take the row back.
    [stale] = deliver_all(client, [old_updated])
    assert stale["status"] == "received"
    assert User.objects.get().clerk_user_id == new_created["data"]["id"]
    assert "older" in WebhookEvent.objects.get(svix_id=stale["svix_id"]).note

    # The old user's deletion, late, removes nothing of the new user.
    deliver_all(client, old_gone)
    assert User.objects.get().clerk_user_id == new_created["data"]["id"]


# --------------------------------------------------------------------------- organizations
def test_organization_events_in_any_order(client: Client, clerk: ClerkDriver) -> None:
    org = clerk.create_organization("Acme")
    clerk.call("PATCH", f"/organizations/{org['id']}", {"name": "Acme Inc", "slug": "acme-inc"})
    clerk.call("PATCH", f"/organizations/{org['id']}", {"name": "Acme Incorporated"})
    events = clerk.events()
    assert_order_does_not_matter(client, events, order=[2, 0, 1])
    workspace = Workspace.objects.get()
    assert (workspace.name, workspace.slug) == ("Acme Incorporated", "acme-inc")


def test_organization_deleted_removes_workspace_and_is_final(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme", created_by=user["id"])
    clerk.call("PATCH", f"/organizations/{org['id']}", {"name": "Acme Inc"})
    setup = clerk.events()
    membership_created = next(e for e in setup if e["type"] == "organizationMembership.created")
    org_updated = next(e for e in setup if e["type"] == "organization.updated")
    deliver_all(client, [e for e in setup if e is not org_updated])
    assert WorkspaceMembership.objects.count() == 1
    clerk.call("DELETE", f"/organizations/{org['id']}")
    deliver_all(client, clerk.events())
    assert not Workspace.objects.exists()
    assert not WorkspaceMembership.objects.exists()
    # Late events about the deleted organization bring back neither the workspace nor the membership.
    deliver_all(client, [org_updated, membership_created])
    assert not Workspace.objects.exists()
    assert not WorkspaceMembership.objects.exists()
    assert User.objects.count() == 1


# --------------------------------------------------------------------------- memberships
def test_membership_created_and_role_changed(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme")
    created = clerk.add_member(org["id"], user["id"], role="org:member")
    clerk.call("PATCH", f"/organizations/{org['id']}/memberships/{user['id']}", {"role": "org:admin"})
    deliver_all(client, clerk.events())
    membership = WorkspaceMembership.objects.select_related("user", "workspace").get()
    assert (membership.user.clerk_user_id, membership.workspace.clerk_organization_id) == (user["id"], org["id"])
    assert (membership.role, membership.clerk_membership_id) == ("admin", created["id"])


def test_membership_events_in_any_order(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com", first_name="Ann")
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"], role="org:member")
    clerk.call("PATCH", f"/organizations/{org['id']}/memberships/{user['id']}", {"role": "org:admin"})
    events = clerk.events()
    assert [e["type"] for e in events] == [
        "user.created",
        "organization.created",
        "organizationMembership.created",
        "organizationMembership.updated",
    ]
    # The membership arrives first: the workspace comes from its payload, the user from the gateway.
    assert_order_does_not_matter(client, events, order=[3, 2, 1, 0])
    assert WorkspaceMembership.objects.get().role == "admin"


def test_membership_of_a_user_not_seen_yet_fetches_the_user_through_the_gateway(
    client: Client, clerk: ClerkDriver
) -> None:
    invited("ann@example.com", "pm")
    user = clerk.create_user("ann@example.com", first_name="Ann", public_metadata={"role": "pm"})
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"])
    deliver_all(client, [clerk.event("organizationMembership.created")])
    local = User.objects.get(clerk_user_id=user["id"])
    assert (local.email, local.first_name, local.role) == ("ann@example.com", "Ann", "pm")
    assert WorkspaceMembership.objects.filter(user=local, workspace__clerk_organization_id=org["id"]).exists()


def test_membership_of_a_user_gone_from_clerk_is_acknowledged_and_skipped(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"])
    membership_created = clerk.event("organizationMembership.created")
    clerk.call("DELETE", f"/users/{user['id']}")  # gone before its membership event reached us
    [body] = deliver_all(client, [membership_created])
    assert body["status"] == "received"
    assert not User.objects.exists()
    assert not WorkspaceMembership.objects.exists()
    assert "no longer exists" in WebhookEvent.objects.get().note


def test_membership_deleted_before_created_is_not_resurrected(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"])
    clerk.call("PATCH", f"/organizations/{org['id']}/memberships/{user['id']}", {"role": "org:admin"})
    clerk.call("DELETE", f"/organizations/{org['id']}/memberships/{user['id']}")
    user_created, org_created, created, updated, deleted = clerk.events()
    deliver_all(client, [user_created, org_created, created, updated, deleted])
    in_order = local_state()
    assert in_order["memberships"] == []
    reset_local()
    deliver_all(client, [deleted, updated, user_created, created, org_created])
    assert local_state() == in_order


def test_late_deletion_of_an_old_membership_keeps_the_new_one(client: Client, clerk: ClerkDriver) -> None:
    user = clerk.create_user("ann@example.com")
    org = clerk.create_organization("Acme")
    clerk.add_member(org["id"], user["id"], role="org:member")
    clerk.call("DELETE", f"/organizations/{org['id']}/memberships/{user['id']}")
    again = clerk.add_member(org["id"], user["id"], role="org:admin")  # re-added: a new Clerk membership
    user_created, org_created, first, first_deleted, second = clerk.events()
    assert first["data"]["id"] != second["data"]["id"]
    deliver_all(client, [user_created, org_created, first, first_deleted, second])
    in_order = local_state()
    reset_local()
    deliver_all(client, [user_created, org_created, second, first, first_deleted])
    assert local_state() == in_order
    membership = WorkspaceMembership.objects.get()
    assert (membership.clerk_membership_id, membership.role) == (again["id"], "admin")
