"""Every kind of identity Clerk can hold (issue 13, item 1), end to end on the emulator: the user or organization is
made through Clerk's Backend API, its webhook arrives (svix-signed) and is applied without a 5xx, the user signs
in where Clerk would let them, and ``clerk_sync`` then finds zero drift.

Kinds: phone-only users (two: the second used to break the unique email), names longer than our columns, NUL,
CR/LF and bidi overrides in names, an address longer than we accept, a slug longer than our column, timestamps out
of range, addresses that only match a stored one after folding (ß/ss, NFD/NFC; they must not touch the stored
account), and changes colliding with a stale local row (a user or organization whose deletion we missed).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts import clerk
from accounts.authentication import authenticate_request
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core.models import AuditEvent, WebhookEvent
from core.reconcile import clerk_sync
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.conftest import ClerkSession

pytestmark = pytest.mark.django_db(transaction=True)

BIDI_OVERRIDE = "\u202e"


@pytest.fixture(autouse=True)
def signing_secret(settings: Any) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET


@pytest.fixture
def driver(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
    driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
    yield driver
    driver.close()


def deliver_all(client: Client, driver: ClerkDriver) -> None:
    """Deliver every event the emulator emitted since the last call: each one stored, acknowledged and applied."""
    for envelope in driver.events():
        response = deliver(client, envelope)
        assert response.status_code == 200, response.content[:300]
        assert response.json()["status"] == "received", response.content[:300]
        event = WebhookEvent.objects.get(svix_id=response.json()["svix_id"])
        assert event.status == WebhookEvent.Status.APPLIED, (event.status, event.last_error)


def sign_in(clerk_user_id: str) -> User:
    """A session token for this Clerk user, verified as every request's is: the mirrored user, never a refusal."""
    session = clerk.create_session(clerk_user_id)
    token = clerk.create_session_token(session.id, expires_in_seconds=600)
    result = authenticate_request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert result is not None
    assert result[0].clerk_user_id == clerk_user_id
    return result[0]


def assert_no_drift() -> None:
    report = clerk_sync()
    assert report.errors == []
    if report.drifts:  # a first run may repair what webhooks cannot know (nothing here); a second must be clean
        report = clerk_sync()
    assert [(d.area, d.kind, d.description) for d in report.drifts] == []


