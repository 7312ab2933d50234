"""Edges of the staff services, the staff-invitation reconciler, the list's query and output serializers, the
API's guards and phone onboarding: Clerk answering something unexpected, another request (or a staff member, or a
reconciler run) changing a row while Clerk is being asked, and rows that are no longer what a repair expected.

Clerk is the in-thread emulator throughout (tests/conftest.py); a ``Fault`` with a delay holds one Clerk call open
while another thread, with its own database connection, makes the concurrent change.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.state import Emulator, Fault
from core.exceptions import NotAuthenticated
from core.models import AuditEvent
from core.reconcile import SyncContext, clerk_sync
from internal_users import phone_onboarding, selectors, services, sync
from internal_users.api.serializers import StaffEntrySerializer, StaffListQuerySerializer
from internal_users.api.views import CAN_MANAGE, StaffViewSetBase
from internal_users.errors import InvitationNotPending
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.conftest import ClerkSession, SignedInClient
from tests.internal_users.factories import INVITATIONS_PATH, InternalInvitationFactory, app_invitations, clerk_calls
from tests.races import meanwhile

MakeStaff = Callable[..., User]
STAFF_API = "/api/admin/internal-users/"


@pytest.fixture
def staff(clerk_user_factory: Callable[..., ClerkUser]) -> MakeStaff:
    """``staff(role, email=...)``: a Clerk user with that staff role, mirrored locally."""

    def make(role: str = Role.PM, *, email: str | None = None, **fields: Any) -> User:
        clerk_user = clerk_user_factory(role=role, email=email, **fields)
        return user_upsert_from_clerk(clerk_user=clerk_user, trust_role=True)

    return make


@pytest.fixture
def root(staff: MakeStaff) -> User:
    return staff(Role.SUPER_ADMIN, email="root@example.com")


def clerk_id(row: InternalInvitation) -> str:
    assert row.clerk_invitation_id
    return row.clerk_invitation_id


def audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# =========================================================================== races with Clerk in the middle
@pytest.mark.django_db(transaction=True)
class TestConcurrentChanges:
    def test_an_invitation_revoked_while_clerk_creates_it_is_revoked_in_clerk_too(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        admin = staff(Role.ADMIN, email="admin@example.com")

        def revoke_here() -> None:
            row = InternalInvitation.objects.get(email="late@example.com")
            services.internal_invitation_revoke(invitation=row, actor=admin)

        with (
            meanwhile(clerk_gateway, Fault("POST", INVITATIONS_PATH, 1, delay_s=0.5), revoke_here),
            pytest.raises(InvitationNotPending, match="revoked while it was being sent"),
        ):
            services.internal_invite(email="late@example.com", role=Role.PM, actor=root)

        row = InternalInvitation.objects.get(email="late@example.com")
        assert (row.status, row.revoked_by, row.clerk_invitation_id) == (InternalInvitationStatus.REVOKED, admin, None)
        [remote] = app_invitations(clerk_gateway, "late@example.com")
        assert remote.status == "revoked"  # the link Clerk made a moment too late does not work
        assert mail.outbox == []
        assert audits("internal_invitation.created") == []
        assert [event.actor_id for event in audits("internal_invitation.revoked")] == [admin.pk]

    def test_an_invitation_accepted_while_clerk_revokes_it_stays_accepted(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        row = services.internal_invite(email="quick@example.com", role=Role.PM, actor=root)
        joined = staff(Role.PM, email="quick@example.com")
        [remote] = clerk.list_invitations(query="quick@example.com")

        def accepted_meanwhile() -> None:  # e.g. a clerk_sync run that saw the acceptance
            services.invitation_accepted_from_clerk(invitation=remote)

        revoke = Fault("POST", f"{INVITATIONS_PATH}/{row.clerk_invitation_id}/revoke", 1, delay_s=0.5)
        with (
            meanwhile(clerk_gateway, revoke, accepted_meanwhile),
            pytest.raises(InvitationNotPending, match="already accepted"),
        ):
            services.internal_invitation_revoke(invitation=row, actor=root)

        row.refresh_from_db()
        assert (row.status, row.accepted_user, row.revoked_at) == (InternalInvitationStatus.ACCEPTED, joined, None)
        assert audits("internal_invitation.revoked") == []

    def test_two_staff_revoking_at_once_revoke_once(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        admin = staff(Role.ADMIN, email="admin@example.com")
        row = services.internal_invite(email="twice@example.com", role=Role.PM, actor=root)

        def other_revokes() -> None:
            services.internal_invitation_revoke(invitation=row, actor=admin)

        revoke = Fault("POST", f"{INVITATIONS_PATH}/{row.clerk_invitation_id}/revoke", 1, delay_s=0.5)
        with meanwhile(clerk_gateway, revoke, other_revokes):
            done = services.internal_invitation_revoke(invitation=row, actor=root)

        assert (done.status, done.revoked_by) == (InternalInvitationStatus.REVOKED, admin)
        assert [event.actor_id for event in audits("internal_invitation.revoked")] == [admin.pk]
        assert clerk_gateway.invitations[clerk_id(row)].status == "revoked"

    def test_an_invitation_revoked_while_a_role_grant_closes_it_is_closed_once(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff, clerk_user_factory: Callable[..., ClerkUser]
    ) -> None:
        admin = staff(Role.ADMIN, email="admin@example.com")
        row = services.internal_invite(email="member@example.com", role=Role.PM, actor=root)
        clerk_user_factory(email="member@example.com")  # signed up some other way: granted a role instead

        def other_revokes() -> None:
            services.internal_invitation_revoke(invitation=row, actor=admin)

        revoke = Fault("POST", f"{INVITATIONS_PATH}/{row.clerk_invitation_id}/revoke", 1, delay_s=0.5)
        with meanwhile(clerk_gateway, revoke, other_revokes):
            user = services.staff_role_grant(email="member@example.com", role=Role.PM, actor=root)

        assert user.role == Role.PM
        row.refresh_from_db()
        assert (row.status, row.revoked_by) == (InternalInvitationStatus.REVOKED, admin)
        assert [event.actor_id for event in audits("internal_invitation.revoked")] == [admin.pk]
        assert len(audits("staff_user.role_granted")) == 1


# =========================================================================== Clerk answering the unexpected
@pytest.mark.django_db
class TestClerkRefusals:
    def test_an_invitation_clerk_rejects_for_another_reason_leaves_no_row(
        self, clerk_gateway: Emulator, root: User
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=422, code="form_param_format_invalid"))
        with pytest.raises(clerk.ClerkRejected) as error:
            services.internal_invite(email="odd@example.com", role=Role.PM, actor=root)
        assert error.value.clerk_code == "form_param_format_invalid"
        assert not InternalInvitation.objects.exists()
        assert app_invitations(clerk_gateway) == []
        assert audits("internal_invitation.created") == []

    def test_clerk_down_for_the_create_and_the_look_up_leaves_no_row(self, clerk_gateway: Emulator, root: User) -> None:
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=503))
        clerk_gateway.faults.append(Fault("GET", INVITATIONS_PATH, 10, status=503))
        with pytest.raises(clerk.ClerkUnavailable):
            services.internal_invite(email="down@example.com", role=Role.PM, actor=root)
        assert not InternalInvitation.objects.exists()
        assert clerk_calls(clerk_gateway, "GET", INVITATIONS_PATH) >= 1  # it did look for a half-made invitation

    def test_a_revoke_clerk_rejects_for_another_reason_leaves_the_invitation_pending(
        self, clerk_gateway: Emulator, root: User
    ) -> None:
        row = services.internal_invite(email="keep@example.com", role=Role.PM, actor=root)
        clerk_gateway.faults.append(Fault("POST", f"{INVITATIONS_PATH}/*", 1, status=400, code="unexpected_error"))
        with pytest.raises(clerk.ClerkRejected) as error:
            services.internal_invitation_revoke(invitation=row, actor=root)
        assert error.value.clerk_code == "unexpected_error"
        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.PENDING
        assert clerk_gateway.invitations[clerk_id(row)].status == "pending"
        assert audits("internal_invitation.revoked") == []


# =========================================================================== staff users: our rows follow Clerk
@pytest.mark.django_db
class TestBanMirroring:
    def test_deactivate_mirrors_the_ban_even_when_our_row_is_newer_than_clerks_answer(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        # A webhook stamped later than the ban's response already reached us: the upsert keeps our row as it is.
        User.objects.filter(pk=pm.pk).update(clerk_updated_at=clerk_gateway.now_ms() + 3_600_000)
        done = services.staff_user_deactivate(user=pm, actor=root)
        assert done.disabled_at is not None
        assert User.objects.get(pk=pm.pk).disabled_at is not None
        assert clerk_gateway.users[pm.clerk_user_id].banned is True
        assert len(audits("staff_user.deactivated")) == 1

    def test_reactivate_clears_disabled_at_even_when_our_row_is_newer_than_clerks_answer(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        services.staff_user_deactivate(user=pm, actor=root)
        User.objects.filter(pk=pm.pk).update(clerk_updated_at=clerk_gateway.now_ms() + 3_600_000)
        done = services.staff_user_reactivate(user=pm, actor=root)
        assert done.disabled_at is None
        assert User.objects.get(pk=pm.pk).disabled_at is None
        assert clerk_gateway.users[pm.clerk_user_id].banned is False
        assert len(audits("staff_user.reactivated")) == 1


# =========================================================================== granting a role
@pytest.mark.django_db
class TestGrantRoleEdges:
    def test_promoting_an_admin_to_super_admin_needs_no_other_super_admin_check(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        admin = staff(Role.ADMIN, email="admin@example.com")
        promoted = services.staff_role_grant(email=(admin.email or ""), role=Role.SUPER_ADMIN, actor=root)
        assert (promoted.pk, promoted.role) == (admin.pk, Role.SUPER_ADMIN)
        assert clerk_gateway.users[admin.clerk_user_id].public_metadata == {"role": "super_admin", "internal": True}
        [event] = audits("staff_user.role_granted")
        assert event.details["previous_role"] == Role.ADMIN

    def test_a_pending_invitation_never_sent_to_clerk_is_closed_without_a_clerk_call(
        self, clerk_gateway: Emulator, root: User, clerk_user_factory: Callable[..., ClerkUser]
    ) -> None:
        clerk_user_factory(email="member@example.com")
        unsent = InternalInvitationFactory.create(email="member@example.com", clerk_invitation_id=None)
        services.staff_role_grant(email="member@example.com", role=Role.PM, actor=root)
        unsent.refresh_from_db()
        assert (unsent.status, unsent.revoked_by) == (InternalInvitationStatus.REVOKED, root)
        assert not any(path.endswith("/revoke") for _, path, _ in clerk_gateway.request_log)
        [event] = audits("internal_invitation.revoked")
        assert event.details["reason"] == "role granted to the existing account"

    def test_clerk_failing_to_revoke_the_old_invitation_still_closes_it_here(
        self,
        clerk_gateway: Emulator,
        root: User,
        clerk_user_factory: Callable[..., ClerkUser],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        row = services.internal_invite(email="member@example.com", role=Role.PM, actor=root)
        clerk_user_factory(email="member@example.com")  # signed up some other way meanwhile
        clerk_gateway.faults.append(Fault("POST", f"{INVITATIONS_PATH}/*", 5, status=503))
        with caplog.at_level(logging.WARNING, logger="internal_users.services"):
            user = services.staff_role_grant(email="member@example.com", role=Role.PM, actor=root)
        assert user.role == Role.PM
        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.REVOKED
        assert clerk_gateway.invitations[clerk_id(row)].status == "pending"  # clerk_sync closes it later
        assert any(
            f"could not revoke Clerk invitation {row.clerk_invitation_id}" in record.getMessage()
            for record in caplog.records
        )


# =========================================================================== email.created
@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"slug": "invitation", "to_email_address": "", "data": {"action_url": "https://accounts.example/v1/x"}},
        {"slug": "invitation", "to_email_address": "who@example.com", "data": {}},
        {"slug": "invitation", "to_email_address": "who@example.com", "data": "not an object"},
        {"slug": "invitation", "to_email_address": "who@example.com", "data": {"action_url": 42}},
    ],
)
def test_an_invitation_email_without_an_address_or_link_is_ignored(
    django_capture_on_commit_callbacks: Callable[..., Any], data: dict[str, Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = services.email_created_from_clerk(data=data)
    assert note == "invitation email without an address or link; ignored"
    assert callbacks == []
    assert mail.outbox == []


# =========================================================================== the staff-invitation reconciler
@dataclass
class DeferredRepairs(SyncContext):
    """Keeps each drift's repair instead of running it, so a concurrent change can land before it runs."""

    repairs: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def drift(self, area: str, kind: str, clerk_id: str, description: str, repair: Callable[[], Any] | None) -> None:
        assert repair is not None
        self.repairs.append((kind, repair))


