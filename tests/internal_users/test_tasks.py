"""Staff invitation tasks (internal_users/tasks.py) on the immediate backend: the branded email, the email for an
invitation made in Clerk, and the expiry sweep. Invitations are made through the service against the emulator;
their after-commit email is not run (no commit in these tests), so each test enqueues the task itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.tasks import TaskResultStatus
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_upsert_from_clerk
from clerk_emulator.state import Emulator, Fault
from internal_users import services, tasks
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from tests.internal_users.factories import INVITATIONS_PATH, InternalInvitationFactory

pytestmark = pytest.mark.django_db

FAILING = {"default": {"BACKEND": "tests.internal_users.test_services.FailingMailBackend"}}


@pytest.fixture
def root(clerk_user_factory: Callable[..., ClerkUser]) -> User:
    return user_upsert_from_clerk(
        clerk_user=clerk_user_factory(role=Role.SUPER_ADMIN, email="root@example.com"), trust_role=True
    )


@pytest.fixture
def row(root: User) -> InternalInvitation:
    """An invitation made through the service; its email task has not run."""
    made = services.internal_invite(email="pat@example.com", role=Role.PM, actor=root)
    assert mail.outbox == []
    assert made.email_status == EmailDelivery.QUEUED
    return made


def run_email(row: InternalInvitation, send_number: int | None = None) -> Any:
    result = tasks.send_invitation_email.enqueue(row.pk, row.send_count if send_number is None else send_number)
    assert result.status == TaskResultStatus.SUCCESSFUL
    return result.return_value


def test_sends_the_email_with_only_ids_in_the_task(clerk_gateway: Emulator, row: InternalInvitation) -> None:
    result = tasks.send_invitation_email.enqueue(row.pk, 1)
    assert result.args == [row.pk, 1]  # the ticket url never enters the task queue
    assert result.return_value == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.com"]
    row.refresh_from_db()
    assert row.email_status == EmailDelivery.SENT


def test_an_outdated_send_number_sends_nothing(row: InternalInvitation) -> None:
    assert run_email(row, send_number=row.send_count + 1) == "stale"
    assert run_email(row, send_number=0) == "stale"
    assert mail.outbox == []


@pytest.mark.parametrize(
    "change",
    [
        {"status": InternalInvitationStatus.REVOKED},
        {"status": InternalInvitationStatus.ACCEPTED},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
    ],
)
def test_an_invitation_no_longer_pending_is_not_emailed(row: InternalInvitation, change: dict[str, Any]) -> None:
    InternalInvitation.objects.filter(pk=row.pk).update(**change)
    assert run_email(row) == "stale"
    assert mail.outbox == []


def test_an_unknown_invitation_is_stale() -> None:
    result = tasks.send_invitation_email.enqueue(987_654, 1)
    assert result.return_value == "stale"


def test_a_clerk_invitation_revoked_behind_our_back_is_recorded_as_gone(row: InternalInvitation) -> None:
    assert row.clerk_invitation_id
    clerk.revoke_invitation(row.clerk_invitation_id)
    assert run_email(row) == "gone"
    row.refresh_from_db()
    assert (row.status, row.email_status) == (InternalInvitationStatus.PENDING, EmailDelivery.FAILED)
    assert row.email_error.startswith("clerk_invitation_missing")
    assert mail.outbox == []


def test_clerk_unavailable_is_recorded_not_raised(clerk_gateway: Emulator, row: InternalInvitation) -> None:
    clerk_gateway.faults.append(Fault("GET", INVITATIONS_PATH, 10, status=503))
    assert run_email(row) == "failed"
    row.refresh_from_db()
    assert row.email_status == EmailDelivery.FAILED
    assert row.email_error.startswith("clerk_unavailable")


def test_a_mail_failure_is_recorded_not_raised(settings: Any, row: InternalInvitation) -> None:
    settings.MAILERS = FAILING
    assert run_email(row) == "failed"
    row.refresh_from_db()
    assert row.email_status == EmailDelivery.FAILED
    assert row.email_error.startswith("ConnectionRefusedError")
    assert row.status == InternalInvitationStatus.PENDING


def test_a_late_result_of_an_older_send_does_not_overwrite_the_newer_one(row: InternalInvitation) -> None:
    assert run_email(row) == "sent"
    InternalInvitation.objects.filter(pk=row.pk).update(send_count=2, email_status=EmailDelivery.QUEUED)
    services._record_email(row, status=EmailDelivery.FAILED, error="late failure of send 1")  # row.send_count == 1
    row.refresh_from_db()
    assert (row.email_status, row.email_error) == (EmailDelivery.QUEUED, "")


def test_the_external_invitation_email(clerk_gateway: Emulator) -> None:
    made = clerk.create_invitation(email="outside@example.com", public_metadata={"role": "admin"}, notify=False)
    assert made.url
    result = tasks.send_external_invitation_email.enqueue("outside@example.com", made.url, "admin")
    assert result.return_value == "sent"
    [message] = mail.outbox
    assert message.to == ["outside@example.com"]
    assert made.url in message.body


def test_the_expiry_sweep() -> None:
    InternalInvitationFactory.create(expires_at=timezone.now() - timedelta(minutes=5))
    InternalInvitationFactory.create()
    assert tasks.expire_internal_invitations.enqueue().return_value == 1
    assert tasks.expire_internal_invitations.enqueue().return_value == 0
    assert sorted(InternalInvitation.objects.values_list("status", flat=True)) == ["expired", "pending"]
