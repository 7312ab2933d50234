"""Redis down (reliability.md (b) ratelimit_backend_down; issue 6 item 3).

Redis holds the rate-limit counters (and, when ``CLERK_JWT_KEY`` is not set, a shared copy of Clerk's JWKS). With
the cache pointed at a closed port, exactly as production configures it (django-redis, no ``IGNORE_EXCEPTIONS``):

- rate-limited endpoints fail **closed**, on purpose (ASVS 16.5.3; Clerk's hourly caps are per instance, so an
  unlimited burst while Redis is down could exhaust them for everyone): 429 ``rate_limited`` with ``Retry-After``,
  logged as an error, no Clerk call, no row. That holds for the invitation API (invite, resend, revoke), the staff
  API and the settings-page invite form; never a 500;
- everything that is not rate-limited keeps working: the lists, the settings page, the webhook endpoint, and
  session authentication (also through the JWKS, which is then fetched from Clerk instead of read from Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from core import ratelimits
from core.exceptions import RateLimited
from core.models import WebhookEvent
from internal_users.models import InternalInvitation
from invitations import services
from invitations.api.ratelimits import INVITE_RATE_SETTING
from invitations.models import WorkspaceInvitation
from tests.accounts.webhook_support import SECRET, ClerkDriver, deliver
from tests.conftest import SignedInClient

pytestmark = pytest.mark.django_db

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every command is refused
ERROR_KEYS = {"code", "message", "extra"}


@pytest.fixture
def workspace(clerk_workspace: Callable[..., Workspace]) -> Workspace:
    return clerk_workspace("Acme")


@pytest.fixture
def api_admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(workspace=workspace, workspace_role=WorkspaceRole.ADMIN)


@pytest.fixture
def page_admin(signed_in: Callable[..., SignedInClient], workspace: Workspace) -> SignedInClient:
    return signed_in(via="cookie", workspace=workspace, workspace_role=WorkspaceRole.ADMIN)


@pytest.fixture
def boss(signed_in: Callable[..., SignedInClient]) -> SignedInClient:
    return signed_in(Role.SUPER_ADMIN)


@pytest.fixture
def redis_down(settings: Any) -> Iterator[None]:
    """The cache (and with it the rate-limit alias) on a closed port, configured as in production."""
    working = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": CLOSED_REDIS}}
    settings.RATELIMIT_USE_CACHE = "default"
    settings.RATELIMIT_ENABLE = True
    with pytest.raises(RedisConnectionError):
        caches["default"].get("probe")  # really down
    yield
    settings.CACHES = working  # before the autouse fixtures' teardown touches the cache


def open_invitation(workspace: Workspace, inviter: User | None, email: str = "ann@example.com") -> WorkspaceInvitation:
    """A row made as if before the outage (the service reserves its Clerk budget in the cache too)."""
    assert inviter is not None
    with override_settings(RATELIMIT_ENABLE=False):
        [result] = services.invitations_create(workspace=workspace, inviter=inviter, emails=[email], role="member")
    assert result.invitation is not None
    return result.invitation


def assert_fails_closed(response: Any, *, json: bool = True) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) > 0
    if json:
        body = response.json()
        assert set(body) == ERROR_KEYS
        assert body["code"] == "rate_limited"


# --------------------------------------------------------------------------- rate-limited: fail closed
def test_invite_api_fails_closed(
    api_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, redis_down: None, caplog: Any
) -> None:
    calls = len(clerk_gateway.request_log)
    with caplog.at_level(logging.ERROR, logger="core.ratelimits"):
        response = api_admin.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["x@example.com"], "role": "member"},
            format="json",
        )
    assert_fails_closed(response)
    assert len(clerk_gateway.request_log) == calls  # refused before any Clerk call
    assert not WorkspaceInvitation.objects.exists()
    assert any("cannot count" in record.getMessage() for record in caplog.records)  # an operator sees why


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_row_actions_of_the_api_fail_closed(
    api_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, redis_down: None, action: str
) -> None:
    row = open_invitation(workspace, api_admin.user)
    calls = len(clerk_gateway.request_log)
    response = api_admin.post(f"/api/workspaces/{workspace.pk}/invitations/{row.pk}/{action}/")
    assert_fails_closed(response)
    assert len(clerk_gateway.request_log) == calls
    row.refresh_from_db()
    assert row.status == "pending"


def test_the_services_fail_closed_without_the_api(
    api_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, redis_down: None
) -> None:
    """A command, task or shell calling the service meets the same budget: no counter, no Clerk call, no row."""
    assert api_admin.user is not None
    calls = len(clerk_gateway.request_log)
    with pytest.raises(RateLimited):
        services.invitations_create(
            workspace=workspace, inviter=api_admin.user, emails=["x@example.com"], role="member"
        )
    assert len(clerk_gateway.request_log) == calls
    assert not WorkspaceInvitation.objects.exists()


def test_staff_invite_api_fails_closed(boss: SignedInClient, redis_down: None) -> None:
    response = boss.post(
        "/api/admin/internal-users/invitations/", {"email": "stan@example.com", "role": "admin"}, format="json"
    )
    assert_fails_closed(response)
    assert not InternalInvitation.objects.exists()


def test_settings_page_invite_form_fails_closed(
    page_admin: SignedInClient, workspace: Workspace, clerk_gateway: Emulator, redis_down: None
) -> None:
    calls = len(clerk_gateway.request_log)
    response = page_admin.post(
        f"/settings/workspaces/{workspace.pk}/invitations/", {"emails": "x@example.com", "role": "member"}
    )
    assert_fails_closed(response, json=False)
    assert "Too many requests" in response.content.decode()
    assert len(clerk_gateway.request_log) == calls
    assert not WorkspaceInvitation.objects.exists()


def _page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("ok")


def test_page_decorator_fails_closed(page_admin: SignedInClient, redis_down: None) -> None:
    """The fail-closed decorator for pages, ready for the settings page's forms (one counter with the API)."""
    view = ratelimits.per_user_posts("invitations.api.invite", INVITE_RATE_SETTING)(_page)
    request = RequestFactory().post("/settings/")
    request.user = page_admin.user  # type: ignore[assignment]
    with pytest.raises(RateLimited) as refused:
        view(request)
    assert refused.value.http_status == 429
    assert refused.value.retry_after == ratelimits.FAIL_CLOSED_RETRY_AFTER_S
    get = RequestFactory().get("/settings/")
    get.user = page_admin.user  # type: ignore[assignment]
    assert view(get).status_code == 200  # reading a page costs nothing and needs no counter


