"""Signing in and out in a real browser: Debian's Chromium (Playwright), the app on pytest-django's live server,
ClerkJS served by the in-thread Clerk emulator, exactly as the demo runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from tests.browser import launch, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def app_url(live_server: Any, settings: Any, clerk_gateway: Emulator) -> str:
    """The live server's URL; tokens ClerkJS mints there carry it as `azp`, so it is the authorized party."""
    require_chromium()
    settings.CLERK_AUTHORIZED_PARTIES = [live_server.url]
    settings.CLERK_FRONTEND_API_URL = ""  # located through the publishable key, as in production
    return str(live_server.url)


def session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "__session"), None)


def sign_in(page: Page, email: str, password: str) -> None:
    page.fill("#sign-in-email", email)
    page.fill("#sign-in-password", password)
    page.click("#sign-in-submit")


def test_sign_in_lands_on_the_dashboard_and_sign_out_ends_the_session(
    app_url: str, clerk_session: Callable[..., Any], clerk_workspace: Callable[..., Workspace]
) -> None:
    workspace = clerk_workspace("Acme Inc")
    clerk_session(
        email="ann@example.com",
        password=PASSWORD,
        first_name="Ann",
        last_name="Lee",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
    )
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # A signed-out visit to the dashboard goes through the sign-in page and comes back.
        page.goto(f"{app_url}/dashboard/")
        expect(page).to_have_url(f"{app_url}/sign-in/?next=%2Fdashboard%2F")

        # Clerk's own error message shows beside the form, and the button is usable again.
        sign_in(page, "ann@example.com", "not-the-password")
        expect(page.locator("#sign-in-error")).to_be_visible()
        expect(page.locator("#sign-in-error")).to_contain_text("Password is incorrect")
        expect(page.locator("#sign-in-submit")).to_be_enabled()
        assert session_cookie(page) is None

        sign_in(page, "ann@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main")).to_contain_text("ann@example.com")
        expect(page.locator("main")).to_contain_text("Acme Inc")
        expect(page.locator("main")).to_contain_text("Admin")
        assert session_cookie(page)

        # The 60-second session token ran out (here: the cookie is gone): the sign-in page quietly gets a fresh
        # one from the still-active Clerk session and returns to the page that was asked for.
        page.context.clear_cookies()
        page.evaluate("window.sessionStorage.clear()")
        page.goto(f"{app_url}/dashboard/")
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main")).to_contain_text("ann@example.com")

        # Sign out through the user menu: back to sign-in, cookie gone, and the Clerk session really ended.
        page.click(".usermenu summary")
        page.click("text=Sign out")
        page.wait_for_url(f"{app_url}/sign-in/")
        assert session_cookie(page) is None
        page.goto(f"{app_url}/dashboard/")
        expect(page).to_have_url(f"{app_url}/sign-in/?next=%2Fdashboard%2F")
        page.wait_for_timeout(500)
        expect(page).to_have_url(f"{app_url}/sign-in/?next=%2Fdashboard%2F")
        expect(page.locator("#sign-in-form")).to_be_visible()

        browser.close()
    assert errors == []


def test_sign_in_follows_a_safe_next_only(app_url: str, clerk_session: Callable[..., Any]) -> None:
    clerk_session(email="bo@example.com", password=PASSWORD)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/?next=https://evil.example/")
        sign_in(page, "bo@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main")).to_contain_text("bo@example.com")
        browser.close()
