"""Who may do what on the settings pages: every page action against every kind of caller.

Callers: anonymous; a member of the workspace; the admin of ANOTHER workspace; the workspace's admin; and the staff
roles pm, admin and super_admin (who reach every workspace). The API's matrix is in test_api.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from invitations import services
from invitations.models import WorkspaceInvitation
from tests.conftest import SignedInClient

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "member", "other_workspace_admin", "workspace_admin", "pm", "admin", "super_admin"]
# (action, expected status per caller, in CALLERS order). 302 = redirected to /sign-in/.
MATRIX: list[tuple[str, list[int]]] = [
    ("view_settings", [302, 200, 404, 200, 200, 200, 200]),
    ("invite", [302, 403, 404, 200, 200, 200, 200]),
    ("resend", [302, 403, 404, 302, 302, 302, 302]),
    ("revoke", [302, 403, 404, 302, 302, 302, 302]),
]


@pytest.fixture
def callers(
    signed_in: Callable[..., SignedInClient], clerk_workspace: Callable[..., Workspace], workspace: Workspace
) -> dict[str, Client]:
    other = clerk_workspace("Globex")
    return {
        "anonymous": Client(),
        "member": signed_in(Role.MEMBER, via="cookie", workspace=workspace, workspace_role=WorkspaceRole.MEMBER),
        "other_workspace_admin": signed_in(
            Role.MEMBER, via="cookie", workspace=other, workspace_role=WorkspaceRole.ADMIN
        ),
        "workspace_admin": signed_in(
            Role.MEMBER, via="cookie", workspace=workspace, workspace_role=WorkspaceRole.ADMIN
        ),
        "pm": signed_in(Role.PM, via="cookie"),
        "admin": signed_in(Role.ADMIN, via="cookie"),
        "super_admin": signed_in(Role.SUPER_ADMIN, via="cookie"),
    }


@pytest.fixture
def invitation(workspace: Workspace, signed_in: Callable[..., SignedInClient]) -> WorkspaceInvitation:
    inviter = signed_in(Role.SUPER_ADMIN).user
    assert inviter is not None
    result = services.invitations_create(
        workspace=workspace, inviter=inviter, emails=["guest@example.com"], role="member"
    )
    assert result[0].invitation is not None
    return result[0].invitation


def _perform(client: Client, action: str, workspace: Workspace, invitation: WorkspaceInvitation) -> Any:
    base = f"/settings/workspaces/{workspace.pk}/invitations/"
    if action == "view_settings":
        return client.get(f"/settings/?workspace={workspace.pk}")
    if action == "invite":
        return client.post(base, {"emails": "new-person@example.com", "role": "member"})
    data = {"confirm": "yes"} if action == "revoke" else {}  # the no-JavaScript revoke asks first otherwise
    return client.post(f"{base}{invitation.pk}/{action}/", data)


@pytest.mark.parametrize(("action", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_page_authorization_matrix(
    action: str,
    expected: list[int],
    callers: dict[str, Client],
    workspace: Workspace,
    invitation: WorkspaceInvitation,
) -> None:
    seen = {}
    for caller in CALLERS:
        response = _perform(callers[caller], action, workspace, invitation)
        seen[caller] = response.status_code
        if response.status_code == 302 and caller == "anonymous":
            assert response["Location"].startswith("/sign-in/")
    assert seen == dict(zip(CALLERS, expected, strict=True))


def test_refused_callers_change_nothing(
    callers: dict[str, Client], workspace: Workspace, invitation: WorkspaceInvitation
) -> None:
    for caller in ("anonymous", "member", "other_workspace_admin"):
        for action in ("invite", "resend", "revoke"):
            _perform(callers[caller], action, workspace, invitation)
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert invitation.send_count == 1
    assert WorkspaceInvitation.objects.filter(workspace=workspace).count() == 1
