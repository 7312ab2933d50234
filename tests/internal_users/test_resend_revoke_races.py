"""Staff invitations: a resend racing a revoke (issue 13, item 4).

The loser hears what the invitation is now: a resend that loses answers 409 ``invitation_not_pending`` (never 200
with a stale status, nor Clerk's 429 for an invitation that no longer exists), and a link Clerk made for it meanwhile
is revoked; a revoke that arrives while a resend replaces the link kills the new link too. Each race holds one Clerk
call open in the emulator (``tests.races.meanwhile``) while another thread, with its own PostgreSQL connection,
makes the competing change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.state import Emulator, Fault
from core.models import AuditEvent
from internal_users import services
from internal_users.errors import InvitationNotPending
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.conftest import SignedInClient
from tests.internal_users.factories import INVITATIONS_PATH, app_invitations, clerk_calls, pending_app_invitations
from tests.races import meanwhile

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ann@example.com"


@pytest.fixture
def root(clerk_user_factory: Callable[..., ClerkUser]) -> User:
    return user_upsert_from_clerk(
        clerk_user=clerk_user_factory(role=Role.SUPER_ADMIN, email="root@example.com"), trust_role=True
    )


@pytest.fixture
def admin(clerk_user_factory: Callable[..., ClerkUser]) -> User:
    return user_upsert_from_clerk(
        clerk_user=clerk_user_factory(role=Role.ADMIN, email="admin@example.com"), trust_role=True
    )


def revoker(actor: User) -> Callable[[], Any]:
    def revoke() -> InternalInvitation:
        return services.internal_invitation_revoke(invitation=InternalInvitation.objects.get(email=EMAIL), actor=actor)

    return revoke


def revoke_path(clerk_invitation_id: str | None) -> str:
    return f"{INVITATIONS_PATH}/{clerk_invitation_id}/revoke"


def resent_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="internal_invitation.resent").order_by("pk"))


class TestResendLosesToRevoke:
    def test_a_revoke_while_clerk_creates_the_new_link_makes_the_resend_409(
        self, clerk_gateway: Emulator, root: User, admin: User
    ) -> None:
        row = services.internal_invite(email=EMAIL, role=Role.PM, actor=root)
        mail.outbox.clear()

        with (
            meanwhile(clerk_gateway, Fault("POST", INVITATIONS_PATH, 1, delay_s=0.5), revoker(admin)),
            pytest.raises(InvitationNotPending) as caught,
        ):
            services.internal_invitation_resend(invitation=row, actor=root)

        assert caught.value.extra == {"status": "revoked"}
        row.refresh_from_db()
        assert (row.status, row.revoked_by) == (InternalInvitationStatus.REVOKED, admin)
        assert pending_app_invitations(clerk_gateway, EMAIL) == []  # the link made meanwhile was revoked too
        assert mail.outbox == []
        (event,) = resent_events()
        assert (event.outcome, event.details["code"]) == ("failed", "invitation_not_pending")

    def test_a_revoke_during_the_resends_429_makes_it_409_not_429(
        self, clerk_gateway: Emulator, root: User, admin: User
    ) -> None:
        row = services.internal_invite(email=EMAIL, role=Role.PM, actor=root)
        slow_429 = Fault("POST", INVITATIONS_PATH, 1, delay_s=0.5, status=429, retry_after=60)

        with meanwhile(clerk_gateway, slow_429, revoker(admin)), pytest.raises(InvitationNotPending):
            services.internal_invitation_resend(invitation=row, actor=root)

        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.REVOKED
        assert pending_app_invitations(clerk_gateway, EMAIL) == []

    def test_a_revoke_while_the_old_link_is_revoked_stops_the_resend_before_a_new_link(
        self, clerk_gateway: Emulator, root: User, admin: User
    ) -> None:
        row = services.internal_invite(email=EMAIL, role=Role.PM, actor=root)
        created_before = clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH)
        slow = Fault("POST", revoke_path(row.clerk_invitation_id), 1, delay_s=0.5)

        with meanwhile(clerk_gateway, slow, revoker(admin)), pytest.raises(InvitationNotPending):
            services.internal_invitation_resend(invitation=row, actor=root)

        assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == created_before  # no new link asked for
        row.refresh_from_db()
        assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.REVOKED, row.clerk_invitation_id)
        assert row.clerk_invitation_id is not None  # still names the (revoked) link it had
        assert [i.status for i in app_invitations(clerk_gateway, EMAIL)] == ["revoked"]

    def test_the_api_answers_the_losing_resend_409_invitation_not_pending(
        self, clerk_gateway: Emulator, admin: User, signed_in: Callable[..., SignedInClient]
    ) -> None:
        client = signed_in(Role.SUPER_ADMIN)
        assert client.user is not None
        row = services.internal_invite(email=EMAIL, role=Role.PM, actor=client.user)

        with meanwhile(clerk_gateway, Fault("POST", INVITATIONS_PATH, 1, delay_s=0.5), revoker(admin)):
            response = client.post(f"/api/admin/internal-users/invitations/{row.pk}/resend/")

        assert response.status_code == 409, response.content
        body = response.json()
        assert (body["code"], body["extra"]) == ("invitation_not_pending", {"status": "revoked"})


class TestRevokeDuringResend:
    def test_a_resend_that_finishes_while_clerk_revokes_the_old_link_loses_its_new_link_too(
        self, clerk_gateway: Emulator, root: User, admin: User
    ) -> None:
        row = services.internal_invite(email=EMAIL, role=Role.PM, actor=root)
        old = row.clerk_invitation_id
        resent: list[InternalInvitation] = []

        def resend() -> None:
            current = InternalInvitation.objects.get(pk=row.pk)
            resent.append(services.internal_invitation_resend(invitation=current, actor=root))

        with meanwhile(clerk_gateway, Fault("POST", revoke_path(old), 1, delay_s=0.8), resend):
            revoked = services.internal_invitation_revoke(invitation=row, actor=admin)

        (new,) = resent
        assert new.clerk_invitation_id not in (None, old)
        assert (revoked.status, revoked.revoked_by) == (InternalInvitationStatus.REVOKED, admin)
        assert clerk_gateway.invitations[new.clerk_invitation_id or ""].status == "revoked"
        assert pending_app_invitations(clerk_gateway, EMAIL) == []


class TestInviteLosesToRevoke:
    def test_an_invitation_revoked_during_clerks_429_stays_revoked_and_the_invite_says_so(
        self, clerk_gateway: Emulator, root: User, admin: User
    ) -> None:
        slow_429 = Fault("POST", INVITATIONS_PATH, 1, delay_s=0.5, status=429, retry_after=60)

        with meanwhile(clerk_gateway, slow_429, revoker(admin)), pytest.raises(InvitationNotPending) as caught:
            services.internal_invite(email=EMAIL, role=Role.PM, actor=root)

        assert caught.value.extra == {"status": "revoked"}
        row = InternalInvitation.objects.get(email=EMAIL)  # the revoke stays on record; the row is not deleted
        assert (row.status, row.revoked_by) == (InternalInvitationStatus.REVOKED, admin)
        assert app_invitations(clerk_gateway, EMAIL) == []
        assert [event.actor_id for event in AuditEvent.objects.filter(action="internal_invitation.revoked")] == [
            admin.pk
        ]

    def test_without_a_revoke_clerks_429_leaves_no_row(self, clerk_gateway: Emulator, root: User) -> None:
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=429, retry_after=60))
        with pytest.raises(clerk.ClerkRateLimited):
            services.internal_invite(email=EMAIL, role=Role.PM, actor=root)
        assert not InternalInvitation.objects.filter(email=EMAIL).exists()
