"""Real ClerkJS against a production instance: the client lives in Clerk's ``__client`` cookie on the Frontend
API's host (no development browser, no ``__clerk_db_jwt``), and the app works the same.

A second emulator runs with ``production=True`` (a ``pk_live_`` key, as ``python -m clerk_emulator --production``),
and the app is pointed at it for this test: sign in, keep the session across a reload through the cookie alone,
survive a lost ``__session`` cookie, sign out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from accounts import authentication, clerk
from clerk_emulator.server import EmulatorServer
from tests.accounts.test_browser_sign_in import PASSWORD, session_cookie, sign_in
from tests.browser import launch, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def production_app_url(live_server: Any, settings: Any) -> Iterator[str]:
    require_chromium()
    url = str(live_server.url)
    # Clerk's production Frontend API is clerk.<the app's domain>: same site as the app, so its SameSite=Lax
    # `__client` cookie is stored and sent. Here that means the live server's host.
    host = urlsplit(url).hostname or "localhost"
    server = EmulatorServer(host=host, port=0, production=True, allowed_origins=[url]).start()
    em = server.emulator
    settings.CLERK_API_URL = server.api_url
    settings.CLERK_SECRET_KEY = em.secret_key
    settings.CLERK_PUBLISHABLE_KEY = em.publishable_key
    settings.CLERK_JWT_KEY = em.keys.public_pem
    settings.CLERK_FRONTEND_API_URL = server.url
    settings.CLERK_AUTHORIZED_PARTIES = [url]
    clerk.reset_client()
    authentication.reset_caches()
    try:
        yield url
    finally:
        server.stop()
        clerk.reset_client()
        authentication.reset_caches()


def test_a_production_instance_keeps_the_client_in_the_client_cookie(
    production_app_url: str, settings: Any, clerk_session: Callable[..., Any]
) -> None:
    assert settings.CLERK_PUBLISHABLE_KEY.startswith("pk_live_")
    clerk_session(email="pat@example.com", password=PASSWORD, first_name="Pat")
    app = production_app_url
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{app}/sign-in/?next=/dashboard/")
        sign_in(page, "pat@example.com", PASSWORD)
        page.wait_for_url(f"{app}/dashboard/")
        expect(page.locator("main")).to_contain_text("pat@example.com")

        cookies = {c["name"]: c for c in page.context.cookies()}
        assert "__clerk_db_jwt" not in cookies  # no development browser on a production instance
        client = cookies["__client"]
        assert client["httpOnly"] is True
        assert client["domain"] == urlsplit(app).hostname  # the Frontend API's host; page scripts cannot read it
        assert session_cookie(page)

        # The session token is gone (it lives 60 s): ClerkJS finds the client again by its cookie alone.
        page.context.clear_cookies(name="__session")
        page.evaluate("window.sessionStorage.clear()")
        page.goto(f"{app}/dashboard/")
        page.wait_for_url(f"{app}/dashboard/")
        expect(page.locator("main")).to_contain_text("pat@example.com")

        page.click(".usermenu summary")
        page.click("text=Sign out")
        page.wait_for_url(f"{app}/sign-in/")
        assert session_cookie(page) is None
        page.goto(f"{app}/dashboard/")
        expect(page).to_have_url(f"{app}/sign-in/?next=%2Fdashboard%2F")
        browser.close()
    assert errors == []
