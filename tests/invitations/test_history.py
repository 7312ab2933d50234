"""Invitation history, timelines and invite links (issue 12 items 3 and 4): services, selectors and the API.

Real parts throughout: the in-thread Clerk emulator behind the gateway, PostgreSQL, the real services; the timeline
is read back from the audit events those services wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from core.exceptions import PermissionDenied
from core.models import AuditEvent
from invitations import history, links, services
from invitations.errors import InvalidStatusFilter, InvitationNotPending
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.timeline import invitation_timeline
from tests.conftest import ClerkSession, SignedInClient
from tests.invitations.factories import WorkspaceInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> ClerkSession:
    return clerk_session(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN, email="ada@example.com")


@pytest.fixture
def admin(admin_session: ClerkSession) -> User:
    assert admin_session.user is not None
    return admin_session.user


@pytest.fixture
def api(admin_session: ClerkSession) -> SignedInClient:
    return SignedInClient(admin_session)


def invite(workspace: Workspace, inviter: User, email: str) -> WorkspaceInvitation:
    [result] = services.invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.invitation is not None, result
    return result.invitation


def kinds(invitation: WorkspaceInvitation) -> list[str]:
    return [step.kind for step in invitation_timeline(invitation=invitation)]


# --------------------------------------------------------------------------- timeline
class TestTimeline:
    def test_created_sent_resent_revoked_with_who(self, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "ann@example.com")
        services.invitation_resend(invitation=invitation, actor=admin)
        services.invitation_revoke(invitation=invitation, actor=admin)

        steps = invitation_timeline(invitation=invitation)

        assert [step.kind for step in steps] == ["created", "sent", "resent", "revoked"]
        assert steps[0].label == "Invited as member"
        assert steps[-1].label == "Revoked by ada@example.com"
        assert all(step.actor_email == "ada@example.com" for step in steps)
        assert [step.at for step in steps] == sorted(step.at for step in steps)

    def test_queued_then_retried_then_sent(self, workspace: Workspace, admin: User, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 1, status=429, retry_after=1))
        invitation = invite(workspace, admin, "bob@example.com")
        assert invitation.status == InvitationStatus.QUEUED
        later = timezone.now() + timedelta(seconds=5)
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 1, status=429, retry_after=1))
        services.invitations_send_queued(now=later)  # Clerk still says wait: retried later
        services.invitations_send_queued(now=later + timedelta(seconds=5))

        assert kinds(invitation) == ["created", "queued", "retried", "sent"]
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.PENDING

    def test_failure_carries_clerks_code(self, workspace: Workspace, admin: User, clerk_gateway: Emulator) -> None:
        clerk_gateway.faults.append(
            Fault("POST", "/v1/organizations/*", 5, status=422, code="form_param_format_invalid", message="Nope")
        )
        invitation = invite(workspace, admin, "cy@example.com")

        steps = invitation_timeline(invitation=invitation)

        assert [step.kind for step in steps] == ["created", "failed"]
        assert steps[1].detail == "Clerk's code: form_param_format_invalid"

    def test_accepted_by_whom(
        self, workspace: Workspace, admin: User, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        invitation = invite(workspace, admin, "dee@example.com")
        invitee = clerk_session(email="dee@example.com").user
        services.invitation_accepted_from_clerk(
            workspace=workspace, clerk_invitation_id=invitation.clerk_invitation_id or "", email="", user=invitee
        )

        steps = invitation_timeline(invitation=invitation)

        assert steps[-1].kind == "accepted"
        assert steps[-1].label == "Accepted by dee@example.com"

    def test_expired_by_time_before_the_sweep_and_after_it(self, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "eve@example.com")
        WorkspaceInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        invitation.refresh_from_db()
        assert kinds(invitation) == ["created", "sent", "expired"]  # not swept yet: from expires_at

        services.invitations_expire()
        invitation.refresh_from_db()
        assert kinds(invitation) == ["created", "sent", "expired"]  # swept: the audited step, once

    def test_inviting_again_while_open_is_a_step(self, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "fay@example.com")
        invite(workspace, admin, "fay@example.com")
        assert kinds(invitation) == ["created", "sent", "invited_again"]

    def test_a_row_without_audit_events_still_has_its_creation(self, workspace: Workspace, admin: User) -> None:
        row = WorkspaceInvitationFactory.create(workspace=workspace, inviter=admin, inviter_email=admin.email)
        steps = invitation_timeline(invitation=row)
        assert [(step.kind, step.actor_email) for step in steps] == [("created", "ada@example.com")]

    def test_one_query(self, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "gus@example.com")
        services.invitation_resend(invitation=invitation, actor=admin)
        with CaptureQueriesContext(connection) as queries:
            invitation_timeline(invitation=invitation)
        assert len(queries) == 1


# --------------------------------------------------------------------------- history list
def _rows(workspace: Workspace, status: str, count: int, **fields: Any) -> list[WorkspaceInvitation]:
    return [
        WorkspaceInvitationFactory.create(
            workspace=workspace, status=status, email=f"{status}{n}@example.com", **fields
        )
        for n in range(count)
    ]


class TestHistory:
    def test_only_what_is_over_newest_first(self, workspace: Workspace) -> None:
        _rows(workspace, InvitationStatus.PENDING, 2)
        over = [
            *_rows(workspace, InvitationStatus.ACCEPTED, 2),
            *_rows(workspace, InvitationStatus.REVOKED, 2),
            *_rows(workspace, InvitationStatus.FAILED, 1),
        ]
        late = WorkspaceInvitationFactory.create(
            workspace=workspace, status=InvitationStatus.PENDING, expires_at=timezone.now() - timedelta(hours=1)
        )

        page = history.invitation_history(workspace=workspace)

        assert {row.pk for row in page.invitations} == {row.pk for row in [*over, late]}
        stamps = [(row.created_at, row.pk) for row in page.invitations]
        assert stamps == sorted(stamps, reverse=True)
        assert page.next_cursor is None

    def test_status_filter_counts_open_rows_past_expiry_as_expired(self, workspace: Workspace) -> None:
        swept = _rows(workspace, InvitationStatus.EXPIRED, 1)
        late = WorkspaceInvitationFactory.create(
            workspace=workspace, status=InvitationStatus.QUEUED, expires_at=timezone.now() - timedelta(hours=1)
        )
        _rows(workspace, InvitationStatus.REVOKED, 1)

        page = history.invitation_history(workspace=workspace, filters=history.history_filters(status="expired"))

        assert {row.pk for row in page.invitations} == {swept[0].pk, late.pk}

    def test_search_is_a_case_insensitive_substring(self, workspace: Workspace) -> None:
        _rows(workspace, InvitationStatus.REVOKED, 3)
        WorkspaceInvitationFactory.create(
            workspace=workspace, status=InvitationStatus.ACCEPTED, email="zed@globex.test"
        )

        page = history.invitation_history(workspace=workspace, filters=history.history_filters(search=" GLOBEX "))

        assert [row.email for row in page.invitations] == ["zed@globex.test"]

    def test_pages_cover_everything_once_in_the_same_queries(self, workspace: Workspace) -> None:
        rows = _rows(workspace, InvitationStatus.REVOKED, 7) + _rows(workspace, InvitationStatus.ACCEPTED, 6)
        seen: list[int] = []
        cursor = None
        counts = []
        while True:
            with CaptureQueriesContext(connection) as queries:
                page = history.invitation_history(workspace=workspace, cursor=cursor, limit=5)
            counts.append(len(queries))
            seen += [row.pk for row in page.invitations]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(row.pk for row in rows)
        assert len(seen) == len(set(seen))
        assert counts == [2, 2, 2]

    def test_other_workspaces_stay_out(self, workspace: Workspace, clerk_workspace: Callable[..., Workspace]) -> None:
        other = clerk_workspace("Globex")
        _rows(other, InvitationStatus.REVOKED, 2)
        assert history.invitation_history(workspace=workspace).invitations == []

    @pytest.mark.parametrize("status", ["pending", "queued", "open", "nope"])
    def test_unknown_or_open_status_is_refused(self, status: str) -> None:
        with pytest.raises(InvalidStatusFilter):
            history.history_filters(status=status)

    @pytest.mark.parametrize("cursor", ["x", "bm9wZQ", "WyIyMDI2LTAxLTAxIiwgLTFd"])
    def test_a_bad_cursor_is_refused(self, workspace: Workspace, cursor: str) -> None:
        with pytest.raises(history.InvalidCursor):
            history.invitation_history(workspace=workspace, cursor=cursor)


# --------------------------------------------------------------------------- invite link
class TestInviteLink:
    def test_returns_clerks_link_audits_without_it_and_logs_nothing_of_it(
        self, workspace: Workspace, admin: User, clerk_gateway: Emulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        invitation = invite(workspace, admin, "hal@example.com")
        caplog.set_level(logging.DEBUG)

        link = links.invitation_link_reveal(invitation=invitation, actor=admin)

        remote = clerk_gateway.organization_invitations[invitation.clerk_invitation_id or ""]
        assert link.url == remote.url
        assert "ticket=" in link.url
        ticket = link.url.split("ticket=", 1)[1]
        event = AuditEvent.objects.get(action="workspace_invitation.link_shown")
        assert (event.actor_id, event.target_id) == (admin.pk, str(invitation.pk))
        assert ticket not in str(event.details)
        assert link.url not in caplog.text
        assert ticket not in caplog.text
        assert not WorkspaceInvitation.objects.filter(failure_reason__contains=ticket).exists()
        assert kinds(invitation)[-1] == "link_shown"

    def test_the_link_opens_the_invitation(self, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "ivy@example.com")
        link = links.invitation_link_reveal(invitation=invitation, actor=admin)
        # Clerk's (the emulator's) ticket endpoint sends the browser on to our accept page with the ticket.
        response = httpx.get(link.url, follow_redirects=False, timeout=10)
        assert response.status_code in (302, 303, 307), response.status_code
        location = response.headers["location"]
        assert "/accept-invite/" in location
        assert "__clerk_ticket=" in location

    def test_not_for_a_queued_or_closed_invitation(
        self, workspace: Workspace, admin: User, clerk_gateway: Emulator
    ) -> None:
        invitation = invite(workspace, admin, "jo@example.com")
        services.invitation_revoke(invitation=invitation, actor=admin)
        with pytest.raises(InvitationNotPending):
            links.invitation_link_reveal(invitation=invitation, actor=admin)
        clerk_gateway.faults.append(Fault("POST", "/v1/organizations/*", 1, status=429, retry_after=30))
        queued = invite(workspace, admin, "kim@example.com")
        with pytest.raises(InvitationNotPending):
            links.invitation_link_reveal(invitation=queued, actor=admin)
        assert not AuditEvent.objects.filter(action="workspace_invitation.link_shown").exists()

    def test_revoked_in_clerk_meanwhile_is_not_pending(
        self, workspace: Workspace, admin: User, clerk_gateway: Emulator
    ) -> None:
        invitation = invite(workspace, admin, "lee@example.com")
        clerk_gateway.organization_invitations[invitation.clerk_invitation_id or ""].status = "revoked"
        with pytest.raises(InvitationNotPending):
            links.invitation_link_reveal(invitation=invitation, actor=admin)

    def test_a_member_may_not(
        self, workspace: Workspace, admin: User, clerk_session: Callable[..., ClerkSession]
    ) -> None:
        invitation = invite(workspace, admin, "max@example.com")
        member = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.MEMBER).user
        assert member is not None
        with pytest.raises(PermissionDenied):
            links.invitation_link_reveal(invitation=invitation, actor=member)


# --------------------------------------------------------------------------- API
class TestApi:
    def test_detail_has_the_timeline(self, api: SignedInClient, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "ned@example.com")
        services.invitation_revoke(invitation=invitation, actor=admin)

        response = api.get(f"/api/workspaces/{workspace.pk}/invitations/{invitation.pk}/")

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["id"], body["status"], body["revoked_by"]) == (invitation.pk, "revoked", "ada@example.com")
        assert [step["kind"] for step in body["timeline"]] == ["created", "sent", "revoked"]
        assert body["timeline"][-1]["text"] == "Revoked by ada@example.com"
        assert "url" not in str(body)

    def test_detail_of_another_workspaces_invitation_is_404(
        self, api: SignedInClient, workspace: Workspace, admin: User, clerk_workspace: Callable[..., Workspace]
    ) -> None:
        other = clerk_workspace("Globex")
        row = WorkspaceInvitationFactory.create(workspace=other)
        response = api.get(f"/api/workspaces/{workspace.pk}/invitations/{row.pk}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_list_status_history(self, api: SignedInClient, workspace: Workspace) -> None:
        pending = _rows(workspace, InvitationStatus.PENDING, 1)
        over = _rows(workspace, InvitationStatus.REVOKED, 1) + _rows(workspace, InvitationStatus.ACCEPTED, 1)

        response = api.get(f"/api/workspaces/{workspace.pk}/invitations/", {"status": "history"})

        assert response.status_code == 200, response.content
        ids = {item["id"] for item in response.json()["results"]}
        assert ids == {row.pk for row in over}
        assert pending[0].pk not in ids

    def test_link_is_post_only_not_stored_and_no_store(
        self, api: SignedInClient, workspace: Workspace, admin: User, clerk_gateway: Emulator
    ) -> None:
        invitation = invite(workspace, admin, "oz@example.com")
        url = f"/api/workspaces/{workspace.pk}/invitations/{invitation.pk}/link/"

        assert api.get(url).status_code == 405
        response = api.post(url)

        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        assert body["url"] == clerk_gateway.organization_invitations[invitation.clerk_invitation_id or ""].url
        event = AuditEvent.objects.get(action="workspace_invitation.link_shown")
        assert event.request_id
        assert event.request_id == response["X-Request-ID"]

    def test_link_of_a_revoked_invitation_is_409(self, api: SignedInClient, workspace: Workspace, admin: User) -> None:
        invitation = invite(workspace, admin, "pat@example.com")
        services.invitation_revoke(invitation=invitation, actor=admin)
        response = api.post(f"/api/workspaces/{workspace.pk}/invitations/{invitation.pk}/link/")
        assert response.status_code == 409
        assert response.json()["code"] == "invitation_not_pending"

    def test_a_member_gets_403(
        self, workspace: Workspace, admin: User, signed_in: Callable[..., SignedInClient]
    ) -> None:
        invitation = invite(workspace, admin, "quin@example.com")
        member = signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
        for response in (
            member.get(f"/api/workspaces/{workspace.pk}/invitations/{invitation.pk}/"),
            member.post(f"/api/workspaces/{workspace.pk}/invitations/{invitation.pk}/link/"),
        ):
            assert response.status_code == 403
