"""pytest fixtures: one emulator per test session, on a free port in a thread, reset before each test.

Enable with ``pytest_plugins = ["clerk_emulator.testing"]`` in a conftest, then:

- ``clerk_emulator_server``: the running :class:`~clerk_emulator.server.EmulatorServer` (``.url``, ``.api_url``,
  ``.dispatcher`` with ``.deliveries`` and ``.wait_idle()``);
- ``clerk_emulator``: its :class:`~clerk_emulator.state.Emulator`, emptied for this test (``.events``,
  ``.messages``, ``.faults``, ``.caps_enabled``, ``.advance_clock()``, ``.webhook_url``/``.webhook_secret``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from clerk_emulator.webhooks import DELIVERY_TIMEOUT_S, RETRY_DELAYS_S


@pytest.fixture(scope="session")
def clerk_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clerk_emulator(clerk_emulator_server: EmulatorServer) -> Iterator[Emulator]:
    """The running emulator's state, reset (users, faults, caps, clock, webhooks) for this test.

    No webhook target is set: a test that wants deliveries sets ``webhook_url`` and ``webhook_secret``, and may
    shorten ``clerk_emulator_server.dispatcher.retry_delays_s``; both are put back afterwards.
    """
    em = clerk_emulator_server.emulator
    dispatcher = clerk_emulator_server.dispatcher
    em.webhook_url = None
    em.webhook_secret = None
    dispatcher.retry_delays_s = RETRY_DELAYS_S
    dispatcher.timeout_s = DELIVERY_TIMEOUT_S
    em.reset()  # also drops queued webhook deliveries
    yield em
    em.webhook_url = None
    em.webhook_secret = None
    em.reset()