def staff_invitation_in_clerk(email: str, role: str = Role.PM) -> str:
    """A pending staff invitation made in Clerk's dashboard (no row here)."""
    return clerk.create_invitation(
        email=email, public_metadata={"role": role, "internal": True}, notify=False, expires_in_days=7
    ).id


@pytest.mark.django_db
class TestStaffInvitationSync:
    def test_an_invitation_expired_in_clerk_is_expired_here(self, clerk_gateway: Emulator, root: User) -> None:
        row = services.internal_invite(email="slow@example.com", role=Role.PM, actor=root)
        clerk_gateway.invitations[clerk_id(row)].expires_at = clerk_gateway.now_ms() - 1000

        report = clerk_sync(only=[sync.AREA])

        assert [(d.kind, d.repaired) for d in report.drifts] == [("expired_in_clerk", True)]
        row.refresh_from_db()
        assert (row.status, row.revoked_at) == (InternalInvitationStatus.EXPIRED, None)
        [event] = audits("internal_invitation.expired")
        assert event.details == {"source": "clerk"}
        assert clerk_sync(only=[sync.AREA]).drifts == []

    def test_an_invitation_accepted_in_clerk_is_accepted_here_and_linked(
        self, clerk_gateway: Emulator, root: User, staff: MakeStaff
    ) -> None:
        row = services.internal_invite(email="joined@example.com", role=Role.PM, actor=root)
        clerk_gateway.invitations[clerk_id(row)].status = "accepted"  # no webhook for app invitations
        user = staff(Role.PM, email="joined@example.com")

        report = clerk_sync(only=[sync.AREA])

        assert [(d.kind, d.repaired) for d in report.drifts] == [("accepted_in_clerk", True)]
        row.refresh_from_db()
        assert (row.status, row.accepted_user) == (InternalInvitationStatus.ACCEPTED, user)
        assert clerk_sync(only=[sync.AREA]).drifts == []

    def test_a_clerk_invitation_is_not_adopted_over_a_failed_row_while_another_is_pending(
        self, clerk_gateway: Emulator
    ) -> None:
        failed = InternalInvitationFactory.create(
            email="busy@example.com", status=InternalInvitationStatus.FAILED, clerk_invitation_id=None
        )
        pending = InternalInvitationFactory.create(email="busy@example.com")
        clerk_id = staff_invitation_in_clerk("busy@example.com")

        report = clerk_sync(only=[sync.AREA])

        assert [(d.kind, d.clerk_id, d.repaired) for d in report.drifts] == [("missing_locally", clerk_id, False)]
        assert report.errors == [
            f"{sync.AREA} {clerk_id}: RuntimeError: another pending staff invitation for this email exists here; "
            "left alone"
        ]
        failed.refresh_from_db()
        assert (failed.status, failed.clerk_invitation_id) == (InternalInvitationStatus.FAILED, None)
        assert InternalInvitation.objects.get(pk=pending.pk).clerk_invitation_id == pending.clerk_invitation_id
        assert audits("internal_invitation.linked") == []

    def test_a_clerk_invitation_is_not_adopted_when_a_pending_row_has_another_clerk_id(
        self, clerk_gateway: Emulator
    ) -> None:
        pending = InternalInvitationFactory.create(email="busy@example.com")
        clerk_id = staff_invitation_in_clerk("busy@example.com")

        report = clerk_sync(only=[sync.AREA])

        assert [(d.kind, d.repaired) for d in report.drifts] == [("missing_locally", False)]
        assert report.errors == [
            f"{sync.AREA} {clerk_id}: RuntimeError: another pending staff invitation for this email exists here; "
            "left alone"
        ]
        assert list(InternalInvitation.objects.values_list("pk", flat=True)) == [pending.pk]
        assert audits("internal_invitation.adopted") == []

    def test_a_revoked_in_clerk_repair_after_a_staff_revoke_changes_nothing(
        self, clerk_gateway: Emulator, root: User
    ) -> None:
        row = services.internal_invite(email="gone@example.com", role=Role.PM, actor=root)
        clerk.revoke_invitation(clerk_id(row))  # in Clerk's dashboard
        context = DeferredRepairs()
        sync.reconcile_staff_invitations(context)
        [(kind, repair)] = context.repairs
        assert kind == "revoked_in_clerk"

        revoked = services.internal_invitation_revoke(invitation=row, actor=root)  # a staff member, meanwhile
        repair()

        row.refresh_from_db()
        assert (row.status, row.revoked_by, row.revoked_at) == ("revoked", root, revoked.revoked_at)
        [event] = audits("internal_invitation.revoked")
        assert event.actor_id == root.pk  # the late repair recorded nothing of its own

    def test_a_never_sent_repair_after_the_row_was_linked_changes_nothing(self, clerk_gateway: Emulator) -> None:
        row = InternalInvitationFactory.create(email="slow@example.com", clerk_invitation_id=None)
        InternalInvitation.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=1))
        context = DeferredRepairs()
        sync.reconcile_staff_invitations(context)
        [(kind, repair)] = context.repairs
        assert kind == "never_sent"

        # The slow invite finally records its Clerk invitation before the repair runs.
        InternalInvitation.objects.filter(pk=row.pk).update(clerk_invitation_id="inv_linked_meanwhile")
        repair()

        row.refresh_from_db()
        assert (row.status, row.failure_reason) == (InternalInvitationStatus.PENDING, "")
        assert audits("internal_invitation.failed") == []


