"""Fault matrix (issue 6 item 3; reliability.md (b) clerk_fault_429, clerk_fault_5xx, clerk_fault_timeout_ambiguous,
clerk_fault_conn_refused): every product operation that calls Clerk, times every way Clerk fails.

Faults, injected in the in-thread emulator (or, for a refused connection, by pointing the gateway at a closed port):

- ``500``: every matching Clerk call answers 500;
- ``429``: every matching call answers 429 with ``Retry-After: 30``;
- ``timeout``: every matching call is held 1.2 s, past the client timeout (``CLERK_TIMEOUT_MS`` = 800 ms here); Clerk
  still does the work after the delay, so a write's outcome is truly ambiguous to us;
- ``refused``: ``CLERK_API_URL`` points at the discard port, nothing listens.

A scenario's fault covers the whole Backend API (``/v1/*``) unless its ``scope`` narrows it to one call, which is how
the second step of a two-step operation (resend: revoke, then create) is failed on its own.

For every cell the test checks, in order:

1. the caller gets a clear answer of the right kind: HTTP 503 ``clerk_unavailable`` or 429 ``rate_limited`` with
   ``Retry-After: 30`` in the one error shape (or, for workspace invites on a 429, 200 with ``queued`` results), or
   for services called directly the gateway's ``ClerkUnavailable`` (503) / ``ClerkRateLimited`` (429, retry_after 30);
2. within the budget (a hang guard, not a performance figure): 5 x timeout + 2 s, longer only for ``clerk_sync``
   which makes one bounded read per reconciler;
3. on 429, no tight loop: at most the scenario's number of Clerk calls, and queued work waits for Retry-After;
4. nothing local half-made: the scenario's own checks (rows deleted, restored, queued or failed; users unchanged);
5. after the fault is cleared (and the delayed requests have finished inside the emulator), ``clerk_sync()`` finds
   exactly the drift listed for the cell and repairs all of it. Drift is expected only where Clerk did a write
   after our client gave up waiting (``timeout``) — that is what reconciliation is for. Then the background sender
   runs, a second ``clerk_sync()`` finds nothing, and local state equals Clerk's: every open invitation maps to one
   pending Clerk invitation and back, no email has two, every user's ban state matches.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import authentication, clerk, webhook_apply, webhook_inbox
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.exceptions import ApplicationError
from core.models import WebhookEvent
from core.reconcile import SyncReport, clerk_sync, reconcilers
from internal_users import services as staff
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from internal_users.services import inviting
from invitations import services as invitations
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services import creating
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver, new_msg_id
from tests.conftest import ClerkSession, SignedInClient

pytestmark = pytest.mark.django_db

FaultKind = Literal["500", "429", "timeout", "refused"]
FAULTS: tuple[FaultKind, ...] = ("500", "429", "timeout", "refused")

TIMEOUT_MS = 800
DELAY_S = 1.2  # how long the emulator holds a request under the `timeout` fault: past TIMEOUT_MS, with room
BUDGET_S = 5 * TIMEOUT_MS / 1000 + 2
RETRY_AFTER_S = 30
REFUSED_URL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, the connection is refused
EVERYTHING = ("*", "/v1/*")
ERROR_KEYS = {"code", "message", "extra"}
LATER = timedelta(hours=2)  # past any Retry-After or backoff: the background sender's next run


# --------------------------------------------------------------------------- the world every cell starts from
@dataclass
class World:
    em: Emulator
    server: EmulatorServer
    settings: Any
    workspace: Workspace
    ws_admin: SignedInClient  # a workspace admin, through the API
    boss: User  # a super_admin, for the staff services
    boss_client: APIClient  # the same super_admin, for the staff API
    clerk_session: Callable[..., ClerkSession]
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def admin_user(self) -> User:
        user = self.ws_admin.user
        assert user is not None
        return user


@pytest.fixture
def world(
    settings: Any,
    clerk_gateway: Emulator,
    clerk_emulator_server: EmulatorServer,
    clerk_workspace: Callable[..., Workspace],
    clerk_session: Callable[..., ClerkSession],
    signed_in: Callable[..., SignedInClient],
) -> Iterator[World]:
    settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    workspace = clerk_workspace("Acme")
    ws_admin = signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    boss_session = clerk_session(Role.SUPER_ADMIN)
    boss = boss_session.user
    assert boss is not None
    boss_client = APIClient()
    boss_client.credentials(HTTP_AUTHORIZATION=f"Bearer {boss_session.token}")
    baseline = clerk_sync()
    assert (baseline.drifts, baseline.errors) == ([], []), "the starting state must agree with Clerk"
    yield World(clerk_gateway, clerk_emulator_server, settings, workspace, ws_admin, boss, boss_client, clerk_session)
    with clerk_gateway.lock:
        clerk_gateway.faults.clear()


def inject(world: World, fault: FaultKind, scope: tuple[str, str]) -> None:
    if fault == "refused":
        world.settings.CLERK_API_URL = REFUSED_URL
        clerk.reset_client()
        return
    method, path = scope[0], scope[1].format(org=world.workspace.clerk_organization_id)
    if fault == "500":
        injected = Fault(method, path, 10_000, status=500)
    elif fault == "429":
        injected = Fault(method, path, 10_000, status=429, retry_after=RETRY_AFTER_S)
    else:
        injected = Fault(method, path, 10_000, delay_s=DELAY_S)
    with world.em.lock:
        world.em.faults.append(injected)


def clear(world: World, fault: FaultKind) -> None:
    """Clerk is back. Requests held by the delay fault still finish (and take effect) inside the emulator: wait."""
    with world.em.lock:
        world.em.faults.clear()
    if fault == "refused":
        world.settings.CLERK_API_URL = world.server.api_url
        clerk.reset_client()
    if fault == "timeout":
        assert world.server.wait_requests_answered(timeout=DELAY_S + 5)


# --------------------------------------------------------------------------- expectations
@dataclass
class Result:
    value: Any
    error: ApplicationError | None
    seconds: float


def expect_http_error(response: Any, fault: FaultKind) -> dict[str, Any]:
    """503 ``clerk_unavailable`` (500, timeout, refused) or 429 ``rate_limited`` with ``Retry-After: 30``."""
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["message"]
    if fault == "429":
        assert (response.status_code, body["code"]) == (429, "rate_limited"), body
        assert response["Retry-After"] == str(RETRY_AFTER_S)
        assert body["extra"]["retry_after"] == RETRY_AFTER_S
    else:
        assert (response.status_code, body["code"]) == (503, "clerk_unavailable"), body
    return body


def expect_clerk_error(result: Result, fault: FaultKind) -> None:
    """The gateway's error, as the API would render it: ``ClerkRateLimited`` (429, 30 s) or ``ClerkUnavailable``."""
    error = result.error
    if fault == "429":
        assert isinstance(error, clerk.ClerkRateLimited), error
        assert (error.http_status, error.retry_after) == (429, RETRY_AFTER_S)
    else:
        assert isinstance(error, clerk.ClerkUnavailable), error
        assert (error.http_status, error.code) == (503, "clerk_unavailable")
    assert error.message


