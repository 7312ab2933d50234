"""CSV import, the check step, the pending list's search and paging, bulk resend/revoke and the resend cooldown:
services and API, against the Clerk emulator, PostgreSQL and the real budgets. Nothing is mocked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from core.exceptions import PermissionDenied
from core.models import AuditEvent
from invitations import bulk, csv_import, invite_check, pending, services
from invitations.cooldown import ResendTooSoon
from invitations.errors import NoEmails, TooManyEmails
from invitations.invite_check import InviteEntry
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services import MAX_EMAILS, MAX_RAW_EMAILS
from tests.conftest import SignedInClient
from tests.invitations.factories import WorkspaceInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_rate_limit_counters(settings: Any) -> None:
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test:{uuid.uuid4().hex}:"


@pytest.fixture
def ws_admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Ada")


def user_of(client: SignedInClient) -> User:
    assert client.user is not None
    return client.user


def invite_many(workspace: Workspace, inviter: User, count: int, *, prefix: str = "p") -> list[WorkspaceInvitation]:
    emails = [f"{prefix}{n}@example.com" for n in range(count)]
    results = services.invitations_create(workspace=workspace, inviter=inviter, emails=emails, role="member")
    rows = [r.invitation for r in results if r.invitation is not None]
    assert len(rows) == count, [r.result for r in results]
    return rows


def revoke_calls(emulator: Emulator) -> int:
    return sum(1 for method, path, _ in emulator.request_log if method == "POST" and path.endswith("/revoke"))


# --------------------------------------------------------------------------- CSV
class TestCsv:
    def test_header_bom_semicolons_and_roles(self) -> None:
        data = "\ufeffRole;Email\nadmin;Ann@Example.com\n;bob@example.com\n\n".encode()
        rows = csv_import.parse_invite_csv(data)
        assert [(r.line, r.email, r.role) for r in rows] == [
            (2, "Ann@Example.com", "admin"),
            (3, "bob@example.com", ""),
        ]

    def test_no_header_commas(self) -> None:
        rows = csv_import.parse_invite_csv(b"ann@example.com,member\nbob@example.com\n")
        assert [(r.line, r.email, r.role) for r in rows] == [
            (1, "ann@example.com", "member"),
            (2, "bob@example.com", ""),
        ]

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (b"a@example.com\n" * 101, "too_many_rows"),
            (b"x" * (csv_import.MAX_CSV_BYTES + 1), "too_large"),
            ("ann@example.com".encode("utf-16"), "encoding"),
            (b"\n \n", "empty"),
            (b"name,role\nAnn,admin\n", "no_email_column"),
        ],
    )
    def test_refused_with_reason(self, data: bytes, reason: str) -> None:
        with pytest.raises(csv_import.CsvRejected) as caught:
            csv_import.parse_invite_csv(data)
        assert caught.value.extra["reason"] == reason
        assert caught.value.http_status == 400


# --------------------------------------------------------------------------- the check
class TestCheck:
    def test_reports_every_entry_and_writes_nothing(
        self, workspace: Workspace, org_admin: User, clerk_session: Callable[..., Any], clerk_gateway: Emulator
    ) -> None:
        member = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.MEMBER, email="mem@example.com")
        assert member.user is not None
        invite_many(workspace, org_admin, 1, prefix="open")
        before_rows, before_log = WorkspaceInvitation.objects.count(), len(clerk_gateway.request_log)
        entries = [
            InviteEntry("new@example.com", "admin", 2),
            InviteEntry("not-an-email", "", 3),
            InviteEntry("NEW@example.com", "", 4),
            InviteEntry("mem@example.com", "", 5),
            InviteEntry("open0@example.com", "", 6),
            InviteEntry("odd@example.com", "owner", 7),
        ]
        checked = invite_check.invitations_check(
            workspace=workspace, inviter=org_admin, entries=entries, default_role="member"
        )
        assert [(c.email, c.role, c.result) for c in checked] == [
            ("new@example.com", "admin", "valid"),
            ("not-an-email", "member", "invalid_email"),
            ("new@example.com", "member", "duplicate"),
            ("mem@example.com", "member", "already_member"),
            ("open0@example.com", "member", "already_invited"),
            ("odd@example.com", "", "invalid_role"),
        ]
        assert "line 2" in checked[2].message
        assert WorkspaceInvitation.objects.count() == before_rows
        assert len(clerk_gateway.request_log) == before_log

    def test_two_queries_whatever_the_length(self, workspace: Workspace, org_admin: User) -> None:
        def queries(count: int) -> int:
            entries = [InviteEntry(f"q{n}@example.com") for n in range(count)]
            with CaptureQueriesContext(connection) as ctx:
                invite_check.invitations_check(
                    workspace=workspace, inviter=org_admin, entries=entries, default_role="member"
                )
            return len(ctx.captured_queries)

        assert queries(3) == queries(100)

    @pytest.mark.parametrize(
        ("emails", "refusal"),
        [
            (["", "  "], NoEmails),
            ([f"r{n}@example.com" for n in range(MAX_EMAILS + 1)], TooManyEmails),
            ([f"r{n}" for n in range(MAX_RAW_EMAILS + 1)], TooManyEmails),  # refused before any is looked at
        ],
        ids=["only-blank", "over-the-limit", "over-the-raw-limit"],
    )
    def test_refused_lists(
        self, workspace: Workspace, org_admin: User, emails: list[str], refusal: type[Exception]
    ) -> None:
        entries = [InviteEntry(email) for email in emails]
        with pytest.raises(refusal):
            invite_check.invitations_check(
                workspace=workspace, inviter=org_admin, entries=entries, default_role="member"
            )

    def test_a_member_may_not_check(self, workspace: Workspace, clerk_session: Callable[..., Any]) -> None:
        member = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.MEMBER).user
        with pytest.raises(PermissionDenied):
            invite_check.invitations_check(
                workspace=workspace, inviter=member, entries=[InviteEntry("a@example.com")], default_role="member"
            )


class TestSendEntries:
    def test_sends_valid_with_their_roles_and_reports_the_rest(
        self, workspace: Workspace, org_admin: User, clerk_gateway: Emulator
    ) -> None:
        entries = [
            InviteEntry("ann@example.com", "admin", 1),
            InviteEntry("bob@example.com", "", 2),
            InviteEntry("ann@example.com", "", 3),
            InviteEntry("bad@", "", 4),
        ]
        results = bulk.invite_entries(workspace=workspace, inviter=org_admin, entries=entries, default_role="member")
        assert [(r.email, r.result) for r in results] == [
            ("ann@example.com", "invited"),
            ("bob@example.com", "invited"),
            ("ann@example.com", "duplicate"),
            ("bad@", "invalid_email"),
        ]
        roles = dict(WorkspaceInvitation.objects.filter(workspace=workspace).values_list("email", "role"))
        assert roles == {"ann@example.com": "admin", "bob@example.com": "member"}


# --------------------------------------------------------------------------- pending list
class TestPendingPage:
    def test_search_paging_and_capped_count(self, workspace: Workspace, org_admin: User) -> None:
        invite_many(workspace, org_admin, 60, prefix="team")
        invite_many(workspace, org_admin, 3, prefix="other")
        first = pending.pending_page(workspace=workspace)
        assert (len(first.rows), first.total, first.has_next, first.has_previous) == (50, 63, True, False)
        second = pending.pending_page(workspace=workspace, page=2)
        assert (len(second.rows), second.first_index, second.last_index) == (13, 51, 63)
        assert not {r.pk for r in first.rows} & {r.pk for r in second.rows}
        found = pending.pending_page(workspace=workspace, query="OTHER")
        assert sorted(r.email for r in found.rows) == ["other0@example.com", "other1@example.com", "other2@example.com"]
        assert pending.pending_page(workspace=workspace, page=99).number == 2


# --------------------------------------------------------------------------- bulk actions
class TestBulkRevoke:
    def test_revokes_in_clerk_and_here_with_one_audit_each(
        self, workspace: Workspace, org_admin: User, clerk_gateway: Emulator
    ) -> None:
        rows = invite_many(workspace, org_admin, 25)
        results = bulk.invitations_bulk(workspace=workspace, actor=org_admin, action="revoke", query="p1")
        # p1, p10..p19: 11 rows
        assert {r.result for r in results} == {"revoked"}
        assert len(results) == 11
        assert WorkspaceInvitation.objects.filter(status=InvitationStatus.REVOKED).count() == 11
        assert WorkspaceInvitation.objects.filter(status=InvitationStatus.PENDING).count() == 14
        revoked_ids = {r.invitation_id for r in results}
        clerk_ids = set(
            WorkspaceInvitation.objects.filter(pk__in=revoked_ids).values_list("clerk_invitation_id", flat=True)
        )
        assert {clerk_gateway.organization_invitations[str(i)].status for i in clerk_ids} == {"revoked"}
        events = AuditEvent.objects.filter(
            action="workspace_invitation.revoked", target_id__in=[str(i) for i in revoked_ids]
        )
        assert events.count() == 11
        assert len(rows) == 25

    def test_sql_independent_of_count(self, workspace: Workspace, org_admin: User, clerk_gateway: Emulator) -> None:
        small = invite_many(workspace, org_admin, 5, prefix="s")
        large = invite_many(workspace, org_admin, 40, prefix="l")

        def revoke(rows: list[WorkspaceInvitation]) -> tuple[int, int]:
            calls = revoke_calls(clerk_gateway)
            with CaptureQueriesContext(connection) as ctx:
                bulk.invitations_bulk(workspace=workspace, actor=org_admin, action="revoke", ids=[r.pk for r in rows])
            return len(ctx.captured_queries), revoke_calls(clerk_gateway) - calls

        small_sql, small_clerk = revoke(small)
        large_sql, large_clerk = revoke(large)
        assert small_sql == large_sql
        assert (small_clerk, large_clerk) == (5, 40)

    def test_ids_of_another_workspace_are_not_touched(
        self, workspace: Workspace, org_admin: User, clerk_workspace: Callable[..., Workspace]
    ) -> None:
        theirs = WorkspaceInvitationFactory.create(workspace=clerk_workspace("Globex"))
        assert bulk.invitations_bulk(workspace=workspace, actor=org_admin, action="revoke", ids=[theirs.pk]) == []
        theirs.refresh_from_db()
        assert theirs.status == InvitationStatus.PENDING

    def test_too_many_selected(self, workspace: Workspace, org_admin: User, monkeypatch: Any) -> None:
        invite_many(workspace, org_admin, 4)
        monkeypatch.setattr(bulk, "MAX_BULK_REVOKE", 3)
        with pytest.raises(bulk.TooManySelected):
            bulk.invitations_bulk(workspace=workspace, actor=org_admin, action="revoke", query="")


class TestBulkResendAndCooldown:
    def test_cooldown_refuses_a_resend_too_soon(self, workspace: Workspace, org_admin: User, settings: Any) -> None:
        settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 600
        [row] = invite_many(workspace, org_admin, 1)
        with pytest.raises(ResendTooSoon) as caught:
            services.invitation_resend(invitation=row, actor=org_admin)
        assert caught.value.http_status == 429
        assert 540 <= caught.value.retry_after <= 600
        WorkspaceInvitation.objects.filter(pk=row.pk).update(last_sent_at=timezone.now() - timedelta(minutes=11))
        resent = services.invitation_resend(invitation=row, actor=org_admin)
        assert resent.send_count == 2

    def test_bulk_resend_reports_cooldown_per_invitation(
        self, workspace: Workspace, org_admin: User, settings: Any
    ) -> None:
        settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 600
        rows = invite_many(workspace, org_admin, 3)
        WorkspaceInvitation.objects.filter(pk=rows[0].pk).update(last_sent_at=timezone.now() - timedelta(hours=1))
        results = bulk.invitations_bulk(workspace=workspace, actor=org_admin, action="resend", ids=[r.pk for r in rows])
        by_id = {r.invitation_id: r for r in results}
        assert by_id[rows[0].pk].result == "resent"
        assert {by_id[rows[1].pk].result, by_id[rows[2].pk].result} == {"cooldown"}
        assert by_id[rows[1].pk].retry_after


# --------------------------------------------------------------------------- API
def api(workspace: Workspace, path: str = "") -> str:
    return f"/api/workspaces/{workspace.pk}/invitations/{path}"


class TestApi:
    def test_check_json_entries(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        body = {"entries": [{"email": "a@example.com", "role": "admin"}, {"email": "A@example.com"}], "role": "member"}
        response = ws_admin.post(api(workspace, "check/"), body, format="json")
        assert response.status_code == 200, response.content
        data = response.json()
        assert [r["result"] for r in data["results"]] == ["valid", "duplicate"]
        assert data["summary"]["valid"] == 1
        assert data["summary"]["duplicate"] == 1
        assert not WorkspaceInvitation.objects.exists()

    def test_check_and_import_a_csv_file(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        def upload() -> SimpleUploadedFile:
            return SimpleUploadedFile("list.csv", b"email,role\nann@example.com,admin\nbad@\nann@example.com,\n")

        checked = ws_admin.post(api(workspace, "check/"), {"file": upload(), "role": "member"}, format="multipart")
        assert checked.status_code == 200, checked.content
        assert [(r["line"], r["result"]) for r in checked.json()["results"]] == [
            (2, "valid"),
            (3, "invalid_email"),
            (4, "duplicate"),
        ]
        sent = ws_admin.post(api(workspace, "import/"), {"file": upload(), "role": "member"}, format="multipart")
        assert sent.status_code == 200, sent.content
        assert [r["result"] for r in sent.json()["results"]] == ["invited", "invalid_email", "duplicate"]
        assert WorkspaceInvitation.objects.get().role == "admin"

    def test_two_inputs_at_once_are_refused(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        body = {"emails": ["a@example.com"], "entries": [{"email": "b@example.com"}]}
        response = ws_admin.post(api(workspace, "check/"), body, format="json")
        assert response.status_code == 400, response.content
        assert set(response.json()) == {"code", "message", "extra"}
        assert "exactly one of" in str(response.json())
        assert not WorkspaceInvitation.objects.exists()

    def test_too_many_entries_are_refused(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        entries = [{"email": f"e{n}@example.com"} for n in range(csv_import.MAX_CSV_ROWS + 1)]
        response = ws_admin.post(api(workspace, "check/"), {"entries": entries}, format="json")
        assert response.status_code == 400, response.content
        assert f"At most {csv_import.MAX_CSV_ROWS} entries." in str(response.json())

    def test_unreadable_csv_is_a_400_in_the_error_shape(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("list.csv", b"a@example.com\n" * 101)
        response = ws_admin.post(api(workspace, "check/"), {"file": upload}, format="multipart")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_csv"
        assert response.json()["extra"]["reason"] == "too_many_rows"

    def test_bulk_revoke_by_filter_and_search_in_the_list(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        invite_many(workspace, user_of(ws_admin), 12, prefix="z")
        listed = ws_admin.get(api(workspace) + "?status=open&q=z1")
        assert listed.status_code == 200
        assert sorted(r["email"] for r in listed.json()["results"]) == [
            "z10@example.com",
            "z11@example.com",
            "z1@example.com",
        ]
        response = ws_admin.post(api(workspace, "bulk/"), {"action": "revoke", "filter": {"q": "z1"}}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["summary"] == {"revoked": 3}
        assert WorkspaceInvitation.objects.filter(status="pending").count() == 9

    def test_bulk_resend_cooldown_in_results(
        self, ws_admin: SignedInClient, workspace: Workspace, settings: Any
    ) -> None:
        settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 600
        [row] = invite_many(workspace, user_of(ws_admin), 1)
        response = ws_admin.post(api(workspace, "bulk/"), {"action": "resend", "ids": [row.pk]}, format="json")
        assert response.status_code == 200
        [result] = response.json()["results"]
        assert result["result"] == "cooldown"
        assert result["retry_after"] > 0
        single = ws_admin.post(api(workspace, f"{row.pk}/resend/"))
        assert single.status_code == 429
        assert single.json()["code"] == "resend_cooldown"
        assert int(single["Retry-After"]) > 0

    def test_bulk_needs_exactly_one_selection(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        response = ws_admin.post(api(workspace, "bulk/"), {"action": "revoke"}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"

    def test_member_may_not(self, signed_in: Callable[..., SignedInClient], workspace: Workspace) -> None:
        member = signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
        for path, body in (("check/", {"emails": ["a@example.com"]}), ("bulk/", {"action": "revoke", "ids": [1]})):
            assert member.post(api(workspace, path), body, format="json").status_code == 403


# --------------------------------------------------------------------------- the settings page
class TestPages:
    def test_search_and_paging_on_the_settings_page(self, ws_admin: SignedInClient, workspace: Workspace) -> None:
        invite_many(workspace, user_of(ws_admin), 55, prefix="m")
        invite_many(workspace, user_of(ws_admin), 1, prefix="dora")
        page = ws_admin.get(f"/settings/?workspace={workspace.pk}").content.decode()
        assert page.count('class="invite-row') == 50
        assert 'rel="next"' in page
        found = ws_admin.get(f"/settings/?workspace={workspace.pk}&q=DORA").content.decode()
        assert found.count('class="invite-row') == 1
        assert "dora0@example.com" in found
        second = ws_admin.get(f"/settings/?workspace={workspace.pk}&page=2").content.decode()
        assert second.count('class="invite-row') == 6
