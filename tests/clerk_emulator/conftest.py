"""The official SDK pointed at the in-thread emulator: contract tests prove our JSON against its pydantic models."""

from __future__ import annotations

import pytest
from clerk_backend_api import Clerk
from clerk_backend_api.utils import BackoffStrategy, RetryConfig

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator

NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)


@pytest.fixture
def sdk(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Clerk:
    return Clerk(
        bearer_auth=clerk_emulator.secret_key,
        server_url=clerk_emulator_server.api_url,
        retry_config=NO_RETRIES,
        timeout_ms=5_000,
    )