# =========================================================================== the list's query and output
class TestListSerializers:
    def test_a_plain_mapping_is_checked_and_other_parameters_are_ignored(self) -> None:
        query = StaffListQuerySerializer(data={"status": "pending", "page_size": "10", "format": "json"})
        assert query.is_valid(), query.errors
        assert query.validated_data == {"status": "pending", "page_size": 10}

    def test_a_query_that_is_not_a_mapping_is_invalid(self) -> None:
        query = StaffListQuerySerializer(data=["status", "pending"])
        assert not query.is_valid()
        assert list(query.errors) == ["non_field_errors"]

    def test_a_checked_query_reads_back_as_it_was_given(self) -> None:
        assert StaffListQuerySerializer({"status": "expired", "role": "admin"}).data == {
            "status": "expired",
            "role": "admin",
        }

    def test_an_entry_holding_neither_an_invitation_nor_a_user_has_only_its_kind_and_status(self) -> None:
        data = StaffEntrySerializer(selectors.StaffEntry("invitation", "pending")).data
        assert (data["kind"], data["status"], data["email"]) == ("invitation", "pending", "")
        assert {name for name, value in data.items() if value is not None} == {"kind", "status", "email", "role"}

    def test_such_an_entry_cannot_become_a_cursor(self) -> None:
        with pytest.raises(ValueError, match="holds an invitation or a user"):
            selectors._cursor_of(selectors.StaffEntry("user", "active"), backwards=False)


