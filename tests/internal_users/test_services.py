"""Staff services (internal_users/services/): invite, email, resend, revoke, grant a role, deactivate, reactivate,
remove, expire. Issue 5 items 1-3, at the service level.

Every Clerk call goes through the real gateway to the in-thread Clerk emulator (tests/conftest.py); faults are
injected into the emulator, and "no Clerk call" is read from its request log. Emails go through Django's locmem
mailer; the email task runs on the immediate backend when the transaction commits
(``django_capture_on_commit_callbacks``), as it would after a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkUser, clerk_time
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator, Fault
from core.exceptions import InvalidInput, NotFound, PermissionDenied
from core.models import AuditEvent
from core.request_id import _request_id
from internal_users import services
from internal_users.errors import (
    AlreadyAUser,
    AlreadyInvited,
    AlreadyStaff,
    CannotActOnSelf,
    InvalidStaffRole,
    InvitationNotPending,
    LastSuperAdmin,
    NotStaff,
    SuperAdminOnly,
)
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from tests.internal_users.factories import (
    INVITATIONS_PATH,
    InternalInvitationFactory,
    app_invitations,
    clerk_calls,
    pending_app_invitations,
)

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"
LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
Capture = Callable[..., Any]
MakeStaff = Callable[..., User]


class FailingMailBackend(BaseEmailBackend):
    """A mail server that refuses everything (the task must record it, not lose the invitation)."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("mail server refused the connection")


FAILING = {"default": {"BACKEND": f"{__name__}.FailingMailBackend"}}


@pytest.fixture(autouse=True)
def app_settings(settings: Any) -> None:
    settings.APP_BASE_URL = APP
    settings.INVITATION_EXPIRY_DAYS = 7


@pytest.fixture
def staff(clerk_user_factory: Callable[..., ClerkUser]) -> MakeStaff:
    """``staff(role, email=...)``: a Clerk user with that role in its metadata, mirrored locally (our own grant)."""

    def make(role: str = Role.PM, *, email: str | None = None, first_name: str = "Test", **fields: Any) -> User:
        clerk_user = clerk_user_factory(role=role, email=email, first_name=first_name, **fields)
        return user_upsert_from_clerk(clerk_user=clerk_user, trust_role=True)

    return make


@pytest.fixture
def root(staff: MakeStaff) -> User:
    return staff(Role.SUPER_ADMIN, email="root@example.com", first_name="Q&A <Team>", last_name="Root")


@pytest.fixture
def admin(staff: MakeStaff) -> User:
    return staff(Role.ADMIN, email="admin@example.com", first_name="Ada")


@pytest.fixture
def invite(django_capture_on_commit_callbacks: Capture, root: User) -> Callable[..., InternalInvitation]:
    """``invite(email, role, actor=root)``, with the after-commit email task run as a request's commit would."""

    def do(email: str = "new@example.com", role: str = Role.PM, *, actor: User | None = None) -> InternalInvitation:
        with django_capture_on_commit_callbacks(execute=True):
            return services.internal_invite(email=email, role=role, actor=actor or root)

    return do


@pytest.fixture
def request_id() -> Iterator[str]:
    token = _request_id.set("req-test-0001")
    yield "req-test-0001"
    _request_id.reset(token)


def clerk_invitation(em: Emulator, row: InternalInvitation) -> Any:
    assert row.clerk_invitation_id
    return em.invitations[row.clerk_invitation_id]


def only_email() -> EmailMultiAlternatives:
    assert len(mail.outbox) == 1, [m.to for m in mail.outbox]
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    return message


def html_of(message: EmailMultiAlternatives) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert isinstance(content, str)
    return content


def link_in(message: EmailMessage) -> str:
    [link] = [word for word in message.body.split() if "/v1/tickets/accept" in word]
    return link


def no_clerk_call_since(em: Emulator, count: int) -> bool:
    return len(em.request_log) == count


def denied_events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome=AuditEvent.Outcome.DENIED))


