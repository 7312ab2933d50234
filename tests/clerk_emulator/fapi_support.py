"""A browser as the emulator's Frontend API sees it, and helpers shared by the FAPI tests."""

from __future__ import annotations

import json as json_module
import ssl
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from clerk_backend_api import Clerk

from clerk_emulator.state import Emulator
from tests.clerk_emulator import session_tokens

ORIGIN = "http://app.example.test:8000"
PASSWORD = "correct-horse-9"

# One TLS context for every browser: httpx would load the CA bundle for each client (one per test), though the
# emulator is plain HTTP on loopback.
TLS = ssl.create_default_context()


class Browser:
    """One browser as the Frontend API sees it, speaking like ClerkJS 6.40's ``fapiClient``.

    Only ``GET`` and ``POST`` go on the wire (other methods as ``POST …?_method=X``), bodies are form-encoded, the
    query carries ClerkJS's own parameters, and the client is named by a development browser (``__clerk_db_jwt``),
    created on the first call as ClerkJS does on load.
    """

    def __init__(self, base_url: str, origin: str = ORIGIN, *, dev_browser: bool = True) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Origin": origin}, timeout=10, verify=TLS)
        self.dev_browser: str | None = None
        self.wants_dev_browser = dev_browser

    def start(self) -> str:
        response = self.http.post("/v1/dev_browser")
        assert response.status_code == 200, response.text
        self.dev_browser = str(response.json()["id"])
        return self.dev_browser

    def call(self, method: str, path: str, *, json: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        if self.wants_dev_browser and self.dev_browser is None:
            self.start()
        path, _, query = path.partition("?")  # httpx would drop a query in the path once ``params`` is given
        params = {**dict(parse_qsl(query)), **dict(kwargs.pop("params", {})), **CLERK_JS_PARAMS}
        if self.dev_browser:
            params[DEV_BROWSER_PARAM] = self.dev_browser
        if method.upper() not in ("GET", "POST", "OPTIONS"):
            params["_method"] = method.upper()
            method = "POST"
        if json is not None:
            kwargs["data"] = form_encode(json)
        return self.http.request(method, path, params=params, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def sign_in(self, identifier: str, password: str = PASSWORD) -> str:
        body = self.ok("POST", "/v1/client/sign_ins", json={"identifier": identifier, "password": password})
        return str(body["response"]["created_session_id"])

    def token(self, session_id: str) -> str:
        return str(self.ok("POST", f"/v1/client/sessions/{session_id}/tokens")["jwt"])


# What ClerkJS 6.40 puts on every Frontend API request (``fapiClient.buildQueryString``).
CLERK_JS_PARAMS = {"__clerk_api_version": "2026-08-20", "_clerk_js_version": "6.40.0"}
DEV_BROWSER_PARAM = "__clerk_db_jwt"


def form_encode(values: dict[str, Any]) -> dict[str, str]:
    """A body as ClerkJS form-encodes it: objects as JSON, booleans as ``true``/``false``, ``None`` left out."""
    encoded: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            encoded[key] = json_module.dumps(value)
        else:
            encoded[key] = str(value)
    return encoded


def verify(em: Emulator, token: str, origin: str = ORIGIN) -> dict[str, Any]:
    return session_tokens.verify(em, token, origin)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body["errors"], list)
    assert body["errors"][0]["message"]
    assert body["errors"][0]["long_message"]
    return str(body["errors"][0]["code"])


def ticket_of(url: str | None) -> str:
    assert url is not None
    return parse_qs(urlsplit(url).query)["ticket"][0]


def make_user(sdk: Clerk, email: str = "ann@example.com", **extra: Any) -> str:
    user = sdk.users.create(email_address=[email], password=PASSWORD, first_name="Ann", **extra)
    return user.id


def make_org(sdk: Clerk, admin_id: str, name: str = "Acme") -> str:
    return sdk.organizations.create(request={"name": name, "created_by": admin_id}).id


def org_invitation(sdk: Clerk, org_id: str, email: str, **extra: Any) -> tuple[str, str]:
    invitation = sdk.organization_invitations.create(
        organization_id=org_id, email_address=email, role="org:member", **extra
    )
    return invitation.id, ticket_of(invitation.url)
