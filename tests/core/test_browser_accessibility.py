"""Every product page through axe-core in a real browser (Chromium via Playwright, the live server, ClerkJS and the
invitation links from the in-thread Clerk emulator): no serious or critical violation anywhere.

One journey, as people see the pages: signed out (sign-in, the forgotten password, 404), a workspace admin
(dashboard, account, /settings/ with members, pending, the history and a timeline in its panel, the invite dialog
and our confirmation dialog open, the history and timeline pages with an invite link shown, the no-JavaScript
confirmation pages, a 403), an invitee on both accept pages (a live link and a revoked one), a staff super admin
(/internal/, /internal/users/ in each filter, a staff timeline, the revoke, deactivate and remove confirmations), a
staff invitee on /internal/accept-invite/, a new member on /onboarding/phone/ and the 500 page. axe runs on each
state (tests/browser.py ``axe_violations``); the test fails listing every violation found. Screenshots go to
``SCREENSHOT_DIR`` when it is set.
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

from accounts.models import Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from internal_users import services as staff_services
from invitations import services
from tests.browser import axe_violations, launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, latest_mail, sign_in, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]  # the live-server fixture, shared with the workspace journey

STAFF_LINK = re.compile(r"https?://\S+invitation_id=\d+")


class Audit:
    """Runs axe on each page state and keeps every violation (and a screenshot when ``SCREENSHOT_DIR`` is set)."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked: list[str] = []
        self.folder = os.environ.get("SCREENSHOT_DIR")

    def check(self, page: Page, label: str) -> None:
        page.wait_for_load_state("networkidle")
        self.checked.append(label)
        self.violations.extend(axe_violations(page, label))
        if self.folder:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{self.folder}/a11y-{label}.png", full_page=True)


