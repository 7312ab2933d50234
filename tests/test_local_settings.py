"""Development settings (config/settings/local.py): with nothing set, the app runs against the embedded Clerk
emulator with its fixed development keys; ``CLERK_API_URL`` switches to a real Clerk instance; both spellings of the
local address are authorized parties unless ``CLERK_AUTHORIZED_PARTIES`` says otherwise.

Each test imports the settings module afresh (with base.py, which reads the environment at import) under a given
environment; the modules the running tests use are put back afterwards.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

import config.settings
from clerk_emulator.state import DEFAULT_SECRET_KEY, encode_publishable_key
from config.settings.base import CONFIG_NAMES

DEV_WEBHOOK_SECRET = "whsec_bG9jYWwtZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQ="


def local_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """``config.settings.local`` as it loads with exactly ``env`` among the names the app reads."""
    for name in (*CONFIG_NAMES, "CLERK_EMULATOR_PORT", "CLERK_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for module in ("config.settings.base", "config.settings.local"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    for attribute in ("base", "local"):
        monkeypatch.setattr(config.settings, attribute, None, raising=False)
    return importlib.import_module("config.settings.local")


class TestEmbeddedEmulator:
    def test_with_nothing_set_it_talks_to_the_emulator_with_its_development_keys(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        local = local_settings(monkeypatch)
        assert local.CLERK_EMULATOR_EMBEDDED is True
        assert local.CLERK_API_URL == "http://127.0.0.1:8787/v1"
        assert local.CLERK_SECRET_KEY == DEFAULT_SECRET_KEY
        assert encode_publishable_key("127.0.0.1:8787") == local.CLERK_PUBLISHABLE_KEY
        assert local.CLERK_WEBHOOK_SIGNING_SECRET == DEV_WEBHOOK_SECRET
        assert local.DEBUG is True
        assert local.ALLOWED_HOSTS == ["localhost", "127.0.0.1", "[::1]"]

    def test_another_emulator_port_moves_the_api_url_and_the_publishable_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        local = local_settings(monkeypatch, CLERK_EMULATOR_PORT="18787")
        assert local.CLERK_EMULATOR_PORT == 18787
        assert local.CLERK_API_URL == "http://127.0.0.1:18787/v1"
        assert encode_publishable_key("127.0.0.1:18787") == local.CLERK_PUBLISHABLE_KEY

    def test_keys_given_in_the_environment_win_over_the_development_ones(self, monkeypatch: pytest.MonkeyPatch) -> None:
        local = local_settings(
            monkeypatch,
            CLERK_SECRET_KEY="sk_test_mine",
            CLERK_PUBLISHABLE_KEY="pk_test_mine",
            CLERK_WEBHOOK_SIGNING_SECRET="whsec_bWluZQ==",
        )
        assert local.CLERK_EMULATOR_EMBEDDED is True
        assert local.CLERK_API_URL == "http://127.0.0.1:8787/v1"
        assert (local.CLERK_SECRET_KEY, local.CLERK_PUBLISHABLE_KEY, local.CLERK_WEBHOOK_SIGNING_SECRET) == (
            "sk_test_mine",
            "pk_test_mine",
            "whsec_bWluZQ==",
        )

    def test_debug_and_hosts_can_be_overridden(self, monkeypatch: pytest.MonkeyPatch) -> None:
        local = local_settings(monkeypatch, DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="dev.example.com")
        assert local.DEBUG is False
        assert local.ALLOWED_HOSTS == ["dev.example.com"]


class TestRealClerk:
    def test_clerk_api_url_turns_the_emulator_off_and_keeps_the_keys_as_given(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        local = local_settings(
            monkeypatch,
            CLERK_API_URL="https://api.clerk.com/v1/",
            CLERK_SECRET_KEY="sk_test_real",
            CLERK_PUBLISHABLE_KEY="pk_test_real",
        )
        assert local.CLERK_EMULATOR_EMBEDDED is False
        assert local.CLERK_API_URL == "https://api.clerk.com/v1"
        assert (local.CLERK_SECRET_KEY, local.CLERK_PUBLISHABLE_KEY) == ("sk_test_real", "pk_test_real")
        # No development secret is slipped in for a real instance: an unset one stays unset.
        assert local.CLERK_WEBHOOK_SIGNING_SECRET == ""


class TestAuthorizedParties:
    @pytest.mark.parametrize(
        ("base_url", "parties"),
        [
            (None, ["http://127.0.0.1:8000", "http://localhost:8000"]),
            ("http://127.0.0.1:8000/", ["http://127.0.0.1:8000", "http://localhost:8000"]),
            ("http://localhost:8001", ["http://localhost:8001", "http://127.0.0.1:8001"]),
            ("https://dev.example.com", ["https://dev.example.com"]),
        ],
    )
    def test_both_spellings_of_the_local_address_are_accepted(
        self, monkeypatch: pytest.MonkeyPatch, base_url: str | None, parties: list[str]
    ) -> None:
        local = local_settings(monkeypatch, **({"APP_BASE_URL": base_url} if base_url else {}))
        assert parties == local.CLERK_AUTHORIZED_PARTIES

    def test_an_explicit_list_is_used_as_it_is(self, monkeypatch: pytest.MonkeyPatch) -> None:
        local = local_settings(
            monkeypatch,
            APP_BASE_URL="http://localhost:8000",
            CLERK_AUTHORIZED_PARTIES="https://a.example,https://b.example",
        )
        assert local.CLERK_AUTHORIZED_PARTIES == ["https://a.example", "https://b.example"]
