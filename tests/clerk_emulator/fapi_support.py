"""A browser as the emulator's Frontend API sees it, and helpers shared by the FAPI tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from clerk_backend_api import Clerk

from clerk_emulator.state import Emulator
from tests.clerk_emulator import session_tokens

ORIGIN = "http://app.example.test:8000"
PASSWORD = "correct-horse-9"


class Browser:
    """One browser as FAPI sees it: a page origin and the client token ClerkJS keeps between calls."""

    def __init__(self, base_url: str, origin: str = ORIGIN) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Origin": origin}, timeout=10)
        self.client_token: str | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.client_token:
            headers["Authorization"] = self.client_token
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.headers.get("Authorization"):
            self.client_token = response.headers["Authorization"]
        return response

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def sign_in(self, identifier: str, password: str = PASSWORD) -> str:
        body = self.ok("POST", "/v1/client/sign_ins", json={"identifier": identifier, "password": password})
        return str(body["response"]["created_session_id"])

    def token(self, session_id: str) -> str:
        return str(self.ok("POST", f"/v1/client/sessions/{session_id}/tokens")["jwt"])


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
