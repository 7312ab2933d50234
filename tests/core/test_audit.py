"""The audit trail keeps the actor as a snapshot, so deleting a user never deletes history."""

from __future__ import annotations

import pytest

from accounts.models import User
from core.audit import audit
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_keeps_actor_snapshot_after_user_deletion() -> None:
    actor = User.objects.create_user("Boss@Example.com", "user_boss", role="super_admin", is_internal=True)
    event = audit("workspace.invite", actor=actor, target_type="workspace", target_id=7, details={"emails": 2})
    actor.delete()
    event.refresh_from_db()
    assert event.actor_email == "boss@example.com"
    assert event.actor_clerk_user_id == "user_boss"
    assert event.actor_role == "super_admin"
    assert event.target_id == "7"
    assert event.details == {"emails": 2}
    assert AuditEvent.objects.count() == 1


def test_system_actions_have_no_actor() -> None:
    event = audit("clerk_sync.repair", target_type="user", target_id="user_1", outcome=AuditEvent.Outcome.FAILED)
    assert event.actor_id is None
    assert event.actor_email == ""
    assert event.outcome == "failed"
