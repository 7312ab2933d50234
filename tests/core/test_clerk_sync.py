"""clerk_sync: drift between Clerk (the emulator, changed behind our back with webhooks lost) and our database is
found, reported, repaired once with an audit event, and a second run finds nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core import reconcile
from core.models import AuditEvent
from core.reconcile import clerk_sync
from internal_users import services as staff
from internal_users.models import InternalInvitation, InternalInvitationStatus
from invitations import services as invitations
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.clerk_emulator.fapi_support import Browser
from tests.conftest import ClerkSession

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(report: Any) -> set[tuple[str, str]]:
    return {(drift.area, drift.kind) for drift in report.drifts}


def test_no_drift_on_a_consistent_mirror(clerk_session: Callable[..., ClerkSession]) -> None:
    clerk_session(Role.SUPER_ADMIN)
    clerk_session(Role.MEMBER)
    report = clerk_sync()
    assert report.ran
    assert report.drifts == []
    assert report.errors == []
    assert report.counts["users"] == 2


def test_users_made_changed_banned_and_deleted_in_clerk_are_repaired_once(
    clerk_user_factory: Callable[..., ClerkUser], clerk_session: Callable[..., ClerkSession]
) -> None:
    unseen = clerk_user_factory(email="unseen@example.com")
    banned = clerk_session(Role.PM)
    renamed = clerk_session(Role.MEMBER)
    gone = clerk_session(Role.MEMBER)
    clerk.ban_user(banned.clerk_user.id)
    clerk._call("users.update", clerk.client().users.update, user_id=renamed.clerk_user.id, first_name="Renamed")
    clerk.delete_user(gone.clerk_user.id)

    report = clerk_sync()

    assert kinds(report) == {("users", "missing_locally"), ("users", "out_of_date"), ("users", "deleted_in_clerk")}
    assert all(drift.repaired for drift in report.drifts)
    assert User.objects.filter(clerk_user_id=unseen.id).exists()
    assert User.objects.get(clerk_user_id=banned.clerk_user.id).disabled_at is not None
    assert User.objects.get(clerk_user_id=renamed.clerk_user.id).first_name == "Renamed"
    assert not User.objects.filter(clerk_user_id=gone.clerk_user.id).exists()
    assert AuditEvent.objects.filter(action="clerk_sync.repaired").count() == len(report.drifts)
    assert clerk_sync().drifts == []


def test_a_staff_role_in_metadata_without_an_invitation_is_pushed_back_from_ours(
    clerk_session: Callable[..., ClerkSession],
) -> None:
    member = clerk_session(Role.MEMBER)
    clerk.update_user_metadata(member.clerk_user.id, public_metadata={"role": "super_admin", "internal": True})

    report = clerk_sync()

    assert ("users", "role_metadata_differs") in kinds(report)
    assert User.objects.get(clerk_user_id=member.clerk_user.id).role == Role.MEMBER
    assert "role" not in clerk.get_user(member.clerk_user.id).public_metadata
    assert clerk_sync().drifts == []


def test_dry_run_reports_and_changes_nothing(clerk_user_factory: Callable[..., ClerkUser]) -> None:
    unseen = clerk_user_factory(email="unseen@example.com")
    out = StringIO()
    call_command("clerk_sync", "--dry-run", stdout=out)
    assert "missing_locally" in out.getvalue()
    assert "[reported]" in out.getvalue()
    assert not User.objects.filter(clerk_user_id=unseen.id).exists()
    assert not AuditEvent.objects.filter(action="clerk_sync.repaired").exists()


def test_memberships_and_workspaces(
    clerk_session: Callable[..., ClerkSession], clerk_workspace: Callable[..., Workspace]
) -> None:
    workspace = clerk_workspace("Acme")
    stays = clerk_session(Role.MEMBER, workspace=workspace)
    leaves = clerk_session(Role.MEMBER, workspace=workspace)
    joins = clerk_session(Role.MEMBER)
    clerk.delete_organization_membership(workspace.clerk_organization_id, user_id=leaves.clerk_user.id)
    clerk.create_organization_membership(workspace.clerk_organization_id, user_id=joins.clerk_user.id, role="org:admin")
    other = clerk.create_organization(name="Made in Clerk")

    report = clerk_sync()

    assert {("memberships", "deleted_in_clerk"), ("memberships", "missing_locally")} <= kinds(report)
    assert ("workspaces", "missing_locally") in kinds(report)
    members = set(WorkspaceMembership.objects.filter(workspace=workspace).values_list("user__clerk_user_id", "role"))
    assert members == {(stays.clerk_user.id, "member"), (joins.clerk_user.id, "admin")}
    assert Workspace.objects.filter(clerk_organization_id=other.id).exists()
    assert clerk_sync().drifts == []


def test_workspace_invitations_changed_in_clerk(
    signed_in: Callable[..., Any], clerk_workspace: Callable[..., Workspace], clerk_emulator: Emulator
) -> None:
    workspace = clerk_workspace("Acme")
    admin = signed_in(Role.ADMIN).user
    results = invitations.invitations_create(
        workspace=workspace, inviter=admin, emails=["rev@example.com", "exp@example.com"], role="member"
    )
    by_email = {result.email: result.invitation for result in results if result.invitation is not None}
    clerk.revoke_organization_invitation(
        workspace.clerk_organization_id, by_email["rev@example.com"].clerk_invitation_id or ""
    )
    foreign = clerk.create_organization_invitation(
        workspace.clerk_organization_id, email="dashboard@example.com", role="org:member"
    )

    report = clerk_sync(only=["workspace_invitations"])

    assert kinds(report) == {
        ("workspace_invitations", "revoked_in_clerk"),
        ("workspace_invitations", "missing_locally"),
    }
    assert WorkspaceInvitation.objects.get(email="rev@example.com").status == InvitationStatus.REVOKED
    adopted = WorkspaceInvitation.objects.get(clerk_invitation_id=foreign.id)
    assert adopted.status == InvitationStatus.PENDING
    assert adopted.email == "dashboard@example.com"

    clerk_emulator.advance_clock(8 * 86400)
    report = clerk_sync(only=["workspace_invitations"])
    expired = {drift.clerk_id for drift in report.drifts if drift.kind == "expired_in_clerk"}
    assert (by_email["exp@example.com"].clerk_invitation_id or "") in expired
    assert WorkspaceInvitation.objects.get(email="exp@example.com").status == InvitationStatus.EXPIRED
    assert clerk_sync(only=["workspace_invitations"]).drifts == []


def _accept_staff_ticket(server: EmulatorServer, invitation: InternalInvitation) -> str:
    """Sign up through the staff invitation's ticket as a browser would; returns the new Clerk user id."""
    found = clerk.list_invitations(status="pending", query=invitation.email)
    url = next(item.url for item in found if item.id == invitation.clerk_invitation_id)
    ticket = parse_qs(urlsplit(url).query)["ticket"][0]
    browser = Browser(server.url, origin="http://testserver")
    response = browser.call(
        "POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": ticket, "password": "correct-horse-9"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["response"]["created_user_id"])


