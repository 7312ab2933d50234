"""The operator commands: ``expire_invitations`` and ``send_queued_invitations``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from invitations import services
from invitations.models import WorkspaceInvitation
from tests.conftest import ClerkSession
from tests.invitations.factories import WorkspaceInvitationFactory, bulk_path, clerk_pending

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_expire_invitations_marks_and_counts() -> None:
    overdue = WorkspaceInvitationFactory.create_batch(2, expires_at=timezone.now() - timedelta(hours=1))
    fresh = WorkspaceInvitationFactory.create()
    assert run("expire_invitations") == "Expired 2 workspace invitations and 0 staff invitations.\n"
    assert {row.status for row in WorkspaceInvitation.objects.filter(pk__in=[r.pk for r in overdue])} == {"expired"}
    fresh.refresh_from_db()
    assert fresh.status == "pending"
    assert run("expire_invitations") == "Expired 0 workspace invitations and 0 staff invitations.\n"


def test_send_queued_invitations_after_retry_after(
    clerk_workspace: Callable[..., Workspace], clerk_session: Callable[..., ClerkSession], clerk_emulator: Emulator
) -> None:
    workspace = clerk_workspace("Acme")
    admin = clerk_session(workspace=workspace, workspace_role=WorkspaceRole.ADMIN).user
    assert admin is not None
    bulk = bulk_path(workspace.clerk_organization_id)
    clerk_emulator.faults.extend([Fault("POST", bulk, 1), Fault("POST", bulk, 1, status=429, retry_after=30)])
    emails = [f"p{i:02d}@example.com" for i in range(20)]
    results = services.invitations_create(workspace=workspace, inviter=admin, emails=emails, role="member")
    assert sorted(r.result for r in results) == ["invited"] * 10 + ["queued"] * 10

    assert run("send_queued_invitations") == "Sent 0 queued invitations.\n"  # Retry-After not over yet
    # Time passes: Retry-After is over.
    WorkspaceInvitation.objects.filter(status="queued").update(retry_at=timezone.now() - timedelta(seconds=1))
    assert run("send_queued_invitations") == "Sent 10 queued invitations.\n"

    assert WorkspaceInvitation.objects.filter(status="pending").count() == 20
    pending = clerk_pending(clerk_emulator, workspace.clerk_organization_id)
    assert sorted(pending) == emails
    assert all(len(ids) == 1 for ids in pending.values())
