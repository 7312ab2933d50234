"""Edges of workspace invitations: what Clerk and people can do to an invitation that the happy paths never see.

- inputs: an address longer than email allows, a pasted list of thousands of entries, an inviter with no Clerk account;
- Clerk misbehaving mid-send: a 429 while a rejection is being narrowed down, a duplicate Clerk cannot list, a
  duplicate that shows up only on the second look, a background check Clerk cannot answer;
- races: another admin, a webhook or ``clerk_sync`` changing the row while Clerk is being asked (a ``Fault`` with a
  delay holds the Clerk call open while another thread, with its own database connection, makes the change), and
  concurrent invites sharing one address;
- resend and revoke of invitations that Clerk refuses, that were accepted in Clerk, or that moved meanwhile;
- webhooks in odd orders or missing fields, and ``clerk_sync`` meeting acceptances and conflicting rows.

Clerk is the in-thread emulator throughout (tests/conftest.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.tasks import task_backends
from django.tasks.backends.dummy import DummyBackend
from django.test import Client
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator import auth, sessions
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent, WebhookEvent
from core.reconcile import clerk_sync
from invitations import services, tasks
from invitations.errors import AlreadyMember, InvitationNotPending, TooManyEmails
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services import InviteResult, invitations_create
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.conftest import ClerkSession
from tests.invitations.factories import (
    WorkspaceInvitationFactory,
    bulk_path,
    clerk_calls,
    clerk_pending,
    ticket_of,
)
from tests.races import meanwhile

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_admin(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> User:
    user = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Bo").user
    assert user is not None
    return user


def invite_one(workspace: Workspace, inviter: User, email: str) -> WorkspaceInvitation:
    (result,) = invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.invitation is not None, result
    return result.invitation


def list_path(workspace: Workspace) -> str:
    return f"/v1/organizations/{workspace.clerk_organization_id}/invitations"


def revoke_path(workspace: Workspace, clerk_invitation_id: str) -> str:
    return f"/v1/organizations/{workspace.clerk_organization_id}/invitations/{clerk_invitation_id}/revoke"


def sign_up_with_ticket(em: Emulator, clerk_invitation_id: str) -> str:
    """The invitee signs up from the emailed link (ClerkJS does this on the accept page); their Clerk user id."""
    with em.lock:
        session = auth.sign_up(
            em,
            sessions.new_client(em),
            {"strategy": "ticket", "ticket": ticket_of(em, clerk_invitation_id), "password": "long-enough-3"},
        )
    return session.user_id


def audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# =========================================================================== inputs
def test_an_address_longer_than_email_allows_is_invalid_and_never_reaches_clerk(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    too_long = "a" * 310 + "@example.com"  # 322 characters: over the 320 an address may have

    results = invitations_create(
        workspace=workspace, inviter=org_admin, emails=[too_long, "ok@example.com"], role="member"
    )

    assert [(r.email, r.result) for r in results] == [(too_long, "invalid_email"), ("ok@example.com", "invited")]
    assert list(WorkspaceInvitation.objects.values_list("email", flat=True)) == ["ok@example.com"]
    assert set(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == {"ok@example.com"}


def test_a_paste_of_more_than_a_thousand_entries_is_refused_before_any_work(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    pasted = ",".join(["same@example.com"] * 1001)  # folds to one address, but the paste itself is too big
    calls = len(clerk_emulator.request_log)

    with pytest.raises(TooManyEmails) as caught:
        invitations_create(workspace=workspace, inviter=org_admin, emails=pasted, role="member")

    assert (caught.value.code, caught.value.http_status) == ("too_many_emails", 400)
    assert not WorkspaceInvitation.objects.exists()
    assert len(clerk_emulator.request_log) == calls
    assert audits("workspace_invitation.invite") == []


def test_staff_without_a_clerk_account_invites_without_being_named_to_clerk(
    workspace: Workspace, clerk_emulator: Emulator
) -> None:
    # A superuser made with createsuperuser before they ever signed in through Clerk.
    ops = User.objects.create_user("ops@example.com", "", role=Role.SUPER_ADMIN, is_internal=True)

    row = invite_one(workspace, ops, "ann@example.com")

    assert (row.status, row.inviter_id) == ("pending", ops.pk)
    remote = clerk_emulator.organization_invitations[row.clerk_invitation_id or ""]
    assert not remote.inviter_id
    # Revoking as that user does not name them to Clerk either.
    assert services.invitation_revoke(invitation=row, actor=ops).status == "revoked"
    assert remote.status == "revoked"


# =========================================================================== Clerk misbehaving mid-send
def test_a_429_while_narrowing_down_a_rejection_queues_the_rest_without_another_call(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    bulk = bulk_path(workspace.clerk_organization_id)
    # An unnamed rejection of the whole chunk, then Clerk's rate limit on the first half: the second half is
    # not sent at all (Clerk's caps are per instance).
    clerk_emulator.faults.extend(
        [
            Fault("POST", bulk, 1, status=422, code="form_param_format_invalid", message="Something is wrong."),
            Fault("POST", bulk, 1, status=429, retry_after=90),
        ]
    )
    emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]

    results = invitations_create(workspace=workspace, inviter=org_admin, emails=emails, role="member")

    assert [r.result for r in results] == ["queued"] * 4
    assert all("about 2 min" in r.message for r in results)
    assert clerk_calls(clerk_emulator, "POST", bulk) == 2
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}
    rows = list(WorkspaceInvitation.objects.order_by("email"))
    assert [row.status for row in rows] == ["queued"] * 4
    for row in rows:
        assert row.failure_reason.startswith("rate_limited")
        assert row.retry_at is not None
        assert timedelta(seconds=80) < row.retry_at - timezone.now() <= timedelta(seconds=90)
    # Once Retry-After has passed, the background sender sends all four in one call.
    assert services.invitations_send_queued(now=timezone.now() + timedelta(seconds=91)) == 4
    assert sorted(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == emails


def test_a_duplicate_clerk_cannot_list_fails_the_request_and_leaves_nothing_behind(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.extend(
        [
            Fault(
                "POST",
                bulk_path(workspace.clerk_organization_id),
                1,
                status=400,
                code="organization_invitation_not_unique",
                message="Organizations cannot have duplicate pending invitations for an email address.",
            ),
            Fault("GET", list_path(workspace), 1, status=429, retry_after=5),
        ]
    )

    with pytest.raises(clerk.ClerkUnavailable) as caught:
        invitations_create(workspace=workspace, inviter=org_admin, emails=["ann@example.com"], role="member")

    assert caught.value.http_status == 503
    assert not WorkspaceInvitation.objects.exists()  # Clerk's bulk call is all-or-nothing: nothing was made
    (event,) = audits("workspace_invitation.invite")
    assert (event.outcome, event.details["result"], event.details["code"]) == ("failed", "failed", "clerk_unavailable")


def test_a_duplicate_that_shows_up_only_on_the_second_look_is_adopted(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # Clerk refuses ours as a duplicate naming the address, but its list does not show the other invitation at
    # first (someone is creating it in Clerk's dashboard at that moment); on the second look it is there.
    lookups = list_path(workspace)
    clerk_emulator.faults.append(
        Fault(
            "POST",
            bulk_path(workspace.clerk_organization_id),
            1,
            status=400,
            code="organization_invitation_not_unique",
            message="There is already a pending invitation for ann@example.com.",
        )
    )
    clerk_emulator.faults.append(Fault("GET", lookups, 1))  # the first look: answered as usual (nothing)
    theirs: list[str] = []

    def dashboard_invites() -> None:
        made = clerk.create_organization_invitation(
            workspace.clerk_organization_id, email="ann@example.com", role="org:member"
        )
        theirs.append(made.id)

    with meanwhile(clerk_emulator, Fault("GET", lookups, 1, delay_s=0.3), dashboard_invites):
        (result,) = invitations_create(
            workspace=workspace, inviter=org_admin, emails=["ann@example.com"], role="member"
        )

    assert result.result == "already_invited"
    assert result.invitation is not None
    row = WorkspaceInvitation.objects.get()
    assert (row.status, row.clerk_invitation_id) == ("pending", theirs[0])
    assert row.send_count == 0  # adopted, not sent by us
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {"ann@example.com": theirs}
    assert clerk_calls(clerk_emulator, "GET", lookups) == 2


def test_a_queued_invitation_clerk_may_hold_stays_queued_when_clerk_cannot_be_asked(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # An earlier send got no answer: before sending again the sender must look it up, and Clerk refuses the look.
    row = WorkspaceInvitationFactory.create(
        workspace=workspace,
        inviter=org_admin,
        email="ann@example.com",
        status=InvitationStatus.QUEUED,
        clerk_invitation_id=None,
        send_count=0,
        last_sent_at=None,
        retry_at=timezone.now() - timedelta(seconds=1),
        failure_reason="clerk_no_response: Clerk did not answer; checked before re-sending",
    )
    clerk_emulator.faults.append(Fault("GET", list_path(workspace), 1, status=429, retry_after=5))

    assert services.invitations_send_queued() == 0

    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 0  # never re-sent blind
    row.refresh_from_db()
    assert (row.status, row.clerk_invitation_id) == ("queued", None)
    assert row.failure_reason.startswith("clerk_no_response")
    assert row.retry_at is not None
    assert row.retry_at > timezone.now() + timedelta(seconds=40)  # backed off
    (event,) = audits("workspace_invitation.sent")
    assert (event.outcome, event.details["result"]) == ("failed", "no_response")
    # Next time Clerk answers: nothing held there, so it is sent once.
    assert services.invitations_send_queued(now=timezone.now() + timedelta(hours=2)) == 1
    assert list(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == ["ann@example.com"]


# =========================================================================== the row moves while Clerk is asked
@pytest.mark.django_db(transaction=True)
class TestRowMovedWhileClerkWasAsked:
    def test_an_invitation_revoked_while_clerk_creates_it_is_revoked_in_clerk_too(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        def revoke_here() -> None:
            row = WorkspaceInvitation.objects.get(email="late@example.com")
            services.invitation_revoke(invitation=row, actor=other_admin)

        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)
        with meanwhile(clerk_emulator, slow, revoke_here):
            (result,) = invitations_create(
                workspace=workspace, inviter=org_admin, emails=["late@example.com"], role="member"
            )

        row = WorkspaceInvitation.objects.get()
        assert (row.status, row.revoked_by_id, row.clerk_invitation_id) == ("revoked", other_admin.pk, None)
        assert result.invitation is not None
        assert result.invitation.status == "revoked"
        (remote,) = clerk_emulator.organization_invitations.values()
        assert remote.status == "revoked"  # the link Clerk made a moment too late does not work
        assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}
        assert [event.actor_id for event in audits("workspace_invitation.revoked")] == [other_admin.pk]

    def test_a_stray_invitation_clerk_will_not_revoke_is_logged_and_left_to_expire(
        self,
        workspace: Workspace,
        org_admin: User,
        other_admin: User,
        clerk_emulator: Emulator,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        def revoke_here_and_break_clerk() -> None:
            row = WorkspaceInvitation.objects.get(email="late@example.com")
            services.invitation_revoke(invitation=row, actor=other_admin)
            clerk_emulator.faults.append(Fault("POST", "/v1/organizations/*", 1, status=503))

        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)
        with (
            caplog.at_level(logging.WARNING, logger="invitations.services"),
            meanwhile(clerk_emulator, slow, revoke_here_and_break_clerk),
        ):
            invitations_create(workspace=workspace, inviter=org_admin, emails=["late@example.com"], role="member")

        assert WorkspaceInvitation.objects.get().status == "revoked"
        (remote,) = clerk_emulator.organization_invitations.values()
        assert remote.status == "pending"  # best effort: Clerk expires it in time
        assert any("could not revoke stray Clerk invitation" in r.getMessage() for r in caplog.records)

    def test_a_rate_limited_send_of_an_invitation_revoked_meanwhile_is_not_requeued(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        def revoke_here() -> None:
            row = WorkspaceInvitation.objects.get(email="late@example.com")
            services.invitation_revoke(invitation=row, actor=other_admin)

        slow_429 = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5, status=429, retry_after=60)
        with meanwhile(clerk_emulator, slow_429, revoke_here):
            invitations_create(workspace=workspace, inviter=org_admin, emails=["late@example.com"], role="member")

        row = WorkspaceInvitation.objects.get()
        assert (row.status, row.retry_at) == ("revoked", None)
        assert clerk_emulator.organization_invitations == {}
        assert services.invitations_send_queued(now=timezone.now() + timedelta(minutes=5)) == 0

    def test_a_member_who_joined_while_clerk_creates_the_invitation_gets_its_clerk_id_linked(
        self, workspace: Workspace, org_admin: User, clerk_emulator: Emulator
    ) -> None:
        def joined_meanwhile() -> None:
            # organizationMembership.created: an admin added the person in Clerk's dashboard.
            assert services.invitations_accepted_by_membership(workspace=workspace, email="late@example.com", user=None)

        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)
        with meanwhile(clerk_emulator, slow, joined_meanwhile):
            invitations_create(workspace=workspace, inviter=org_admin, emails=["late@example.com"], role="member")

        row = WorkspaceInvitation.objects.get()
        (remote,) = clerk_emulator.organization_invitations.values()
        assert (row.status, row.clerk_invitation_id) == ("accepted", remote.id)
        assert remote.status == "pending"  # an accepted row is not a stray: its invitation is not revoked
        assert len(audits("workspace_invitation.accepted")) == 1

    def test_clerk_sync_linking_the_invitation_while_the_sender_looks_it_up_links_it_once(
        self, workspace: Workspace, org_admin: User, clerk_emulator: Emulator
    ) -> None:
        # Our earlier send got no answer, but Clerk made the invitation; while the background sender looks it up,
        # clerk_sync adopts it. Both found the same invitation: it is linked once and stays live.
        made = clerk.create_organization_invitation(
            workspace.clerk_organization_id, email="ann@example.com", role="org:member"
        )
        row = WorkspaceInvitationFactory.create(
            workspace=workspace,
            inviter=org_admin,
            email="ann@example.com",
            status=InvitationStatus.QUEUED,
            clerk_invitation_id=None,
            send_count=0,
            retry_at=timezone.now() - timedelta(seconds=1),
            failure_reason="clerk_no_response: Clerk did not answer; checked before re-sending",
        )

        reports: list[Any] = []
        with meanwhile(
            clerk_emulator,
            Fault("GET", list_path(workspace), 1, delay_s=0.5),
            lambda: reports.append(clerk_sync(only=["workspace_invitations"])),
        ):
            sent = services.invitations_send_queued()

        assert sent == 0  # the sync had already linked it
        assert [d.kind for d in reports[0].drifts] == ["missing_locally"]
        row.refresh_from_db()
        assert (row.status, row.clerk_invitation_id) == ("pending", made.id)
        assert clerk_emulator.organization_invitations[made.id].status == "pending"
        assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 0

    def test_a_webhook_revocation_during_our_revoke_keeps_us_as_the_revoker(
        self, workspace: Workspace, org_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        clerk_id = row.clerk_invitation_id or ""

        with meanwhile(
            clerk_emulator,
            Fault("POST", revoke_path(workspace, clerk_id), 1, delay_s=0.5),
            lambda: services.invitation_revoked_from_clerk(clerk_invitation_id=clerk_id),
        ):
            revoked = services.invitation_revoke(invitation=row, actor=org_admin)

        assert (revoked.status, revoked.revoked_by_id, revoked.revoked_by_email) == (
            "revoked",
            org_admin.pk,
            org_admin.email,
        )
        row.refresh_from_db()
        assert row.revoked_by_id == org_admin.pk
        assert clerk_emulator.organization_invitations[clerk_id].status == "revoked"
        (event,) = audits("workspace_invitation.revoked")  # one revocation, recorded by the webhook
        assert event.details["source"] == "clerk"

    def test_two_admins_revoking_at_once_keep_the_first_revoker(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        clerk_id = row.clerk_invitation_id or ""

        def other_revokes() -> None:
            services.invitation_revoke(invitation=WorkspaceInvitation.objects.get(pk=row.pk), actor=other_admin)

        with meanwhile(clerk_emulator, Fault("POST", revoke_path(workspace, clerk_id), 1, delay_s=0.5), other_revokes):
            revoked = services.invitation_revoke(invitation=row, actor=org_admin)

        assert (revoked.status, revoked.revoked_by_id) == ("revoked", other_admin.pk)
        assert clerk_emulator.organization_invitations[clerk_id].status == "revoked"
        assert [event.actor_id for event in audits("workspace_invitation.revoked")] == [other_admin.pk]

    def test_a_revoke_racing_a_membership_reports_the_acceptance(
        self, workspace: Workspace, org_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        clerk_id = row.clerk_invitation_id or ""

        with (
            meanwhile(
                clerk_emulator,
                Fault("POST", revoke_path(workspace, clerk_id), 1, delay_s=0.5),
                lambda: services.invitations_accepted_by_membership(
                    workspace=workspace, email="ann@example.com", user=None
                ),
            ),
            pytest.raises(InvitationNotPending) as caught,
        ):
            services.invitation_revoke(invitation=row, actor=org_admin)

        assert caught.value.extra == {"status": "accepted"}
        row.refresh_from_db()
        assert (row.status, row.revoked_at) == ("accepted", None)
        assert audits("workspace_invitation.revoked") == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_invites_sharing_one_address_each_keep_their_own(
    clerk_workspace: Callable[..., Workspace], clerk_session: Callable[..., ClerkSession], clerk_emulator: Emulator
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serializes the whole database")
    workspace = clerk_workspace("Race")
    inviter = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN).user
    assert inviter is not None
    count = 12
    barrier = threading.Barrier(count)
    results: dict[int, list[InviteResult]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = invitations_create(
                workspace=workspace,
                inviter=inviter,
                emails=["shared@example.com", f"own{i}@example.com"],
                role="member",
            )
            with lock:
                results[i] = result
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    shared = sorted(results[i][0].result for i in range(count))
    assert shared == ["already_invited"] * (count - 1) + ["invited"]
    assert all(results[i][1].result == "invited" for i in range(count))  # losing the race on one address costs none
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == sorted(["shared@example.com", *(f"own{i}@example.com" for i in range(count))])
    assert all(len(ids) == 1 for ids in pending.values())
    assert WorkspaceInvitation.objects.filter(status="pending").count() == count + 1


# =========================================================================== resend
def test_resend_while_the_first_send_is_in_flight_is_that_send(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # Just invited: the row is queued and leased by the request that is talking to Clerk right now.
    row = WorkspaceInvitationFactory.create(
        workspace=workspace,
        inviter=org_admin,
        status=InvitationStatus.QUEUED,
        clerk_invitation_id=None,
        send_count=0,
        retry_at=timezone.now() + timedelta(minutes=4),
        failure_reason="",
    )
    calls = len(clerk_emulator.request_log)

    again = services.invitation_resend(invitation=row, actor=org_admin)

    assert (again.pk, again.status, again.send_count, again.retry_at) == (row.pk, "queued", 0, row.retry_at)
    assert len(clerk_emulator.request_log) == calls
    assert audits("workspace_invitation.resent") == []


def test_resend_to_someone_who_joined_meanwhile_is_already_member_and_fails_the_row(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator, driver: ClerkDriver
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    old_id = row.clerk_invitation_id or ""
    # Ann joined through Clerk's dashboard; the membership webhook has not reached us.
    person = driver.create_user("ann@example.com")
    driver.add_member(workspace.clerk_organization_id, person["id"])

    with pytest.raises(AlreadyMember) as caught:
        services.invitation_resend(invitation=row, actor=org_admin)

    assert (caught.value.code, caught.value.http_status) == ("already_member", 409)
    row.refresh_from_db()
    assert (row.status, row.clerk_invitation_id, row.retry_at) == ("failed", None, None)
    assert row.failure_reason.startswith("already_a_member_in_organization")
    assert clerk_emulator.organization_invitations[old_id].status == "revoked"
    (event,) = audits("workspace_invitation.resent")
    assert (event.outcome, event.details["result"]) == ("failed", "member")


def test_resend_refused_by_clerk_fails_the_row_with_clerks_code(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    clerk_emulator.faults.append(
        Fault(
            "POST",
            bulk_path(workspace.clerk_organization_id),
            1,
            status=403,
            code="organization_invitations_quota_exceeded",
            message="You have reached your invitation quota.",
        )
    )

    with pytest.raises(clerk.ClerkRejected) as caught:
        services.invitation_resend(invitation=row, actor=org_admin)

    assert caught.value.clerk_code == "organization_invitations_quota_exceeded"
    assert caught.value.http_status == 422
    assert "quota" in caught.value.message
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.failure_reason.startswith("organization_invitations_quota_exceeded: You have reached")
    with pytest.raises(InvitationNotPending):  # a failed invitation is not resent; invite again instead
        services.invitation_resend(invitation=row, actor=org_admin)


# =========================================================================== revoke
def test_revoke_refused_by_clerk_for_another_reason_keeps_the_invitation(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    clerk_id = row.clerk_invitation_id or ""
    clerk_emulator.faults.append(
        Fault("POST", revoke_path(workspace, clerk_id), 1, status=422, code="form_param_unknown", message="Nope.")
    )

    with pytest.raises(clerk.ClerkRejected) as caught:
        services.invitation_revoke(invitation=row, actor=org_admin)

    assert caught.value.clerk_code == "form_param_unknown"
    row.refresh_from_db()
    assert (row.status, row.revoked_at) == ("pending", None)
    assert clerk_emulator.organization_invitations[clerk_id].status == "pending"
    assert audits("workspace_invitation.revoked") == []


def test_revoke_of_an_invitation_accepted_in_clerk_records_who_accepted(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator, client: Client, settings: Any
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
    # Only user.created reached us; the acceptance webhook is late.
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    (created,) = [e for e in clerk_emulator.events if e["type"] == "user.created" and e["data"]["id"] == user_id]
    assert deliver(client, created).status_code == 200
    ann = User.objects.get(clerk_user_id=user_id)

    with pytest.raises(InvitationNotPending) as caught:
        services.invitation_revoke(invitation=row, actor=org_admin)

    assert caught.value.extra == {"status": "accepted"}
    row.refresh_from_db()
    assert (row.status, row.accepted_by_id, row.revoked_at) == ("accepted", ann.pk, None)
    assert row.accepted_at is not None
    assert clerk_emulator.organization_invitations[row.clerk_invitation_id or ""].status == "accepted"
    assert [e.details["previous_status"] for e in audits("workspace_invitation.accepted")] == ["pending"]


def test_revoke_of_an_invitation_accepted_by_someone_since_deleted_records_no_user(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
    clerk.delete_user(user_id)  # they accepted, then deleted their account; no webhook reached us

    with pytest.raises(InvitationNotPending):
        services.invitation_revoke(invitation=row, actor=org_admin)

    row.refresh_from_db()
    assert (row.status, row.accepted_by_id) == ("accepted", None)
    assert not User.objects.filter(email="ann@example.com").exists()


# =========================================================================== webhooks in odd orders
@pytest.fixture
def signed_webhooks(settings: Any) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET


def delivered(client: Client, event: dict[str, Any]) -> WebhookEvent:
    response = deliver(client, event)
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.filter(type=event["type"]).order_by("-pk").first() or WebhookEvent()


@pytest.mark.usefixtures("signed_webhooks")
class TestWebhooks:
    def test_acceptance_by_a_user_whose_deletion_arrived_first_is_recorded_without_a_user(
        self, client: Client, workspace: Workspace, org_admin: User, driver: ClerkDriver, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
        driver.call("DELETE", f"/users/{user_id}")
        events = {e["type"]: e for e in driver.events()}

        delivered(client, events["user.deleted"])
        reads = clerk_calls(clerk_emulator, "GET", f"/v1/users/{user_id}")
        delivered(client, events["organizationInvitation.accepted"])

        row.refresh_from_db()
        assert (row.status, row.accepted_by_id) == ("accepted", None)
        assert clerk_calls(clerk_emulator, "GET", f"/v1/users/{user_id}") == reads  # the tombstone says: don't ask
        assert not User.objects.filter(clerk_user_id=user_id).exists()

    def test_acceptance_by_a_user_gone_from_clerk_before_its_deletion_arrives_is_recorded_without_a_user(
        self, client: Client, workspace: Workspace, org_admin: User, driver: ClerkDriver, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
        driver.call("DELETE", f"/users/{user_id}")
        events = {e["type"]: e for e in driver.events()}

        delivered(client, events["organizationInvitation.accepted"])

        row.refresh_from_db()
        assert (row.status, row.accepted_by_id) == ("accepted", None)
        assert clerk_calls(clerk_emulator, "GET", f"/v1/users/{user_id}") >= 1  # asked; Clerk said 404

    def test_a_late_acceptance_names_the_user_a_membership_event_could_not(
        self, client: Client, workspace: Workspace, org_admin: User, driver: ClerkDriver, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")
        accepted = {e["type"]: e for e in driver.events()}["organizationInvitation.accepted"]
        # Accepted first through the membership, before we could tell who the user was.
        assert services.invitations_accepted_by_membership(workspace=workspace, email="ann@example.com", user=None)
        row.refresh_from_db()
        assert (row.status, row.accepted_by_id) == ("accepted", None)
        accepted_at = row.accepted_at

        delivered(client, accepted)

        row.refresh_from_db()
        assert row.status == "accepted"
        assert row.accepted_by is not None
        assert row.accepted_by.clerk_user_id == user_id
        assert row.accepted_at == accepted_at
        assert len(audits("workspace_invitation.accepted")) == 1

    def test_an_acceptance_matching_no_local_invitation_is_acknowledged_and_ignored(
        self, client: Client, workspace: Workspace, driver: ClerkDriver, clerk_emulator: Emulator
    ) -> None:
        # Made in Clerk's dashboard and accepted before clerk_sync adopted it.
        made = clerk.create_organization_invitation(
            workspace.clerk_organization_id, email="ann@example.com", role="org:member"
        )
        driver.events()
        sign_up_with_ticket(clerk_emulator, made.id)
        accepted = {e["type"]: e for e in driver.events()}["organizationInvitation.accepted"]

        event = delivered(client, accepted)

        assert f"no local invitation for {made.id}; ignored" in event.note
        assert not WorkspaceInvitation.objects.exists()

    def test_an_acceptance_whose_clerk_id_another_row_holds_accepts_by_email_without_stealing_it(
        self, client: Client, workspace: Workspace, org_admin: User, driver: ClerkDriver, clerk_emulator: Emulator
    ) -> None:
        # Our send got no answer, so our row has no Clerk id; a row of another workspace already holds the id
        # Clerk reports (data restored from a backup, say). The acceptance still lands on ours, by email.
        made = clerk.create_organization_invitation(
            workspace.clerk_organization_id, email="ann@example.com", role="org:member"
        )
        ours = WorkspaceInvitationFactory.create(
            workspace=workspace,
            inviter=org_admin,
            email="ann@example.com",
            status=InvitationStatus.QUEUED,
            clerk_invitation_id=None,
            failure_reason="clerk_no_response: Clerk did not answer",
        )
        holder = WorkspaceInvitationFactory.create(clerk_invitation_id=made.id, status=InvitationStatus.REVOKED)
        driver.events()
        sign_up_with_ticket(clerk_emulator, made.id)
        accepted = {e["type"]: e for e in driver.events()}["organizationInvitation.accepted"]

        delivered(client, accepted)

        ours.refresh_from_db()
        holder.refresh_from_db()
        assert (ours.status, ours.clerk_invitation_id) == ("accepted", None)
        assert ours.accepted_by is not None
        assert (holder.status, holder.clerk_invitation_id) == ("revoked", made.id)

    @pytest.mark.parametrize(
        ("event_type", "blank"),
        [
            ("organizationInvitation.accepted", "id"),
            ("organizationInvitation.accepted", "organization_id"),
            ("organizationInvitation.revoked", "id"),
        ],
    )
    def test_invitation_events_without_ids_are_acknowledged_and_change_nothing(
        self,
        event_type: str,
        blank: str,
        client: Client,
        workspace: Workspace,
        org_admin: User,
        driver: ClerkDriver,
        clerk_emulator: Emulator,
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        clerk_id = row.clerk_invitation_id or ""
        if event_type.endswith("accepted"):
            sign_up_with_ticket(clerk_emulator, clerk_id)
        else:
            clerk.revoke_organization_invitation(workspace.clerk_organization_id, clerk_id)
        event = {e["type"]: e for e in driver.events()}[event_type]
        event["data"][blank] = ""

        stored = delivered(client, event)

        assert stored.status == WebhookEvent.Status.APPLIED
        assert "ignored" in stored.note
        row.refresh_from_db()
        assert (row.status, row.clerk_invitation_id) == ("pending", clerk_id)

    def test_a_membership_event_without_a_user_id_changes_no_invitation(
        self, client: Client, workspace: Workspace, org_admin: User, driver: ClerkDriver
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        person = driver.create_user("ann@example.com")
        driver.add_member(workspace.clerk_organization_id, person["id"])
        event = {e["type"]: e for e in driver.events()}["organizationMembership.created"]
        event["data"]["public_user_data"]["user_id"] = ""

        stored = delivered(client, event)

        assert "membership without organization or user id" in stored.note
        row.refresh_from_db()
        assert (row.status, row.accepted_at) == ("pending", None)


# =========================================================================== accepting_user without a Clerk id
def test_accepting_user_without_id_or_email_is_nobody(clerk_emulator: Emulator) -> None:
    calls = len(clerk_emulator.request_log)
    assert services.accepting_user(clerk_user_id="", email="") is None
    assert len(clerk_emulator.request_log) == calls


def test_accepting_user_by_email_prefers_the_local_user_then_asks_clerk(
    clerk_emulator: Emulator, clerk_user_factory: Callable[..., Any]
) -> None:
    local = User.objects.create_user("Known@Example.com", "user_known")
    calls = len(clerk_emulator.request_log)
    assert services.accepting_user(clerk_user_id="", email="KNOWN@example.com") == local
    assert len(clerk_emulator.request_log) == calls  # no Clerk call for someone we know
    assert services.accepting_user(clerk_user_id="", email="nobody@example.com") is None  # Clerk has no such user
    remote = clerk_user_factory(email="remote@example.com")
    found = services.accepting_user(clerk_user_id="", email="remote@example.com")
    assert found is not None
    assert found.clerk_user_id == remote.id


# =========================================================================== clerk_sync
def test_clerk_sync_records_an_acceptance_no_webhook_reported(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite_one(workspace, org_admin, "ann@example.com")
    user_id = sign_up_with_ticket(clerk_emulator, row.clerk_invitation_id or "")

    report = clerk_sync(only=["workspace_invitations"])

    assert [(d.kind, d.repaired) for d in report.drifts] == [("accepted_in_clerk", True)]
    row.refresh_from_db()
    assert row.status == "accepted"
    assert row.accepted_by is not None
    assert row.accepted_by.clerk_user_id == user_id
    assert clerk_sync(only=["workspace_invitations"]).drifts == []


def test_clerk_sync_leaves_a_dashboard_invitation_alone_when_another_open_row_holds_the_email(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # Our open row points at a Clerk invitation Clerk no longer has; Clerk holds another one made in its dashboard.
    ours = WorkspaceInvitationFactory.create(workspace=workspace, inviter=org_admin, email="ann@example.com")
    made = clerk.create_organization_invitation(
        workspace.clerk_organization_id, email="ann@example.com", role="org:member"
    )

    report = clerk_sync(only=["workspace_invitations"])

    assert [(d.kind, d.clerk_id, d.repaired) for d in report.drifts] == [("missing_locally", made.id, False)]
    assert any("another open invitation" in error for error in report.errors)
    assert list(WorkspaceInvitation.objects.values_list("pk", "clerk_invitation_id")) == [
        (ours.pk, ours.clerk_invitation_id)
    ]


@pytest.mark.django_db(transaction=True)
def test_clerk_sync_and_the_expiry_cron_expiring_one_row_audit_it_once(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # Two invitations: Bea accepted (unknown here, so the repair asks Clerk who she is), Ann ran out in Clerk.
    # While the sync asks about Bea, the expiry cron marks Ann's row expired: the sync's own expiry of Ann's row
    # then changes nothing and is not audited a second time.
    ann = invite_one(workspace, org_admin, "ann@example.com")
    bea = invite_one(workspace, org_admin, "bea@example.com")
    sign_up_with_ticket(clerk_emulator, bea.clerk_invitation_id or "")
    clerk_emulator.advance_clock(8 * 86_400)
    later = timezone.now() + timedelta(days=8)

    with meanwhile(
        clerk_emulator,
        Fault("GET", "/v1/users", 1, delay_s=0.5),
        lambda: services.invitations_expire(now=later),
    ):
        report = clerk_sync(only=["workspace_invitations"])

    assert sorted((d.kind, d.repaired) for d in report.drifts) == [
        ("accepted_in_clerk", True),
        ("expired_in_clerk", True),
    ]
    ann.refresh_from_db()
    bea.refresh_from_db()
    assert (ann.status, bea.status) == ("expired", "accepted")  # acceptance in Clerk wins over our expiry
    expired = audits("workspace_invitation.expired")
    assert sorted(event.target_id for event in expired) == sorted([str(ann.pk), str(bea.pk)])  # the cron's, once each
    assert all(event.details["result"] == "expired" for event in expired)


# =========================================================================== pages and API around the services
def test_the_page_explains_a_revoke_clerk_refused(
    signed_in: Callable[..., Any], workspace: Workspace, clerk_emulator: Emulator
) -> None:
    admin = signed_in(Role.MEMBER, via="cookie", workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    row = invite_one(workspace, admin.user, "ann@example.com")
    clerk_emulator.faults.append(
        Fault(
            "POST",
            revoke_path(workspace, row.clerk_invitation_id or ""),
            1,
            status=403,
            code="organization_invitations_locked",
            message="Invitations of this organization are locked.",
        )
    )

    response = admin.post(
        f"/settings/workspaces/{workspace.pk}/invitations/{row.pk}/revoke/", {"confirm": "yes"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Clerk refused to revoke the invitation: Invitations of this organization are locked." in page
    assert "/revoke/" in page  # still open: the buttons are still there
    row.refresh_from_db()
    assert row.status == "pending"


def test_a_misconfigured_invite_rate_is_a_loud_configuration_error(
    signed_in: Callable[..., Any], workspace: Workspace, settings: Any
) -> None:
    admin = signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    settings.INVITATIONS_API_INVITE_RATE = "twenty an hour"

    with pytest.raises(ImproperlyConfigured, match="INVITATIONS_API_INVITE_RATE must look like '20/h'"):
        admin.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["ann@example.com"], "role": "member"},
            format="json",
        )

    assert not WorkspaceInvitation.objects.exists()


def test_a_cache_that_swallows_its_errors_fails_the_rate_limit_closed(
    signed_in: Callable[..., Any], workspace: Workspace, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    admin = signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    # django-redis told to ignore errors, with Redis down: every cache call answers None instead of raising.
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }

    with caplog.at_level(logging.ERROR):
        response = admin.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["ann@example.com"], "role": "member"},
            format="json",
        )

    assert response.status_code == 429
    body = response.json()
    assert (body["code"], body["extra"]["limit"]) == ("rate_limited", "invitations.api.invite")
    assert response["Retry-After"] == "60"
    assert any("cannot count" in r.getMessage() for r in caplog.records)
    assert not WorkspaceInvitation.objects.exists()


def test_the_queued_sender_does_not_reschedule_itself_when_nothing_waits(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    # A backend that can defer (django-tasks-db in production) and records what is enqueued.
    backend = DummyBackend("default", {})
    task_backends["default"] = backend
    try:
        row = WorkspaceInvitationFactory.create(
            workspace=workspace,
            inviter=org_admin,
            email="ann@example.com",
            status=InvitationStatus.QUEUED,
            clerk_invitation_id=None,
            send_count=0,
            retry_at=timezone.now() - timedelta(seconds=1),
        )

        assert tasks.send_queued_invitations.call() == 1

        row.refresh_from_db()
        assert (row.status, row.retry_at) == ("pending", None)
        assert backend.results == []  # nothing left queued: no run scheduled
    finally:
        del task_backends["default"]