def test_staff_acceptance_without_a_webhook_is_found_by_sync(
    signed_in: Callable[..., Any], clerk_emulator_server: EmulatorServer
) -> None:
    admin = signed_in(Role.SUPER_ADMIN).user
    invitation = staff.internal_invite(email="new.pm@example.com", role="pm", actor=admin)
    clerk_user_id = _accept_staff_ticket(clerk_emulator_server, invitation)

    report = clerk_sync()

    assert ("users", "missing_locally") in kinds(report)
    user = User.objects.get(clerk_user_id=clerk_user_id)
    assert (user.role, user.is_internal, user.phone_verification_required) == (Role.PM, True, False)
    invitation.refresh_from_db()
    assert invitation.status == InternalInvitationStatus.ACCEPTED
    assert invitation.accepted_user == user
    assert clerk_sync().drifts == []


def test_staff_invitations_revoked_or_made_in_clerk(signed_in: Callable[..., Any]) -> None:
    admin = signed_in(Role.SUPER_ADMIN).user
    invitation = staff.internal_invite(email="gone@example.com", role="admin", actor=admin)
    clerk.revoke_invitation(invitation.clerk_invitation_id or "")
    foreign = clerk.create_invitation(email="dash@example.com", public_metadata={"role": "pm", "internal": True})
    clerk.create_invitation(email="customer@example.com")  # no staff role: not ours to adopt

    report = clerk_sync(only=["staff_invitations"])

    assert kinds(report) == {("staff_invitations", "revoked_in_clerk"), ("staff_invitations", "missing_locally")}
    invitation.refresh_from_db()
    assert invitation.status == InternalInvitationStatus.REVOKED
    assert InternalInvitation.objects.get(clerk_invitation_id=foreign.id).role == "pm"
    assert clerk_sync(only=["staff_invitations"]).drifts == []


