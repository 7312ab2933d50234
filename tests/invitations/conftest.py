"""Fixtures shared by the invitations tests: a Clerk-backed workspace, its admin (as a Clerk user, and signed in to
the pages), and a webhook driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.accounts.webhook_support import ClerkDriver
from tests.conftest import ClerkSession, SignedInClient


@pytest.fixture
def workspace(clerk_workspace: Callable[..., Workspace]) -> Workspace:
    return clerk_workspace("Acme Inc")


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    """A workspace admin (a member by account role), signed in with the browser's cookie: the pages' admin."""
    return signed_in(
        Role.MEMBER,
        via="cookie",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
    )


@pytest.fixture
def org_admin(clerk_session: Callable[..., ClerkSession], workspace: Workspace) -> User:
    """An admin of the workspace (Clerk org:admin, mirrored locally): Clerk gets them as the inviter."""
    user = clerk_session(
        workspace=workspace, workspace_role=WorkspaceRole.ADMIN, first_name="Ada", last_name="Admin"
    ).user
    assert user is not None
    return user


@pytest.fixture
def driver(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
    """Drives Clerk through the emulator and delivers its webhooks; request it after the fixtures whose events a
    test should not see."""
    driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
    yield driver
    driver.close()