def audited(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# --------------------------------------------------------------------------- users without an email
def test_phone_only_users_are_mirrored_with_no_email_and_sign_in(client: Client, driver: ClerkDriver) -> None:
    created = [
        driver.call("POST", "/users", {"phone_number": [phone], "first_name": "Pho"})
        for phone in ("+15555550101", "+15555550102")
    ]
    deliver_all(client, driver)
    for data in created:
        user = User.objects.get(clerk_user_id=data["id"])
        assert user.email is None
        assert user.role == Role.MEMBER
        assert str(user) == data["id"]
        assert user.full_name == "Pho"
        sign_in(data["id"])
    assert_no_drift()


# --------------------------------------------------------------------------- names, addresses and slugs that do not fit
def test_overlong_and_hostile_names_are_cleaned_and_truncated(client: Client, driver: ClerkDriver) -> None:
    data = driver.create_user(
        "long.names@example.com",
        first_name="A" * 400,
        last_name=f"Lee\x00\r\nBcc: x@example.com {BIDI_OVERRIDE}gnp.exe",
    )
    deliver_all(client, driver)
    user = User.objects.get(clerk_user_id=data["id"])
    assert user.first_name == "A" * 150
    assert user.last_name == "Lee Bcc: x@example.com gnp.exe"
    assert audited("user.clerk_data_cleaned")[0].details["fields"] == ["first_name", "last_name"]
    sign_in(data["id"])
    assert_no_drift()


def test_an_address_we_cannot_use_is_stored_as_no_email(client: Client, driver: ClerkDriver) -> None:
    data = driver.create_user(("x" * 70) + "@example.com")  # Clerk accepts it; our local part limit is 64
    deliver_all(client, driver)
    user = User.objects.get(clerk_user_id=data["id"])
    assert user.email is None
    assert "email" in audited("user.clerk_data_cleaned")[0].details["fields"]
    sign_in(data["id"])
    assert_no_drift()


def test_an_overlong_slug_and_a_hostile_organization_name_are_mirrored(client: Client, driver: ClerkDriver) -> None:
    org = driver.create_organization(f"Acme{BIDI_OVERRIDE}\x07 Corp", slug="a" * 300)
    owner = driver.create_user("owner@example.com")
    driver.add_member(org["id"], owner["id"], "org:admin")
    deliver_all(client, driver)
    workspace = Workspace.objects.get(clerk_organization_id=org["id"])
    assert workspace.name == "Acme Corp"
    assert workspace.slug == org["id"].lower()
    assert WorkspaceMembership.objects.get(workspace=workspace).role == WorkspaceRole.ADMIN
    api = APIClient()
    api.force_authenticate(sign_in(owner["id"]))
    assert api.get(f"/api/workspaces/{workspace.pk}/members/").status_code == 200
    assert_no_drift()


# --------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize("updated_at", [10**20, -5, 2**63])
def test_a_timestamp_out_of_range_never_overwrites_and_never_fails(
    client: Client, driver: ClerkDriver, updated_at: int
) -> None:
    data = driver.create_user("time@example.com", first_name="Tim")
    [created] = [e for e in driver.events() if e["type"] == "user.created"]
    assert deliver(client, created).status_code == 200
    forged = copy.deepcopy(created)
    forged["type"] = "user.updated"
    forged["data"].update(first_name="Forged", updated_at=updated_at)
    response = deliver(client, forged)
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert WebhookEvent.objects.get(type="user.updated").status == WebhookEvent.Status.APPLIED
    user = User.objects.get(clerk_user_id=data["id"])
    assert user.first_name == "Tim"  # read as "no time": older than what is stored
    assert audited("user.clerk_data_cleaned")[-1].details["fields"] == ["updated_at"]
    assert_no_drift()


def test_a_first_seen_user_with_a_timestamp_out_of_range_is_still_mirrored(client: Client, driver: ClerkDriver) -> None:
    data = driver.create_user("new.time@example.com", first_name="Nat")
    [created] = [e for e in driver.events() if e["type"] == "user.created"]
    created["data"]["updated_at"] = 10**30
    created["data"]["created_at"] = -(10**30)
    assert deliver(client, created).status_code == 200
    user = User.objects.get(clerk_user_id=data["id"])
    assert (user.first_name, user.clerk_updated_at) == ("Nat", 0)
    sign_in(data["id"])
    assert_no_drift()


# --------------------------------------------------------------------------- addresses that only match after folding
@pytest.mark.parametrize(
    ("stored", "twin"),
    [
        ("strasse@example.com", "straße@example.com"),  # casefold: ß → ss
        ("josé@example.com", "jose\u0301@example.com"),  # NFD against NFC
    ],
)
def test_an_address_that_only_folds_onto_a_super_admins_never_touches_her(
    client: Client,
    driver: ClerkDriver,
    clerk_session: Callable[..., ClerkSession],
    clerk_workspace: Callable[..., Workspace],
    stored: str,
    twin: str,
) -> None:
    workspace = clerk_workspace()
    admin = clerk_session(Role.SUPER_ADMIN, email=stored, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    assert admin.user is not None
    driver.events()  # hers were applied directly
    data = driver.create_user(twin)
    assert data["id"] != admin.clerk_user.id  # Clerk holds both
    deliver_all(client, driver)

    her = User.objects.get(pk=admin.user.pk)
    assert (her.clerk_user_id, her.email, her.role) == (admin.clerk_user.id, stored, Role.SUPER_ADMIN)
    assert WorkspaceMembership.objects.filter(user=her, role=WorkspaceRole.ADMIN).exists()
    twin_row = User.objects.get(clerk_user_id=data["id"])
    assert (twin_row.email, twin_row.role) == (None, Role.MEMBER)
    [collision] = audited("user.email_collision")
    assert collision.details["held_by_user_id"] == her.pk

    sign_in(data["id"])  # the twin is a member without an email
    assert_no_drift()
    assert clerk.get_user(admin.clerk_user.id).public_metadata == {"role": "super_admin", "internal": True}
    assert User.objects.get(pk=her.pk).role == Role.SUPER_ADMIN


# --------------------------------------------------------------------------- stale local rows
def test_a_new_user_with_the_address_of_one_whose_deletion_we_missed_supersedes_the_row(
    client: Client, driver: ClerkDriver, clerk_session: Callable[..., ClerkSession]
) -> None:
    old = clerk_session(Role.PM, email="reused@example.com")
    driver.call("DELETE", f"/users/{old.clerk_user.id}")
    driver.events()  # the user.deleted webhook is lost
    data = driver.create_user("reused@example.com")
    deliver_all(client, driver)
    row = User.objects.get(email="reused@example.com")
    assert row.clerk_user_id == data["id"]
    assert row.role == Role.MEMBER  # nothing of the old user's access carries over
    sign_in(data["id"])
    assert_no_drift()


def test_an_organization_with_the_slug_of_one_whose_deletion_we_missed_supersedes_it(
    client: Client, driver: ClerkDriver, clerk_workspace: Callable[..., Workspace]
) -> None:
    stale = clerk_workspace("Old", slug="shared-slug")
    driver.call("DELETE", f"/organizations/{stale.clerk_organization_id}")
    driver.events()  # the organization.deleted webhook is lost
    org = driver.create_organization("New", slug="shared-slug")
    deliver_all(client, driver)
    workspace = Workspace.objects.get(slug="shared-slug")
    assert workspace.clerk_organization_id == org["id"]
    assert not Workspace.objects.filter(pk=stale.pk).exists()
    assert audited("workspace.superseded")
    assert_no_drift()


def test_an_organization_taking_the_slug_a_renamed_one_gave_up_renames_that_one_first(
    client: Client, driver: ClerkDriver, clerk_workspace: Callable[..., Workspace]
) -> None:
    renamed = clerk_workspace("Old", slug="first-slug")
    driver.call("PATCH", f"/organizations/{renamed.clerk_organization_id}", {"slug": "second-slug"})
    driver.events()  # the organization.updated webhook is lost
    org = driver.create_organization("New", slug="first-slug")
    deliver_all(client, driver)
    assert Workspace.objects.get(pk=renamed.pk).slug == "second-slug"
    assert Workspace.objects.get(clerk_organization_id=org["id"]).slug == "first-slug"
    assert_no_drift()