@pytest.mark.django_db
def test_a_cursor_with_an_impossible_date_is_an_invalid_cursor(
    signed_in: Callable[..., SignedInClient],
) -> None:
    raw = json.dumps(["invitation", "2024-02-30T10:00:00+00:00", 1, 0], separators=(",", ":")).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = signed_in(Role.SUPER_ADMIN).get(STAFF_API, {"cursor": cursor})
    assert response.status_code == 404
    assert response.json()["code"] == "invalid_cursor"


# =========================================================================== the API's guards without a user
@pytest.mark.django_db
class TestAnonymousGuards:
    @staticmethod
    def anonymous_request() -> Request:
        request = Request(APIRequestFactory().post(f"{STAFF_API}invitations/"))
        request.user = AnonymousUser()
        return request

    def test_the_staff_permission_refuses_without_logging_or_auditing(self, caplog: pytest.LogCaptureFixture) -> None:
        view = StaffViewSetBase()
        view.kwargs = {}
        with caplog.at_level(logging.WARNING):
            assert CAN_MANAGE().has_permission(self.anonymous_request(), view) is False
        assert caplog.records == []
        assert not AuditEvent.objects.exists()

    def test_a_view_without_a_signed_in_user_has_no_actor(self) -> None:
        view = StaffViewSetBase()
        view.request = self.anonymous_request()
        with pytest.raises(NotAuthenticated):
            _ = view.actor


# =========================================================================== phone onboarding
@pytest.mark.django_db
def test_phone_verification_of_an_onboarded_user_asks_clerk_nothing(
    clerk_gateway: Emulator, clerk_session: Callable[..., ClerkSession]
) -> None:
    session = clerk_session(Role.MEMBER)
    assert session.user is not None
    assert session.user.phone_verification_required is False
    calls = len(clerk_gateway.request_log)
    assert phone_onboarding.phone_verification_complete(user=session.user) is session.user
    assert len(clerk_gateway.request_log) == calls
    assert audits("user.phone_verified") == []
