"""The staff journey in a real browser (Chromium via Playwright, the live server, ClerkJS and the invitation link
from the in-thread Clerk emulator, its svix-signed webhooks delivered to the live server):

a super admin invites a pm on /internal/users/; the branded email's link goes through Clerk's redirect to
/internal/accept-invite/; the form signs up (no SMS code) and lands on /internal/; the new pm shows as active on
the staff page, is deactivated (and cannot sign in), reactivated, and removed with a typed confirmation.
Screenshots of each page go to ``SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, Route, expect, sync_playwright

from accounts import clerk
from accounts.roles import Role
from clerk_emulator.state import Emulator
from internal_users import services
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
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
        admin.get_by_role("button", name="Send invitation", exact=True).click()
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

        # A field error from Clerk (answered once, in Clerk's shape) shows beside its field.
        def bad_phone(route: Route) -> None:
            error = {
                "code": "form_param_format_invalid",
                "message": "is invalid",
                "long_message": "Phone number must be a valid phone number according to E.164 international standard.",
                "meta": {"param_name": "phone_number"},
            }
            # Clerk answers ClerkJS's credentialed requests with the page's origin, never "*".
            origin = route.request.headers.get("origin", "")
            headers = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Content-Type": "application/json",
            }
            route.fulfill(status=422, headers=headers, body=json.dumps({"errors": [error]}))

        invitee.route("**/v1/client/sign_ups*", bad_phone)
        invitee.get_by_role("button", name="Create account").click()
        expect(invitee.locator('[data-error-for="phone_number"]')).to_contain_text("E.164")
        expect(invitee.locator("#su-phone")).to_be_focused()
        shot(invitee, "accept-clerk-field-error")
        invitee.unroute("**/v1/client/sign_ups*")
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


def outside_the_browser_loop[T](work: Callable[[], T]) -> T:
    """Run database work in another thread: Playwright's sync API runs an event loop in this one, where Django
    refuses synchronous database calls."""

    def run() -> T:
        try:
            return work()
        finally:
            connections.close_all()  # this thread's connection, so it never outlives the test database

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the screen (a phone would scroll sideways)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def test_staff_page_states_errors_pages_and_narrow_screens(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_user_factory: Callable[..., Any],
) -> None:
    """Every kind of row, refusals shown in place (htmx), pagination, and each page at phone width (390 px)."""
    root = clerk_session(Role.SUPER_ADMIN, email="root@example.com", password=PASSWORD, first_name="Rita")
    clerk_session(Role.PM, email="pia@example.com", first_name="Pia", last_name="Park")
    ada = clerk_session(Role.ADMIN, email="ada@example.com", first_name="Ada", last_name="Lovelace").user
    services.staff_user_deactivate(user=ada, actor=root.user)
    clerk_user_factory(email="known@example.com", first_name="Kim", last_name="Known")
    clerk_session(Role.MEMBER, email="mo@example.com", password=PASSWORD, needs_phone=True)
    pending = services.internal_invite(email="new@example.com", role="pm", actor=root.user)
    bounced = services.internal_invite(email="bounce@example.com", role="admin", actor=root.user)
    InternalInvitation.objects.filter(pk=bounced.pk).update(
        email_status=EmailDelivery.FAILED, email_error="SMTPRecipientsRefused: 550 mailbox unavailable"
    )
    InternalInvitation.objects.create(
        email="broken@example.com",
        role="pm",
        status=InternalInvitationStatus.FAILED,
        failure_reason="clerk_unavailable: Clerk did not answer",
        expires_at=timezone.now() + timedelta(days=7),
        inviter=root.user,
        inviter_name="Rita User",
    )
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        wide = browser.new_page(viewport={"width": 1280, "height": 900})
        watch_errors(wide, errors)
        sign_in(wide, app_url, "root@example.com", "/internal/users/")
        expect(staff_row(wide, "bounce@example.com")).to_contain_text("Email failed: SMTPRecipientsRefused")
        expect(staff_row(wide, "broken@example.com")).to_contain_text("Failed")
        expect(staff_row(wide, "ada@example.com")).to_contain_text("Inactive")
        expect(staff_row(wide, "ada@example.com").get_by_role("button", name="Reactivate")).to_be_visible()
        expect(staff_row(wide, "root@example.com").locator("button, a.button")).to_have_count(0)  # not on oneself
        shot(wide, "staff-list-states")

        # A refusal is shown next to the form, in place; "already has an account" opens "Grant staff role".
        wide.fill("#invite-email", "known@example.com")
        wide.get_by_role("button", name="Send invitation", exact=True).click()
        expect(wide.locator("#staff .field-error")).to_contain_text("already has an account")
        expect(wide.locator("#grant-email")).to_have_value("known@example.com")
        expect(wide.locator("#grant-email")).to_be_visible()
        shot(wide, "staff-invite-already-a-user")
        wide.get_by_role("button", name="Grant role").click()
        expect(wide.locator(".flash")).to_contain_text("known@example.com is now Project manager")
        expect(staff_row(wide, "known@example.com")).to_contain_text("Active")

        staff_row(wide, "new@example.com").get_by_role("button", name="Revoke").click()
        confirm = wide.locator(".confirm-dialog")  # our own confirmation (static/core/confirm.js), not confirm()
        expect(confirm).to_contain_text("Revoke the invitation for new@example.com?")
        confirm.get_by_role("button", name="Revoke invitation").click()
        expect(wide.locator(".flash")).to_contain_text("Invitation to new@example.com revoked")
        expect(staff_row(wide, "new@example.com")).to_have_count(0)
        assert outside_the_browser_loop(lambda: InternalInvitation.objects.get(pk=pending.pk).status) == "revoked"

        # Phone width: every page fits, nothing scrolls sideways.
        phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(phone, errors)
        sign_in(phone, app_url, "root@example.com", "/internal/users/")
        no_sideways_scroll(phone)
        shot(phone, "staff-list-390")
        phone.goto(f"{app_url}/internal/")
        no_sideways_scroll(phone)
        shot(phone, "internal-dashboard-390")
        phone.goto(f"{app_url}/internal/users/?q=pia")
        staff_row(phone, "pia@example.com").get_by_role("link", name="Deactivate").click()
        expect(phone.locator("h1")).to_have_text("Deactivate Pia Park?")
        no_sideways_scroll(phone)
        shot(phone, "confirm-deactivate-390")

        # Filters and pages (50 a page): the cursor links keep the filters.
        outside_the_browser_loop(
            lambda: InternalInvitation.objects.bulk_create(
                InternalInvitation(
                    email=f"bulk{n:02d}@example.com",
                    role="pm",
                    expires_at=timezone.now() + timedelta(days=7),
                    inviter_name="Rita User",
                )
                for n in range(55)
            )
        )
        wide.select_option("#filter-status", "pending")
        wide.get_by_role("button", name="Filter").click()
        expect(wide.locator("tbody tr")).to_have_count(50)
        wide.get_by_role("link", name="Next →").click()
        expect(wide).to_have_url(re.compile(r"status=pending.*cursor="))
        expect(wide.locator("tbody tr")).to_have_count(6)  # 5 more bulk rows and bounce@
        shot(wide, "staff-list-page-2")
        wide.get_by_role("link", name="← Previous").click()
        expect(wide.locator("tbody tr")).to_have_count(50)
        wide.fill("#filter-q", "nobody-matches")
        wide.get_by_role("button", name="Filter").click()
        expect(wide.locator(".empty")).to_contain_text("Nobody matches these filters")
        shot(wide, "staff-list-no-match")

        accept = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(accept, errors)
        accept.goto(f"{app_url}/internal/accept-invite/")
        expect(accept.locator("h1:visible")).to_have_text("This invitation link is incomplete")
        shot(accept, "accept-missing-ticket")
        accept.goto(f"{app_url}/internal/accept-invite/?__clerk_ticket=abc&__clerk_status=sign_in")
        expect(accept.locator("h1:visible")).to_have_text("You already have an account")
        shot(accept, "accept-has-account")

        member = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(member, errors)
        member.goto(f"{app_url}/sign-in/?next=/dashboard/")
        member.fill("#sign-in-email", "mo@example.com")
        member.fill("#sign-in-password", PASSWORD)
        member.click("#sign-in-submit")
        member.wait_for_url(f"{app_url}/onboarding/phone/?next=*")
        expect(member.locator("h1")).to_have_text("Verify your phone number")
        no_sideways_scroll(member)
        shot(member, "onboarding-phone-390")
        member.fill("#phone-number", "+1 415 555 0177")
        member.get_by_role("button", name="Send code").click()
        expect(member.locator("#phone-code")).to_be_visible()
        member.fill("#phone-code", "000000")
        member.get_by_role("button", name="Verify").click()
        expect(member.locator('[data-step="code"] .field-error')).to_be_visible()
        shot(member, "onboarding-phone-wrong-code")
        code = next(m.code for m in reversed(clerk_gateway.messages) if m.kind == "sms" and m.to == "+14155550177")
        member.fill("#phone-code", code or "")
        member.get_by_role("button", name="Verify").click()
        member.wait_for_url(f"{app_url}/dashboard/")
        member.goto(f"{app_url}/internal/")
        expect(member.locator("h1")).to_have_text(re.compile("open this page"))
        browser.close()
    assert errors == []
