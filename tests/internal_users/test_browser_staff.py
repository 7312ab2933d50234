"""The staff journey in a real browser (Chromium via Playwright, the live server, ClerkJS and the invitation link
from the in-thread Clerk emulator, its svix-signed webhooks delivered to the live server):

a super admin invites a pm on /internal/users/; the branded email's link goes through Clerk's redirect to
/internal/accept-invite/; the form signs up (no SMS code) and lands on /internal/; the new pm shows as active on
the staff page, is deactivated (and cannot sign in), reactivated, and removed with a typed confirmation.
Screenshots of each page go to ``SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect, sync_playwright

from accounts import clerk
from accounts.roles import Role
from clerk_emulator.state import Emulator
from internal_users.models import InternalInvitation, InternalInvitationStatus
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, sign_in, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]  # the live-server fixture, shared with the workspace journey

LINK = re.compile(r"https?://\S+invitation_id=\d+")


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def staff_row(page: Page, email: str) -> Any:
    return page.locator("tbody tr", has_text=email)


def test_super_admin_invites_a_pm_who_joins_and_is_deactivated_reactivated_and_removed(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    clerk_session(Role.SUPER_ADMIN, email="root@example.com", password=PASSWORD, first_name="Rita", last_name="Root")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        watch_errors(admin, errors)
        sign_in(admin, app_url, "root@example.com", "/internal/users/")
        expect(admin.locator("h1")).to_have_text("Staff")
        shot(admin, "staff-list-empty")

        admin.fill("#invite-email", "pia@example.com")
        admin.select_option("#invite-role", "pm")
        admin.get_by_role("button", name="Send invitation").click()
        expect(admin.locator(".flash")).to_contain_text("Invitation sent to pia@example.com.")
        expect(staff_row(admin, "pia@example.com")).to_contain_text("Pending")
        shot(admin, "staff-list-pending")

        # Exactly one branded email, with both parts and the https-or-loopback link carrying invitation_id.
        sent = [message for message in mail.outbox if message.to == ["pia@example.com"]]
        assert len(sent) == 1
        assert "invited you to join the Clerk Invitations staff" in sent[0].subject
        link = LINK.search(str(sent[0].body))
        assert link is not None

        invitee = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(invitee, errors)
        invitee.goto(link.group(0))
        invitee.wait_for_url(f"{app_url}/internal/accept-invite/?*__clerk_status=sign_up*")
        expect(invitee.locator("#staff-sign-up")).to_be_visible()
        expect(invitee.locator("[data-staff-accept]")).to_contain_text("Rita Root invited you to join the staff")
        invitee.get_by_role("button", name="Create account").click()
        expect(invitee.locator('[data-error-for="first_name"]')).to_have_text("Enter your first name.")
        shot(invitee, "accept-errors")
        invitee.fill("#su-first-name", "Pia")
        invitee.fill("#su-last-name", "Park")
        invitee.fill("#su-phone", "+1 415 555 0142")
        invitee.fill("#su-password", PASSWORD)
        invitee.get_by_role("button", name="Create account").click()
        invitee.wait_for_url(f"{app_url}/internal/")
        expect(invitee.locator("main")).to_contain_text("Welcome, Pia")
        expect(invitee.locator("main")).to_contain_text("Project manager")
        shot(invitee, "internal-dashboard-pm")

        admin.goto(f"{app_url}/internal/users/")
        row = staff_row(admin, "pia@example.com")
        expect(row).to_contain_text("Active")
        expect(row).to_contain_text("Pia Park")
        expect(row).to_contain_text("+14155550142")
        shot(admin, "staff-list-active")

        row.get_by_role("link", name="Deactivate").click()
        expect(admin.locator("h1")).to_have_text("Deactivate Pia Park?")
        shot(admin, "confirm-deactivate")
        admin.get_by_role("button", name="Deactivate").click()
        expect(admin.locator(".flash")).to_contain_text("Pia Park is deactivated")
        expect(staff_row(admin, "pia@example.com")).to_contain_text("Inactive")

        locked_out = browser.new_context().new_page()
        locked_out.goto(f"{app_url}/sign-in/")
        locked_out.fill("#sign-in-email", "pia@example.com")
        locked_out.fill("#sign-in-password", PASSWORD)
        locked_out.click("#sign-in-submit")
        expect(locked_out.locator("[role=alert]").first).to_be_visible()
        assert "/sign-in/" in locked_out.url

        staff_row(admin, "pia@example.com").get_by_role("button", name="Reactivate").click()
        expect(admin.locator(".flash")).to_contain_text("Pia Park is active again")
        expect(staff_row(admin, "pia@example.com")).to_contain_text("Active")

        staff_row(admin, "pia@example.com").get_by_role("link", name="Remove").click()
        admin.fill("#confirm-email", "someone@example.com")
        admin.get_by_role("button", name="Remove account").click()
        expect(admin.locator(".field-error")).to_contain_text("Type pia@example.com exactly")
        shot(admin, "confirm-remove")
        admin.fill("#confirm-email", "pia@example.com")
        admin.get_by_role("button", name="Remove account").click()
        expect(admin.locator(".flash")).to_contain_text("Pia Park was removed")
        expect(staff_row(admin, "pia@example.com")).to_have_count(0)
        browser.close()
    row_after = InternalInvitation.objects.get(email="pia@example.com")
    assert row_after.status == InternalInvitationStatus.ACCEPTED
    assert clerk.list_users(email_addresses=["pia@example.com"]) == []
    assert errors == []
