"""The Clerk budgets of workspace invitations (core/budgets.py), as the services reserve them: fair shares between
workspaces and people, the services budgeted without the API, and invalid requests that cost the sender nothing.

Real emulator, real services, the real cache (Redis when REDIS_URL is set); each test counts under its own prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from core.exceptions import RateLimited
from invitations import services
from invitations.models import WorkspaceInvitation
from tests.conftest import SignedInClient
from tests.invitations.test_api import assert_error, invite, invite_calls, user_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(clerk_workspace: Callable[..., Workspace]) -> Workspace:
    return clerk_workspace("Globex")


@pytest.fixture
def acme_admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)


@pytest.fixture
def globex_admin(signed_in: Callable[..., SignedInClient], globex: Workspace) -> SignedInClient:
    return signed_in(Role.MEMBER, workspace=globex, workspace_role=WorkspaceRole.ADMIN)


def emails(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}@example.com" for i in range(count)]


class TestFairShares:
    def test_one_workspace_cannot_spend_the_hour_for_everyone(
        self,
        settings: Any,
        workspace: Workspace,
        globex: Workspace,
        acme_admin: SignedInClient,
        globex_admin: SignedInClient,
        clerk_gateway: Emulator,
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "10/h"
        settings.CLERK_BUDGET_SHARE = 0.5  # at most 5 of the 10 per workspace

        first = invite(acme_admin, workspace, *emails("a", 5))
        assert first.status_code == 200, first.content
        assert first.json()["summary"]["invited"] == 5
        before = invite_calls(clerk_gateway)
        refused = assert_error(invite(acme_admin, workspace, "one-more@example.com"), 429, "rate_limited")
        assert refused["extra"]["limit"] == "workspace_invitations"
        assert invite_calls(clerk_gateway) == before  # refused before Clerk
        assert not WorkspaceInvitation.objects.filter(email="one-more@example.com").exists()

        # The other workspace still has its share of the instance-wide budget.
        second = invite(globex_admin, globex, *emails("g", 5))
        assert second.status_code == 200, second.content
        assert second.json()["summary"]["invited"] == 5
        # And now the instance-wide budget is spent for everyone.
        assert_error(invite(globex_admin, globex, "late@example.com"), 429, "rate_limited")

    def test_one_person_cannot_spend_it_across_workspaces(
        self,
        settings: Any,
        workspace: Workspace,
        globex: Workspace,
        signed_in: Callable[..., SignedInClient],
        globex_admin: SignedInClient,
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "10/h"
        settings.CLERK_BUDGET_SHARE = 0.5
        staff = signed_in(Role.ADMIN)  # may invite to every workspace
        assert invite(staff, workspace, *emails("a", 3)).status_code == 200
        assert invite(staff, globex, *emails("g", 2)).status_code == 200
        refused = assert_error(invite(staff, globex, "third@example.com"), 429, "rate_limited")
        assert refused["extra"]["limit"] == "user_invitations"
        assert invite(globex_admin, globex, "third@example.com").status_code == 200  # another person may

    def test_bulk_calls_are_shared_too(
        self,
        settings: Any,
        workspace: Workspace,
        globex: Workspace,
        acme_admin: SignedInClient,
        globex_admin: SignedInClient,
    ) -> None:
        settings.INVITATIONS_GLOBAL_BULK_CALLS_RATE = "4/h"
        settings.CLERK_BUDGET_SHARE = 0.5
        assert invite(acme_admin, workspace, *emails("a", 20)).status_code == 200  # 2 bulk calls: the share
        refused = assert_error(invite(acme_admin, workspace, "b@example.com"), 429, "rate_limited")
        assert refused["extra"]["limit"] == "workspace_bulk_calls"
        assert invite(globex_admin, globex, "b@example.com").status_code == 200

    def test_a_refused_share_gives_back_what_it_took_elsewhere(
        self,
        settings: Any,
        workspace: Workspace,
        globex: Workspace,
        acme_admin: SignedInClient,
        globex_admin: SignedInClient,
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "4/h"
        settings.CLERK_BUDGET_SHARE = 0.5
        assert invite(acme_admin, workspace, *emails("a", 2)).status_code == 200
        for _ in range(3):  # each refusal by the workspace's share must not keep units on the global counter
            assert_error(invite(acme_admin, workspace, "x@example.com"), 429, "rate_limited")
        assert invite(globex_admin, globex, *emails("g", 2)).status_code == 200

    def test_the_share_must_be_a_fraction(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient
    ) -> None:
        from django.core.exceptions import ImproperlyConfigured

        settings.CLERK_BUDGET_SHARE = 2
        with pytest.raises(ImproperlyConfigured):
            services.invitations_create(
                workspace=workspace, inviter=user_of(acme_admin), emails=["a@example.com"], role="member"
            )


class TestServicesAreBudgeted:
    """A management command, a task or a shell calls the service, not the API: the same budget applies."""

    def test_invite_without_the_api(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "2/h"
        settings.CLERK_BUDGET_SHARE = 1
        inviter = user_of(acme_admin)
        services.invitations_create(workspace=workspace, inviter=inviter, emails=emails("a", 2), role="member")
        before = invite_calls(clerk_gateway)
        with pytest.raises(RateLimited):
            services.invitations_create(workspace=workspace, inviter=inviter, emails=["c@example.com"], role="member")
        assert invite_calls(clerk_gateway) == before
        assert not WorkspaceInvitation.objects.filter(email="c@example.com").exists()

    def test_resend_without_the_api(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "2/h"
        settings.CLERK_BUDGET_SHARE = 1
        inviter = user_of(acme_admin)
        [made] = services.invitations_create(
            workspace=workspace, inviter=inviter, emails=["a@example.com"], role="member"
        )
        assert made.invitation is not None
        services.invitation_resend(invitation=made.invitation, actor=inviter)
        row = WorkspaceInvitation.objects.get(pk=made.invitation.pk)
        with pytest.raises(RateLimited):
            services.invitation_resend(invitation=row, actor=inviter)
        after = WorkspaceInvitation.objects.get(pk=row.pk)
        assert (after.status, after.clerk_invitation_id, after.send_count) == (
            row.status,
            row.clerk_invitation_id,
            row.send_count,
        )  # a refusal leaves the row as it was

    def test_invalid_addresses_are_not_reserved(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient
    ) -> None:
        settings.INVITATIONS_GLOBAL_INVITATIONS_RATE = "1/h"
        settings.CLERK_BUDGET_SHARE = 1
        inviter = user_of(acme_admin)
        [bad] = services.invitations_create(
            workspace=workspace, inviter=inviter, emails=["not an email"], role="member"
        )
        assert bad.result == "invalid_email"
        good, also_bad = services.invitations_create(
            workspace=workspace, inviter=inviter, emails=["a@example.com", "nope"], role="member"
        )
        assert (good.result, also_bad.result) == ("invited", "invalid_email")


class TestInvalidRequestsCostNothing:
    def test_a_400_does_not_count_against_the_senders_rate(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient, clerk_gateway: Emulator
    ) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        for body in ({"emails": [], "role": "member"}, {"emails": ["a@example.com"], "role": "emperor"}, {}):
            response = acme_admin.post(f"/api/workspaces/{workspace.pk}/invitations/", body, format="json")
            assert response.status_code == 400, response.content
        assert invite(acme_admin, workspace, "a@example.com").status_code == 200
        assert_error(invite(acme_admin, workspace, "b@example.com"), 429, "rate_limited")  # the limit still holds

    def test_an_invalid_page_form_does_not_count_either(
        self, settings: Any, workspace: Workspace, acme_admin: SignedInClient
    ) -> None:
        settings.INVITATIONS_API_INVITE_RATE = "1/h"
        url = f"/settings/workspaces/{workspace.pk}/invitations/"
        for _ in range(3):
            assert acme_admin.post(url, {"emails": "", "role": "member"}).status_code == 400
        assert acme_admin.post(url, {"emails": "a@example.com", "role": "member"}).status_code == 200
        assert acme_admin.post(url, {"emails": "b@example.com", "role": "member"}).status_code == 429
