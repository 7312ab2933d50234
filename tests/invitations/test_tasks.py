"""invitations.tasks: the queued sender honours Retry-After whatever the task backend, may run early or twice, and
is scheduled with ``run_after`` when the backend can defer; the expiry task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.tasks import TaskResultStatus, task_backends
from django.tasks.backends.dummy import DummyBackend
from django.tasks.signals import task_finished
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from invitations import services, tasks
from invitations.models import WorkspaceInvitation
from tests.conftest import ClerkSession
from tests.invitations.factories import bulk_path, clerk_calls, clerk_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> User:
    user = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN).user
    assert user is not None
    return user


@pytest.fixture
def finished_tasks() -> Iterator[list[Any]]:
    finished: list[Any] = []

    def record(sender: Any, task_result: Any, **kwargs: Any) -> None:
        finished.append(task_result)

    task_finished.connect(record)
    yield finished
    task_finished.disconnect(record)


@pytest.fixture
def deferring_backend() -> Iterator[DummyBackend]:
    """A backend that can defer (like django-tasks-db in production) and records what is enqueued."""
    backend = DummyBackend("default", {})
    task_backends["default"] = backend
    yield backend
    del task_backends["default"]


def rate_limited_invite(workspace: Workspace, admin: User, em: Emulator, retry_after: int = 30) -> WorkspaceInvitation:
    em.faults.append(Fault("POST", bulk_path(workspace.clerk_organization_id), 1, status=429, retry_after=retry_after))
    result = services.invitations_create(workspace=workspace, inviter=admin, emails=["ivy@example.com"], role="member")
    assert result[0].result == "queued"
    assert result[0].invitation is not None
    return result[0].invitation


def test_immediate_backend_runs_the_task_early_and_it_sends_nothing_yet(
    workspace: Workspace, admin: User, clerk_emulator: Emulator, finished_tasks: list[Any]
) -> None:
    row = rate_limited_invite(workspace, admin, clerk_emulator)

    runs = [r for r in finished_tasks if r.task.name == "send_queued_invitations"]
    assert len(runs) == 1
    assert runs[0].status == TaskResultStatus.SUCCESSFUL
    assert runs[0].return_value == 0  # ran at once, found nothing due
    row.refresh_from_db()
    assert row.status == "queued"
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 1


def test_the_task_sends_what_is_due(workspace: Workspace, admin: User, clerk_emulator: Emulator) -> None:
    row = rate_limited_invite(workspace, admin, clerk_emulator)
    WorkspaceInvitation.objects.filter(pk=row.pk).update(retry_at=timezone.now() - timedelta(seconds=1))

    result = tasks.send_queued_invitations.enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    row.refresh_from_db()
    assert row.status == "pending"
    assert clerk_pending(clerk_emulator, workspace.clerk_organization_id) == {
        "ivy@example.com": [row.clerk_invitation_id]
    }
    # Running again (a duplicate delivery of the task) sends nothing more.
    assert tasks.send_queued_invitations.enqueue().return_value == 0
    assert clerk_calls(clerk_emulator, "POST", bulk_path(workspace.clerk_organization_id)) == 2


def test_a_backend_that_can_defer_gets_the_task_for_retry_after(
    workspace: Workspace, admin: User, clerk_emulator: Emulator, deferring_backend: DummyBackend
) -> None:
    row = rate_limited_invite(workspace, admin, clerk_emulator, retry_after=90)
    row.refresh_from_db()

    (enqueued,) = deferring_backend.results
    assert enqueued.task.name == "send_queued_invitations"
    assert enqueued.task.run_after == row.retry_at
    assert row.retry_at is not None
    assert row.retry_at > timezone.now() + timedelta(seconds=85)


def test_the_task_reschedules_itself_for_the_next_due_row_when_it_can(
    workspace: Workspace, admin: User, clerk_emulator: Emulator, deferring_backend: DummyBackend
) -> None:
    row = rate_limited_invite(workspace, admin, clerk_emulator, retry_after=90)
    deferring_backend.results.clear()
    row.refresh_from_db()

    assert tasks.send_queued_invitations.call() == 0  # early: nothing due

    (again,) = deferring_backend.results
    assert again.task.run_after == row.retry_at


def test_expire_task(workspace: Workspace, admin: User) -> None:
    result = services.invitations_create(workspace=workspace, inviter=admin, emails=["ivy@example.com"], role="member")
    row = result[0].invitation
    assert row is not None
    WorkspaceInvitation.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_invitations.enqueue().return_value == 1
    row.refresh_from_db()
    assert row.status == "expired"