def assert_consistent(world: World) -> None:
    """Local state equals Clerk's: nothing orphaned on either side, nothing duplicated."""
    em = world.em
    now = em.now_ms()
    for workspace in Workspace.objects.all():
        remote = {
            inv.id: inv.email_address
            for inv in em.organization_invitations.values()
            if inv.organization_id == workspace.clerk_organization_id
            and inv.status == "pending"
            and inv.expires_at > now
        }
        open_rows = WorkspaceInvitation.objects.filter(workspace=workspace, status__in=OPEN_STATUSES)
        assert not open_rows.filter(status=InvitationStatus.QUEUED).exists(), "the background sender left work"
        assert sorted(open_rows.values_list("clerk_invitation_id", flat=True), key=str) == sorted(remote)
        assert len(set(remote.values())) == len(remote), f"an email has two pending Clerk invitations: {remote}"
    remote_staff = {
        inv.id: inv.email_address for inv in em.invitations.values() if inv.status == "pending" and inv.expires_at > now
    }
    pending_staff = InternalInvitation.objects.filter(status=InternalInvitationStatus.PENDING)
    assert sorted(pending_staff.values_list("clerk_invitation_id", flat=True), key=str) == sorted(remote_staff)
    assert len(set(remote_staff.values())) == len(remote_staff), f"two pending staff invitations: {remote_staff}"
    # One live (pending or failed, i.e. resendable) staff invitation per address: the staff page lists it once.
    live = list(
        InternalInvitation.objects.filter(
            status__in=[InternalInvitationStatus.PENDING, InternalInvitationStatus.FAILED]
        ).values_list("email", "status")
    )
    assert len({email for email, _ in live}) == len(live), f"an address has two live staff invitations: {live}"
    remote_users = {user.id: user.banned for user in em.users.values()}
    local_users = dict(User.objects.values_list("clerk_user_id", "disabled_at"))
    assert set(local_users) == set(remote_users)
    assert {uid: disabled is not None for uid, disabled in local_users.items()} == remote_users
    memberships = {
        (m.organization_id, m.user_id)
        for m in em.memberships.values()
        if m.organization_id in set(Workspace.objects.values_list("clerk_organization_id", flat=True))
    }
    local_memberships = set(
        WorkspaceMembership.objects.values_list("workspace__clerk_organization_id", "user__clerk_user_id")
    )
    assert local_memberships == memberships


