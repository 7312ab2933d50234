"""The workspace invitation API (invitations/api/): behaviour, authorization, IDOR, rate limits, Clerk outages, CSRF.

Everything runs for real: session tokens from the in-thread Clerk emulator, the real services and gateway, the
emulator's own bookkeeping to count what reached Clerk. Nothing is mocked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent
from invitations import services
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.conftest import SignedInClient

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "extra"}
INVITATION_KEYS = {
    "id",
    "email",
    "role",
    "status",
    "expires_at",
    "last_sent_at",
    "send_count",
    "created_at",
    "inviter",
    "accepted_at",
    "revoked_at",
    "failure_reason",
}


# --------------------------------------------------------------------------- helpers
def invitations_url(workspace_id: object) -> str:
    return f"/api/workspaces/{workspace_id}/invitations/"


def action_url(workspace_id: object, invitation_id: object, action: str) -> str:
    return f"/api/workspaces/{workspace_id}/invitations/{invitation_id}/{action}/"


def members_url(workspace_id: object) -> str:
    return f"/api/workspaces/{workspace_id}/members/"


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str)
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def clerk_calls(emulator: Emulator, method: str, path_part: str) -> int:
    return sum(1 for m, path, _status in emulator.request_log if m == method and path_part in path)


def invite_calls(emulator: Emulator) -> int:
    """Calls that create Clerk organization invitations (single or bulk)."""
    return sum(
        1
        for method, path, _status in emulator.request_log
        if method == "POST"
        and path.startswith("/v1/organizations/")
        and path.rstrip("/").endswith(("invitations", "bulk"))
    )


@pytest.fixture(autouse=True)
def own_rate_limit_counters(settings: Any) -> None:
    """Each test counts from zero, in locmem or Redis alike, without flushing anyone else's keys."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test:{uuid.uuid4().hex}:"


@pytest.fixture
def other_workspace(clerk_workspace: Callable[..., Workspace]) -> Workspace:
    return clerk_workspace("Globex")


@pytest.fixture
def ws_admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Ada")


@pytest.fixture
def ws_member(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER)


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def invite(client: APIClient, workspace: Workspace, *emails: str, role: str = "member") -> Any:
    return client.post(invitations_url(workspace.pk), {"emails": list(emails), "role": role}, format="json")


def make_invitation(workspace: Workspace, inviter: Any, email: str) -> WorkspaceInvitation:
    """An open invitation made by the service (through the emulator), as a real invite would."""
    [result] = services.invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.result == "invited", result
    assert result.invitation is not None
    return result.invitation


# --------------------------------------------------------------------------- create
class TestInvite:
    def test_invites_and_returns_one_result_per_email(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        response = invite(ws_admin, workspace, "Ann@Example.com", "bob@example.com", role="admin")

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "summary"}
        assert [(r["email"], r["result"]) for r in body["results"]] == [
            ("ann@example.com", "invited"),
            ("bob@example.com", "invited"),
        ]
        assert body["summary"] == {
            "invited": 2,
            "already_member": 0,
            "already_invited": 0,
            "invalid_email": 0,
            "queued": 0,
            "failed": 0,
            "revoked": 0,
        }
        first = body["results"][0]
        assert set(first) == {"email", "result", "message", "code", "invitation"}
        assert set(first["invitation"]) == INVITATION_KEYS
        assert first["invitation"]["status"] == "pending"
        assert first["invitation"]["role"] == "admin"
        assert first["invitation"]["send_count"] == 1
        assert first["invitation"]["inviter"] == {
            "email": user_of(ws_admin).email,
            "name": user_of(ws_admin).full_name,
        }
        # Nothing Clerk-internal leaks: no Clerk id, URL or ticket anywhere in the answer.
        text = response.content.decode()
        for invitation in WorkspaceInvitation.objects.all():
            assert invitation.clerk_invitation_id
            assert invitation.clerk_invitation_id not in text
        assert "ticket" not in text
        assert "url" not in text.replace("image_url", "")
        assert {i.email for i in WorkspaceInvitation.objects.filter(workspace=workspace)} == {
            "ann@example.com",
            "bob@example.com",
        }

    def test_surfaces_every_per_email_result(
        self,
        ws_admin: SignedInClient,
        workspace: Workspace,
        signed_in: Callable[..., SignedInClient],
        clerk_gateway: Emulator,
    ) -> None:
        member = signed_in(Role.MEMBER, workspace=workspace, email="member@example.com")
        make_invitation(workspace, user_of(ws_admin), "pending@example.com")

        response = invite(
            ws_admin,
            workspace,
            "new@example.com",
            "NEW@example.com",  # folded into the first
            (user_of(member).email or ""),
            "Pending@Example.com",
            "not an email",
        )

        assert response.status_code == 200, response.content
        results = {r["email"]: r for r in response.json()["results"]}
        assert {email: r["result"] for email, r in results.items()} == {
            "new@example.com": "invited",
            "member@example.com": "already_member",
            "pending@example.com": "already_invited",
            "not an email": "invalid_email",
        }
        assert results["new@example.com"]["invitation"]["status"] == "pending"
        assert results["pending@example.com"]["invitation"]["email"] == "pending@example.com"
        assert all(r["message"] for r in results.values())
        summary = response.json()["summary"]
        assert (summary["invited"], summary["already_member"], summary["already_invited"]) == (1, 1, 1)
        assert summary["invalid_email"] == 1

    def test_clerk_rejection_is_a_failed_result_with_clerks_code(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(
            Fault("POST", "/v1/organizations/*", 5, status=422, code="form_param_format_invalid", message="Nope")
        )
        response = invite(ws_admin, workspace, "x@example.com")
        assert response.status_code == 200, response.content
        [result] = response.json()["results"]
        assert result["result"] == "failed"
        assert result["code"]

    def test_clerk_rate_limit_queues_the_emails(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 5, status=429, retry_after=30))
        response = invite(ws_admin, workspace, "later@example.com")
        assert response.status_code == 200, response.content
        [result] = response.json()["results"]
        assert result["result"] == "queued"
        assert result["invitation"]["status"] == "queued"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"role": "member"}, "emails"),
            ({"emails": [], "role": "member"}, "emails"),
            ({"emails": [f"p{i}@example.com" for i in range(101)], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com"] * 101, "role": "member"}, "emails"),
            ({"emails": [""], "role": "member"}, "emails"),
            ({"emails": [True], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com\n"], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com\t"], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com\u2028"], "role": "member"}, "emails"),
            ({"emails": "ann@example.com", "role": "member"}, "emails"),
            ({"emails": [1, 2], "role": "member"}, "emails"),
            ({"emails": [None], "role": "member"}, "emails"),
            ({"emails": ["a" * 310 + "@example.com"], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com\r\nBcc: all@example.com"], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com\nbob@example.com"], "role": "member"}, "emails"),
            ({"emails": ["ann@exa\x00mple.com"], "role": "member"}, "emails"),
            ({"emails": ["ann@example.com"]}, "role"),
            ({"emails": ["ann@example.com"], "role": "owner"}, "role"),
            ({"emails": ["ann@example.com"], "role": "super_admin"}, "role"),
            ({"emails": ["ann@example.com"], "role": "org:admin"}, "role"),
            (
                {"emails": ["ann@example.com"], "role": "member", "public_metadata": {"role": "super_admin"}},
                "public_metadata",
            ),
            ({"emails": ["ann@example.com"], "role": "member", "workspace": 99}, "workspace"),
        ],
    )
    def test_invalid_input_is_400_and_reaches_no_clerk(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, body: Any, field: str
    ) -> None:
        before = len(clerk_gateway.request_log)
        response = ws_admin.post(invitations_url(workspace.pk), body, format="json")
        error = assert_error(response, 400, "invalid")
        assert field in error["extra"]["fields"]
        assert len(clerk_gateway.request_log) == before
        assert not WorkspaceInvitation.objects.exists()

    def test_duplicates_are_folded_into_one_result(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        emails = [variant for i in range(50) for variant in (f"p{i}@example.com", f" P{i}@EXAMPLE.com ")]
        response = invite(ws_admin, workspace, *emails)
        assert response.status_code == 200, response.content
        assert response.json()["summary"]["invited"] == 50
        assert len(response.json()["results"]) == 50

    def test_blank_entries_only_is_400_no_emails(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        assert_error(invite(ws_admin, workspace, "  ", " "), 400, "no_emails")

    @pytest.mark.parametrize(
        ("content", "content_type", "status", "code"),
        [
            (b"{not json", "application/json", 400, "parse_error"),
            (b"[1, 2]", "application/json", 400, "invalid"),
            (b"null", "application/json", 400, "invalid"),
            (b"emails=a%40example.com&role=member", "application/x-www-form-urlencoded", 415, None),
        ],
    )
    def test_malformed_bodies_are_4xx_in_the_one_shape(
        self, ws_admin: SignedInClient, workspace: Workspace, content: bytes, content_type: str, status: int, code: str
    ) -> None:
        response = ws_admin.generic("POST", invitations_url(workspace.pk), content.decode(), content_type=content_type)
        assert_error(response, status, code)

    def test_clerk_outage_on_the_bulk_call_is_a_clear_503_and_leaves_nothing_behind(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 100, status=500))

        response = invite(ws_admin, workspace, "ann@example.com", "bob@example.com")

        assert_error(response, 503, "clerk_unavailable")
        assert not WorkspaceInvitation.objects.exists()  # Clerk's 5xx created nothing, so neither do we
        assert not clerk_gateway.organization_invitations

    def test_clerk_unreachable_is_503_and_nothing_is_pending(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.CLERK_API_URL = "http://127.0.0.1:9/v1"  # the discard port: connection refused

        response = invite(ws_admin, workspace, "ann@example.com")

        assert_error(response, 503, "clerk_unavailable")
        # No answer at all is ambiguous: the row may stay queued, to be checked against Clerk before any resend.
        assert set(WorkspaceInvitation.objects.values_list("status", flat=True)) <= {InvitationStatus.QUEUED}


# --------------------------------------------------------------------------- list
class TestList:
    def test_lists_newest_first_with_effective_status(
        self, ws_admin: SignedInClient, workspace: Workspace, other_workspace: Workspace, clerk_session: Any
    ) -> None:
        first = make_invitation(workspace, user_of(ws_admin), "first@example.com")
        second = make_invitation(workspace, user_of(ws_admin), "second@example.com")
        WorkspaceInvitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        make_invitation(other_workspace, clerk_session(Role.SUPER_ADMIN).user, "elsewhere@example.com")

        response = ws_admin.get(invitations_url(workspace.pk))

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 2
        assert [(i["id"], i["status"]) for i in body["results"]] == [
            (second.pk, "pending"),
            (first.pk, "expired"),  # past expiry: expired, whatever the row says
        ]
        assert set(body["results"][0]) == INVITATION_KEYS

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("pending", {"pending@example.com"}),
            ("open", {"pending@example.com"}),
            ("expired", {"expired@example.com"}),
            ("revoked", {"revoked@example.com"}),
            ("accepted", set()),
            ("queued", set()),
            ("failed", set()),
            (None, {"pending@example.com", "expired@example.com", "revoked@example.com"}),
        ],
    )
    def test_filters_by_effective_status(
        self, ws_admin: SignedInClient, workspace: Workspace, status: str | None, expected: set[str]
    ) -> None:
        make_invitation(workspace, user_of(ws_admin), "pending@example.com")
        expired = make_invitation(workspace, user_of(ws_admin), "expired@example.com")
        WorkspaceInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        revoked = make_invitation(workspace, user_of(ws_admin), "revoked@example.com")
        services.invitation_revoke(invitation=revoked, actor=user_of(ws_admin))

        response = ws_admin.get(invitations_url(workspace.pk), {"status": status} if status else {})

        assert response.status_code == 200, response.content
        assert {i["email"] for i in response.json()["results"]} == expected
        assert all(i["status"] == status for i in response.json()["results"] if status and status != "open")

    def test_unknown_status_is_400(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        error = assert_error(ws_admin.get(invitations_url(workspace.pk), {"status": "bogus"}), 400, "invalid")
        assert "status" in error["extra"]["fields"]

    def test_paginates(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        response = invite(ws_admin, workspace, *[f"p{i}@example.com" for i in range(5)])
        assert response.status_code == 200

        page1 = ws_admin.get(invitations_url(workspace.pk), {"page_size": 2}).json()
        page3 = ws_admin.get(invitations_url(workspace.pk), {"page_size": 2, "page": 3}).json()

        assert page1["count"] == 5
        assert len(page1["results"]) == 2
        assert page1["next"]
        assert page1["previous"] is None
        assert len(page3["results"]) == 1
        assert page3["next"] is None
        assert_error(ws_admin.get(invitations_url(workspace.pk), {"page": 9}), 404, "not_found")

    def test_query_count_does_not_grow_with_rows(
        self, ws_admin: SignedInClient, workspace: Workspace, django_assert_max_num_queries: Any
    ) -> None:
        invite(ws_admin, workspace, *[f"p{i}@example.com" for i in range(12)])
        with django_assert_max_num_queries(8):
            response = ws_admin.get(invitations_url(workspace.pk))
        assert response.json()["count"] == 12


# --------------------------------------------------------------------------- resend / revoke
class TestResendAndRevoke:
    def test_resend_replaces_the_clerk_invitation_and_keeps_the_id(
        self, ws_admin: SignedInClient, workspace: Workspace
    ) -> None:
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")
        old_clerk_id = invitation.clerk_invitation_id

        response = ws_admin.post(action_url(workspace.pk, invitation.pk, "resend"))

        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == INVITATION_KEYS
        assert (body["id"], body["status"], body["send_count"]) == (invitation.pk, "pending", 2)
        invitation.refresh_from_db()
        assert invitation.clerk_invitation_id != old_clerk_id

    def test_revoke_revokes_and_is_idempotent(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")

        response = ws_admin.post(action_url(workspace.pk, invitation.pk, "revoke"))

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "revoked"
        assert response.json()["revoked_at"]
        assert clerk_gateway.organization_invitations[invitation.clerk_invitation_id or ""].status == "revoked"
        again = ws_admin.post(action_url(workspace.pk, invitation.pk, "revoke"))
        assert again.status_code == 200, again.content
        assert again.json()["status"] == "revoked"

    def test_resend_of_a_revoked_invitation_is_409(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")
        services.invitation_revoke(invitation=invitation, actor=user_of(ws_admin))
        assert_error(ws_admin.post(action_url(workspace.pk, invitation.pk, "resend")), 409, "invitation_not_pending")

    @pytest.mark.parametrize("action", ["resend", "revoke"])
    def test_an_expired_or_accepted_invitation_is_409(
        self, ws_admin: SignedInClient, workspace: Workspace, action: str
    ) -> None:
        expired = make_invitation(workspace, user_of(ws_admin), "old@example.com")
        WorkspaceInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        accepted = make_invitation(workspace, user_of(ws_admin), "in@example.com")
        WorkspaceInvitation.objects.filter(pk=accepted.pk).update(
            status=InvitationStatus.ACCEPTED, accepted_at=timezone.now()
        )
        for invitation in (expired, accepted):
            response = ws_admin.post(action_url(workspace.pk, invitation.pk, action))
            assert_error(response, 409, "invitation_not_pending")

    def test_clerk_outage_on_resend_is_5xx_and_changes_nothing(
        self, ws_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")
        clerk_gateway.faults.append(Fault("*", "/v1/organizations/*", 100, status=500))

        response = ws_admin.post(action_url(workspace.pk, invitation.pk, "resend"))

        body = assert_error(response, response.status_code)
        assert response.status_code in (502, 503)
        assert body["code"] in ("clerk_error", "clerk_unavailable")
        invitation.refresh_from_db()
        assert invitation.effective_status == InvitationStatus.PENDING


# --------------------------------------------------------------------------- members
class TestMembers:
    def test_lists_members_with_their_workspace_role(
        self, ws_admin: SignedInClient, ws_member: SignedInClient, workspace: Workspace
    ) -> None:
        response = ws_member.get(members_url(workspace.pk))

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 2
        rows = {row["email"]: row for row in body["results"]}
        assert set(rows) == {user_of(ws_admin).email, user_of(ws_member).email}
        admin_row = rows[user_of(ws_admin).email]
        assert set(admin_row) == {"user_id", "clerk_user_id", "email", "name", "image_url", "role", "joined_at"}
        assert (admin_row["user_id"], admin_row["role"], admin_row["name"]) == (
            user_of(ws_admin).pk,
            "admin",
            user_of(ws_admin).full_name,
        )
        assert rows[user_of(ws_member).email]["role"] == "member"


# --------------------------------------------------------------------------- authorization matrix
ENDPOINTS = ["list", "create", "resend", "revoke", "members"]
CALLERS = ["anonymous", "member", "admin_of_other_workspace", "workspace_admin", "pm", "admin", "super_admin"]
# Expected status per endpoint (row) and caller (column), in the order of CALLERS.
MATRIX: dict[str, tuple[int, ...]] = {
    #          anon  member other_admin ws_admin  pm   admin super_admin
    "list": (401, 403, 404, 200, 200, 200, 200),
    "create": (401, 403, 404, 200, 200, 200, 200),
    "resend": (401, 403, 404, 200, 200, 200, 200),
    "revoke": (401, 403, 404, 200, 200, 200, 200),
    "members": (401, 200, 404, 200, 200, 200, 200),
}
CELLS = [(endpoint, caller, MATRIX[endpoint][i]) for endpoint in ENDPOINTS for i, caller in enumerate(CALLERS)]


@pytest.fixture
def caller_client(
    request: pytest.FixtureRequest,
    signed_in: Callable[..., SignedInClient],
    workspace: Workspace,
    other_workspace: Workspace,
) -> Callable[[str], APIClient]:
    def make(caller: str) -> APIClient:
        match caller:
            case "anonymous":
                return APIClient()
            case "member":
                return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
            case "admin_of_other_workspace":
                return signed_in(Role.MEMBER, workspace=other_workspace, workspace_role=WorkspaceRole.ADMIN)
            case "workspace_admin":
                return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
            case _:
                return signed_in(caller)

    return make


def call(client: APIClient, endpoint: str, workspace: Workspace, invitation: WorkspaceInvitation) -> Any:
    match endpoint:
        case "list":
            return client.get(invitations_url(workspace.pk))
        case "create":
            return invite(client, workspace, f"new-{uuid.uuid4().hex[:8]}@example.com")
        case "members":
            return client.get(members_url(workspace.pk))
        case _:
            return client.post(action_url(workspace.pk, invitation.pk, endpoint))


class TestAuthorizationMatrix:
    @pytest.mark.parametrize(("endpoint", "caller", "expected"), CELLS, ids=[f"{e}-{c}" for e, c, _ in CELLS])
    def test_cell(
        self,
        endpoint: str,
        caller: str,
        expected: int,
        caller_client: Callable[[str], APIClient],
        workspace: Workspace,
        clerk_session: Callable[..., Any],
        clerk_gateway: Emulator,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        inviter = clerk_session(Role.SUPER_ADMIN).user
        invitation = make_invitation(workspace, inviter, "target@example.com")
        client = caller_client(caller)
        creates_before = invite_calls(clerk_gateway)
        revokes_before = clerk_calls(clerk_gateway, "POST", "/revoke")

        with caplog.at_level(logging.INFO):
            response = call(client, endpoint, workspace, invitation)

        assert response.status_code == expected, response.content
        if expected != 200:
            assert_error(response, expected)
            # A refused request reaches no Clerk endpoint that creates or revokes anything.
            assert invite_calls(clerk_gateway) == creates_before
            assert clerk_calls(clerk_gateway, "POST", "/revoke") == revokes_before
        if expected in (403, 404):
            assert any("api access denied" in r.getMessage() for r in caplog.records)
        if expected in (403, 404) and endpoint != "list" and endpoint != "members":
            assert AuditEvent.objects.filter(
                action="workspace_invitations.denied", outcome=AuditEvent.Outcome.DENIED
            ).exists()

    def test_the_matrix_covers_every_endpoint_and_caller(self) -> None:
        assert len(CELLS) == len(ENDPOINTS) * len(CALLERS) == 35


# --------------------------------------------------------------------------- IDOR and existence leaks
class TestNoExistenceLeak:
    def test_invitation_of_another_workspace_is_404_like_a_missing_one(
        self, ws_admin: SignedInClient, workspace: Workspace, other_workspace: Workspace, clerk_session: Any
    ) -> None:
        elsewhere = make_invitation(other_workspace, clerk_session(Role.SUPER_ADMIN).user, "x@example.com")
        for action in ("resend", "revoke"):
            foreign = ws_admin.post(action_url(workspace.pk, elsewhere.pk, action))
            missing = ws_admin.post(action_url(workspace.pk, elsewhere.pk + 1000, action))
            assert_error(foreign, 404, "not_found")
            assert foreign.json() == missing.json()
        elsewhere.refresh_from_db()
        assert elsewhere.status == InvitationStatus.PENDING

    def test_a_workspace_out_of_reach_is_404_like_a_missing_one(
        self, ws_admin: SignedInClient, other_workspace: Workspace
    ) -> None:
        missing_id = other_workspace.pk + 1000
        for url_of in (invitations_url, members_url):
            foreign = ws_admin.get(url_of(other_workspace.pk))
            missing = ws_admin.get(url_of(missing_id))
            assert_error(foreign, 404, "not_found")
            assert foreign.json() == missing.json()
        foreign = invite(ws_admin, other_workspace, "x@example.com")
        assert foreign.json() == invite(ws_admin, Workspace(pk=missing_id), "x@example.com").json()

    @pytest.mark.parametrize(
        "bad_id", ["0", "-1", "abc", "1e3", "01", "99999999999999999999999", "%20", "%00", "%0A", "%C3%A9", "%FF"]
    )
    def test_malformed_ids_are_a_json_404(self, ws_admin: SignedInClient, workspace: Workspace, bad_id: str) -> None:
        assert_error(ws_admin.get(invitations_url(bad_id)), 404, "not_found")
        assert_error(ws_admin.get(members_url(bad_id)), 404, "not_found")
        body = {"emails": ["x@example.com"], "role": "member"}
        assert_error(ws_admin.post(invitations_url(bad_id), body, format="json"), 404, "not_found")
        assert_error(ws_admin.post(action_url(workspace.pk, bad_id, "revoke")), 404, "not_found")
        assert_error(ws_admin.post(action_url(bad_id, bad_id, "resend")), 404, "not_found")
        denied = AuditEvent.objects.filter(action="workspace_invitations.denied")
        assert denied.count() == 3  # the refused writes, with printable ids
        assert all(event.target_id.isprintable() for event in denied)

    def test_methods_not_offered_are_405(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        for method in ("put", "patch", "delete"):
            assert_error(getattr(ws_admin, method)(invitations_url(workspace.pk)), 405)


# --------------------------------------------------------------------------- rate limits
class TestRateLimits:
    def test_per_user_invite_limit_is_429_with_retry_after(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any, signed_in: Any
    ) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "2/h"
        statuses = [invite(ws_admin, workspace, f"p{i}@example.com").status_code for i in range(2)]
        spoofed = ws_admin.post(
            invitations_url(workspace.pk),
            {"emails": ["p3@example.com"], "role": "member"},
            format="json",
            HTTP_X_FORWARDED_FOR="203.0.113.7",
            REMOTE_ADDR="198.51.100.9",
        )

        assert statuses == [200, 200]
        body = assert_error(spoofed, 429, "rate_limited")
        assert 0 < int(spoofed["Retry-After"]) <= 3600
        assert body["extra"]["retry_after"] == int(spoofed["Retry-After"])
        assert not WorkspaceInvitation.objects.filter(email="p3@example.com").exists()
        # Another inviter has their own allowance.
        other = signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
        assert invite(other, workspace, "p4@example.com").status_code == 200

    def test_refused_and_unauthenticated_requests_do_not_count(
        self, ws_admin: SignedInClient, ws_member: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        for _ in range(3):
            assert invite(APIClient(), workspace, "a@example.com").status_code == 401
            assert invite(ws_member, workspace, "a@example.com").status_code == 403
        assert invite(ws_admin, workspace, "a@example.com").status_code == 200

    @pytest.mark.parametrize(
        ("action", "setting"), [("resend", "INVITATIONS_API_RESEND_RATE"), ("revoke", "INVITATIONS_API_REVOKE_RATE")]
    )
    def test_per_user_resend_and_revoke_limits(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any, action: str, setting: str
    ) -> None:
        setattr(settings, setting, "1/h")
        first = make_invitation(workspace, user_of(ws_admin), "one@example.com")
        second = make_invitation(workspace, user_of(ws_admin), "two@example.com")
        assert ws_admin.post(action_url(workspace.pk, first.pk, action)).status_code == 200
        response = ws_admin.post(action_url(workspace.pk, second.pk, action))
        assert_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) > 0
        second.refresh_from_db()
        assert second.send_count == 1
        assert second.status == InvitationStatus.PENDING

    def test_global_invitation_budget_counts_emails_across_users(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any, signed_in: Any, clerk_gateway: Emulator
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "3/h"
        settings.CLERK_BUDGET_SHARE = 1  # the instance-wide counter alone (fair shares: TestFairShares)
        assert invite(ws_admin, workspace, "a@example.com", "b@example.com").status_code == 200
        other = signed_in(Role.PM)
        calls_before = invite_calls(clerk_gateway)

        response = invite(other, workspace, "c@example.com", "d@example.com")

        assert_error(response, 429, "rate_limited")
        assert response.json()["extra"]["limit"] == "global_invitations"
        assert 0 < int(response["Retry-After"]) <= 3600
        assert invite_calls(clerk_gateway) == calls_before  # refused before any Clerk call
        # One email is left in the window, and a refusal gave back what it had reserved.
        assert invite(other, workspace, "c@example.com").status_code == 200
        assert invite(other, workspace, "d@example.com").status_code == 429

    def test_emails_that_never_reach_clerk_are_given_back(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "2/h"
        settings.CLERK_BUDGET_SHARE = 1
        for _ in range(3):
            response = invite(ws_admin, workspace, "not an email", "also bad")
            assert response.status_code == 200
            assert response.json()["summary"]["invalid_email"] == 2
        assert invite(ws_admin, workspace, "a@example.com", "b@example.com").status_code == 200

    def test_global_bulk_call_budget(self, ws_admin: SignedInClient, workspace: Workspace, settings: Any) -> None:
        settings.INVITATIONS_GLOBAL_BULK_CALLS_RATE = "2/h"
        settings.CLERK_BUDGET_SHARE = 1
        assert invite(ws_admin, workspace, *[f"p{i}@example.com" for i in range(11)]).status_code == 200  # 2 calls
        response = invite(ws_admin, workspace, "one-more@example.com")
        assert_error(response, 429, "rate_limited")
        assert response.json()["extra"]["limit"] == "global_bulk_calls"

    def test_a_resend_spends_one_global_invitation(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "2/h"
        settings.CLERK_BUDGET_SHARE = 1
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")  # the service counts: 1 of 2
        assert ws_admin.post(action_url(workspace.pk, invitation.pk, "resend")).status_code == 200
        assert_error(ws_admin.post(action_url(workspace.pk, invitation.pk, "resend")), 429, "rate_limited")

    def test_an_unreachable_rate_limit_store_fails_closed_with_429_not_500(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any, clerk_gateway: Emulator
    ) -> None:
        settings.CACHES = {
            **settings.CACHES,
            "ratelimit_down": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            },
        }
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")  # before the outage
        settings.RATELIMIT_USE_CACHE = "ratelimit_down"
        before = invite_calls(clerk_gateway)

        for response in (
            invite(ws_admin, workspace, "bob@example.com"),
            ws_admin.post(action_url(workspace.pk, invitation.pk, "resend")),
            ws_admin.post(action_url(workspace.pk, invitation.pk, "revoke")),
        ):
            assert_error(response, 429, "rate_limited")
            assert int(response["Retry-After"]) > 0
        assert invite_calls(clerk_gateway) == before
        assert ws_admin.get(invitations_url(workspace.pk)).status_code == 200  # reads are not rate-limited

    def test_default_global_rates_stay_below_clerks_hourly_caps(self) -> None:
        from core.budgets import GLOBAL_BULK_CALLS_RATE_SETTING, GLOBAL_INVITATIONS_RATE_SETTING
        from core.ratelimits import rate, split_rate

        invitations, invitations_period = split_rate(rate(GLOBAL_INVITATIONS_RATE_SETTING))
        bulk, bulk_period = split_rate(rate(GLOBAL_BULK_CALLS_RATE_SETTING))
        assert invitations * 3600 / invitations_period < 250  # Clerk: 250 organization invitations per hour
        assert bulk * 3600 / bulk_period < 50  # Clerk: 50 organization bulk calls per hour

    def test_rate_limits_can_be_switched_off(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.RATELIMIT_ENABLE = False
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "1/h"
        for i in range(3):
            assert invite(ws_admin, workspace, f"p{i}@example.com", f"q{i}@example.com").status_code == 200


# --------------------------------------------------------------------------- CSRF
class TestCsrf:
    @pytest.fixture
    def cookie_admin(self, signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
        return signed_in(
            Role.MEMBER,
            workspace=workspace,
            workspace_role=WorkspaceRole.ADMIN,
            via="cookie",
            enforce_csrf_checks=True,
        )

    def test_cookie_post_without_csrf_token_is_403(
        self, cookie_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator
    ) -> None:
        before = invite_calls(clerk_gateway)
        body = assert_error(invite(cookie_admin, workspace, "ann@example.com"), 403, "permission_denied")
        assert "CSRF" in body["message"]
        invitation = make_invitation(workspace, user_of(cookie_admin), "bob@example.com")
        assert_error(cookie_admin.post(action_url(workspace.pk, invitation.pk, "revoke")), 403, "permission_denied")
        assert invite_calls(clerk_gateway) == before + 1  # only make_invitation's
        assert WorkspaceInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING

    def test_cookie_post_with_csrf_token_passes(self, cookie_admin: SignedInClient, workspace: Workspace) -> None:
        secret = "a" * 32
        cookie_admin.cookies["csrftoken"] = secret
        response = cookie_admin.post(
            invitations_url(workspace.pk),
            {"emails": ["ann@example.com"], "role": "member"},
            format="json",
            HTTP_X_CSRFTOKEN=secret,
        )
        assert response.status_code == 200, response.content

    def test_cookie_get_needs_no_token(self, cookie_admin: SignedInClient, workspace: Workspace) -> None:
        assert cookie_admin.get(invitations_url(workspace.pk)).status_code == 200

    def test_bearer_post_needs_no_token(self, signed_in: Callable[..., SignedInClient], workspace: Workspace) -> None:
        client = signed_in(
            Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN, enforce_csrf_checks=True
        )
        assert invite(client, workspace, "ann@example.com").status_code == 200


# --------------------------------------------------------------------------- responses match the OpenAPI schema
def _to_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 → JSON Schema: resolve ``$ref`` and turn ``nullable`` into ``null`` being allowed."""
    if isinstance(node, list):
        return [_to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _to_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {key: _to_json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class TestResponsesMatchTheSchema:
    """Every status the tests can provoke is documented, with a body that validates against its schema."""

    @pytest.fixture
    def openapi(self) -> dict[str, Any]:
        body: dict[str, Any] = APIClient().get("/api/schema/", {"format": "json"}).json()
        return body

    def assert_conforms(self, openapi: dict[str, Any], path: str, method: str, response: Any) -> None:
        import jsonschema  # type: ignore[import-untyped]  # comes with drf-spectacular

        operation = openapi["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method.upper()} {path} answered an undocumented {status}"
        documented = operation["responses"][status]["content"]
        assert response["Content-Type"].split(";")[0] in documented
        schema = _to_json_schema(documented["application/json"]["schema"], openapi["components"]["schemas"])
        jsonschema.validate(response.json(), schema)

    def test_every_provoked_answer_is_documented(
        self,
        openapi: dict[str, Any],
        ws_admin: SignedInClient,
        ws_member: SignedInClient,
        workspace: Workspace,
        other_workspace: Workspace,
        settings: Any,
        clerk_gateway: Emulator,
    ) -> None:
        collection = "/api/workspaces/{workspace_id}/invitations/"
        resend = "/api/workspaces/{workspace_id}/invitations/{invitation_id}/resend/"
        revoke = "/api/workspaces/{workspace_id}/invitations/{invitation_id}/revoke/"
        members = "/api/workspaces/{workspace_id}/members/"
        invitation = make_invitation(workspace, user_of(ws_admin), "ann@example.com")
        revoked = make_invitation(workspace, user_of(ws_admin), "gone@example.com")
        services.invitation_revoke(invitation=revoked, actor=user_of(ws_admin))
        ws = workspace.pk
        checks: list[tuple[str, str, Any]] = [
            (collection, "get", ws_admin.get(invitations_url(ws))),
            (collection, "get", ws_admin.get(invitations_url(ws), {"status": "nope"})),
            (collection, "get", ws_member.get(invitations_url(ws))),
            (collection, "get", APIClient().get(invitations_url(ws))),
            (collection, "get", ws_admin.get(invitations_url(other_workspace.pk))),
            (collection, "post", invite(ws_admin, workspace, "bob@example.com", "bad", "ann@example.com")),
            (collection, "post", ws_admin.post(invitations_url(ws), {"emails": []}, format="json")),
            (collection, "post", ws_admin.generic("POST", invitations_url(ws), "x=1", "text/plain")),
            (collection, "post", invite(ws_member, workspace, "x@example.com")),
            (resend, "post", ws_admin.post(action_url(ws, invitation.pk, "resend"))),
            (resend, "post", ws_admin.post(action_url(ws, revoked.pk, "resend"))),
            (resend, "post", ws_admin.post(action_url(ws, 10**9, "resend"))),
            (revoke, "post", ws_admin.post(action_url(ws, revoked.pk, "revoke"))),
            (revoke, "post", APIClient().post(action_url(ws, revoked.pk, "revoke"))),
            (members, "get", ws_member.get(members_url(ws))),
            (members, "get", ws_member.get(members_url(other_workspace.pk))),
        ]
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 100, status=500))
        checks.append((collection, "post", invite(ws_admin, workspace, "down@example.com")))
        clerk_gateway.faults.clear()
        settings.INVITATIONS_API_REVOKE_RATE = "1/h"
        checks.append((revoke, "post", ws_admin.post(action_url(ws, invitation.pk, "revoke"))))
        checks.append((revoke, "post", ws_admin.post(action_url(ws, invitation.pk, "revoke"))))

        for path, method, response in checks:
            self.assert_conforms(openapi, path, method, response)
        provoked = {response.status_code for _, _, response in checks}
        assert provoked == {200, 400, 401, 403, 404, 409, 415, 429, 503}