def test_no_product_page_has_a_serious_or_critical_accessibility_violation(
    app_url: str,
    settings: Any,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # setup below reads the database from Playwright's loop
    settings.ROOT_URLCONF = "tests.core.boom_urls"  # the project's URLs plus /page-boom/, for the 500 page
    workspace = clerk_workspace("Acme Inc")
    ann = clerk_session(
        email="ann@example.com",
        password=PASSWORD,
        first_name="Ann",
        last_name="Lee",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
    )
    bob = clerk_session(
        email="bob@example.com", password=PASSWORD, first_name="Bob", last_name="Stone", workspace=workspace
    )
    root = clerk_session(
        Role.SUPER_ADMIN, email="root@example.com", password=PASSWORD, first_name="Rita", last_name="Root"
    )
    pm = clerk_session(Role.PM, email="pete@example.com", password=PASSWORD, first_name="Pete", last_name="Moss")
    clerk_session(email="nora@example.com", password=PASSWORD, first_name="Nora", last_name="New", needs_phone=True)
    results = services.invitations_create(
        workspace=workspace, inviter=ann.user, emails=["newbie@example.com", "gone@example.com"], role="member"
    )
    pending, gone = (result.invitation for result in results)
    assert pending is not None
    assert gone is not None
    services.invitation_revoke(invitation=gone, actor=ann.user)
    staff_invitation = staff_services.internal_invite(email="pia@example.com", role="pm", actor=root.user)
    staff_mail = [message for message in mail.outbox if message.to == ["pia@example.com"]]
    staff_link = STAFF_LINK.search(str(staff_mail[-1].body)) if staff_mail else None
    assert staff_link is not None

    audit = Audit()
    errors: list[str] = []
    base = f"{app_url}/settings/workspaces/{workspace.pk}"
    with sync_playwright() as playwright:
        browser = launch(playwright)

        visitor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        watch_errors(visitor, errors)
        visitor.goto(f"{app_url}/sign-in/")
        expect(visitor.locator("#sign-in-email")).to_be_visible()
        audit.check(visitor, "sign-in")
        visitor.goto(f"{app_url}/sign-in/forgot/")
        audit.check(visitor, "sign-in-forgot")
        visitor.goto(f"{app_url}/no-such-page/")
        audit.check(visitor, "404")
        visitor.goto(f"{app_url}/page-boom/")
        expect(visitor.locator("main")).to_contain_text("Something went wrong on our side")
        audit.check(visitor, "500")

        admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        watch_errors(admin, errors)
        sign_in(admin, app_url, "ann@example.com", "/dashboard/")
        audit.check(admin, "dashboard")
        admin.goto(f"{app_url}/account/")
        audit.check(admin, "account")
        admin.goto(f"{app_url}/settings/")
        expect(admin.locator("#history-q")).to_be_visible()  # the history section, loaded in place
        admin.locator("#history").get_by_role("link", name="Timeline of the invitation to gone@example.com").click()
        expect(admin.locator("#timeline-panel .timeline-card")).to_be_visible()
        audit.check(admin, "settings")
        admin.click("#invite-open")
        expect(admin.locator("#invite-dialog")).to_be_visible()
        audit.check(admin, "settings-invite-dialog")
        admin.keyboard.press("Escape")
        admin.locator("tr.invite-row", has_text="newbie@example.com").get_by_role("button", name="Revoke").click()
        expect(admin.locator(".confirm-dialog")).to_be_visible()
        audit.check(admin, "settings-confirm-dialog")
        admin.locator(".confirm-dialog").get_by_role("button", name="Cancel").click()
        admin.goto(f"{base}/history/")
        audit.check(admin, "history")
        admin.goto(f"{base}/invitations/{pending.pk}/")
        admin.get_by_role("button", name="Get invite link for newbie@example.com").click()
        expect(admin.get_by_role("button", name="Copy link")).to_be_visible()
        audit.check(admin, "timeline-with-link")
        admin.goto(f"{base}/invitations/{pending.pk}/revoke/")
        audit.check(admin, "revoke-confirm-page")
        admin.goto(f"{base}/members/{bob.clerk_user.id}/role/?role=admin")
        audit.check(admin, "member-confirm-page")
        admin.goto(f"{app_url}/internal/")
        audit.check(admin, "403")

        invitee = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(invitee, errors)
        invitee.goto(latest_mail(clerk_gateway, "newbie@example.com").link or "")
        expect(invitee.locator("#accept-sign-up")).to_be_visible()
        audit.check(invitee, "accept-invite")
        invitee.goto(latest_mail(clerk_gateway, "gone@example.com").link or "")
        expect(invitee.locator('[data-panel="revoked"]')).to_be_visible()
        audit.check(invitee, "accept-invite-revoked")

        staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        watch_errors(staff, errors)
        sign_in(staff, app_url, "root@example.com", "/internal/")
        audit.check(staff, "internal")
        staff.goto(f"{app_url}/internal/users/")
        expect(staff.locator("tbody tr", has_text="pia@example.com")).to_be_visible()
        audit.check(staff, "internal-users")
        staff.goto(f"{app_url}/internal/users/?status=pending")
        audit.check(staff, "internal-users-pending")
        staff.goto(f"{app_url}/internal/users/invitations/{staff_invitation.pk}/")
        audit.check(staff, "internal-timeline")
        staff.goto(f"{app_url}/internal/users/invitations/{staff_invitation.pk}/revoke/")
        audit.check(staff, "internal-revoke-confirm-page")
        staff.goto(f"{app_url}/internal/users/{pm.clerk_user.id}/deactivate/")
        audit.check(staff, "internal-deactivate-confirm-page")
        staff.goto(f"{app_url}/internal/users/{pm.clerk_user.id}/remove/")
        audit.check(staff, "internal-remove-confirm-page")

        staff_invitee = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(staff_invitee, errors)
        staff_invitee.goto(staff_link.group(0))
        expect(staff_invitee.locator("#staff-sign-up")).to_be_visible()
        audit.check(staff_invitee, "internal-accept-invite")

        newcomer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(newcomer, errors)
        newcomer.goto(f"{app_url}/sign-in/?next=/dashboard/")
        newcomer.fill("#sign-in-email", "nora@example.com")
        newcomer.fill("#sign-in-password", PASSWORD)
        newcomer.click("#sign-in-submit")
        newcomer.wait_for_url(f"{app_url}/onboarding/phone/?next=*")
        audit.check(newcomer, "onboarding-phone")
        browser.close()

    assert len(audit.checked) == 25  # every state above was checked
    assert audit.violations == [], "\n".join(audit.violations)
    assert errors == []
