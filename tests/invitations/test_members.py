"""The member rules (``invitations.members``) against the Clerk emulator: role changes, removal, leaving, the last
admin (also under concurrency, on PostgreSQL), who may act, the audit trail, and the membership webhooks Clerk
sends for the same changes arriving late, early or twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from core.exceptions import PermissionDenied, UpstreamUnavailable
from core.models import AuditEvent
from invitations import members
from invitations.members import InvalidWorkspaceRole, LastAdmin, MemberNotFound
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.conftest import ClerkSession
from tests.races import meanwhile

pytestmark = pytest.mark.django_db

MakeUser = Callable[..., User]


@pytest.fixture
def person(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> MakeUser:
    def make(workspace_role: str | None = WorkspaceRole.MEMBER, role: str = Role.MEMBER, **fields: Any) -> User:
        kwargs: dict[str, Any] = {"workspace": workspace, "workspace_role": workspace_role} if workspace_role else {}
        user = clerk_session(role, **kwargs, **fields).user
        assert user is not None
        return user

    return make


def remote_role(em: Emulator, workspace: Workspace, user: User) -> str | None:
    found = [
        m.role
        for m in em.memberships.values()
        if m.organization_id == workspace.clerk_organization_id and m.user_id == user.clerk_user_id
    ]
    return found[0] if found else None


def local_role(workspace: Workspace, user: User) -> str | None:
    row = WorkspaceMembership.objects.filter(workspace=workspace, user=user).first()
    return row.role if row else None


def audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def membership_path(workspace: Workspace, user: User) -> str:
    return f"/v1/organizations/{workspace.clerk_organization_id}/memberships/{user.clerk_user_id}"


# =========================================================================== role changes
def test_an_admin_makes_a_member_admin_in_clerk_and_here(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person(email="bob@example.com")
    membership = members.member_role_change(
        workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="admin"
    )

    assert membership.role == WorkspaceRole.ADMIN
    assert (remote_role(clerk_gateway, workspace, bob), local_role(workspace, bob)) == ("org:admin", "admin")
    [event] = audits("workspace_member.role_changed")
    assert (event.actor_id, event.outcome, event.target_type) == (org_admin.pk, "success", "workspace_membership")
    assert (event.details["previous_role"], event.details["role"]) == ("member", "admin")


def test_the_same_role_again_changes_nothing_and_calls_no_clerk(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person()
    before = len(clerk_gateway.request_log)
    members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="member")
    assert clerk_gateway.request_log[before:] == []
    assert audits("workspace_member.role_changed") == []


def test_the_only_admin_cannot_be_demoted_by_anyone(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    root = person(None, role=Role.SUPER_ADMIN)
    before = len(clerk_gateway.request_log)
    for actor in (org_admin, root):
        with pytest.raises(LastAdmin) as caught:
            members.member_role_change(
                workspace=workspace, actor=actor, clerk_user_id=org_admin.clerk_user_id, role="member"
            )
        assert (caught.value.code, caught.value.http_status) == ("last_admin", 409)
    assert clerk_gateway.request_log[before:] == []
    assert local_role(workspace, org_admin) == "admin"
    assert [e.outcome for e in audits("workspace_member.role_changed")] == ["denied", "denied"]


def test_with_two_admins_one_may_step_down(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    other = person(WorkspaceRole.ADMIN)
    members.member_role_change(
        workspace=workspace, actor=org_admin, clerk_user_id=org_admin.clerk_user_id, role="member"
    )
    assert (local_role(workspace, org_admin), remote_role(clerk_gateway, workspace, org_admin)) == (
        "member",
        "org:member",
    )
    with pytest.raises(LastAdmin):
        members.member_role_change(workspace=workspace, actor=other, clerk_user_id=other.clerk_user_id, role="member")


@pytest.mark.parametrize("staff_role", [Role.SUPER_ADMIN, Role.ADMIN, Role.PM])
def test_staff_who_invite_everywhere_may_change_roles(
    workspace: Workspace, org_admin: User, person: MakeUser, staff_role: str
) -> None:
    staff, bob = person(None, role=staff_role), person()
    members.member_role_change(workspace=workspace, actor=staff, clerk_user_id=bob.clerk_user_id, role="admin")
    assert local_role(workspace, bob) == "admin"


def test_a_member_may_not_change_roles_not_even_their_own(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob, carol = person(), person()
    before = len(clerk_gateway.request_log)
    for target in (carol, bob):
        with pytest.raises(PermissionDenied):
            members.member_role_change(workspace=workspace, actor=bob, clerk_user_id=target.clerk_user_id, role="admin")
    assert clerk_gateway.request_log[before:] == []
    assert local_role(workspace, bob) == local_role(workspace, carol) == "member"
    assert [e.outcome for e in audits("workspace_member.role_changed")] == ["denied", "denied"]


def test_an_admin_of_another_workspace_may_not(
    clerk_workspace: Callable[..., Workspace],
    clerk_session: Callable[..., ClerkSession],
    workspace: Workspace,
    org_admin: User,
    person: MakeUser,
) -> None:
    other = clerk_workspace("Globex")
    stranger = clerk_session(workspace=other, workspace_role=WorkspaceRole.ADMIN).user
    assert stranger is not None
    with pytest.raises(PermissionDenied):
        members.member_remove(workspace=workspace, actor=stranger, clerk_user_id=person().clerk_user_id)


def test_unknown_role_and_unknown_member_are_refused(workspace: Workspace, org_admin: User) -> None:
    with pytest.raises(InvalidWorkspaceRole):
        members.member_role_change(
            workspace=workspace, actor=org_admin, clerk_user_id=org_admin.clerk_user_id, role="owner"
        )
    with pytest.raises(MemberNotFound):
        members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id="user_nobody", role="admin")
    with pytest.raises(MemberNotFound):
        members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id="user_nobody")


def test_a_membership_clerk_no_longer_has_is_dropped_here(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person()
    clerk_gateway.faults.append(Fault("PATCH", membership_path(workspace, bob), 1, status=404))
    with pytest.raises(MemberNotFound):
        members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="admin")
    assert local_role(workspace, bob) is None


def test_clerk_down_changes_nothing_here(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person()
    clerk_gateway.faults.append(Fault("PATCH", membership_path(workspace, bob), 1, status=503))
    with pytest.raises(UpstreamUnavailable) as caught:
        members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="admin")
    assert caught.value.code == "clerk_unavailable"
    assert local_role(workspace, bob) == "member"
    assert [e.outcome for e in audits("workspace_member.role_changed")] == []


# =========================================================================== removal and leaving
def test_an_admin_removes_a_member_in_clerk_and_here(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person(email="bob@example.com")
    members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id)
    assert (remote_role(clerk_gateway, workspace, bob), local_role(workspace, bob)) == (None, None)
    [event] = audits("workspace_member.removed")
    assert (event.actor_id, event.outcome, event.details["email"]) == (org_admin.pk, "success", "bob@example.com")
    assert User.objects.filter(pk=bob.pk).exists()  # the person stays; only the membership goes


def test_a_member_may_leave_but_not_remove_others(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob, carol = person(), person()
    with pytest.raises(PermissionDenied):
        members.member_remove(workspace=workspace, actor=bob, clerk_user_id=carol.clerk_user_id)
    members.member_remove(workspace=workspace, actor=bob, clerk_user_id=bob.clerk_user_id)
    assert (local_role(workspace, bob), local_role(workspace, carol)) == (None, "member")
    assert remote_role(clerk_gateway, workspace, bob) is None
    assert [e.outcome for e in audits("workspace_member.left")] == ["success"]
    assert [e.outcome for e in audits("workspace_member.removed")] == ["denied"]


def test_the_only_admin_can_neither_leave_nor_be_removed(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    root = person(None, role=Role.SUPER_ADMIN)
    with pytest.raises(LastAdmin, match="before you leave"):
        members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=org_admin.clerk_user_id)
    with pytest.raises(LastAdmin):
        members.member_remove(workspace=workspace, actor=root, clerk_user_id=org_admin.clerk_user_id)
    assert remote_role(clerk_gateway, workspace, org_admin) == "org:admin"
    assert local_role(workspace, org_admin) == "admin"


def test_removing_someone_clerk_already_removed_mirrors_it(
    driver: ClerkDriver, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    bob = person()
    driver.call("DELETE", f"/organizations/{workspace.clerk_organization_id}/memberships/{bob.clerk_user_id}")
    members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id)
    assert local_role(workspace, bob) is None


# =========================================================================== the webhooks for the same changes
@pytest.fixture
def signed_webhooks(settings: Any) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET


@pytest.mark.usefixtures("signed_webhooks")
def test_webhooks_of_a_role_change_in_any_order_leave_the_latest_role(
    client: Client, workspace: Workspace, org_admin: User, person: MakeUser, driver: ClerkDriver
) -> None:
    bob = person()
    driver.events()
    members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="admin")
    members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="member")
    first, second = [e for e in driver.events() if e["type"] == "organizationMembership.updated"]
    for event in (second, first, second, first):  # late, out of order, twice
        assert deliver(client, event).status_code == 200
    assert local_role(workspace, bob) == "member"


@pytest.mark.usefixtures("signed_webhooks")
def test_webhooks_of_a_removal_do_not_bring_the_member_back(
    client: Client, workspace: Workspace, org_admin: User, person: MakeUser, driver: ClerkDriver
) -> None:
    bob = person()
    driver.events()
    members.member_role_change(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id, role="admin")
    members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=bob.clerk_user_id)
    events = driver.events()
    updated = next(e for e in events if e["type"] == "organizationMembership.updated")
    deleted = next(e for e in events if e["type"] == "organizationMembership.deleted")
    for event in (deleted, updated, deleted):
        assert deliver(client, event).status_code == 200
    assert local_role(workspace, bob) is None


# =========================================================================== concurrency (PostgreSQL row locks)
@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    other = person(WorkspaceRole.ADMIN)
    outcomes: list[str] = []

    def other_steps_down_meanwhile() -> None:
        try:
            members.member_role_change(
                workspace=workspace, actor=other, clerk_user_id=other.clerk_user_id, role="member"
            )
            outcomes.append("demoted")
        except LastAdmin:
            outcomes.append("last_admin")

    # Clerk holds the first demotion while the other admin tries to step down on another connection: that one
    # waits for the lock on the workspace's admins, then sees a single admin and is refused.
    hold = Fault("PATCH", membership_path(workspace, org_admin), 1, delay_s=0.5)
    with meanwhile(clerk_gateway, hold, other_steps_down_meanwhile):
        members.member_role_change(
            workspace=workspace, actor=other, clerk_user_id=org_admin.clerk_user_id, role="member"
        )

    assert outcomes == ["last_admin"]
    assert (local_role(workspace, org_admin), local_role(workspace, other)) == ("member", "admin")
    assert (remote_role(clerk_gateway, workspace, org_admin), remote_role(clerk_gateway, workspace, other)) == (
        "org:member",
        "org:admin",
    )


@pytest.mark.django_db(transaction=True)
def test_an_admin_removed_while_the_other_leaves_keeps_one_admin(
    clerk_gateway: Emulator, workspace: Workspace, org_admin: User, person: MakeUser
) -> None:
    other = person(WorkspaceRole.ADMIN)
    outcomes: list[str] = []

    def org_admin_leaves_meanwhile() -> None:
        try:
            members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=org_admin.clerk_user_id)
            outcomes.append("left")
        except LastAdmin:
            outcomes.append("last_admin")

    hold = Fault("DELETE", membership_path(workspace, other), 1, delay_s=0.5)
    with meanwhile(clerk_gateway, hold, org_admin_leaves_meanwhile):
        members.member_remove(workspace=workspace, actor=org_admin, clerk_user_id=other.clerk_user_id)

    assert outcomes == ["last_admin"]
    assert (local_role(workspace, org_admin), local_role(workspace, other)) == ("admin", None)