# =========================================================================== the model: one pending per email
class TestOnePendingInvitationPerEmail:
    def test_the_database_refuses_a_second_pending_row_in_any_case(self) -> None:
        InternalInvitationFactory.create(email="dup@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            InternalInvitationFactory.create(email="DUP@Example.com", clerk_invitation_id=None)

    def test_revoked_expired_accepted_and_failed_rows_do_not_count(self) -> None:
        for status in ("revoked", "expired", "accepted", "failed"):
            InternalInvitationFactory.create(email="dup@example.com", status=status)
        InternalInvitationFactory.create(email="dup@example.com")
        assert InternalInvitation.objects.filter(email="dup@example.com").count() == 5

    def test_the_role_must_be_a_staff_role(self) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            InternalInvitationFactory.create(role=Role.MEMBER)


# =========================================================================== invite
class TestInvite:
    def test_creates_a_clerk_application_invitation_without_clerk_email(
        self, clerk_gateway: Emulator, invite: Callable[..., InternalInvitation], root: User
    ) -> None:
        before = timezone.now()
        row = invite("  New.Person@Example.COM ", Role.PM)

        [remote] = app_invitations(clerk_gateway)
        assert remote.email_address == "new.person@example.com"
        assert remote.public_metadata == {"role": "pm", "internal": True}
        assert remote.redirect_url == f"{APP}/internal/accept-invite/?invitation_id={row.pk}"
        assert remote.expires_at - remote.created_at == 7 * 86_400_000  # expires_in_days=7
        # notify=false: Clerk sent nothing (and announced nothing: no email.created for ours).
        assert clerk_gateway.messages == []
        assert [e["type"] for e in clerk_gateway.events if e["type"] == "email.created"] == []

        row.refresh_from_db()
        assert (row.email, row.role, row.status) == ("new.person@example.com", "pm", "pending")
        assert row.clerk_invitation_id == remote.id
        assert row.expires_at == clerk_time(remote.expires_at)
        assert timedelta(days=7) - timedelta(minutes=1) < row.expires_at - before < timedelta(days=7, minutes=1)
        assert (row.send_count, row.inviter, row.inviter_email) == (1, root, "root@example.com")
        assert row.inviter_name == "Q&A <Team> Root"
        assert row.last_sent_at is not None

    def test_sends_one_branded_email_after_commit(
        self, clerk_gateway: Emulator, django_capture_on_commit_callbacks: Capture, root: User
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            row = services.internal_invite(email="new@example.com", role=Role.ADMIN, actor=root)
            assert mail.outbox == []  # nothing leaves before the transaction commits
            assert InternalInvitation.objects.get().email_status == EmailDelivery.QUEUED
        assert len(callbacks) == 1

        message = only_email()
        html = html_of(message)
        assert message.to == ["new@example.com"]
        assert message.subject.strip()
        assert message.body.strip()
        assert html.strip()
        # The text part is not HTML-escaped: "&" and "<" stay as they are, in the name and in the link.
        assert "Q&A <Team> Root" in message.body
        assert "&amp;" not in message.body
        assert "&lt;" not in message.body
        assert "Q&amp;A &lt;Team&gt; Root" in html  # the HTML part is escaped
        assert "Admin" in message.body

        link = link_in(message)
        remote = clerk_invitation(clerk_gateway, row)
        assert link.startswith(remote.url + "&")  # Clerk's ticket url, plus our analytics parameter
        assert parse_qs(urlsplit(link).query)["invitation_id"] == [str(row.pk)]
        assert link.replace("&", "&amp;") in html

        row.refresh_from_db()
        assert (row.email_status, row.email_error) == (EmailDelivery.SENT, "")
        assert row.email_sent_at is not None
        assert AuditEvent.objects.filter(action="internal_invitation.email_sent", target_id=str(row.pk)).count() == 1

    def test_the_emailed_link_leads_to_our_accept_page_with_the_invitation_id(
        self, clerk_gateway: Emulator, invite: Callable[..., InternalInvitation]
    ) -> None:
        row = invite()
        response = httpx.get(link_in(only_email()), follow_redirects=False, timeout=10)
        assert response.status_code in (302, 303)
        location = response.headers["Location"]
        assert location.startswith(f"{APP}/internal/accept-invite/?")
        query = parse_qs(urlsplit(location).query)
        assert query["invitation_id"] == [str(row.pk)]
        assert query["__clerk_status"] == ["sign_up"]
        assert query["__clerk_ticket"]

    def test_is_audited_and_logged_with_the_request_id_and_the_inviter(
        self, invite: Callable[..., InternalInvitation], root: User, request_id: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="internal_users.services"):
            row = invite()
        event = AuditEvent.objects.get(action="internal_invitation.created")
        assert (event.actor_id, event.target_id, event.request_id) == (root.pk, str(row.pk), request_id)
        assert event.details["clerk_invitation_id"] == row.clerk_invitation_id
        [record] = [
            r
            for r in caplog.records
            if r.name.startswith("internal_users.services") and r.getMessage().startswith("internal_invitation.created")
        ]
        assert getattr(record, "actor_id", None) == root.pk
        assert request_id in record.getMessage()
        assert "ticket=" not in caplog.text  # the ticket url is never logged

    @pytest.mark.parametrize("email", ["", "not-an-email", "a@b.c\nBcc: x@y.z", "x" * 320 + "@example.com"])
    def test_a_bad_email_is_refused_before_any_clerk_call(
        self, clerk_gateway: Emulator, root: User, email: str
    ) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(InvalidInput) as error:
            services.internal_invite(email=email, role=Role.PM, actor=root)
        assert error.value.code == "invalid_email"
        assert no_clerk_call_since(clerk_gateway, calls)
        assert not InternalInvitation.objects.exists()

    @pytest.mark.parametrize("role", ["member", "owner", "", "SUPER_ADMIN", None])
    def test_a_non_staff_role_is_refused(self, clerk_gateway: Emulator, root: User, role: Any) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(InvalidStaffRole):
            services.internal_invite(email="new@example.com", role=role, actor=root)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_a_second_invite_of_the_same_email_is_already_invited(
        self, clerk_gateway: Emulator, invite: Callable[..., InternalInvitation]
    ) -> None:
        invite("same@example.com")
        with pytest.raises(AlreadyInvited):
            invite("SAME@example.com", Role.ADMIN)
        assert InternalInvitation.objects.count() == 1
        assert len(pending_app_invitations(clerk_gateway, "same@example.com")) == 1
        assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == 1
        assert len(mail.outbox) == 1

    def test_an_expired_pending_row_makes_way_for_a_new_invitation(
        self, clerk_gateway: Emulator, invite: Callable[..., InternalInvitation]
    ) -> None:
        old = InternalInvitationFactory.create(
            email="back@example.com", expires_at=timezone.now() - timedelta(minutes=1)
        )
        row = invite("back@example.com")
        old.refresh_from_db()
        assert old.status == InternalInvitationStatus.EXPIRED
        assert row.status == InternalInvitationStatus.PENDING
        assert row.pk != old.pk

    def test_an_existing_clerk_user_is_already_a_user(
        self, clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser], invite: Callable[..., Any]
    ) -> None:
        clerk_user_factory(email="known@example.com")  # in Clerk, not seen here yet
        with pytest.raises(AlreadyAUser) as error:
            invite("known@example.com")
        assert error.value.code == "already_a_user"
        assert error.value.extra["action"] == "grant_role"
        assert not InternalInvitation.objects.exists()
        assert app_invitations(clerk_gateway) == []
        assert mail.outbox == []

    def test_a_local_member_is_already_a_user_without_asking_clerk(
        self, clerk_gateway: Emulator, staff: MakeStaff, invite: Callable[..., Any]
    ) -> None:
        staff(Role.MEMBER, email="member@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(AlreadyAUser):
            invite("Member@Example.com")
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_a_staff_member_is_already_staff(
        self, clerk_gateway: Emulator, staff: MakeStaff, invite: Callable[..., Any]
    ) -> None:
        staff(Role.PM, email="pm@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(AlreadyStaff):
            invite("pm@example.com", Role.ADMIN)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_a_pending_invitation_made_in_clerk_is_already_invited(
        self, clerk_gateway: Emulator, invite: Callable[..., Any]
    ) -> None:
        clerk.create_invitation(email="outside@example.com", notify=False)  # e.g. from Clerk's dashboard
        with pytest.raises(AlreadyInvited):
            invite("outside@example.com")
        assert not InternalInvitation.objects.exists()


class TestInvitePermissions:
    def test_an_admin_cannot_invite_a_super_admin_and_clerk_is_not_called(
        self, clerk_gateway: Emulator, admin: User, invite: Callable[..., Any]
    ) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(SuperAdminOnly) as error:
            invite("boss@example.com", Role.SUPER_ADMIN, actor=admin)
        assert error.value.code == "super_admin_required"
        assert no_clerk_call_since(clerk_gateway, calls)
        assert not InternalInvitation.objects.exists()
        [event] = denied_events("internal_invitation.created")
        assert (event.actor_id, event.target_id) == (admin.pk, "boss@example.com")

    @pytest.mark.parametrize("role", [Role.ADMIN, Role.PM])
    def test_an_admin_invites_admins_and_pms(self, admin: User, invite: Callable[..., Any], role: str) -> None:
        assert invite("new@example.com", role, actor=admin).role == role

    def test_a_super_admin_invites_a_super_admin(self, invite: Callable[..., Any]) -> None:
        assert invite("boss@example.com", Role.SUPER_ADMIN).role == Role.SUPER_ADMIN

    @pytest.mark.parametrize("role", [Role.PM, Role.MEMBER])
    def test_pms_and_members_cannot_invite(
        self, clerk_gateway: Emulator, staff: MakeStaff, invite: Callable[..., Any], role: str
    ) -> None:
        actor = staff(role, email="actor@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(PermissionDenied):
            invite("new@example.com", Role.PM, actor=actor)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_a_deactivated_admin_cannot_invite(self, admin: User, invite: Callable[..., Any]) -> None:
        User.objects.filter(pk=admin.pk).update(disabled_at=timezone.now())
        admin.refresh_from_db()
        with pytest.raises(PermissionDenied):
            invite("new@example.com", Role.PM, actor=admin)


class TestInviteWhenClerkFails:
    def test_a_500_leaves_nothing_behind(self, clerk_gateway: Emulator, invite: Callable[..., Any]) -> None:
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=500))
        with pytest.raises(clerk.ClerkUnavailable) as error:
            invite()
        assert (error.value.code, error.value.http_status) == ("clerk_unavailable", 503)
        assert not InternalInvitation.objects.exists()
        assert app_invitations(clerk_gateway) == []
        assert mail.outbox == []
        assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == 1  # no blind retry of a POST

    def test_a_429_is_rate_limited_with_retry_after_and_not_retried(
        self, clerk_gateway: Emulator, invite: Callable[..., Any]
    ) -> None:
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 5, status=429, retry_after=120))
        with pytest.raises(clerk.ClerkRateLimited) as error:
            invite()
        assert (error.value.code, error.value.http_status, error.value.retry_after) == ("rate_limited", 429, 120)
        assert not InternalInvitation.objects.exists()
        assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == 1

    def test_clerks_hourly_cap_is_answered_as_rate_limited(
        self, clerk_gateway: Emulator, invite: Callable[..., Any]
    ) -> None:
        clerk_gateway.caps_enabled = True
        clerk_gateway.caps["invitations.create"].limit = 1
        invite("first@example.com")
        with pytest.raises(clerk.ClerkRateLimited) as error:
            invite("second@example.com")
        assert error.value.retry_after > 0
        assert list(InternalInvitation.objects.values_list("email", flat=True)) == ["first@example.com"]

    def test_a_timeout_clerk_did_not_act_on_leaves_nothing_behind(
        self,
        settings: Any,
        clerk_gateway: Emulator,
        clerk_emulator_server: EmulatorServer,
        invite: Callable[..., Any],
    ) -> None:
        settings.CLERK_TIMEOUT_MS = 300
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=503, delay_s=0.6))
        with pytest.raises(clerk.ClerkUnavailable):
            invite()
        assert not InternalInvitation.objects.exists()
        assert clerk_emulator_server.wait_requests_answered()  # the emulator finishes the slow request
        assert app_invitations(clerk_gateway) == []

    def test_a_timeout_after_clerk_created_the_invitation_adopts_it(
        self, settings: Any, clerk_gateway: Emulator, invite: Callable[..., Any]
    ) -> None:
        settings.CLERK_TIMEOUT_MS = 800
        # Clerk creates the invitation after our client gave up (at 1.0 s); the look-up that follows sees it.
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, delay_s=1.0))
        clerk_gateway.faults.append(Fault("GET", INVITATIONS_PATH, 1, delay_s=0.5))  # a read timing out is retried
        row = invite()
        [remote] = app_invitations(clerk_gateway)
        assert row.clerk_invitation_id == remote.id
        assert remote.public_metadata == {"role": "pm", "internal": True}
        assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == 1  # never sent twice
        assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_invites_of_one_email_make_one_row_and_one_clerk_invitation(
    clerk_gateway: Emulator, staff: MakeStaff
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serializes the whole database")
    actor = staff(Role.SUPER_ADMIN, email="root@example.com")
    variants = ["race@example.com", "Race@Example.com", "RACE@EXAMPLE.COM", " race@example.com"] * 2
    barrier = threading.Barrier(len(variants))
    outcomes: list[str] = []
    unexpected: list[BaseException] = []

    def attempt(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.internal_invite(email=email, role=Role.PM, actor=actor)
            outcomes.append("created")
        except AlreadyInvited:
            outcomes.append("already_invited")
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(email,)) for email in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert unexpected == []
    assert sorted(outcomes) == ["already_invited"] * (len(variants) - 1) + ["created"]
    assert InternalInvitation.objects.count() == 1
    assert len(app_invitations(clerk_gateway, "race@example.com")) == 1
    assert clerk_calls(clerk_gateway, "POST", INVITATIONS_PATH) == 1
    assert len(mail.outbox) == 1


# =========================================================================== the email: failures are recorded
class TestEmailFailure:
    def test_a_refused_email_is_recorded_and_the_invitation_stays_pending_then_resend_sends(
        self, settings: Any, clerk_gateway: Emulator, invite: Callable[..., Any], root: User, capture: Capture
    ) -> None:
        settings.MAILERS = FAILING
        row = invite()
        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.PENDING
        assert row.email_status == EmailDelivery.FAILED
        assert "ConnectionRefusedError" in row.email_error
        assert "refused" in row.email_error
        assert row.email_sent_at is None
        assert len(pending_app_invitations(clerk_gateway, "new@example.com")) == 1  # the Clerk invitation lives on
        failed = AuditEvent.objects.get(action="internal_invitation.email_failed")
        assert failed.outcome == AuditEvent.Outcome.FAILED

        settings.MAILERS = LOCMEM
        with capture(execute=True):
            row = services.internal_invitation_resend(invitation=row, actor=root)
        row.refresh_from_db()
        assert (row.email_status, row.email_error, row.send_count) == (EmailDelivery.SENT, "", 2)
        message = only_email()
        assert parse_qs(urlsplit(link_in(message)).query)["invitation_id"] == [str(row.pk)]

    def test_a_clerk_outage_while_reading_the_link_is_recorded(
        self, clerk_gateway: Emulator, invite: Callable[..., Any]
    ) -> None:
        clerk_gateway.faults.append(Fault("GET", INVITATIONS_PATH, 10, status=503))
        row = invite()
        row.refresh_from_db()
        assert (row.status, row.email_status) == (InternalInvitationStatus.PENDING, EmailDelivery.FAILED)
        assert row.email_error.startswith("clerk_unavailable")
        assert mail.outbox == []


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Capture) -> Capture:
    return django_capture_on_commit_callbacks


