"""The official SDK pointed at the in-thread emulator: contract tests prove our JSON against its pydantic models."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from clerk_backend_api import Clerk
from clerk_backend_api.utils import BackoffStrategy, RetryConfig

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.clerk_emulator.fapi_support import ORIGIN, Browser

NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)


@pytest.fixture(scope="session")
def _sdk_http_client() -> Iterator[httpx.Client]:
    """One transport for every test's SDK: building an httpx client loads the CA bundle (~20 ms) each time."""
    with httpx.Client(follow_redirects=True) as client:  # what the SDK builds by default
        yield client


@pytest.fixture
def sdk(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer, _sdk_http_client: httpx.Client) -> Clerk:
    return Clerk(
        bearer_auth=clerk_emulator.secret_key,
        server_url=clerk_emulator_server.api_url,
        client=_sdk_http_client,
        retry_config=NO_RETRIES,
        timeout_ms=5_000,
    )


@pytest.fixture(scope="session")
def _bapi_client(clerk_emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=clerk_emulator_server.api_url,
        headers={"Authorization": f"Bearer {clerk_emulator_server.emulator.secret_key}"},
        timeout=5.0,
    ) as client:
        yield client


@pytest.fixture
def bapi(clerk_emulator: Emulator, _bapi_client: httpx.Client) -> httpx.Client:
    """A plain HTTP client on the Backend API with the secret key, for raw-JSON and bad-input tests."""
    return _bapi_client


OTHER_ORIGIN = "http://elsewhere.example.test"


@pytest.fixture
def app_origins(clerk_emulator: Emulator) -> Iterator[list[str]]:
    """The test app origins, allowed for credentialed CORS for this test (the emulator's list is put back)."""
    saved = list(clerk_emulator.allowed_origins)
    clerk_emulator.allowed_origins[:] = [*saved, ORIGIN, OTHER_ORIGIN]
    yield clerk_emulator.allowed_origins
    clerk_emulator.allowed_origins[:] = saved


@pytest.fixture
def browser(app_origins: list[str], clerk_emulator_server: EmulatorServer) -> Iterator[Browser]:
    b = Browser(clerk_emulator_server.url)
    yield b
    b.http.close()


@pytest.fixture
def other_browser(app_origins: list[str], clerk_emulator_server: EmulatorServer) -> Iterator[Browser]:
    b = Browser(clerk_emulator_server.url, origin=OTHER_ORIGIN)
    yield b
    b.http.close()
