"""Fixtures shared by the webhook tests of accounts: the signing secret, a Clerk driver, a test-only handler.

``signing_secret`` is not autouse here (most accounts tests need no webhook secret); the webhook test modules
request it for every test with ``pytest.mark.usefixtures("signing_secret")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts import webhooks
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.accounts.webhook_support import SECRET, ClerkDriver


@pytest.fixture
def signing_secret(settings: Any) -> str:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    return SECRET


@pytest.fixture
def clerk(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[ClerkDriver]:
    """Drives Clerk through the emulator and delivers its webhooks."""
    driver = ClerkDriver(clerk_emulator, clerk_emulator_server)
    yield driver
    driver.close()


@pytest.fixture
def extra_handler() -> Iterator[Callable[[str, webhooks.WebhookHandler], None]]:
    """Registers a handler for the test only."""
    added: list[tuple[str, webhooks.WebhookHandler]] = []

    def add(event_type: str, handler: webhooks.WebhookHandler) -> None:
        webhooks.register(event_type, handler)
        added.append((event_type, handler))

    yield add
    for event_type, handler in added:
        webhooks.unregister(event_type, handler)
