"""``manage.py rundemo`` (what ``make run`` runs), in a child process with the embedded-default settings: the
emulator starts, the demo accounts are seeded and printed; bad configurations stop with a clear message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.management.commands.rundemo import DEMO_ACCOUNTS, DEMO_PASSWORD

pytestmark = pytest.mark.subprocess  # each test runs manage.py rundemo

ROOT = Path(__file__).resolve().parent.parent.parent
# Variables the parent test run sets that must not leak into the child (it runs on the embedded defaults).
_PARENT_ONLY = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    clean = {
        key: value for key, value in os.environ.items() if key not in _PARENT_ONLY and not key.startswith("CLERK_")
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "APP_BASE_URL": "http://127.0.0.1:8000",
        "CLERK_EMULATOR_PORT": str(_free_port()),
    }


def _rundemo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "rundemo", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seeds_the_demo_and_prints_how_to_use_it(demo_env: dict[str, str]) -> None:
    first = _rundemo(demo_env)
    assert first.returncode == 0, first.stderr
    port = demo_env["CLERK_EMULATOR_PORT"]
    assert f"Clerk emulator http://127.0.0.1:{port}" in first.stdout
    assert f"Demo accounts (created), password: {DEMO_PASSWORD}" in first.stdout
    for account in DEMO_ACCOUNTS:
        assert account.email in first.stdout
    again = _rundemo(demo_env)  # same database, a new in-memory emulator: the accounts are restored there
    assert again.returncode == 0, again.stderr
    assert "Demo accounts (restored in the emulator)" in again.stdout


def test_with_a_real_clerk_configured_it_seeds_nothing(demo_env: dict[str, str]) -> None:
    result = _rundemo({**demo_env, "CLERK_API_URL": "http://127.0.0.1:9/v1", "CLERK_SECRET_KEY": "sk_test_x"})
    assert result.returncode == 0, result.stderr
    assert "CLERK_API_URL is set: no demo accounts seeded" in result.stdout
    assert DEMO_ACCOUNTS[0].email not in result.stdout


def test_refuses_a_non_local_address(demo_env: dict[str, str]) -> None:
    result = _rundemo({**demo_env, "APP_BASE_URL": "https://app.example.com"})
    assert result.returncode != 0
    assert "rundemo serves on a local http address; APP_BASE_URL is https://app.example.com." in result.stderr


def test_explains_when_the_emulator_port_is_taken(demo_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(demo_env["CLERK_EMULATOR_PORT"])))
        taken.listen()
        result = _rundemo(demo_env)
    assert result.returncode != 0
    assert f"Cannot start the Clerk emulator on 127.0.0.1:{demo_env['CLERK_EMULATOR_PORT']}" in result.stderr


def test_localhost_is_an_authorized_party_beside_127_0_0_1(demo_env: dict[str, str]) -> None:
    code = "from django.conf import settings; print(','.join(settings.CLERK_AUTHORIZED_PARTIES))"
    for base, expected in (
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000,http://localhost:8000"),
        ("http://localhost:8000", "http://localhost:8000,http://127.0.0.1:8000"),
    ):
        result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env={**demo_env, "APP_BASE_URL": base},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected
