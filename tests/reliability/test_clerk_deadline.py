"""The Clerk deadline of one request (``CLERK_REQUEST_DEADLINE_MS``, accounts/clerk.py): when Clerk hangs, every
Clerk call of a request together ends within the deadline, instead of one full client timeout per call.

Real emulator with held calls (``Fault(delay_s=...)``), the real API through the request-id middleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from accounts import clerk
from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator, Fault
from tests.conftest import SignedInClient

pytestmark = pytest.mark.django_db

TIMEOUT_MS = 800
DEADLINE_MS = 1_200
HANG_S = 3.0
SLACK_S = 0.6  # our own work around the calls (database, audit), on two shared cores


def test_an_invite_whose_calls_all_hang_ends_within_the_deadline(
    settings: Any,
    clerk_gateway: Emulator,
    clerk_workspace: Callable[..., Workspace],
    signed_in: Callable[..., SignedInClient],
) -> None:
    settings.CLERK_TIMEOUT_MS = TIMEOUT_MS
    settings.CLERK_REQUEST_DEADLINE_MS = DEADLINE_MS
    workspace = clerk_workspace("Acme")
    admin = signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    org = workspace.clerk_organization_id
    # The bulk POST hangs, and so does the look-up that follows a timeout (it used to get a full timeout of its own,
    # with retries).
    clerk_gateway.faults.append(Fault("POST", f"/v1/organizations/{org}/invitations/bulk", 10, delay_s=HANG_S))
    clerk_gateway.faults.append(Fault("GET", f"/v1/organizations/{org}/invitations*", 10, delay_s=HANG_S))

    started = time.monotonic()
    response = admin.post(
        f"/api/workspaces/{workspace.pk}/invitations/", {"emails": ["ann@example.com"], "role": "member"}, format="json"
    )
    elapsed = time.monotonic() - started

    assert response.status_code in (200, 503), response.content  # kept for the background sender, never a 500
    assert elapsed < DEADLINE_MS / 1000 + SLACK_S, elapsed


def test_a_call_is_not_sent_once_the_deadline_is_spent(settings: Any, clerk_gateway: Emulator) -> None:
    """Outside a request there is no deadline; inside one whose deadline is gone, nothing is sent."""
    from core import request_id

    settings.CLERK_REQUEST_DEADLINE_MS = 100
    before = len(clerk_gateway.request_log)
    token = request_id._started_at.set(time.monotonic() - 1)
    try:
        with pytest.raises(clerk.ClerkUnavailable):
            clerk.list_users(limit=1)
    finally:
        request_id._started_at.reset(token)
    assert len(clerk_gateway.request_log) == before
    assert isinstance(clerk.list_users(limit=1), list)  # no request: the per-call timeout only


def test_the_deadline_must_be_positive(settings: Any, clerk_gateway: Emulator) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from core import request_id

    settings.CLERK_REQUEST_DEADLINE_MS = 0
    token = request_id._started_at.set(time.monotonic())
    try:
        with pytest.raises(ImproperlyConfigured):
            clerk.list_users(limit=1)
    finally:
        request_id._started_at.reset(token)
