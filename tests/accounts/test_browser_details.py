"""Small things a person notices, checked in a real browser (Chromium, the real ClerkJS against the emulator): the
account menu is named by what it shows and closes on Escape; /onboarding/phone/ starts in its field and marks a bad
number on it; a deactivated person signing in is told they were deactivated, not Clerk's "banned"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from accounts import clerk
from tests.accounts.test_browser_sign_in import PASSWORD, app_url, sign_in
from tests.browser import launch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]


def test_the_account_menu_is_named_by_its_text_and_closes_on_escape(
    app_url: str, clerk_session: Callable[..., Any]
) -> None:
    clerk_session(email="ann@example.com", password=PASSWORD, first_name="Ann", last_name="Lee")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/")
        sign_in(page, "ann@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/dashboard/")
        summary = page.locator("details.usermenu summary")
        expect(summary).to_have_accessible_name("Ann Lee, account menu")
        assert "Ann Lee" in summary.inner_text()
        summary.click()
        expect(page.locator("details.usermenu")).to_have_attribute("open", "")
        page.keyboard.press("Escape")
        expect(page.locator("details.usermenu")).not_to_have_attribute("open", "")
        expect(summary).to_be_focused()
        browser.close()


def test_phone_onboarding_starts_in_its_field_and_marks_a_bad_number(
    app_url: str, clerk_session: Callable[..., Any]
) -> None:
    clerk_session(email="max@example.com", password=PASSWORD, needs_phone=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/")
        sign_in(page, "max@example.com", PASSWORD)
        page.wait_for_url(f"{app_url}/onboarding/phone/?next=*")
        field = page.locator("#phone-number")
        expect(field).to_be_focused()
        expect(field).not_to_have_attribute("aria-invalid", "true")
        field.fill("555 0100")
        page.get_by_role("button", name="Send code").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", "phone-hint phone-number-error")
        expect(page.locator("#phone-number-error")).to_have_text("Enter the number with + and the country code.")
        expect(field).to_have_accessible_description(
            "International format, starting with + and the country code. Enter the number with + and the country code."
        )
        browser.close()


def test_a_deactivated_person_is_told_so(app_url: str, clerk_session: Callable[..., Any]) -> None:
    session = clerk_session(email="gone@example.com", password=PASSWORD)
    clerk.ban_user(session.clerk_user.id)  # what deactivating does in Clerk
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{app_url}/sign-in/")
        sign_in(page, "gone@example.com", PASSWORD)
        error = page.locator("#sign-in-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("Your account has been deactivated")
        expect(error).not_to_contain_text("banned")
        browser.close()