# --------------------------------------------------------------------------- scenarios
Setup = Callable[[World], None]
Act = Callable[[World], Any]
Expect = Callable[[World, FaultKind, Result], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    act: Act
    expect: Expect
    setup: Setup | None = None
    scope: tuple[str, str] = EVERYTHING
    faults: tuple[FaultKind, ...] = FAULTS
    # Run after Clerk is back, before the first clerk_sync: what the caller does next (retry, Svix redelivery).
    recover: Setup | None = None
    # (area, kind) of the drift the first clerk_sync finds (and repairs) after each fault; none when absent.
    drift: dict[FaultKind, set[tuple[str, str]]] = field(default_factory=dict)
    calls_on_429: int = 1  # Clerk calls the operation may make before giving up on a 429
    budget_s: float = BUDGET_S
    known_bugs: dict[FaultKind, str] = field(default_factory=dict)  # strict xfail, reported in docs/reliability.md


# -- workspace invitations, through the HTTP API -----------------------------------------------------------------
EMAILS = [f"p{i:02d}@example.com" for i in range(12)]  # two bulk calls (Clerk takes 10 per call), sent concurrently


def _invitations_url(world: World, suffix: str = "") -> str:
    return f"/api/workspaces/{world.workspace.pk}/invitations/{suffix}"


def _pending_invitation(world: World, email: str = "ann@example.com") -> None:
    [result] = invitations.invitations_create(
        workspace=world.workspace, inviter=world.admin_user, emails=[email], role="member"
    )
    assert result.result == "invited", result
    assert result.invitation is not None
    world.state["row"] = result.invitation
    world.state["clerk_id"] = result.invitation.clerk_invitation_id


def act_ws_invite(world: World) -> Any:
    return world.ws_admin.post(_invitations_url(world), {"emails": EMAILS, "role": "member"}, format="json")


def expect_ws_invite(world: World, fault: FaultKind, result: Result) -> None:
    response = result.value
    rows = WorkspaceInvitation.objects.filter(workspace=world.workspace)
    if fault == "429":
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert [r["result"] for r in results] == ["queued"] * len(EMAILS)
        assert {r["invitation"]["status"] for r in results} == {"queued"}
        assert rows.count() == len(EMAILS)
        # Retry-After honoured: nobody sends them before it has passed, and sending now makes no Clerk call.
        now = timezone.now()
        assert all(row.retry_at is not None and row.retry_at >= now + timedelta(seconds=25) for row in rows)
        calls = len(world.em.request_log)
        assert invitations.invitations_send_queued(now=now) == 0
        assert len(world.em.request_log) == calls
        return
    expect_http_error(response, fault)
    if fault == "500":
        assert not rows.exists()  # Clerk answered 5xx: its bulk call created nothing, so neither did we
    else:
        # No answer: Clerk may hold them. The rows stay queued and are looked up before anything is re-sent.
        assert set(rows.values_list("status", flat=True)) == {InvitationStatus.QUEUED}
        assert all(row.failure_reason.startswith(invitations.REASON_NO_RESPONSE) for row in rows)
        assert rows.count() == len(EMAILS)


def act_ws_resend(world: World) -> Any:
    return world.ws_admin.post(_invitations_url(world, f"{world.state['row'].pk}/resend/"))


def expect_ws_resend(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)
    row = WorkspaceInvitation.objects.get(pk=world.state["row"].pk)
    # Clerk was not changed (the revoke failed): the row is back as it was, on its old Clerk invitation.
    assert (row.status, row.clerk_invitation_id) == (InvitationStatus.PENDING, world.state["clerk_id"])


def expect_ws_resend_create(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)
    row = WorkspaceInvitation.objects.get(pk=world.state["row"].pk)
    # The old link is revoked; the new one could not be made: queued for the background sender, never lost.
    assert (row.status, row.clerk_invitation_id) == (InvitationStatus.QUEUED, None)
    assert row.retry_at is not None
    assert row.retry_at > timezone.now()
    assert world.em.organization_invitations[world.state["clerk_id"]].status == "revoked"


def act_ws_revoke(world: World) -> Any:
    return world.ws_admin.post(_invitations_url(world, f"{world.state['row'].pk}/revoke/"))


def expect_ws_revoke(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)
    row = WorkspaceInvitation.objects.get(pk=world.state["row"].pk)
    assert (row.status, row.clerk_invitation_id) == (InvitationStatus.PENDING, world.state["clerk_id"])


def setup_queued(world: World) -> None:
    """Two invitations queued by an earlier 429 (no fault left behind)."""
    with world.em.lock:
        world.em.faults.append(Fault("POST", "/v1/organizations/*", 1, status=429, retry_after=1))
    results = invitations.invitations_create(
        workspace=world.workspace, inviter=world.admin_user, emails=["q1@example.com", "q2@example.com"], role="member"
    )
    assert {r.result for r in results} == {"queued"}
    world.state["queued"] = [r.invitation.pk for r in results if r.invitation is not None]


def act_send_queued(world: World) -> Any:
    return invitations.invitations_send_queued(now=timezone.now() + timedelta(minutes=10))


def expect_send_queued(world: World, fault: FaultKind, result: Result) -> None:
    assert result.error is None  # a background job: it records the outcome, it does not raise
    assert result.value == 0
    rows = WorkspaceInvitation.objects.filter(pk__in=world.state["queued"])
    assert set(rows.values_list("status", flat=True)) == {InvitationStatus.QUEUED}  # kept for the next run
    later = timezone.now() + timedelta(minutes=10)
    if fault == "429":
        assert all(row.retry_at is not None and row.retry_at >= later + timedelta(seconds=25) for row in rows)
    else:
        assert all(row.retry_at is not None and row.retry_at > later for row in rows)  # capped backoff


# -- staff (internal users), through the services --------------------------------------------------------------
STAFF_EMAIL = "stan@example.com"


def _staff_invitation(world: World) -> None:
    row = staff.internal_invite(email=STAFF_EMAIL, role=Role.ADMIN, actor=world.boss)
    world.state["row"] = row
    world.state["clerk_id"] = row.clerk_invitation_id


def act_staff_invite(world: World) -> Any:
    return staff.internal_invite(email=STAFF_EMAIL, role=Role.ADMIN, actor=world.boss)


def expect_staff_invite(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    assert not InternalInvitation.objects.exists()  # nothing half-made is left behind


def act_staff_resend(world: World) -> Any:
    return staff.internal_invitation_resend(invitation=world.state["row"], actor=world.boss)


def expect_staff_resend(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    row = InternalInvitation.objects.get(pk=world.state["row"].pk)
    assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.PENDING, world.state["clerk_id"])


def expect_staff_resend_create(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    row = InternalInvitation.objects.get(pk=world.state["row"].pk)
    # The old link is revoked and no new one exists: `failed`, shown on the staff page, resendable.
    assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.FAILED, None)
    assert row.failure_reason


def act_staff_api_invite(world: World) -> Any:
    body = {"email": STAFF_EMAIL, "role": "admin"}
    return world.boss_client.post("/api/admin/internal-users/invitations/", body, format="json")


def expect_staff_api_invite(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)
    assert not InternalInvitation.objects.exists()


def act_staff_revoke(world: World) -> Any:
    return staff.internal_invitation_revoke(invitation=world.state["row"], actor=world.boss)


def expect_staff_revoke(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    row = InternalInvitation.objects.get(pk=world.state["row"].pk)
    assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.PENDING, world.state["clerk_id"])


def setup_member(world: World) -> None:
    session = world.clerk_session(Role.MEMBER, email="gina@example.com")
    world.state["target"] = session.user


def act_staff_grant(world: World) -> Any:
    return staff.staff_role_grant(email="gina@example.com", role=Role.PM, actor=world.boss)


def expect_staff_grant(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    user = User.objects.get(pk=world.state["target"].pk)
    assert (user.role, user.is_internal) == (Role.MEMBER, False)


def setup_staff_user(world: World) -> None:
    session = world.clerk_session(Role.ADMIN, email="sam@example.com")
    world.state["target"] = session.user


def setup_deactivated_staff_user(world: World) -> None:
    setup_staff_user(world)
    staff.staff_user_deactivate(user=world.state["target"], actor=world.boss)


def act_staff_deactivate(world: World) -> Any:
    return staff.staff_user_deactivate(user=world.state["target"], actor=world.boss)


def expect_staff_deactivate(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    assert User.objects.get(pk=world.state["target"].pk).disabled_at is None


def act_staff_api_deactivate(world: World) -> Any:
    return world.boss_client.post(f"/api/admin/internal-users/{world.state['target'].clerk_user_id}/deactivate/")


def expect_staff_api_deactivate(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)
    assert User.objects.get(pk=world.state["target"].pk).disabled_at is None


def act_staff_reactivate(world: World) -> Any:
    return staff.staff_user_reactivate(user=world.state["target"], actor=world.boss)


def expect_staff_reactivate(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    assert User.objects.get(pk=world.state["target"].pk).disabled_at is not None


def act_staff_remove(world: World) -> Any:
    return staff.staff_user_remove(user=world.state["target"], actor=world.boss)


def expect_staff_remove(world: World, fault: FaultKind, result: Result) -> None:
    expect_clerk_error(result, fault)
    assert User.objects.filter(pk=world.state["target"].pk).exists()


def act_staff_email(world: World) -> Any:
    row = InternalInvitation.objects.get(pk=world.state["row"].pk)
    return staff.invitation_email_send(invitation_id=row.pk, send_number=row.send_count)


def expect_staff_email(world: World, fault: FaultKind, result: Result) -> None:
    assert result.error is None  # a task: recorded on the row, never raised (no blind retry)
    assert result.value == "failed"
    assert not mail.outbox
    row = InternalInvitation.objects.get(pk=world.state["row"].pk)
    assert (row.status, row.email_status) == (InternalInvitationStatus.PENDING, EmailDelivery.FAILED)


def recover_staff_email(world: World) -> None:
    assert act_staff_email(world) == "sent"  # the admin's next send works
    assert [message.to for message in mail.outbox] == [[STAFF_EMAIL]]


# -- session authentication --------------------------------------------------------------------------------------
def _members_url(world: World) -> str:
    return f"/api/workspaces/{world.workspace.pk}/members/"


def setup_unknown_user(world: World) -> None:
    """A valid session token of someone we have never seen (their user.created webhook is still on its way)."""
    session = world.clerk_session(mirror=False, email="newbie@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")
    world.state.update(client=client, clerk_user_id=session.clerk_user.id)


def act_first_request(world: World) -> Any:
    return world.state["client"].get(_members_url(world))


def expect_first_request(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)  # not 401: nobody is signed out by an outage
    assert not User.objects.filter(clerk_user_id=world.state["clerk_user_id"]).exists()


def recover_first_request(world: World) -> None:
    response = act_first_request(world)
    assert response.status_code == 404, response.content  # signed in; not a member of that workspace
    assert User.objects.filter(clerk_user_id=world.state["clerk_user_id"]).count() == 1


def setup_jwks(world: World) -> None:
    world.settings.CLERK_JWT_KEY = ""  # verify through the JWKS fetched from Clerk
    authentication.reset_caches()


def act_jwks(world: World) -> Any:
    return world.ws_admin.get(_invitations_url(world))


def expect_jwks(world: World, fault: FaultKind, result: Result) -> None:
    expect_http_error(result.value, fault)


def recover_jwks(world: World) -> None:
    # The failed fetch is not retried for JWKS_RETRY_AFTER_FAILURE_S (5 s); stand in for that wait.
    authentication.reset_caches()
    assert act_jwks(world).status_code == 200


# -- a webhook handler that fetches a user we have not seen --------------------------------------------------------
def setup_membership_event(world: World) -> None:
    driver = ClerkDriver(world.em, world.server)
    try:
        user = driver.create_user("wendy@example.com")
        driver.events()
        driver.add_member(world.workspace.clerk_organization_id, user["id"])
        envelope = driver.event("organizationMembership.created")
    finally:
        driver.close()
    world.state.update(envelope=envelope, msg_id=new_msg_id(), clerk_user_id=user["id"])


def act_webhook(world: World) -> Any:
    return deliver(Client(), world.state["envelope"], msg_id=world.state["msg_id"])


def expect_webhook(world: World, fault: FaultKind, result: Result) -> None:
    response = result.value
    assert response.status_code == 200, response.content  # stored and acknowledged: the inbox keeps it, not Svix
    assert response.json()["status"] == "received"
    event = WebhookEvent.objects.get(svix_id=world.state["msg_id"])
    assert event.status == WebhookEvent.Status.PARKED  # the immediate backend cannot wait: tried, retried, parked
    # Retried once at once, except after a 429: Clerk's rate limit is not hit again without waiting.
    assert event.attempts == (1 if fault == "429" else webhook_apply.IMMEDIATE_ATTEMPTS)
    assert event.last_error
    assert not User.objects.filter(clerk_user_id=world.state["clerk_user_id"]).exists()  # each attempt rolled back


def recover_webhook(world: World) -> None:
    """Svix's redelivery is a duplicate; the operator replays the parked event once Clerk is back: applied once."""
    assert act_webhook(world).json()["status"] == "duplicate"
    event = webhook_inbox.replay_event(event=WebhookEvent.objects.get(svix_id=world.state["msg_id"]))
    assert event.status == WebhookEvent.Status.APPLIED, event.last_error
    assert act_webhook(world).json()["status"] == "duplicate"
    assert WebhookEvent.objects.filter(svix_id=world.state["msg_id"]).count() == 1
    user = User.objects.get(clerk_user_id=world.state["clerk_user_id"])
    assert WorkspaceMembership.objects.filter(workspace=world.workspace, user=user).count() == 1


# -- clerk_sync itself -------------------------------------------------------------------------------------------
def setup_sync(world: World) -> None:
    _pending_invitation(world)
    _staff_invitation(world)
    world.state["counts"] = _local_counts()


def _local_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "disabled": User.objects.filter(disabled_at__isnull=False).count(),
        "workspaces": Workspace.objects.count(),
        "memberships": WorkspaceMembership.objects.count(),
        "open_invitations": WorkspaceInvitation.objects.filter(status__in=OPEN_STATUSES).count(),
        "staff_invitations": InternalInvitation.objects.filter(status=InternalInvitationStatus.PENDING).count(),
    }


def act_sync(world: World) -> SyncReport:
    return clerk_sync()


def expect_sync(world: World, fault: FaultKind, result: Result) -> None:
    report: SyncReport = result.value
    assert result.error is None
    assert report.ran
    # Every reconciler stopped at its first list; nothing was read as "gone from Clerk", so nothing was deleted.
    assert len(report.errors) == len(reconcilers()), report.errors
    assert report.drifts == []
    assert _local_counts() == world.state["counts"]


SYNC_BUDGET_S = len(reconcilers()) * (clerk.READ_RETRY_BUDGET_S + 2 * TIMEOUT_MS / 1000) + 2

SCENARIOS = [
    Scenario(
        "ws_invite",
        act_ws_invite,
        expect_ws_invite,
        drift={"timeout": {("workspace_invitations", "missing_locally")}},
        calls_on_429=2,
    ),
    Scenario(
        "ws_resend",
        act_ws_resend,
        expect_ws_resend,
        setup=_pending_invitation,
        drift={"timeout": {("workspace_invitations", "revoked_in_clerk")}},
    ),
    Scenario(
        "ws_resend_create_step",
        act_ws_resend,
        expect_ws_resend_create,
        setup=_pending_invitation,
        scope=("POST", "/v1/organizations/{org}/invitations/bulk"),
        faults=("500", "429", "timeout"),
        drift={"timeout": {("workspace_invitations", "missing_locally")}},
        calls_on_429=2,
    ),
    Scenario(
        "ws_revoke",
        act_ws_revoke,
        expect_ws_revoke,
        setup=_pending_invitation,
        drift={"timeout": {("workspace_invitations", "revoked_in_clerk")}},
    ),
    Scenario(
        "ws_send_queued",
        act_send_queued,
        expect_send_queued,
        setup=setup_queued,
        drift={"timeout": {("workspace_invitations", "missing_locally")}},
    ),
    Scenario(
        "staff_invite",
        act_staff_invite,
        expect_staff_invite,
        drift={"timeout": {("staff_invitations", "missing_locally")}},
    ),
    Scenario(
        "staff_api_invite",
        act_staff_api_invite,
        expect_staff_api_invite,
        drift={"timeout": {("staff_invitations", "missing_locally")}},
    ),
    Scenario(
        "staff_resend",
        act_staff_resend,
        expect_staff_resend,
        setup=_staff_invitation,
        drift={"timeout": {("staff_invitations", "revoked_in_clerk")}},
    ),
    Scenario(
        "staff_resend_create_step",
        act_staff_resend,
        expect_staff_resend_create,
        setup=_staff_invitation,
        scope=("POST", "/v1/invitations"),
        faults=("500", "429", "timeout"),
        drift={"timeout": {("staff_invitations", "missing_locally")}},
        calls_on_429=2,
    ),
    Scenario(
        "staff_revoke",
        act_staff_revoke,
        expect_staff_revoke,
        setup=_staff_invitation,
        drift={"timeout": {("staff_invitations", "revoked_in_clerk")}},
    ),
    Scenario("staff_role_grant", act_staff_grant, expect_staff_grant, setup=setup_member),
    Scenario(
        "staff_role_grant_write_step",
        act_staff_grant,
        expect_staff_grant,
        setup=setup_member,
        scope=("PATCH", "/v1/users/*"),
        faults=("500", "429", "timeout"),
        drift={"timeout": {("users", "role_metadata_differs")}},
        calls_on_429=2,
    ),
    Scenario(
        "staff_deactivate",
        act_staff_deactivate,
        expect_staff_deactivate,
        setup=setup_staff_user,
        drift={"timeout": {("users", "out_of_date")}},
    ),
    Scenario(
        "staff_api_deactivate",
        act_staff_api_deactivate,
        expect_staff_api_deactivate,
        setup=setup_staff_user,
        drift={"timeout": {("users", "out_of_date")}},
    ),
    Scenario(
        "staff_reactivate",
        act_staff_reactivate,
        expect_staff_reactivate,
        setup=setup_deactivated_staff_user,
        drift={"timeout": {("users", "out_of_date")}},
    ),
    Scenario(
        "staff_remove",
        act_staff_remove,
        expect_staff_remove,
        setup=setup_staff_user,
        drift={"timeout": {("users", "deleted_in_clerk")}},
    ),
    Scenario(
        "staff_invitation_email",
        act_staff_email,
        expect_staff_email,
        setup=_staff_invitation,
        recover=recover_staff_email,
    ),
    Scenario(
        "auth_first_request",
        act_first_request,
        expect_first_request,
        setup=setup_unknown_user,
        recover=recover_first_request,
    ),
    Scenario("auth_jwks_fetch", act_jwks, expect_jwks, setup=setup_jwks, recover=recover_jwks),
    Scenario(
        "webhook_fetches_user",
        act_webhook,
        expect_webhook,
        setup=setup_membership_event,
        recover=recover_webhook,
    ),
    Scenario(
        "clerk_sync",
        act_sync,
        expect_sync,
        setup=setup_sync,
        calls_on_429=len(reconcilers()),
        budget_s=SYNC_BUDGET_S,
    ),
]


def _marks(scenario: Scenario, fault: FaultKind) -> list[pytest.MarkDecorator]:
    if fault in scenario.known_bugs:
        return [pytest.mark.xfail(strict=True, reason=scenario.known_bugs[fault])]
    return []


CELLS = [
    pytest.param(scenario, fault, id=f"{scenario.name}-{fault}", marks=_marks(scenario, fault))
    for scenario in SCENARIOS
    for fault in scenario.faults
]


# --------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize(("scenario", "fault"), CELLS)
def test_clerk_fault(world: World, scenario: Scenario, fault: FaultKind) -> None:
    if scenario.setup is not None:
        scenario.setup(world)
    calls_before = len(world.em.request_log)
    inject(world, fault, scenario.scope)

    started = time.monotonic()
    try:
        result = Result(scenario.act(world), None, 0.0)
    except ApplicationError as exc:  # our errors only: anything else is a bug and fails the test as it is
        result = Result(None, exc, 0.0)
    result.seconds = time.monotonic() - started
    calls = len(world.em.request_log) - calls_before

    assert result.seconds < scenario.budget_s, f"took {result.seconds:.2f}s (budget {scenario.budget_s:.1f}s)"
    scenario.expect(world, fault, result)
    if fault == "429":
        assert 1 <= calls <= scenario.calls_on_429, f"{calls} Clerk calls on a 429: a retry loop?"

    clear(world, fault)
    if scenario.recover is not None:
        scenario.recover(world)
    first = clerk_sync()
    assert first.errors == []
    assert first.unrepaired == [], first.unrepaired
    assert {(drift.area, drift.kind) for drift in first.drifts} == scenario.drift.get(fault, set()), first.drifts
    invitations.invitations_send_queued(now=timezone.now() + LATER)  # the background sender's next run
    second = clerk_sync()
    assert (second.drifts, second.errors) == ([], [])
    assert_consistent(world)


def test_clerk_sync_command_fails_loudly_while_clerk_is_down(world: World) -> None:
    """Operators see the outage: exit status 1 and one error line per reconciler, nothing repaired or deleted."""
    counts = _local_counts()
    inject(world, "500", EVERYTHING)
    errors = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("clerk_sync", stdout=io.StringIO(), stderr=errors)
    assert exited.value.code == 1
    assert errors.getvalue().count("error:") == len(reconcilers())
    assert _local_counts() == counts


# --------------------------------------------------------------------------- crashes (outbox_crash_recovery)
# The process dies between the local commit and Clerk's answer being saved. What is left must converge: every open
# row ends linked to exactly one Clerk invitation (or is sent), and no Clerk invitation stays without a row.
CRASH_EMAILS = ["c1@example.com", "c2@example.com"]


class ProcessKilled(BaseException):
    """Stands for the worker being killed: not an Exception, so no handler in the product catches it."""


def _kill(*args: Any, **kwargs: Any) -> Any:
    raise ProcessKilled


def _sent_by_clerk(world: World, email: str) -> int:
    return sum(1 for m in world.em.messages if m.slug == "organization_invitation" and m.to == email)


@pytest.mark.parametrize("recovery", ["clerk_sync_first", "sender_first"])
@pytest.mark.parametrize("moment", ["before_the_clerk_call", "after_the_clerk_call"])
def test_workspace_invite_crash_converges(
    world: World, monkeypatch: pytest.MonkeyPatch, moment: str, recovery: str
) -> None:
    target = "_send_to_clerk" if moment == "before_the_clerk_call" else "_apply_outcomes"
    with monkeypatch.context() as patched:
        patched.setattr(creating, target, _kill)
        with pytest.raises(ProcessKilled):
            invitations.invitations_create(
                workspace=world.workspace, inviter=world.admin_user, emails=CRASH_EMAILS, role="member"
            )
    rows = WorkspaceInvitation.objects.filter(email__in=CRASH_EMAILS)
    assert [(row.status, row.clerk_invitation_id) for row in rows] == [(InvitationStatus.QUEUED, None)] * 2
    created = moment == "after_the_clerk_call"
    assert all(len(emulator_pending(world, email)) == int(created) for email in CRASH_EMAILS)

    after_the_lease = timezone.now() + invitations.SEND_LEASE + timedelta(seconds=1)
    if recovery == "clerk_sync_first":
        first = clerk_sync()
        expected = {("workspace_invitations", "missing_locally")} if created else set()
        assert {(drift.area, drift.kind) for drift in first.drifts} == expected
        assert first.unrepaired == []
    invitations.invitations_send_queued(now=after_the_lease)
    final = clerk_sync()
    assert (final.drifts, final.errors) == ([], [])
    assert_consistent(world)
    for email in CRASH_EMAILS:
        assert _sent_by_clerk(world, email) == 1  # one invitation, one email: nothing sent twice


def emulator_pending(world: World, email: str) -> list[str]:
    now = world.em.now_ms()
    return [
        inv.id
        for inv in world.em.organization_invitations.values()
        if inv.email_address == email and inv.status == "pending" and inv.expires_at > now
    ]


@pytest.mark.parametrize(
    "moment",
    ["before_the_clerk_call", "after_the_clerk_call"],
)
def test_staff_invite_crash_converges(world: World, monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    target = "_create_in_clerk" if moment == "before_the_clerk_call" else "_record_created"
    with monkeypatch.context() as patched:
        patched.setattr(inviting, target, _kill)
        with pytest.raises(ProcessKilled):
            staff.internal_invite(email=STAFF_EMAIL, role=Role.ADMIN, actor=world.boss)
    row = InternalInvitation.objects.get(email=STAFF_EMAIL)
    assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.PENDING, None)
    # The crash happened a while ago: past the grace that keeps clerk_sync off invites still in flight.
    InternalInvitation.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=15))

    first = clerk_sync()
    assert first.unrepaired == [], first.unrepaired
    assert first.drifts != [], "the half-made invitation must at least be reported"
    second = clerk_sync()
    assert (second.drifts, second.errors) == ([], [])
    assert_consistent(world)
    row.refresh_from_db()
    assert row.clerk_invitation_id is not None or row.status != InternalInvitationStatus.PENDING
