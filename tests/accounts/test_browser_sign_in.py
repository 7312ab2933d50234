"""Signing in and out in a real browser: Debian's Chromium (Playwright), the app on pytest-django's live server,
ClerkJS served by the in-thread Clerk emulator, exactly as the demo runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts import clerk
from accounts.models import Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.browser import allow_app_origin, launch, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def app_url(live_server: Any, settings: Any, clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer) -> str:
    """The live server's URL; tokens ClerkJS mints there carry it as `azp`, so it is the authorized party."""
    require_chromium()
    settings.CLERK_AUTHORIZED_PARTIES = [live_server.url]
    # The emulator's Frontend API is plain http: {% clerk_js %} hands it to ClerkJS as data-clerk-proxy-url.
    settings.CLERK_FRONTEND_API_URL = clerk_emulator_server.url
    allow_app_origin(clerk_gateway, str(live_server.url))
    return str(live_server.url)


TOKEN_LIFETIME_S = 20


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
        page.context.clear_cookies(name="__session")
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


def test_forgot_password_resets_through_clerks_email_code_and_signs_in(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    clerk_session(email="cy@example.com", password=PASSWORD, first_name="Cy", last_name="Ng")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{app_url}/sign-in/?next=%2Fdashboard%2F")
        page.click("text=Forgot password?")
        page.wait_for_url(f"{app_url}/sign-in/forgot/*")
        page.fill("#reset-email", "cy@example.com")
        page.click("#reset-send")
        expect(page.locator("#reset-code-form")).to_be_visible()
        expect(page.locator("[data-sent-to]")).to_have_text("cy@example.com")
        mail = [m for m in clerk_gateway.messages if m.kind == "email" and m.to == "cy@example.com" and m.code]
        assert mail, "Clerk's reset code is in the emulator's mailbox"

        # A wrong code: Clerk's message, and the form stays usable.
        page.fill("#reset-code", "000000" if mail[-1].code != "000000" else "111111")
        page.fill("#reset-password", "a-brand-new-password")
        page.click("#reset-submit")
        expect(page.locator("#reset-code-form [data-error]")).to_be_visible()
        expect(page.locator("#reset-submit")).to_be_enabled()

        page.fill("#reset-code", mail[-1].code or "")
        page.click("#reset-submit")
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main")).to_contain_text("cy@example.com")
        browser.close()
    assert errors == []
    # The new password is the one that works now.
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/")
        sign_in(page, "cy@example.com", PASSWORD)
        expect(page.locator("#sign-in-error")).to_be_visible()
        sign_in(page, "cy@example.com", "a-brand-new-password")
        page.wait_for_url(f"{app_url}/dashboard/")
        browser.close()


def test_the_account_page_changes_name_password_and_phone_in_clerk(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    session = clerk_session(email="di@example.com", password=PASSWORD, first_name="Di", last_name="Old")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{app_url}/sign-in/?next=%2Faccount%2F")
        sign_in(page, "di@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/account/")

        page.fill("#account-last-name", "New")
        page.click("#account-name button[type=submit]")
        expect(page.locator("#account-name [data-saved]")).to_be_visible()
        assert clerk.get_user(session.clerk_user.id).last_name == "New"

        page.fill("#account-current-password", "not-my-password")
        page.fill("#account-new-password", "another-good-password")
        page.click("#account-password button[type=submit]")
        expect(page.locator("#account-password [data-error-for=current_password]")).to_be_visible()
        page.fill("#account-current-password", PASSWORD)
        page.fill("#account-new-password", "another-good-password")
        page.click("#account-password button[type=submit]")
        expect(page.locator("#account-password [data-saved]")).to_be_visible()

        page.fill("#account-phone-number", "+1 415 555 0142")
        page.click("#account-phone button[type=submit]")
        expect(page.locator("#account-phone-code")).to_be_visible()
        code = next(m.code for m in reversed(clerk_gateway.messages) if m.kind == "sms" and m.to == "+14155550142")
        page.fill("#account-phone-code-input", code or "")
        page.click("#account-phone-code button[type=submit]")
        expect(page.locator("[data-phone-saved]")).to_be_visible()
        expect(page.locator("[data-phone-current]")).to_contain_text("+14155550142")
        user = clerk.get_user(session.clerk_user.id)
        assert user.phone_number == "+14155550142"
        assert user.phone_verified
        browser.close()
    assert errors == []


def cookie_exp(page: Page) -> int:
    token = session_cookie(page)
    return int(jwt.decode(token, options={"verify_signature": False})["exp"]) if token else 0


def test_a_session_outlives_its_token_and_acts_after_the_background_refresh(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    """ClerkJS on the page refreshes `__session` in the background before the token's `exp`, and the server accepts
    the new one after the first has expired. Clerk's tokens live 60 s; the instance setting (the emulator's
    `session_token_lifetime_s`, as a dashboard's) is 20 s here, so the test waits for events, not a minute."""
    clerk_gateway.settings.session_token_lifetime_s = TOKEN_LIFETIME_S
    clerk_session(email="ed@example.com", password=PASSWORD)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/")
        sign_in(page, "ed@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/dashboard/")
        first = session_cookie(page)
        assert first
        first_exp = jwt.decode(first, options={"verify_signature": False})["exp"]
        assert first_exp - time.time() <= TOKEN_LIFETIME_S
        # ClerkJS may re-mint a token in the second it signed in (same `exp`, Clerk's claims are whole seconds):
        # wait for one that outlives the first.
        deadline = time.monotonic() + 3 * TOKEN_LIFETIME_S
        while cookie_exp(page) <= first_exp and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert cookie_exp(page) > first_exp, "ClerkJS did not refresh the session token before it expired"
        page.wait_for_timeout(max(0.0, first_exp + 1 - time.time()) * 1000)  # past the first token's `exp`
        # A server-rendered page accepts only a valid token: no detour through /sign-in/.
        page.goto(f"{app_url}/account/")
        expect(page).to_have_url(f"{app_url}/account/")
        expect(page.locator("h1")).to_have_text("Your account")
        browser.close()