def test_page_decorator_shares_the_api_counter(api_admin: SignedInClient, workspace: Workspace, settings: Any) -> None:
    settings.INVITATIONS_API_INVITE_RATE = "1/h"
    settings.RATELIMIT_ENABLE = True
    response = api_admin.post(
        f"/api/workspaces/{workspace.pk}/invitations/", {"emails": ["x@example.com"], "role": "member"}, format="json"
    )
    assert response.status_code == 200
    view = ratelimits.per_user_posts("invitations.api.invite", INVITE_RATE_SETTING)(_page)
    request = RequestFactory().post("/settings/")
    request.user = api_admin.user  # type: ignore[assignment]
    with pytest.raises(RateLimited) as refused:
        view(request)
    assert 0 < refused.value.retry_after <= 3600


# --------------------------------------------------------------------------- not rate-limited: keep working
def test_reads_and_pages_keep_working(
    api_admin: SignedInClient, page_admin: SignedInClient, boss: SignedInClient, workspace: Workspace, redis_down: None
) -> None:
    assert api_admin.get(f"/api/workspaces/{workspace.pk}/invitations/").status_code == 200
    assert api_admin.get(f"/api/workspaces/{workspace.pk}/members/").status_code == 200
    assert page_admin.get(f"/settings/?workspace={workspace.pk}").status_code == 200
    assert boss.get("/api/admin/internal-users/").status_code == 200


def test_session_authentication_through_the_jwks_keeps_working(
    api_admin: SignedInClient, workspace: Workspace, settings: Any, redis_down: None
) -> None:
    """Without CLERK_JWT_KEY the keys come from Clerk's JWKS; the shared copy in Redis is only a cache."""
    settings.CLERK_JWT_KEY = ""
    for _ in range(2):  # the first request fetches the keys, the second uses this process's copy
        assert api_admin.get(f"/api/workspaces/{workspace.pk}/invitations/").status_code == 200


def test_webhooks_keep_working(
    clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer, settings: Any, redis_down: None
) -> None:
    settings.CLERK_WEBHOOK_SIGNING_SECRET = SECRET
    driver = ClerkDriver(clerk_gateway, clerk_emulator_server)
    try:
        created = driver.create_user("wendy@example.com")
        envelope = driver.event("user.created")
    finally:
        driver.close()
    response = deliver(Client(), envelope)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert User.objects.filter(clerk_user_id=created["id"]).exists()
    assert WebhookEvent.objects.count() == 1
