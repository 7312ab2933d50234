"""Workspace invitations: a resend or an invite racing a revoke (issue 13, items 4 and 6).

The rule: whoever loses hears what the invitation is now. A resend that loses answers 409 ``invitation_not_pending``
(never 200 with a stale status); an invite's per-email result for an address revoked while Clerk was asked is
``revoked`` (never "Invitation sent." nor "queued"); a revoke that arrives while a resend replaces the link kills the
new link too. Each race holds one Clerk call open in the emulator (``tests.races.meanwhile``) while another thread,
with its own PostgreSQL connection, makes the competing change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent
from invitations import services
from invitations.errors import InvitationNotPending
from invitations.models import WorkspaceInvitation
from tests.conftest import ClerkSession, SignedInClient
from tests.invitations.factories import bulk_path, clerk_calls, clerk_pending
from tests.races import meanwhile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_resend_cooldown(settings: Any) -> None:
    settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 0


@pytest.fixture
def other_admin(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> User:
    user = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Bo").user
    assert user is not None
    return user


def invite_one(workspace: Workspace, inviter: User, email: str) -> WorkspaceInvitation:
    (result,) = services.invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.invitation is not None, result
    return result.invitation


def revoke_path(workspace: Workspace, clerk_invitation_id: str) -> str:
    return f"/v1/organizations/{workspace.clerk_organization_id}/invitations/{clerk_invitation_id}/revoke"


def revoker(other_admin: User, email: str) -> Callable[[], WorkspaceInvitation]:
    def revoke() -> WorkspaceInvitation:
        row = WorkspaceInvitation.objects.get(email=email)
        return services.invitation_revoke(invitation=row, actor=other_admin)

    return revoke


def resent_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="workspace_invitation.resent").order_by("pk"))


# =========================================================================== invite many: each email's result
class TestInviteResults:
    def test_an_address_revoked_while_clerk_creates_it_reports_revoked_not_sent(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)
        with meanwhile(clerk_emulator, slow, revoker(other_admin, "late@example.com")):
            late, kept = services.invitations_create(
                workspace=workspace,
                inviter=org_admin,
                emails=["late@example.com", "kept@example.com"],
                role="member",
            )

        assert (late.email, late.result) == ("late@example.com", "revoked")
        assert late.message != "Invitation sent."
        assert "revoked" in late.message.lower()
        assert late.invitation is not None
        assert late.invitation.status == "revoked"
        assert (kept.result, kept.message) == ("invited", "Invitation sent.")  # the other address is unaffected
        assert set(clerk_pending(clerk_emulator, workspace.clerk_organization_id)) == {"kept@example.com"}
        invite_events = AuditEvent.objects.filter(action="workspace_invitation.invite")
        assert sorted(invite_events.values_list("details__result", flat=True)) == ["invited", "revoked"]

    def test_an_address_revoked_during_a_429_reports_revoked_not_queued(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        slow_429 = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5, status=429, retry_after=60)
        with meanwhile(clerk_emulator, slow_429, revoker(other_admin, "late@example.com")):
            (result,) = services.invitations_create(
                workspace=workspace, inviter=org_admin, emails=["late@example.com"], role="member"
            )

        assert result.result == "revoked"
        assert "queued" not in result.message.lower()
        assert "automatically" not in result.message
        row = WorkspaceInvitation.objects.get()
        assert (row.status, row.retry_at) == ("revoked", None)
        assert clerk_emulator.organization_invitations == {}
        assert services.invitations_send_queued(now=timezone.now() + timedelta(minutes=5)) == 0

    def test_the_api_counts_an_address_revoked_meanwhile_as_revoked(
        self,
        workspace: Workspace,
        other_admin: User,
        clerk_emulator: Emulator,
        signed_in: Callable[..., SignedInClient],
    ) -> None:
        client = signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)
        with meanwhile(clerk_emulator, slow, revoker(other_admin, "late@example.com")):
            response = client.post(
                f"/api/workspaces/{workspace.pk}/invitations/",
                {"emails": ["late@example.com"], "role": "member"},
                content_type="application/json",
            )

        assert response.status_code == 200, response.content
        body = response.json()
        assert [r["result"] for r in body["results"]] == ["revoked"]
        assert body["summary"]["revoked"] == 1
        assert body["summary"]["invited"] == 0


# =========================================================================== resend against revoke
class TestResendLosesToRevoke:
    def test_a_revoke_while_clerk_creates_the_new_link_makes_the_resend_409(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)

        with (
            meanwhile(clerk_emulator, slow, revoker(other_admin, "ann@example.com")),
            pytest.raises(InvitationNotPending) as caught,
        ):
            services.invitation_resend(invitation=row, actor=org_admin)

        assert caught.value.extra == {"status": "revoked"}
        row.refresh_from_db()
        assert (row.status, row.revoked_by_id) == ("revoked", other_admin.pk)
        assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}  # the new link was revoked too
        (event,) = resent_events()
        assert (event.outcome, event.details["result"], event.details["code"]) == (
            "failed",
            "not_pending",
            "invitation_not_pending",
        )

    def test_a_revoke_while_the_old_link_is_revoked_stops_the_resend_before_a_new_link(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        bulk = bulk_path(workspace.clerk_organization_id)
        sent_before = clerk_calls(clerk_emulator, "POST", bulk)
        slow = Fault("POST", revoke_path(workspace, row.clerk_invitation_id or ""), 1, delay_s=0.5)

        with (
            meanwhile(clerk_emulator, slow, revoker(other_admin, "ann@example.com")),
            pytest.raises(InvitationNotPending) as caught,
        ):
            services.invitation_resend(invitation=row, actor=org_admin)

        assert caught.value.extra == {"status": "revoked"}
        assert clerk_calls(clerk_emulator, "POST", bulk) == sent_before  # no new link was asked for
        assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}
        row.refresh_from_db()
        assert row.status == "revoked"

    def test_a_revoke_during_the_resends_429_makes_it_409_not_429(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        slow_429 = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5, status=429, retry_after=60)

        with (
            meanwhile(clerk_emulator, slow_429, revoker(other_admin, "ann@example.com")),
            pytest.raises(InvitationNotPending),
        ):
            services.invitation_resend(invitation=row, actor=org_admin)

        row.refresh_from_db()
        assert (row.status, row.retry_at) == ("revoked", None)
        assert services.invitations_send_queued(now=timezone.now() + timedelta(minutes=5)) == 0

    def test_the_api_answers_the_losing_resend_409_invitation_not_pending(
        self,
        workspace: Workspace,
        other_admin: User,
        clerk_emulator: Emulator,
        signed_in: Callable[..., SignedInClient],
    ) -> None:
        client = signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
        assert client.user is not None
        row = invite_one(workspace, client.user, "ann@example.com")
        slow = Fault("POST", bulk_path(workspace.clerk_organization_id), 1, delay_s=0.5)

        with meanwhile(clerk_emulator, slow, revoker(other_admin, "ann@example.com")):
            response = client.post(f"/api/workspaces/{workspace.pk}/invitations/{row.pk}/resend/")

        assert response.status_code == 409, response.content
        body = response.json()
        assert (body["code"], body["extra"]) == ("invitation_not_pending", {"status": "revoked"})


class TestRevokeDuringResend:
    def test_a_resend_that_finishes_while_clerk_revokes_the_old_link_loses_its_new_link_too(
        self, workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
    ) -> None:
        row = invite_one(workspace, org_admin, "ann@example.com")
        old = row.clerk_invitation_id or ""
        resent: list[WorkspaceInvitation] = []

        def resend() -> None:
            current = WorkspaceInvitation.objects.get(pk=row.pk)
            resent.append(services.invitation_resend(invitation=current, actor=org_admin))

        # The revoke reads the old link, Clerk holds its revoke; the resend runs start to end meanwhile.
        with meanwhile(clerk_emulator, Fault("POST", revoke_path(workspace, old), 1, delay_s=0.8), resend):
            revoked = services.invitation_revoke(invitation=row, actor=other_admin)

        (new,) = resent
        assert new.status == "pending"
        assert new.clerk_invitation_id not in (None, old)
        assert (revoked.status, revoked.revoked_by_id) == ("revoked", other_admin.pk)
        assert clerk_emulator.organization_invitations[new.clerk_invitation_id or ""].status == "revoked"
        assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {}


def test_without_a_revoke_the_same_429_is_clerks_rate_limit(
    workspace: Workspace, org_admin: User, other_admin: User, clerk_emulator: Emulator
) -> None:
    # Sanity of the 429 race above from the other side: without a revoke, the same 429 is Clerk's rate limit.
    row = invite_one(workspace, org_admin, "ann@example.com")
    clerk_emulator.faults.append(
        Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=429, retry_after=60)
    )
    with pytest.raises(clerk.ClerkRateLimited):
        services.invitation_resend(invitation=row, actor=org_admin)
    row.refresh_from_db()
    assert row.status == "queued"
