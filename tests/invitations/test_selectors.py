"""invitations.selectors: who sees which workspace, who may invite, list filters by effective status, the accept
page's preview from a ticket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from core.exceptions import NotFound
from invitations import selectors, services
from invitations.errors import InvalidStatusFilter
from invitations.models import InvitationStatus
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import ClerkSession
from tests.invitations.factories import WorkspaceInvitationFactory, ticket_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme() -> Workspace:
    return WorkspaceFactory.create(name="Acme")


@pytest.fixture
def globex() -> Workspace:
    return WorkspaceFactory.create(name="Globex")


# --------------------------------------------------------------------------- scope
def test_members_see_their_workspaces_and_staff_see_all(acme: Workspace, globex: Workspace) -> None:
    member = UserFactory.create()
    MembershipFactory.create(user=member, workspace=acme)
    loner = UserFactory.create()
    assert list(selectors.workspaces_for_user(user=member)) == [acme]
    assert list(selectors.workspaces_for_user(user=loner)) == []
    for role in (Role.SUPER_ADMIN, Role.ADMIN, Role.PM):
        assert list(selectors.workspaces_for_user(user=UserFactory.create(role=role))) == [acme, globex]
    disabled = UserFactory.create(role=Role.SUPER_ADMIN, disabled_at=timezone.now())
    assert list(selectors.workspaces_for_user(user=disabled)) == []


def test_workspace_for_member_is_not_found_outside_reach(acme: Workspace, globex: Workspace) -> None:
    admin_of_acme = UserFactory.create()
    MembershipFactory.create(user=admin_of_acme, workspace=acme, role=WorkspaceRole.ADMIN)
    assert selectors.workspace_for_member(user=admin_of_acme, workspace_id=acme.pk) == acme
    with pytest.raises(NotFound):
        selectors.workspace_for_member(user=admin_of_acme, workspace_id=globex.pk)
    with pytest.raises(NotFound):
        selectors.workspace_for_member(user=admin_of_acme, workspace_id=999_999)
    assert selectors.workspace_for_member(user=UserFactory.create(role=Role.PM), workspace_id=globex.pk) == globex


def test_can_invite_matrix(acme: Workspace, globex: Workspace) -> None:
    member = UserFactory.create()
    MembershipFactory.create(user=member, workspace=acme)
    ws_admin = UserFactory.create()
    MembershipFactory.create(user=ws_admin, workspace=acme, role=WorkspaceRole.ADMIN)
    assert not selectors.can_invite(user=member, workspace=acme)
    assert selectors.can_invite(user=ws_admin, workspace=acme)
    assert not selectors.can_invite(user=ws_admin, workspace=globex)
    for role in (Role.SUPER_ADMIN, Role.ADMIN, Role.PM):
        assert selectors.can_invite(user=UserFactory.create(role=role), workspace=globex)
    assert not selectors.can_invite(user=UserFactory.create(role=Role.PM, disabled_at=timezone.now()), workspace=acme)


def test_workspace_members_newest_first(acme: Workspace, globex: Workspace) -> None:
    ann = MembershipFactory.create(workspace=acme, user=UserFactory.create(email="ann@example.com"))
    cem = MembershipFactory.create(workspace=acme, user=UserFactory.create(email="cem@example.com"))
    bob = MembershipFactory.create(workspace=acme, user=UserFactory.create(email="bob@example.com"))
    MembershipFactory.create(workspace=globex)
    assert list(selectors.workspace_members(workspace=acme)) == [bob, cem, ann]  # not by email: by when they joined


# --------------------------------------------------------------------------- lists
def test_invitation_list_filters_by_effective_status_newest_first(acme: Workspace, globex: Workspace) -> None:
    now = timezone.now()
    pending = WorkspaceInvitationFactory.create(workspace=acme)
    queued = WorkspaceInvitationFactory.create(workspace=acme, status=InvitationStatus.QUEUED, clerk_invitation_id=None)
    overdue = WorkspaceInvitationFactory.create(workspace=acme, expires_at=now - timedelta(minutes=1))
    expired = WorkspaceInvitationFactory.create(workspace=acme, status=InvitationStatus.EXPIRED)
    accepted = WorkspaceInvitationFactory.create(workspace=acme, status=InvitationStatus.ACCEPTED)
    revoked = WorkspaceInvitationFactory.create(workspace=acme, status=InvitationStatus.REVOKED)
    failed = WorkspaceInvitationFactory.create(workspace=acme, status=InvitationStatus.FAILED)
    WorkspaceInvitationFactory.create(workspace=globex)

    def listed(status: str | None) -> list[int]:
        return [row.pk for row in selectors.invitation_list(workspace=acme, status=status)]

    everything = [failed, revoked, accepted, expired, overdue, queued, pending]
    assert listed(None) == [row.pk for row in everything]  # newest first
    assert listed("open") == [queued.pk, pending.pk]
    assert listed("pending") == [pending.pk]  # the overdue one counts as expired
    assert listed("queued") == [queued.pk]
    assert listed("expired") == [expired.pk, overdue.pk]
    assert listed("accepted") == [accepted.pk]
    assert listed("revoked") == [revoked.pk]
    assert listed("failed") == [failed.pk]
    with pytest.raises(InvalidStatusFilter) as caught:
        listed("bogus")
    assert caught.value.code == "invalid_status"


def test_invitation_get_is_scoped_to_the_workspace(acme: Workspace, globex: Workspace) -> None:
    mine = WorkspaceInvitationFactory.create(workspace=acme)
    theirs = WorkspaceInvitationFactory.create(workspace=globex)
    assert selectors.invitation_get(workspace=acme, invitation_id=mine.pk) == mine
    with pytest.raises(NotFound):
        selectors.invitation_get(workspace=acme, invitation_id=theirs.pk)
    with pytest.raises(NotFound):
        selectors.invitation_get(workspace=acme, invitation_id=999_999)


# --------------------------------------------------------------------------- the accept page
def test_preview_from_a_real_ticket(
    clerk_workspace: Callable[..., Workspace],
    clerk_session: Callable[..., ClerkSession],
    clerk_emulator: Emulator,
) -> None:
    workspace = clerk_workspace("Acme Rockets")
    admin = clerk_session(workspace=workspace, workspace_role="admin", first_name="Ada", last_name="Lovelace").user
    assert isinstance(admin, User)
    row = services.invitations_create(workspace=workspace, inviter=admin, emails=["ivy@example.com"], role="admin")[0]
    assert row.invitation is not None
    ticket = ticket_of(clerk_emulator, row.invitation.clerk_invitation_id or "")

    preview = selectors.invitation_preview_for_ticket(ticket=ticket)

    assert preview is not None
    assert (preview.workspace_name, preview.inviter_name, preview.inviter_email) == (
        "Acme Rockets",
        "Ada Lovelace",
        admin.email,
    )
    assert (preview.email, preview.role, preview.status, preview.invitation_id) == (
        "ivy@example.com",
        "admin",
        "pending",
        row.invitation.pk,
    )
    # After a resend the old link's ticket is known as superseded (the accept page says a newer link was sent).
    services.invitation_resend(invitation=row.invitation, actor=admin)
    old = selectors.invitation_preview_for_ticket(ticket=ticket)
    assert old is not None
    assert old.superseded
    # The inviter's snapshot survives their deletion.
    resent = row.invitation
    resent.refresh_from_db()
    new_ticket = ticket_of(clerk_emulator, resent.clerk_invitation_id or "")
    admin_email = admin.email
    admin.delete()
    preview = selectors.invitation_preview_for_ticket(ticket=new_ticket)
    assert preview is not None
    assert (preview.inviter_name, preview.inviter_email) == ("Ada Lovelace", admin_email)


def test_preview_of_garbage_is_none(acme: Workspace) -> None:
    WorkspaceInvitationFactory.create(workspace=acme, clerk_invitation_id="orginv_known")
    assert selectors.invitation_preview_for_ticket(ticket="") is None
    assert selectors.invitation_preview_for_ticket(ticket="not-a-jwt") is None
    assert selectors.invitation_preview_for_ticket(ticket="x" * 5000) is None
    no_sid = jwt.encode({"iid": "ins_1"}, "k" * 32, algorithm="HS256")
    assert selectors.invitation_preview_for_ticket(ticket=no_sid) is None
    # Unverified claims are for display only; an unknown id previews nothing.
    forged = jwt.encode({"sid": "orginv_unknown"}, "k" * 32, algorithm="HS256")
    assert selectors.invitation_preview_for_ticket(ticket=forged) is None
