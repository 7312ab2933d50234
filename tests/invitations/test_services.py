"""invitations.services: invite many (per-email results, folding, chunks, isolation, 429, 500, timeouts, races),
resend, revoke, expiry, audit. Everything goes through the real gateway to the in-thread Clerk emulator; faults are
injected in the emulator, and its request log and invitation store are what "reached Clerk" means."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.exceptions import InvalidInput, PermissionDenied
from core.models import AuditEvent
from invitations import services
from invitations.errors import InvitationNotPending
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services import InviteResult, invitations_create, parse_email_list
from tests.conftest import ClerkSession
from tests.invitations.factories import bulk_path, clerk_calls, clerk_pending

pytestmark = pytest.mark.django_db

WEEK = timedelta(days=7)


@pytest.fixture
def pm(clerk_session: Callable[..., ClerkSession]) -> User:
    """Staff who may invite anywhere but is no member of the organization."""
    user = clerk_session(Role.PM).user
    assert user is not None
    return user


def by_email(results: list[InviteResult]) -> dict[str, InviteResult]:
    return {result.email: result for result in results}


def invite(
    workspace: Workspace, inviter: User, emails: list[str], role: str = WorkspaceRole.MEMBER
) -> dict[str, InviteResult]:
    return by_email(invitations_create(workspace=workspace, inviter=inviter, emails=emails, role=role))


# --------------------------------------------------------------------------- per-email results
def test_each_per_email_result(
    settings: Any,
    workspace: Workspace,
    org_admin: User,
    clerk_session: Callable[..., ClerkSession],
    clerk_emulator: Emulator,
) -> None:
    member = clerk_session(workspace=workspace, email="member@example.com").user
    assert member is not None
    invite(workspace, org_admin, ["pending@example.com"])
    bulk = bulk_path(workspace.clerk_organization_id)
    calls_before = clerk_calls(clerk_emulator, "POST", bulk)

    results = invitations_create(
        workspace=workspace,
        inviter=org_admin,
        emails=["New@Example.com", "member@example.com", "PENDING@example.com", "not-an-email", "two@example.com"],
        role=WorkspaceRole.ADMIN,
    )

    assert [(r.email, r.result) for r in results] == [
        ("new@example.com", "invited"),
        ("member@example.com", "already_member"),
        ("pending@example.com", "already_invited"),
        ("not-an-email", "invalid_email"),
        ("two@example.com", "invited"),
    ]
    assert all(r.message for r in results)
    assert clerk_calls(clerk_emulator, "POST", bulk) == calls_before + 1  # members and open invites: no Clerk call
    new = results[0].invitation
    assert new is not None
    new.refresh_from_db()
    assert (new.status, new.role, new.send_count, new.inviter_id) == ("pending", "admin", 1, org_admin.pk)
    assert new.inviter_email == org_admin.email
    assert new.last_sent_at is not None
    assert new.retry_at is None
    assert new.failure_reason == ""
    remote = clerk_emulator.organization_invitations[new.clerk_invitation_id or ""]
    assert remote.email_address == "new@example.com"
    assert remote.role == "org:admin"
    assert remote.inviter_id == org_admin.clerk_user_id  # an org admin is named as the inviter
    assert remote.redirect_url == f"{settings.APP_BASE_URL}/accept-invite/"
    assert abs(remote.expires_at - (clerk_emulator.now_ms() + 7 * 86_400_000)) < 60_000  # expires_in_days=7
    assert abs((new.expires_at - (timezone.now() + WEEK)).total_seconds()) < 60
    assert results[2].invitation is not None
    assert results[2].invitation.email == "pending@example.com"
    mail = [m for m in clerk_emulator.messages if m.to == "new@example.com"]
    assert len(mail) == 1
    assert mail[0].slug == "organization_invitation"


def test_redirect_url_is_app_base_url_accept_invite(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator, settings: Any
) -> None:
    settings.APP_BASE_URL = "https://app.example.com"
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    assert clerk_emulator.organization_invitations[row.clerk_invitation_id or ""].redirect_url == (
        "https://app.example.com/accept-invite/"
    )


def test_staff_inviter_who_is_no_org_admin_is_not_named_to_clerk(
    workspace: Workspace, pm: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, pm, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    assert row.status == "pending"
    assert clerk_emulator.organization_invitations[row.clerk_invitation_id or ""].inviter_id is None
    assert row.inviter_id == pm.pk


def test_duplicates_and_case_variants_fold_into_one(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    results = invitations_create(
        workspace=workspace,
        inviter=org_admin,
        emails=["Ann@Example.com", " ann@example.com", "ANN@EXAMPLE.COM ", "", "  "],
        role="member",
    )
    assert [(r.email, r.result) for r in results] == [("ann@example.com", "invited")]
    assert WorkspaceInvitation.objects.count() == 1
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {
        "ann@example.com": [results[0].invitation.clerk_invitation_id]  # type: ignore[union-attr]
    }


def test_input_errors(workspace: Workspace, org_admin: User, clerk_emulator: Emulator) -> None:
    def error(emails: Any, role: str = "member") -> InvalidInput:
        with pytest.raises(InvalidInput) as caught:
            invitations_create(workspace=workspace, inviter=org_admin, emails=emails, role=role)
        return caught.value

    assert error([]).code == "no_emails"
    assert error(["", " "]).code == "no_emails"
    assert error([f"p{i}@example.com" for i in range(101)]).code == "too_many_emails"
    assert error(["a@example.com"], role="owner").code == "invalid_role"
    assert error(["a@example.com"], role="super_admin").code == "invalid_role"
    # 150 entries folding into 100 addresses are fine
    many = [f"p{i}@example.com" for i in range(100)] + [f"P{i}@example.com" for i in range(50)]
    assert len(invitations_create(workspace=workspace, inviter=org_admin, emails=many, role="member")) == 100
    assert not [entry for entry in clerk_emulator.request_log if entry[2] >= 400]


def test_who_may_invite(
    workspace: Workspace, clerk_session: Callable[..., ClerkSession], clerk_emulator: Emulator
) -> None:
    member = clerk_session(workspace=workspace).user
    other_admin_ws = Workspace.objects.create(clerk_organization_id="org_other", name="Other", slug="other")
    other_admin = clerk_session().user
    assert member is not None
    assert other_admin is not None
    other_admin.workspace_memberships.create(workspace=other_admin_ws, role=WorkspaceRole.ADMIN)
    for user in (member, other_admin):
        with pytest.raises(PermissionDenied):
            invitations_create(workspace=workspace, inviter=user, emails=["a@example.com"], role="member")
    assert WorkspaceInvitation.objects.count() == 0
    for role in (Role.SUPER_ADMIN, Role.ADMIN, Role.PM):
        staff = clerk_session(role).user
        assert staff is not None
        result = invitations_create(workspace=workspace, inviter=staff, emails=[f"{role}@example.com"], role="member")
        assert result[0].result == "invited"


def test_parse_email_list() -> None:
    text = "ann@example.com, bob@example.com;carl@example.com\n dora@example.com\teve@example.com,, <fay@example.com>"
    assert parse_email_list(text) == [
        "ann@example.com",
        "bob@example.com",
        "carl@example.com",
        "dora@example.com",
        "eve@example.com",
        "fay@example.com",
    ]
    assert parse_email_list("") == []
    assert parse_email_list(" ,\n; ") == []


def test_a_plain_string_is_parsed_not_iterated(workspace: Workspace, org_admin: User) -> None:
    results = invitations_create(
        workspace=workspace, inviter=org_admin, emails="a@example.com, b@example.com", role="member"
    )
    assert [r.email for r in results] == ["a@example.com", "b@example.com"]


# --------------------------------------------------------------------------- chunks
def test_hundred_emails_take_ten_bulk_calls(workspace: Workspace, org_admin: User, clerk_emulator: Emulator) -> None:
    emails = [f"invitee{i}@example.com" for i in range(100)]
    results = invitations_create(workspace=workspace, inviter=org_admin, emails=emails, role="member")
    assert [r.result for r in results] == ["invited"] * 100
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 10
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == sorted(emails)
    assert all(len(ids) == 1 for ids in pending.values())
    assert WorkspaceInvitation.objects.filter(status="pending").count() == 100
    assert {r.invitation.clerk_invitation_id for r in results if r.invitation} == {ids[0] for ids in pending.values()}


def test_query_count_is_the_same_for_10_and_100_emails(
    clerk_workspace: Callable[..., Workspace], org_admin: User, pm: User, settings: Any
) -> None:
    settings.CLERK_BUDGET_SHARE = 1  # 110 invitations by one person: more than a person's share of 200/h
    counts = []
    for size in (10, 100):
        target = clerk_workspace(f"Size {size}")
        with CaptureQueriesContext(connection) as queries:
            results = invitations_create(
                workspace=target, inviter=pm, emails=[f"q{size}-{i}@example.com" for i in range(size)], role="member"
            )
        assert {r.result for r in results} == {"invited"}
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_an_email_pending_in_clerk_but_not_here_does_not_sink_its_chunk(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    outside = clerk.create_organization_invitation(
        workspace.clerk_organization_id, email="outside@example.com", role="org:member"
    )
    emails = (
        [f"p{i}@example.com" for i in range(4)] + ["outside@example.com"] + [f"p{i}@example.com" for i in range(4, 9)]
    )

    results = invite(workspace, org_admin, emails)

    assert results["outside@example.com"].result == "already_invited"
    adopted = results["outside@example.com"].invitation
    assert adopted is not None
    assert adopted.clerk_invitation_id == outside.id
    assert adopted.status == "pending"
    assert all(results[e].result == "invited" for e in emails if e != "outside@example.com")
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert all(len(pending[e]) == 1 for e in emails)
    # one rejected bulk call, then the rest of the chunk in one more
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 2


def test_a_member_in_clerk_we_have_not_mirrored_is_isolated(
    workspace: Workspace,
    org_admin: User,
    clerk_emulator: Emulator,
    clerk_user_factory: Callable[..., Any],
) -> None:
    # Two members in Clerk whose membership webhooks have not arrived: one user is known here, one is not.
    known = clerk_user_factory(email="known@example.com")
    unknown = clerk_user_factory(email="unknown@example.com")
    from accounts.services import user_upsert_from_clerk

    user_upsert_from_clerk(clerk_user=known)
    for person in (known, unknown):
        clerk.create_organization_membership(workspace.clerk_organization_id, user_id=person.id, role="org:member")
    emails = ["a@example.com", "known@example.com", "b@example.com", "unknown@example.com", "c@example.com"]

    results = invite(workspace, org_admin, emails)

    assert {e: r.result for e, r in results.items()} == {
        "a@example.com": "invited",
        "known@example.com": "already_member",
        "b@example.com": "invited",
        "unknown@example.com": "already_member",
        "c@example.com": "invited",
    }
    assert not WorkspaceInvitation.objects.filter(email__in=["known@example.com", "unknown@example.com"]).exists()
    assert sorted(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


def test_an_email_named_in_clerks_error_fails_alone_and_the_rest_are_resent(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    bulk = bulk_path(workspace.clerk_organization_id)
    clerk_emulator.faults.append(
        Fault(
            "POST",
            bulk,
            1,
            status=422,
            code="form_param_format_invalid",
            message="b@example.com is not a valid email address.",
        )
    )
    results = invite(workspace, org_admin, ["a@example.com", "b@example.com", "c@example.com"])
    assert {e: (r.result, r.code) for e, r in results.items()} == {
        "a@example.com": ("invited", ""),
        "b@example.com": ("failed", "form_param_format_invalid"),
        "c@example.com": ("invited", ""),
    }
    assert "not a valid email address" in results["b@example.com"].message
    assert clerk_calls(clerk_emulator, "POST", bulk) == 2  # the rejected call, then the rest without b


def test_an_unnamed_rejection_is_narrowed_down_by_halves(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    bulk = bulk_path(workspace.clerk_organization_id)
    # Clerk refuses the whole chunk, then the half holding a@ alone; b@ and c@ go through together.
    clerk_emulator.faults.append(Fault("POST", bulk, 2, status=422, code="form_param_format_invalid"))
    results = invite(workspace, org_admin, ["a@example.com", "b@example.com", "c@example.com"])
    assert {e: (r.result, r.code) for e, r in results.items()} == {
        "a@example.com": ("failed", "form_param_format_invalid"),
        "b@example.com": ("invited", ""),
        "c@example.com": ("invited", ""),
    }
    assert clerk_calls(clerk_emulator, "POST", bulk) == 3


def test_a_single_refused_email_ends_failed_with_its_code(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=422, code="form_param_format_invalid")
    )
    result = invite(workspace, org_admin, ["a@example.com"])["a@example.com"]
    assert (result.result, result.code) == ("failed", "form_param_format_invalid")
    assert result.invitation is not None
    result.invitation.refresh_from_db()
    assert result.invitation.status == "failed"
    assert result.invitation.failure_reason.startswith("form_param_format_invalid")
    # a failed invitation is not open: inviting again works
    assert invite(workspace, org_admin, ["a@example.com"])["a@example.com"].result == "invited"


def test_inviter_admin_here_but_not_in_clerk_is_dropped_not_fatal(
    workspace: Workspace, clerk_session: Callable[..., ClerkSession], clerk_emulator: Emulator
) -> None:
    session = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
    user = session.user
    assert user is not None
    user.workspace_memberships.filter(workspace=workspace).update(role=WorkspaceRole.ADMIN)  # stale mirror
    results = invite(workspace, user, ["a@example.com", "b@example.com"])
    assert {r.result for r in results.values()} == {"invited"}
    for result in results.values():
        assert result.invitation is not None
        assert clerk_emulator.organization_invitations[result.invitation.clerk_invitation_id or ""].inviter_id is None


# --------------------------------------------------------------------------- Clerk's rate limit
def test_429_on_the_second_chunk_queues_its_emails_until_retry_after(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    bulk = bulk_path(workspace.clerk_organization_id)
    # The first bulk call goes through (a no-op fault), the second gets 429 with Retry-After: 30.
    clerk_emulator.faults.extend([Fault("POST", bulk, 1), Fault("POST", bulk, 1, status=429, retry_after=30)])
    emails = [f"p{i:02d}@example.com" for i in range(20)]

    started = timezone.now()
    results = invitations_create(workspace=workspace, inviter=org_admin, emails=emails, role="member")

    outcome = sorted(r.result for r in results)
    assert outcome == ["invited"] * 10 + ["queued"] * 10
    queued = WorkspaceInvitation.objects.filter(status="queued")
    assert queued.count() == 10
    for row in queued:
        assert row.retry_at is not None
        assert timedelta(seconds=29) <= row.retry_at - started <= timedelta(seconds=35)
        assert row.clerk_invitation_id is None
        assert row.failure_reason.startswith("rate_limited")
    assert all("automatically" in r.message for r in results if r.result == "queued")
    assert len(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == 10
    assert clerk_calls(clerk_emulator, "POST", bulk) == 2

    # Not yet due: nothing is sent (the immediate task backend ran the task once already, early, harmlessly).
    assert services.invitations_send_queued() == 0
    assert clerk_calls(clerk_emulator, "POST", bulk) == 2
    # Retry-After has passed.
    assert services.invitations_send_queued(now=timezone.now() + timedelta(seconds=31)) == 10
    assert WorkspaceInvitation.objects.filter(status="pending").count() == 20
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == emails
    assert all(len(ids) == 1 for ids in pending.values())
    sent = WorkspaceInvitation.objects.get(email=sorted(r.email for r in results if r.result == "queued")[0])
    assert (sent.send_count, sent.retry_at, sent.failure_reason) == (1, None, "")
    assert clerk_emulator.organization_invitations[sent.clerk_invitation_id or ""].inviter_id == org_admin.clerk_user_id


def test_every_chunk_rate_limited_returns_queued_not_an_error(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 5, status=429, retry_after=120)
    )
    results = invitations_create(
        workspace=workspace, inviter=org_admin, emails=[f"p{i}@example.com" for i in range(25)], role="member"
    )
    assert {r.result for r in results} == {"queued"}
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) <= 3
    assert "2 min" in results[0].message


# --------------------------------------------------------------------------- Clerk failing
def test_clerk_500_raises_unavailable_and_leaves_nothing_behind(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    bulk = bulk_path(workspace.clerk_organization_id)
    clerk_emulator.faults.append(Fault("POST", bulk, 1, status=500))
    with pytest.raises(clerk.ClerkUnavailable) as caught:
        invitations_create(
            workspace=workspace, inviter=org_admin, emails=["a@example.com", "b@example.com"], role="member"
        )
    assert caught.value.http_status == 503
    assert caught.value.code == "clerk_unavailable"
    assert WorkspaceInvitation.objects.count() == 0  # no orphan row
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}
    assert clerk_calls(clerk_emulator, "POST", bulk) == 1  # a 5xx is not re-sent inside the request
    assert AuditEvent.objects.filter(action="workspace_invitation.invite", outcome="failed").count() == 2
    # Clerk is back: inviting again just works.
    results = invite(workspace, org_admin, ["a@example.com", "b@example.com"])
    assert {r.result for r in results.values()} == {"invited"}


def test_clerk_refusing_our_key_raises_a_clerk_error(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=401))
    with pytest.raises(clerk.ClerkError) as caught:
        invite(workspace, org_admin, ["a@example.com"])
    assert caught.value.http_status == 502
    assert WorkspaceInvitation.objects.count() == 0


def test_one_chunk_failing_reports_per_email_and_keeps_the_others(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=503))
    emails = [f"p{i:02d}@example.com" for i in range(15)]
    results = invitations_create(workspace=workspace, inviter=org_admin, emails=emails, role="member")
    failed = [r for r in results if r.result == "failed"]
    assert len(failed) in (5, 10)
    assert all(r.code == "clerk_unavailable" for r in failed)
    assert len([r for r in results if r.result == "invited"]) == 15 - len(failed)
    assert WorkspaceInvitation.objects.count() == 15 - len(failed)
    assert len(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == 15 - len(failed)


def test_timeout_then_read_before_retry_sends_each_invitation_once(
    workspace: Workspace,
    org_admin: User,
    clerk_emulator: Emulator,
    clerk_emulator_server: EmulatorServer,
    settings: Any,
) -> None:
    settings.CLERK_TIMEOUT_MS = 500
    bulk = bulk_path(workspace.clerk_organization_id)
    # Clerk records the invitations, but only after our client gave up waiting.
    clerk_emulator.faults.append(Fault("POST", bulk, 1, delay_s=1.0))
    emails = ["a@example.com", "b@example.com", "c@example.com"]

    results = invite(workspace, org_admin, emails)
    assert clerk_emulator_server.wait_requests_answered()  # the slow first request finishes inside the emulator

    assert {r.result for r in results.values()} == {"invited"}
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == emails
    assert all(len(ids) == 1 for ids in pending.values())
    for email in emails:
        row = WorkspaceInvitation.objects.get(email=email)
        assert (row.status, row.clerk_invitation_id) == ("pending", pending[email][0])
    mails = [m.to for m in clerk_emulator.messages if m.slug == "organization_invitation"]
    assert sorted(mails) == emails  # one email each
    reads = clerk_calls(clerk_emulator, "GET", f"/v1/organizations/{workspace.clerk_organization_id}/invitations")
    assert reads == 3  # looked each address up before re-sending


def test_timeout_twice_raises_and_keeps_rows_that_reconcile(
    workspace: Workspace,
    org_admin: User,
    clerk_emulator: Emulator,
    clerk_emulator_server: EmulatorServer,
    settings: Any,
) -> None:
    settings.CLERK_TIMEOUT_MS = 500
    bulk = bulk_path(workspace.clerk_organization_id)
    clerk_emulator.faults.append(Fault("POST", bulk, 2, delay_s=1.0))
    emails = ["a@example.com", "b@example.com"]

    with pytest.raises(clerk.ClerkUnavailable) as caught:
        invite(workspace, org_admin, emails)
    assert caught.value.http_status == 503
    # Both slow requests finish in the emulator: the first created them, the second was refused.
    assert clerk_emulator_server.wait_requests_answered()

    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == emails
    assert all(len(ids) == 1 for ids in pending.values())
    rows = WorkspaceInvitation.objects.order_by("email")
    assert [(r.status, r.clerk_invitation_id) for r in rows] == [("queued", None), ("queued", None)]
    assert all(r.failure_reason.startswith("clerk_no_response") for r in rows)
    # Inviting again meanwhile: already invited (the row is kept), no Clerk call.
    calls = clerk_calls(clerk_emulator, "POST", bulk)
    assert {r.result for r in invite(workspace, org_admin, emails).values()} == {"already_invited"}
    # The background sender looks them up first and adopts them: no new POST, no duplicate.
    later = timezone.now() + timedelta(hours=2)
    assert services.invitations_send_queued(now=later) == 2
    assert clerk_calls(clerk_emulator, "POST", bulk) == calls
    for row in WorkspaceInvitation.objects.all():
        assert (row.status, row.clerk_invitation_id) == ("pending", pending[row.email][0])


# --------------------------------------------------------------------------- races
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_invites_of_one_address_make_one_invitation_and_one_clerk_call(
    clerk_workspace: Callable[..., Workspace], clerk_session: Callable[..., ClerkSession], clerk_emulator: Emulator
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serializes the whole database")
    workspace = clerk_workspace("Race")
    inviter = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN).user
    assert inviter is not None
    variants = ["ann@example.com", "Ann@Example.com", "ANN@EXAMPLE.COM", " ann@EXAMPLE.com"]
    barrier = threading.Barrier(20)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = invitations_create(
                workspace=workspace, inviter=inviter, emails=[variants[i % len(variants)]], role="member"
            )
            with lock:
                results.append(result[0].result)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(results) == ["already_invited"] * 19 + ["invited"]
    assert WorkspaceInvitation.objects.count() == 1
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 1
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {
        "ann@example.com": [WorkspaceInvitation.objects.get().clerk_invitation_id]
    }


def test_a_past_expiry_open_row_does_not_block_a_new_invitation(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    first = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert first is not None
    WorkspaceInvitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    clerk_emulator.advance_clock(8 * 86_400)  # Clerk expired it too

    second = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"]

    assert second.result == "invited"
    first.refresh_from_db()
    assert first.status == "expired"
    assert second.invitation is not None
    assert second.invitation.pk != first.pk


# --------------------------------------------------------------------------- resend
def test_resend_revokes_the_old_clerk_invitation_and_keeps_the_local_id(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    old_id, old_expiry = row.clerk_invitation_id, row.expires_at
    clerk_emulator.advance_clock(3600)

    resent = services.invitation_resend(invitation=row, actor=org_admin)

    assert resent.pk == row.pk
    assert resent.status == "pending"
    assert resent.clerk_invitation_id not in (None, old_id)
    assert resent.send_count == 2
    assert resent.expires_at > old_expiry
    assert resent.retry_at is None
    assert resent.failure_reason == ""
    assert clerk_emulator.organization_invitations[old_id or ""].status == "revoked"
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {
        "ann@example.com": [resent.clerk_invitation_id]
    }
    assert [m.to for m in clerk_emulator.messages if m.slug == "organization_invitation"] == ["ann@example.com"] * 2
    event = AuditEvent.objects.get(action="workspace_invitation.resent")
    assert event.target_id == str(row.pk)
    assert event.actor_id == org_admin.pk
    assert event.details["previous_clerk_invitation_id"] == old_id
    assert event.details["email"] == "ann@example.com"


def test_resend_only_open_invitations(workspace: Workspace, org_admin: User, clerk_emulator: Emulator) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    services.invitation_revoke(invitation=row, actor=org_admin)
    with pytest.raises(InvitationNotPending) as caught:
        services.invitation_resend(invitation=row, actor=org_admin)
    assert (caught.value.code, caught.value.http_status) == ("invitation_not_pending", 409)
    expired = invite(workspace, org_admin, ["bob@example.com"])["bob@example.com"].invitation
    assert expired is not None
    WorkspaceInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvitationNotPending):
        services.invitation_resend(invitation=expired, actor=org_admin)


def test_resend_rate_limited_raises_429_and_the_row_is_sent_later(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    old_id = row.clerk_invitation_id
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=429, retry_after=45)
    )

    with pytest.raises(clerk.ClerkRateLimited) as caught:
        services.invitation_resend(invitation=row, actor=org_admin)

    assert caught.value.http_status == 429
    assert caught.value.retry_after == 45
    row.refresh_from_db()
    assert (row.status, row.clerk_invitation_id) == ("queued", None)
    assert row.retry_at is not None
    assert row.retry_at > timezone.now() + timedelta(seconds=40)
    assert clerk_emulator.organization_invitations[old_id or ""].status == "revoked"
    assert services.invitations_send_queued(now=timezone.now() + timedelta(seconds=50)) == 1
    row.refresh_from_db()
    assert row.status == "pending"
    assert row.send_count == 2
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {
        "ann@example.com": [row.clerk_invitation_id]
    }


def test_resend_of_a_rate_limited_invitation_honours_retry_after_without_asking_clerk(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=429, retry_after=120)
    )
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    assert row.status == "queued"
    calls = len(clerk_emulator.request_log)
    with pytest.raises(clerk.ClerkRateLimited) as caught:
        services.invitation_resend(invitation=row, actor=org_admin)
    assert 100 < caught.value.retry_after <= 120
    assert len(clerk_emulator.request_log) == calls
    # Once Retry-After is over, resend sends it at once.
    WorkspaceInvitation.objects.filter(pk=row.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
    resent = services.invitation_resend(invitation=row, actor=org_admin)
    assert (resent.status, resent.send_count) == ("pending", 1)


def test_resend_when_clerk_is_down_before_revoking_changes_nothing(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    clerk_emulator.faults.append(Fault("POST", "*", 1, status=503))
    with pytest.raises(clerk.ClerkUnavailable):
        services.invitation_resend(invitation=row, actor=org_admin)
    after = WorkspaceInvitation.objects.get(pk=row.pk)
    assert (after.status, after.clerk_invitation_id, after.send_count) == ("pending", row.clerk_invitation_id, 1)
    assert after.expires_at == row.expires_at


def test_resend_of_an_invitation_accepted_in_clerk_records_the_acceptance(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    from clerk_emulator import auth, sessions
    from tests.invitations.factories import ticket_of

    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    with clerk_emulator.lock:  # the invitee signs up with the ticket; no webhook reaches us
        session = auth.sign_up(
            clerk_emulator,
            sessions.new_client(clerk_emulator),
            {
                "strategy": "ticket",
                "ticket": ticket_of(clerk_emulator, row.clerk_invitation_id or ""),
                "password": "long-enough-3",
            },
        )

    with pytest.raises(InvitationNotPending):
        services.invitation_resend(invitation=row, actor=org_admin)

    row.refresh_from_db()
    assert row.status == "accepted"
    assert row.accepted_at is not None
    assert row.accepted_by is not None
    assert row.accepted_by.clerk_user_id == session.user_id


# --------------------------------------------------------------------------- revoke
def test_revoke_revokes_in_clerk_and_locally_and_is_idempotent(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None

    revoked = services.invitation_revoke(invitation=row, actor=org_admin)

    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None
    assert (revoked.revoked_by_id, revoked.revoked_by_email) == (org_admin.pk, org_admin.email)
    assert clerk_emulator.organization_invitations[row.clerk_invitation_id or ""].status == "revoked"
    calls = len(clerk_emulator.request_log)
    again = services.invitation_revoke(invitation=row, actor=org_admin)
    assert again.status == "revoked"
    assert again.revoked_at == revoked.revoked_at
    assert len(clerk_emulator.request_log) == calls  # no Clerk call the second time
    assert AuditEvent.objects.filter(action="workspace_invitation.revoked", target_id=str(row.pk)).count() == 1


def test_revoke_by_staff_who_is_no_org_admin(workspace: Workspace, pm: User, clerk_emulator: Emulator) -> None:
    row = invite(workspace, pm, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    assert services.invitation_revoke(invitation=row, actor=pm).status == "revoked"
    assert clerk_emulator.organization_invitations[row.clerk_invitation_id or ""].status == "revoked"


def test_revoke_of_an_invitation_already_revoked_in_clerk_reconciles(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    clerk.revoke_organization_invitation(workspace.clerk_organization_id, row.clerk_invitation_id or "")
    assert services.invitation_revoke(invitation=row, actor=org_admin).status == "revoked"


def test_revoke_of_a_gone_clerk_invitation_reconciles(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    del clerk_emulator.organization_invitations[row.clerk_invitation_id or ""]
    assert services.invitation_revoke(invitation=row, actor=org_admin).status == "revoked"


def test_revoke_of_accepted_or_expired_is_not_pending(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    WorkspaceInvitation.objects.filter(pk=row.pk).update(status=InvitationStatus.ACCEPTED)
    row.refresh_from_db()
    with pytest.raises(InvitationNotPending):
        services.invitation_revoke(invitation=row, actor=org_admin)
    WorkspaceInvitation.objects.filter(pk=row.pk).update(
        status=InvitationStatus.PENDING, expires_at=timezone.now() - timedelta(seconds=1)
    )
    row.refresh_from_db()
    calls = len(clerk_emulator.request_log)
    with pytest.raises(InvitationNotPending) as caught:
        services.invitation_revoke(invitation=row, actor=org_admin)
    assert caught.value.extra == {"status": "expired"}
    assert len(clerk_emulator.request_log) == calls


def test_revoke_when_clerk_is_down_raises_and_keeps_the_invitation(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    clerk_emulator.faults.append(Fault("POST", "*", 1, status=500))
    with pytest.raises(clerk.ClerkUnavailable):
        services.invitation_revoke(invitation=row, actor=org_admin)
    row.refresh_from_db()
    assert row.status == "pending"


def test_revoke_of_a_queued_invitation_needs_no_clerk_call(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=429, retry_after=60)
    )
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    assert row.status == "queued"
    calls = len(clerk_emulator.request_log)
    assert services.invitation_revoke(invitation=row, actor=org_admin).status == "revoked"
    assert len(clerk_emulator.request_log) == calls
    assert services.invitations_send_queued(now=timezone.now() + timedelta(minutes=2)) == 0  # never sent


def test_revoke_of_an_invitation_clerk_may_hold_finds_it_and_revokes_it(
    workspace: Workspace,
    org_admin: User,
    clerk_emulator: Emulator,
    clerk_emulator_server: EmulatorServer,
    settings: Any,
) -> None:
    settings.CLERK_TIMEOUT_MS = 500
    clerk_emulator.faults.append(Fault("POST", bulk_path(workspace.clerk_organization_id), 2, delay_s=1.0))
    with pytest.raises(clerk.ClerkUnavailable):
        invite(workspace, org_admin, ["ann@example.com"])
    assert clerk_emulator_server.wait_requests_answered()
    (clerk_id,) = clerk_pending(clerk_emulator, workspace.clerk_organization_id)["ann@example.com"]
    row = WorkspaceInvitation.objects.get()
    assert (row.status, row.clerk_invitation_id) == ("queued", None)

    assert services.invitation_revoke(invitation=row, actor=org_admin).status == "revoked"

    assert clerk_emulator.organization_invitations[clerk_id].status == "revoked"  # the link is dead too


def test_resend_and_revoke_need_the_permission(
    workspace: Workspace, org_admin: User, clerk_session: Callable[..., ClerkSession]
) -> None:
    row = invite(workspace, org_admin, ["ann@example.com"])["ann@example.com"].invitation
    assert row is not None
    member = clerk_session(workspace=workspace).user
    assert member is not None
    with pytest.raises(PermissionDenied):
        services.invitation_resend(invitation=row, actor=member)
    with pytest.raises(PermissionDenied):
        services.invitation_revoke(invitation=row, actor=member)


# --------------------------------------------------------------------------- expiry
def test_invitations_expire_marks_open_rows_past_expiry(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator
) -> None:
    rows = [r.invitation for r in invite(workspace, org_admin, ["a@example.com", "b@example.com"]).values()]
    assert all(row is not None and row.effective_status == "pending" for row in rows)
    assert services.invitations_expire() == 0
    calls = len(clerk_emulator.request_log)

    assert services.invitations_expire(now=timezone.now() + timedelta(days=8)) == 2

    assert set(WorkspaceInvitation.objects.values_list("status", flat=True)) == {"expired"}
    assert len(clerk_emulator.request_log) == calls  # Clerk expires its own: no call
    assert AuditEvent.objects.filter(action="workspace_invitation.expired").count() == 2
    assert services.invitations_expire(now=timezone.now() + timedelta(days=8)) == 0


# --------------------------------------------------------------------------- audit and logs
def test_every_invite_is_audited_and_logged_without_the_link(
    workspace: Workspace, org_admin: User, clerk_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    results = invite(workspace, org_admin, ["a@example.com", "bad"])

    events = {e.details["email"]: e for e in AuditEvent.objects.filter(action="workspace_invitation.invite")}
    assert set(events) == {"a@example.com", "bad"}
    sent = events["a@example.com"]
    assert sent.outcome == "success"
    assert sent.actor_id == org_admin.pk
    assert sent.target_type == "workspace_invitation"
    assert sent.target_id == str(results["a@example.com"].invitation.pk)  # type: ignore[union-attr]
    assert sent.details["role"] == "member"
    assert sent.details["result"] == "invited"
    assert sent.details["inviter_id"] == org_admin.pk
    assert events["bad"].outcome == "failed"
    assert events["bad"].details["result"] == "invalid_email"
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"by user {org_admin.pk}" in message for message in messages)
    url = clerk_emulator.organization_invitations[results["a@example.com"].invitation.clerk_invitation_id].url  # type: ignore[union-attr,index]
    assert url
    assert not any(url in message or "ticket=" in message for message in messages)
