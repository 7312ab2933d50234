"""Operator commands (create_workspace, create_staff_user) and the demo seeding, against the in-thread emulator."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts import clerk
from accounts.management.commands.rundemo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_WORKSPACE_SLUG, seed_demo
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role
from clerk_emulator.state import Emulator
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def clerk_user(email: str) -> Any:
    users = clerk.list_users(email_addresses=[email])
    assert len(users) == 1
    return users[0]


# --------------------------------------------------------------------------- create_staff_user
class TestCreateStaffUser:
    def test_creates_the_clerk_user_with_staff_metadata_and_the_local_user(self) -> None:
        output = run(
            "create_staff_user", "--email", "Root@Example.com", "--password", "long-password-1", "--first-name", "Ro"
        )
        assert "Created super_admin root@example.com" in output
        remote = clerk_user("root@example.com")
        assert remote.public_metadata == {"role": "super_admin", "internal": True}
        assert remote.first_name == "Ro"
        user = User.objects.get(email="root@example.com")
        assert user.clerk_user_id == remote.id
        assert user.role == Role.SUPER_ADMIN
        assert user.is_internal
        assert user.is_staff
        event = AuditEvent.objects.get(action="staff_user.created")
        assert event.actor_id is None
        assert event.target_id == str(user.pk)

    def test_an_existing_clerk_user_gets_the_metadata_instead(self) -> None:
        existing = clerk.create_user(email="pm@example.com", password="their-own-password")
        output = run("create_staff_user", "--email", "pm@example.com", "--password", "ignored-pass", "--role", "pm")
        assert "already had a Clerk user" in output
        assert "password was not changed" in output
        remote = clerk_user("pm@example.com")
        assert remote.id == existing.id
        assert remote.public_metadata == {"role": "pm", "internal": True}
        user = User.objects.get(email="pm@example.com")
        assert (user.role, user.is_internal, user.clerk_user_id) == (Role.PM, True, existing.id)
        assert AuditEvent.objects.filter(action="staff_user.role_granted", target_id=str(user.pk)).exists()

    def test_running_it_twice_is_harmless(self) -> None:
        run("create_staff_user", "--email", "root@example.com", "--password", "long-password-1")
        run("create_staff_user", "--email", "root@example.com", "--password", "long-password-1")
        assert User.objects.filter(email="root@example.com", role=Role.SUPER_ADMIN).count() == 1
        assert len(clerk.list_users(email_addresses=["root@example.com"])) == 1

    def test_the_last_super_admin_is_not_demoted(self) -> None:
        run("create_staff_user", "--email", "root@example.com", "--password", "long-password-1")
        with pytest.raises(CommandError, match="last active super admin"):
            run("create_staff_user", "--email", "root@example.com", "--password", "x" * 10, "--role", "admin")
        assert User.objects.get(email="root@example.com").role == Role.SUPER_ADMIN

    def test_clerk_refusing_the_password_is_a_clear_error(self) -> None:
        with pytest.raises(CommandError, match="8 characters"):
            run("create_staff_user", "--email", "root@example.com", "--password", "short")
        assert not User.objects.exists()

    def test_an_invalid_email_is_refused_before_calling_clerk(self, clerk_emulator: Emulator) -> None:
        with pytest.raises(CommandError, match="not a valid email"):
            run("create_staff_user", "--email", "not-an-email", "--password", "long-password-1")
        assert not clerk_emulator.users

    def test_only_staff_roles(self) -> None:
        with pytest.raises(CommandError, match="invalid choice"):
            run("create_staff_user", "--email", "a@example.com", "--password", "long-password-1", "--role", "member")

    def test_clerk_down_is_a_clear_error(self, clerk_emulator: Emulator) -> None:
        clerk_emulator.faults.append(_fault("*", "/v1/users*", status=503, remaining=10))
        with pytest.raises(CommandError, match="clerk_unavailable"):
            run("create_staff_user", "--email", "root@example.com", "--password", "long-password-1")


def _fault(method: str, path: str, *, status: int, remaining: int) -> Any:
    from clerk_emulator.state import Fault

    return Fault(method=method, path=path, remaining=remaining, status=status)


# --------------------------------------------------------------------------- create_workspace
class TestCreateWorkspace:
    def test_creates_the_organization_and_the_workspace(self, clerk_emulator: Emulator) -> None:
        output = run("create_workspace", "--name", "Acme Inc", "--slug", "acme")
        assert "Created workspace 'Acme Inc' (slug acme" in output
        workspace = Workspace.objects.get(slug="acme")
        organization = clerk.get_organization("acme")
        assert workspace.clerk_organization_id == organization.id
        assert workspace.name == organization.name == "Acme Inc"
        assert not workspace.memberships.exists()
        event = AuditEvent.objects.get(action="workspace.created")
        assert event.target_id == str(workspace.pk)
        assert event.details["slug"] == "acme"

    def test_the_slug_defaults_from_the_name(self) -> None:
        run("create_workspace", "--name", "Blue Ocean Labs")
        assert Workspace.objects.get().slug == "blue-ocean-labs"

    def test_the_owner_becomes_the_workspace_admin(self) -> None:
        owner = clerk.create_user(email="owner@example.com", password="long-password-1", first_name="Olu")
        output = run("create_workspace", "--name", "Acme", "--owner-email", "Owner@Example.com")
        assert "owner@example.com is its admin" in output
        workspace = Workspace.objects.get()
        membership = WorkspaceMembership.objects.get(workspace=workspace)
        assert membership.user.clerk_user_id == owner.id
        assert membership.role == "admin"
        remote = clerk.list_organization_memberships(workspace.clerk_organization_id)
        assert [(m.user_id, m.role) for m in remote] == [(owner.id, "org:admin")]

    def test_an_unknown_owner_is_refused_before_anything_is_created(self, clerk_emulator: Emulator) -> None:
        with pytest.raises(CommandError, match=r"No Clerk user has the email address nobody@example.com"):
            run("create_workspace", "--name", "Acme", "--owner-email", "nobody@example.com")
        assert not Workspace.objects.exists()
        assert not clerk_emulator.organizations

    def test_a_taken_slug_is_refused(self) -> None:
        run("create_workspace", "--name", "Acme", "--slug", "acme")
        with pytest.raises(CommandError, match="already exists"):
            run("create_workspace", "--name", "Acme 2", "--slug", "acme")
        assert Workspace.objects.count() == 1

    @pytest.mark.parametrize("slug", ["Not Valid", "acme--x", "-acme", "acme_x"])
    def test_an_invalid_slug_is_refused(self, slug: str) -> None:
        with pytest.raises(CommandError, match="not a valid slug"):
            run("create_workspace", "--name", "Acme", f"--slug={slug}")

    def test_a_blank_name_is_refused(self) -> None:
        with pytest.raises(CommandError, match="needs a name"):
            run("create_workspace", "--name", "   ")

    def test_clerk_refusing_the_name_is_a_clear_error(self) -> None:
        with pytest.raises(CommandError, match="clerk_rejected"):
            run("create_workspace", "--name", "<b>Acme</b>")
        assert not Workspace.objects.exists()


# --------------------------------------------------------------------------- demo seeding (rundemo)
class TestDemoSeed:
    def test_a_new_database_gets_the_demo_accounts_and_workspace(self) -> None:
        assert seed_demo() is True
        workspace = Workspace.objects.get(slug=DEMO_WORKSPACE_SLUG)
        roles = {m.user.email: m.role for m in workspace.memberships.select_related("user")}
        assert roles == {"admin@example.com": "admin", "member@example.com": "member"}
        super_admin = User.objects.get(email="super@example.com")
        assert super_admin.is_staff
        assert {u.email for u in User.objects.all()} == {a.email for a in DEMO_ACCOUNTS}
        assert len(DEMO_PASSWORD) >= 8

    def test_a_restarted_emulator_is_repopulated_and_local_rows_follow(self, clerk_emulator: Emulator) -> None:
        seed_demo()
        before = {u.email: (u.pk, u.clerk_user_id) for u in User.objects.all()}
        workspace = Workspace.objects.get()
        old_org = workspace.clerk_organization_id

        clerk_emulator.reset()  # what a restart of the in-memory emulator amounts to
        assert seed_demo() is False

        after = {u.email or "": (u.pk, u.clerk_user_id) for u in User.objects.all()}
        assert set(after) == set(before)
        for email, (pk, clerk_id) in after.items():
            assert pk == before[email][0]  # same local rows…
            assert clerk_id != before[email][1]  # …linked to the new Clerk users
            assert clerk_user(email).id == clerk_id
        workspace.refresh_from_db()
        assert workspace.clerk_organization_id != old_org
        assert clerk.get_organization(DEMO_WORKSPACE_SLUG).id == workspace.clerk_organization_id
        assert workspace.memberships.count() == 2
        assert User.objects.get(email="super@example.com").role == Role.SUPER_ADMIN

    def test_seeding_twice_against_the_same_emulator_changes_nothing(self, clerk_emulator: Emulator) -> None:
        seed_demo()
        users, orgs, memberships = (
            len(clerk_emulator.users),
            len(clerk_emulator.organizations),
            WorkspaceMembership.objects.count(),
        )
        seed_demo()
        assert (len(clerk_emulator.users), len(clerk_emulator.organizations)) == (users, orgs)
        assert WorkspaceMembership.objects.count() == memberships == 2
