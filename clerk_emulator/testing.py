"""pytest fixtures: one emulator per test session, on a free port in a thread, reset before each test.

Enable with ``pytest_plugins = ["clerk_emulator.testing"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator


@pytest.fixture(scope="session")
def clerk_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clerk_emulator(clerk_emulator_server: EmulatorServer) -> Iterator[Emulator]:
    """The running emulator's state, reset (users, faults, caps, clock, webhook target) for this test."""
    em = clerk_emulator_server.emulator
    em.reset()
    em.webhook_url = None
    em.webhook_secret = None
    clerk_emulator_server.dispatcher.clear()
    yield em
    em.faults.clear()