def test_clerk_down_is_reported_and_the_next_run_finishes(
    clerk_user_factory: Callable[..., ClerkUser], clerk_emulator: Emulator, settings: Any
) -> None:
    clerk_user_factory(email="later@example.com")
    settings.CLERK_API_URL = "http://127.0.0.1:9/v1"
    clerk.reset_client()
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("clerk_sync", stdout=out, stderr=err)
    assert exited.value.code == 1
    assert "error: users" in err.getvalue()
    assert not User.objects.filter(email="later@example.com").exists()


def test_two_runs_at_once_do_not_both_run(clerk_session: Callable[..., ClerkSession]) -> None:
    """While another run holds the lock (a PostgreSQL advisory lock from another connection, or the cache lock
    elsewhere), a run leaves at once and says so."""
    clerk_session(Role.MEMBER)
    holder = connections.create_connection("default")
    try:
        if connection.vendor == "postgresql":
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [reconcile._LOCK_KEY])
        else:
            cache.add(reconcile._CACHE_LOCK, 1, 60)
        assert not clerk_sync().ran
        out = StringIO()
        call_command("clerk_sync", stdout=out)
        assert "Another clerk_sync is running" in out.getvalue()
    finally:
        if connection.vendor == "postgresql":
            # Unlock before closing: a closed connection's backend lets go of its locks only once it has exited,
            # which on a busy machine can come after the next run has tried the lock.
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [reconcile._LOCK_KEY])
        holder.close()
        cache.delete(reconcile._CACHE_LOCK)
    assert clerk_sync().ran


def test_concurrent_runs_repair_each_drift_once(clerk_user_factory: Callable[..., ClerkUser]) -> None:
    for n in range(5):
        clerk_user_factory(email=f"p{n}@example.com")
    reports: list[Any] = []

    def run() -> None:
        try:
            reports.append(clerk_sync())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert User.objects.filter(email__startswith="p").count() == 5
    repaired = [drift for report in reports for drift in report.drifts if drift.repaired]
    assert len(repaired) == 5
    assert clerk_sync().drifts == []


def test_list_and_only() -> None:
    out = StringIO()
    call_command("clerk_sync", "--list", stdout=out)
    assert out.getvalue().split() == ["users", "workspaces", "workspace_invitations", "staff_invitations"]
    with pytest.raises(CommandError):
        call_command("clerk_sync", "--only", "nope")


def test_user_upsert_trusts_only_matching_invitations(clerk_user_factory: Callable[..., ClerkUser]) -> None:
    remote = clerk_user_factory(email="claim@example.com", role=Role.ADMIN)
    InternalInvitation.objects.create(
        email="claim@example.com", role="pm", expires_at=timezone.now() + timedelta(days=1)
    )
    user = user_upsert_from_clerk(clerk_user=remote)
    assert user.role == Role.MEMBER  # the pending invitation is for pm, not admin


def test_a_failing_repair_is_reported_and_the_run_goes_on(clerk_user_factory: Callable[..., ClerkUser]) -> None:
    def broken(context: reconcile.SyncContext) -> None:
        def fail() -> None:
            raise RuntimeError("Clerk said no")

        context.drift("test", "broken", "x_1", "cannot be repaired", fail)
        context.drift("test", "report_only", "x_2", "nothing to do", None)

    unseen = clerk_user_factory(email="after@example.com")
    reconcile._reconcilers.insert(0, ("broken", broken))
    try:
        report = clerk_sync()
    finally:
        reconcile._reconcilers.remove(("broken", broken))
    broken_drifts = [drift for drift in report.drifts if drift.area == "test"]
    assert [(drift.kind, drift.repaired) for drift in broken_drifts] == [("broken", False), ("report_only", False)]
    assert report.errors == ["test x_1: RuntimeError: Clerk said no"]
    assert User.objects.filter(clerk_user_id=unseen.id).exists()  # the later reconcilers still ran
    out, err = StringIO(), StringIO()
    reconcile._reconcilers.insert(0, ("broken", broken))
    try:
        with pytest.raises(SystemExit):
            call_command("clerk_sync", stdout=out, stderr=err)
    finally:
        reconcile._reconcilers.remove(("broken", broken))
    assert "NOT repaired" in out.getvalue()
    assert "Clerk said no" in err.getvalue()
