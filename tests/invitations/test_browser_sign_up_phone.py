"""A workspace invitee on an instance that requires and verifies a phone number at sign-up (real ClerkJS).

The accept page does not collect a phone (members verify one on /onboarding/phone/), so Clerk answers the ticket
sign-up ``missing_requirements`` with ``missing_fields: ["phone_number"]``: the page asks for the number in place,
then for the SMS code from the emulator's mailbox, and the invitee joins the workspace without a dead end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from accounts.models import User, Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from invitations import services
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]


def test_member_sign_up_gives_the_phone_number_clerk_asks_for(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
) -> None:
    workspace = clerk_workspace("Acme Inc")
    admin = clerk_session(email="ann@example.com", workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    with clerk_gateway.lock:
        clerk_gateway.settings = dataclasses.replace(
            clerk_gateway.settings, phone_required=True, phone_verify_at_sign_up=True
        )
    services.invitations_create(
        workspace=workspace, inviter=admin.user, emails=["rae@example.com"], role=WorkspaceRole.MEMBER
    )
    with clerk_gateway.lock:
        link = next(m.link for m in reversed(clerk_gateway.messages) if m.to == "rae@example.com" and m.link)

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        watch_errors(page, errors)
        page.goto(link)
        page.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_up*")
        page.fill("#accept-first-name", "Rae")
        page.fill("#accept-last-name", "Ng")
        page.fill("#accept-password", PASSWORD)
        page.click("#accept-sign-up button[type=submit]")

        number = page.locator('[data-phone-step="number"]')
        expect(number).to_be_visible()
        expect(page.locator("#sup-phone")).to_be_focused()
        page.fill("#sup-phone", "+1 415 555 0123")
        number.get_by_role("button", name="Send code").click()
        code_step = page.locator('[data-phone-step="code"]')
        expect(code_step).to_be_visible()
        with clerk_gateway.lock:
            code = next(m.code for m in reversed(clerk_gateway.messages) if m.kind == "sms" and m.to == "+14155550123")
        page.fill("#sup-code", code or "")
        code_step.get_by_role("button", name="Verify and continue").click()
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main .list-row", has_text="Acme Inc")).to_contain_text("Member")
        browser.close()
    assert errors == []
    assert User.objects.get(email="rae@example.com").phone_number == "+14155550123"
