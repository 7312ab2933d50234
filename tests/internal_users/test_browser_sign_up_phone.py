"""A staff invitee on an instance that verifies phone numbers at sign-up (real ClerkJS, the emulator's Frontend API).

Clerk answers the ticket sign-up ``missing_requirements`` with ``unverified_fields: ["phone_number"]``; the accept
page finishes the phone step in place (templates/accounts/_sign_up_phone.html): the SMS code arrives in the
emulator's mailbox, a wrong code is refused beside its field, the right one completes the sign-up and lands on
/internal/ with the staff role.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect, sync_playwright

from accounts.models import User
from accounts.roles import Role
from clerk_emulator.state import Emulator
from internal_users import services
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]

LINK = re.compile(r"https?://\S+invitation_id=\d+")


def _sms_code(emulator: Emulator, phone: str) -> str:
    with emulator.lock:
        codes = [m.code for m in emulator.messages if m.kind == "sms" and m.to == phone and m.code]
    assert codes, f"no SMS code for {phone}"
    return codes[-1]


def test_staff_sign_up_finishes_the_phone_step_clerk_asks_for(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    inviter = clerk_session(Role.SUPER_ADMIN, email="root@example.com", password=PASSWORD, first_name="Rita")
    with clerk_gateway.lock:
        clerk_gateway.settings = dataclasses.replace(clerk_gateway.settings, phone_verify_at_sign_up=True)
    services.internal_invite(email="lee@example.com", role=Role.ADMIN, actor=inviter.user)
    [message] = [m for m in mail.outbox if m.to == ["lee@example.com"]]
    link = LINK.search(str(message.body))
    assert link is not None

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        watch_errors(page, errors)
        page.goto(link.group(0))
        page.wait_for_url(f"{app_url}/internal/accept-invite/?*__clerk_status=sign_up*")
        page.fill("#su-first-name", "Lee")
        page.fill("#su-last-name", "Lam")
        page.fill("#su-phone", "+1 415 555 0199")
        page.fill("#su-password", PASSWORD)
        page.get_by_role("button", name="Create account").click()

        step = page.locator('[data-phone-step="code"]')
        expect(step).to_be_visible()
        expect(step.locator("[data-sent-to]")).to_have_text("+14155550199")
        expect(page.get_by_role("heading", name="Verify your phone number")).to_be_visible()

        page.fill("#sup-code", "000000" if _sms_code(clerk_gateway, "+14155550199") != "000000" else "111111")
        step.get_by_role("button", name="Verify and continue").click()
        expect(step.locator("[data-error]")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/internal/accept-invite/"))

        page.fill("#sup-code", _sms_code(clerk_gateway, "+14155550199"))
        step.get_by_role("button", name="Verify and continue").click()
        page.wait_for_url(f"{app_url}/internal/")
        expect(page.locator("main")).to_contain_text("Welcome, Lee")
        browser.close()
    assert errors == []
    joined = User.objects.get(email="lee@example.com")
    assert joined.role == Role.ADMIN
    assert joined.phone_number == "+14155550199"