# =========================================================================== resend
class TestResend:
    def test_revokes_the_old_clerk_invitation_and_sends_a_new_one_with_a_new_expiry(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User, capture: Capture
    ) -> None:
        row = invite()
        old_id, old_expiry = row.clerk_invitation_id, row.expires_at
        first_link = link_in(only_email())
        clerk_gateway.advance_clock(3600)  # an hour later

        with capture(execute=True):
            again = services.internal_invitation_resend(invitation=row, actor=root)
        assert again.pk == row.pk
        assert clerk_gateway.invitations[old_id].status == "revoked"
        [fresh] = pending_app_invitations(clerk_gateway, "new@example.com")
        assert fresh.id == again.clerk_invitation_id != old_id
        assert fresh.redirect_url == f"{APP}/internal/accept-invite/?invitation_id={row.pk}"
        assert fresh.public_metadata == {"role": "pm", "internal": True}
        assert timedelta(minutes=59) < again.expires_at - old_expiry < timedelta(minutes=61)
        assert (again.send_count, again.status) == (2, InternalInvitationStatus.PENDING)

        assert len(mail.outbox) == 2
        second_link = link_in(mail.outbox[1])
        assert second_link != first_link
        assert second_link.startswith(fresh.url or "-")
        event = AuditEvent.objects.get(action="internal_invitation.resent")
        assert event.details["previous_clerk_invitation_id"] == old_id

    def test_an_expired_invitation_can_be_resent_and_is_pending_again(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User, capture: Capture
    ) -> None:
        row = invite()
        InternalInvitation.objects.filter(pk=row.pk).update(status=InternalInvitationStatus.EXPIRED)
        with capture(execute=True):
            again = services.internal_invitation_resend(invitation=row, actor=root)
        assert again.status == InternalInvitationStatus.PENDING
        assert again.expires_at > timezone.now() + timedelta(days=6)
        assert len(pending_app_invitations(clerk_gateway, "new@example.com")) == 1

    @pytest.mark.parametrize("status", [InternalInvitationStatus.REVOKED, InternalInvitationStatus.ACCEPTED])
    def test_revoked_and_accepted_invitations_are_not_resent(
        self, clerk_gateway: Emulator, root: User, status: str
    ) -> None:
        row = InternalInvitationFactory.create(status=status)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(InvitationNotPending):
            services.internal_invitation_resend(invitation=row, actor=root)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_an_admin_cannot_resend_a_super_admin_invitation(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], admin: User
    ) -> None:
        row = invite("boss@example.com", Role.SUPER_ADMIN)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(SuperAdminOnly):
            services.internal_invitation_resend(invitation=row, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert len(denied_events("internal_invitation.resent")) == 1

    def test_a_clerk_failure_after_the_revoke_marks_it_failed_and_a_later_resend_recovers(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User, capture: Capture
    ) -> None:
        row = invite()
        clerk_gateway.faults.append(Fault("POST", INVITATIONS_PATH, 1, status=500))
        with pytest.raises(clerk.ClerkUnavailable):
            services.internal_invitation_resend(invitation=row, actor=root)
        row.refresh_from_db()
        assert (row.status, row.clerk_invitation_id) == (InternalInvitationStatus.FAILED, None)
        assert row.failure_reason.startswith("clerk_unavailable")
        assert pending_app_invitations(clerk_gateway, "new@example.com") == []  # the old link is dead

        with capture(execute=True):
            row = services.internal_invitation_resend(invitation=row, actor=root)
        assert (row.status, row.failure_reason) == (InternalInvitationStatus.PENDING, "")
        assert len(pending_app_invitations(clerk_gateway, "new@example.com")) == 1
        assert len(mail.outbox) == 2

    def test_resend_after_the_invitee_accepted_in_clerk_records_the_acceptance(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        clerk_gateway.invitations[row.clerk_invitation_id].status = "accepted"  # no webhook for app invitations
        with pytest.raises(InvitationNotPending):
            services.internal_invitation_resend(invitation=row, actor=root)
        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.ACCEPTED
        assert len(app_invitations(clerk_gateway)) == 1


# =========================================================================== revoke
class TestRevoke:
    def test_revokes_in_clerk_and_here_once(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        revoked = services.internal_invitation_revoke(invitation=row, actor=root)
        assert clerk_gateway.invitations[row.clerk_invitation_id].status == "revoked"
        assert (revoked.status, revoked.revoked_by, revoked.revoked_by_email) == ("revoked", root, root.email)
        assert revoked.revoked_at is not None

        calls = len(clerk_gateway.request_log)
        again = services.internal_invitation_revoke(invitation=row, actor=root)  # idempotent
        assert (again.status, again.revoked_at) == ("revoked", revoked.revoked_at)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert AuditEvent.objects.filter(action="internal_invitation.revoked").count() == 1

    def test_an_invitation_revoked_in_clerk_already_is_revoked_here(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        clerk.revoke_invitation(row.clerk_invitation_id)
        assert services.internal_invitation_revoke(invitation=row, actor=root).status == "revoked"

    def test_an_invitation_accepted_in_clerk_is_not_revoked(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        clerk_gateway.invitations[row.clerk_invitation_id].status = "accepted"
        with pytest.raises(InvitationNotPending):
            services.internal_invitation_revoke(invitation=row, actor=root)
        row.refresh_from_db()
        assert row.status == InternalInvitationStatus.ACCEPTED

    def test_an_accepted_invitation_is_not_pending(self, clerk_gateway: Emulator, root: User) -> None:
        row = InternalInvitationFactory.create(status=InternalInvitationStatus.ACCEPTED)
        with pytest.raises(InvitationNotPending):
            services.internal_invitation_revoke(invitation=row, actor=root)

    def test_an_admin_cannot_revoke_a_super_admin_invitation(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], admin: User
    ) -> None:
        row = invite("boss@example.com", Role.SUPER_ADMIN)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(SuperAdminOnly):
            services.internal_invitation_revoke(invitation=row, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert InternalInvitation.objects.get().status == InternalInvitationStatus.PENDING

    def test_clerk_down_leaves_the_invitation_pending(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        clerk_gateway.faults.append(Fault("POST", "*", 1, status=503))
        with pytest.raises(clerk.ClerkUnavailable):
            services.internal_invitation_revoke(invitation=row, actor=root)
        assert InternalInvitation.objects.get().status == InternalInvitationStatus.PENDING


# =========================================================================== expiry
class TestExpire:
    def test_marks_pending_rows_past_expiry_expired_once(self) -> None:
        now = timezone.now()
        late = InternalInvitationFactory.create(expires_at=now - timedelta(seconds=1))
        fresh = InternalInvitationFactory.create(expires_at=now + timedelta(hours=1))
        revoked = InternalInvitationFactory.create(status="revoked", expires_at=now - timedelta(days=1))
        assert services.internal_invitations_expire(now=now) == 1
        assert services.internal_invitations_expire(now=now) == 0
        statuses = dict(InternalInvitation.objects.values_list("pk", "status"))
        assert statuses == {late.pk: "expired", fresh.pk: "pending", revoked.pk: "revoked"}
        assert list(
            AuditEvent.objects.filter(action="internal_invitation.expired").values_list("target_id", flat=True)
        ) == [str(late.pk)]

    def test_an_expired_row_reads_as_expired_before_the_sweep(self) -> None:
        row = InternalInvitationFactory.create(expires_at=timezone.now() - timedelta(seconds=1))
        assert (row.status, row.effective_status, row.is_pending) == ("pending", "expired", False)


# =========================================================================== acceptance reported by clerk_sync
def test_invitation_accepted_from_clerk_links_the_user(
    clerk_gateway: Emulator, invite: Callable[..., Any], staff: MakeStaff
) -> None:
    row = invite("new@example.com")
    user = staff(Role.PM, email="new@example.com")
    remote = clerk.list_invitations(query="new@example.com")[0]
    accepted = services.invitation_accepted_from_clerk(invitation=remote)
    assert accepted is not None
    assert (accepted.pk, accepted.status, accepted.accepted_user) == (row.pk, "accepted", user)
    assert services.invitation_accepted_from_clerk(invitation=remote) == accepted  # idempotent


# =========================================================================== deactivate / reactivate
class TestDeactivateAndReactivate:
    def test_deactivate_bans_in_clerk_and_mirrors_disabled_at_then_reactivate_undoes_it(
        self, clerk_gateway: Emulator, staff: MakeStaff, root: User, request_id: str
    ) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        done = services.staff_user_deactivate(user=pm, actor=root)
        assert clerk_gateway.users[pm.clerk_user_id].banned is True
        assert done.disabled_at is not None
        assert not done.is_active
        event = AuditEvent.objects.get(action="staff_user.deactivated")
        assert (event.actor_id, event.target_id, event.request_id) == (root.pk, str(pm.pk), request_id)

        again = services.staff_user_deactivate(user=pm, actor=root)  # idempotent
        assert again.disabled_at == done.disabled_at

        back = services.staff_user_reactivate(user=pm, actor=root)
        assert clerk_gateway.users[pm.clerk_user_id].banned is False
        assert back.disabled_at is None
        assert back.is_active
        assert AuditEvent.objects.filter(action="staff_user.reactivated").count() == 1

    def test_a_deactivated_user_can_no_longer_get_a_session(self, staff: MakeStaff, root: User) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        services.staff_user_deactivate(user=pm, actor=root)
        with pytest.raises(clerk.ClerkError):
            clerk.create_session(pm.clerk_user_id)

    def test_nobody_deactivates_themselves(self, clerk_gateway: Emulator, root: User, admin: User) -> None:
        for actor in (root, admin):
            calls = len(clerk_gateway.request_log)
            with pytest.raises(CannotActOnSelf):
                services.staff_user_deactivate(user=actor, actor=actor)
            assert no_clerk_call_since(clerk_gateway, calls)
        assert len(denied_events("staff_user.deactivated")) == 2

    def test_an_admin_cannot_deactivate_or_reactivate_a_super_admin(
        self, clerk_gateway: Emulator, staff: MakeStaff, admin: User, root: User
    ) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(SuperAdminOnly):
            services.staff_user_deactivate(user=root, actor=admin)
        with pytest.raises(SuperAdminOnly):
            services.staff_user_reactivate(user=root, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert clerk_gateway.users[root.clerk_user_id].banned is False

    def test_an_admin_deactivates_a_pm_and_another_admin(self, staff: MakeStaff, admin: User) -> None:
        for role in (Role.PM, Role.ADMIN):
            target = staff(role, email=f"{role}-target@example.com")
            assert services.staff_user_deactivate(user=target, actor=admin).disabled_at is not None

    def test_a_pm_cannot_deactivate_anyone(self, clerk_gateway: Emulator, staff: MakeStaff) -> None:
        pm, other = staff(Role.PM, email="pm@example.com"), staff(Role.PM, email="other@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(PermissionDenied):
            services.staff_user_deactivate(user=other, actor=pm)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_a_member_is_not_staff(self, staff: MakeStaff, root: User) -> None:
        member = staff(Role.MEMBER, email="member@example.com")
        with pytest.raises(NotStaff):
            services.staff_user_deactivate(user=member, actor=root)

    def test_the_last_active_super_admin_is_never_deactivated(
        self, clerk_gateway: Emulator, staff: MakeStaff, root: User
    ) -> None:
        other = staff(Role.SUPER_ADMIN, email="other-root@example.com")
        services.staff_user_deactivate(user=root, actor=other)  # two super admins: allowed
        # ``root`` acts with a session from before it was deactivated (the object is stale): ``other`` is now the
        # last active super admin.
        calls = len(clerk_gateway.request_log)
        with pytest.raises(LastSuperAdmin) as error:
            services.staff_user_deactivate(user=other, actor=root)
        assert error.value.code == "last_super_admin"
        assert no_clerk_call_since(clerk_gateway, calls)
        assert User.objects.get(pk=other.pk).is_active
        assert len(denied_events("staff_user.deactivated")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_super_admins_deactivating_each_other_at_once_leave_one_active(staff: MakeStaff) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): row locks")
    first = staff(Role.SUPER_ADMIN, email="first@example.com")
    second = staff(Role.SUPER_ADMIN, email="second@example.com")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(actor: User, target: User) -> None:
        try:
            barrier.wait(timeout=10)
            services.staff_user_deactivate(user=target, actor=actor)
            outcomes.append("deactivated")
        except LastSuperAdmin:
            outcomes.append("last_super_admin")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(first, second)),
        threading.Thread(target=attempt, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["deactivated", "last_super_admin"]
    assert User.objects.filter(role=Role.SUPER_ADMIN, disabled_at__isnull=True).count() == 1


# =========================================================================== remove
class TestRemove:
    def test_deletes_the_clerk_user_and_the_local_user_keeping_history(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], staff: MakeStaff, root: User
    ) -> None:
        row = invite("pm@example.com")
        pm = staff(Role.PM, email="pm@example.com")
        services.invitation_accepted_from_clerk(invitation=clerk.list_invitations(query="pm@example.com")[0])
        services.staff_user_deactivate(user=pm, actor=root)

        services.staff_user_remove(user=pm, actor=root)
        assert pm.clerk_user_id not in clerk_gateway.users
        assert not User.objects.filter(pk=pm.pk).exists()
        removed = AuditEvent.objects.get(action="staff_user.removed")
        assert removed.details["email"] == "pm@example.com"
        assert removed.target_id == str(pm.pk)
        assert AuditEvent.objects.filter(action="staff_user.deactivated", target_id=str(pm.pk)).exists()
        row.refresh_from_db()
        assert (row.status, row.accepted_user) == (InternalInvitationStatus.ACCEPTED, None)  # the record stays

    def test_a_user_already_gone_from_clerk_is_removed_here(
        self, clerk_gateway: Emulator, staff: MakeStaff, root: User
    ) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        clerk.delete_user(pm.clerk_user_id)
        services.staff_user_remove(user=pm, actor=root)
        assert not User.objects.filter(pk=pm.pk).exists()

    def test_only_a_super_admin_removes(self, clerk_gateway: Emulator, staff: MakeStaff, admin: User) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(PermissionDenied):
            services.staff_user_remove(user=pm, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert User.objects.filter(pk=pm.pk).exists()
        assert len(denied_events("staff_user.removed")) == 1

    def test_nobody_removes_themselves(self, clerk_gateway: Emulator, root: User) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(CannotActOnSelf):
            services.staff_user_remove(user=root, actor=root)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_the_last_active_super_admin_is_never_removed(
        self, clerk_gateway: Emulator, staff: MakeStaff, root: User
    ) -> None:
        other = staff(Role.SUPER_ADMIN, email="other-root@example.com")
        services.staff_user_deactivate(user=root, actor=other)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(LastSuperAdmin):
            services.staff_user_remove(user=other, actor=root)  # root's session predates its deactivation
        assert no_clerk_call_since(clerk_gateway, calls)
        assert other.clerk_user_id in clerk_gateway.users

    def test_a_super_admin_removes_another_super_admin(self, staff: MakeStaff, root: User) -> None:
        other = staff(Role.SUPER_ADMIN, email="other-root@example.com")
        services.staff_user_remove(user=other, actor=root)
        assert not User.objects.filter(pk=other.pk).exists()


# =========================================================================== grant a staff role
class TestGrantRole:
    def test_gives_an_existing_clerk_account_a_staff_role(
        self, clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser], admin: User
    ) -> None:
        known = clerk_user_factory(email="known@example.com", public_metadata={"plan": "pro"})
        user = services.staff_role_grant(email="Known@Example.com", role=Role.PM, actor=admin)
        assert (user.clerk_user_id, user.role, user.is_internal) == (known.id, "pm", True)
        assert user.phone_verification_required is False
        # Clerk merges metadata: the role is added, what was there stays.
        assert clerk_gateway.users[known.id].public_metadata == {"plan": "pro", "role": "pm", "internal": True}
        event = AuditEvent.objects.get(action="staff_user.role_granted")
        assert (event.actor_id, event.details["previous_role"], event.details["role"]) == (admin.pk, "member", "pm")

    def test_changes_a_staff_members_role(self, staff: MakeStaff, admin: User) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        assert services.staff_role_grant(email=(pm.email or ""), role=Role.ADMIN, actor=admin).role == Role.ADMIN

    def test_the_same_role_changes_nothing(self, clerk_gateway: Emulator, staff: MakeStaff, admin: User) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        calls = len(clerk_gateway.request_log)
        assert services.staff_role_grant(email=(pm.email or ""), role=Role.PM, actor=admin).pk == pm.pk
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_revokes_a_pending_invitation_of_that_email(
        self,
        clerk_gateway: Emulator,
        clerk_user_factory: Callable[..., ClerkUser],
        invite: Callable[..., InternalInvitation],
        admin: User,
    ) -> None:
        row = invite("joined@example.com", Role.PM)
        clerk_user_factory(email="joined@example.com")  # they got an account another way meanwhile
        services.staff_role_grant(email="joined@example.com", role=Role.PM, actor=admin)
        row.refresh_from_db()
        assert (row.status, row.revoked_by_id) == ("revoked", admin.pk)
        assert clerk_invitation(clerk_gateway, row).status == "revoked"

    def test_no_account_is_an_error(self, admin: User) -> None:
        with pytest.raises(NotFound) as error:
            services.staff_role_grant(email="nobody@example.com", role=Role.PM, actor=admin)
        assert error.value.code == "no_account"

    def test_an_admin_cannot_grant_super_admin_or_change_a_super_admin(
        self, clerk_gateway: Emulator, staff: MakeStaff, admin: User, root: User
    ) -> None:
        pm = staff(Role.PM, email="pm@example.com")
        calls = len(clerk_gateway.request_log)
        with pytest.raises(SuperAdminOnly):
            services.staff_role_grant(email=(pm.email or ""), role=Role.SUPER_ADMIN, actor=admin)
        with pytest.raises(SuperAdminOnly):
            services.staff_role_grant(email=(root.email or ""), role=Role.PM, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert User.objects.get(pk=root.pk).role == Role.SUPER_ADMIN
        assert len(denied_events("staff_user.role_granted")) == 2

    def test_nobody_changes_their_own_role(self, clerk_gateway: Emulator, admin: User) -> None:
        calls = len(clerk_gateway.request_log)
        with pytest.raises(CannotActOnSelf):
            services.staff_role_grant(email=(admin.email or ""), role=Role.PM, actor=admin)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_the_last_active_super_admin_is_never_demoted(
        self, clerk_gateway: Emulator, staff: MakeStaff, root: User
    ) -> None:
        other = staff(Role.SUPER_ADMIN, email="other-root@example.com")
        services.staff_user_deactivate(user=root, actor=other)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(LastSuperAdmin):
            services.staff_role_grant(email=(other.email or ""), role=Role.ADMIN, actor=root)
        assert no_clerk_call_since(clerk_gateway, calls)
        assert User.objects.get(pk=other.pk).role == Role.SUPER_ADMIN

    def test_a_super_admin_demotes_another_while_one_remains(self, staff: MakeStaff, root: User) -> None:
        other = staff(Role.SUPER_ADMIN, email="other-root@example.com")
        assert services.staff_role_grant(email=(other.email or ""), role=Role.PM, actor=root).role == Role.PM


class TestResendAndRevokeEdges:
    def test_resending_to_someone_who_joined_the_staff_meanwhile_is_already_staff(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User, staff: MakeStaff
    ) -> None:
        row = invite()
        staff(Role.PM, email="new@example.com")  # granted a role another way while the invitation waited
        calls = len(clerk_gateway.request_log)
        with pytest.raises(AlreadyStaff):
            services.internal_invitation_resend(invitation=row, actor=root)
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_resending_an_expired_invitation_while_another_is_pending_is_already_invited(
        self, clerk_gateway: Emulator, root: User
    ) -> None:
        old = InternalInvitationFactory.create(email="twice@example.com", status=InternalInvitationStatus.EXPIRED)
        InternalInvitationFactory.create(email="twice@example.com", status=InternalInvitationStatus.PENDING)
        calls = len(clerk_gateway.request_log)
        with pytest.raises(AlreadyInvited):
            services.internal_invitation_resend(invitation=old, actor=root)
        old.refresh_from_db()
        assert old.status == InternalInvitationStatus.EXPIRED
        assert no_clerk_call_since(clerk_gateway, calls)

    def test_resending_after_the_invitee_made_an_account_is_already_a_user(
        self,
        clerk_gateway: Emulator,
        invite: Callable[..., Any],
        root: User,
        clerk_user_factory: Callable[..., ClerkUser],
    ) -> None:
        row = invite()
        clerk_user_factory(email="new@example.com")  # signed up some other way; not staff here
        with pytest.raises(AlreadyAUser):
            services.internal_invitation_resend(invitation=row, actor=root)
        assert AuditEvent.objects.filter(
            action="internal_invitation.resent", outcome=AuditEvent.Outcome.FAILED
        ).exists()

    def test_revoking_an_invitation_clerk_no_longer_knows_revokes_it_here(
        self, clerk_gateway: Emulator, invite: Callable[..., Any], root: User
    ) -> None:
        row = invite()
        del clerk_gateway.invitations[row.clerk_invitation_id]  # purged on Clerk's side
        revoked = services.internal_invitation_revoke(invitation=row, actor=root)
        assert revoked.status == InternalInvitationStatus.REVOKED
        assert revoked.revoked_by == root
