"""The whole invitation journey in a real browser: Debian's Chromium (Playwright), the app on pytest-django's live
server, ClerkJS and Clerk's invitation links and emails from the in-thread Clerk emulator, and the emulator's
svix-signed webhooks delivered to the live server, exactly as the demo runs.

An admin invites three addresses (one invalid) in the settings dialog, sees one result per address, resends one
invitation and revokes another (the rows update in place); the invitee opens the link from the emulator's mailbox,
creates an account on /accept-invite/, verifies a phone number on /onboarding/phone/ and lands on /dashboard/ as a
member; the revoked link says so. A second
journey covers an existing account (``__clerk_status=sign_in``) opened in a browser signed in as someone else.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from accounts.models import Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.records import Message
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from invitations import services
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.browser import allow_app_origin, launch, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"invitation-pages-browser-journey").decode()


@pytest.fixture
def app_url(live_server: Any, settings: Any, clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer) -> str:
    """The live server, as Clerk's redirect target, authorized party and webhook receiver."""
    require_chromium()
    database = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and (database == ":memory:" or "mode=memory" in database):
        # Pages and Clerk's webhooks write at the same moment; SQLite's shared in-memory test database refuses the
        # second writer at once ("database table is locked") instead of waiting. A file database with
        # transaction_mode=IMMEDIATE and a timeout works, as does PostgreSQL (what CI runs).
        message = "needs PostgreSQL (DATABASE_URL) or a file SQLite test database: concurrent writers"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; browser tests may not be skipped in CI")
        pytest.skip(message)
    url = str(live_server.url)
    settings.APP_BASE_URL = url  # invitations' redirect_url: /accept-invite/ on this server
    settings.CLERK_AUTHORIZED_PARTIES = [url]
    settings.CLERK_FRONTEND_API_URL = clerk_emulator_server.url  # plain http: reached through data-clerk-proxy-url
    allow_app_origin(clerk_gateway, str(live_server.url))
    settings.CLERK_WEBHOOK_SIGNING_SECRET = WEBHOOK_SECRET
    # A delivery an earlier test left in flight would hold up this test's webhooks (one delivery at a time).
    assert clerk_emulator_server.dispatcher.wait_idle(timeout=20), "the emulator is still delivering old webhooks"
    clerk_gateway.webhook_url = f"{url}/webhooks/clerk/"
    clerk_gateway.webhook_secret = WEBHOOK_SECRET
    return url


def latest_mail(emulator: Emulator, to: str) -> Message:
    """The newest email Clerk sent to ``to`` (after a resend, the link that still works)."""
    messages = [m for m in emulator.messages if m.to == to and m.link]
    assert messages, f"no email to {to}"
    return max(messages, key=lambda m: m.created_at)


def sign_in(page: Page, app_url: str, email: str, next_path: str) -> None:
    page.goto(f"{app_url}/sign-in/?next={next_path}")
    page.fill("#sign-in-email", email)
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in-submit")
    page.wait_for_url(f"{app_url}{next_path}")


def watch_errors(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(str(exc)))


def row(page: Page, email: str) -> Any:
    return page.locator("tr.invite-row", has_text=email)


def test_admin_invites_resends_and_revokes_and_the_invitee_joins(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
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
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        admin = browser.new_page()
        watch_errors(admin, errors)
        sign_in(admin, app_url, "ann@example.com", "/settings/")
        expect(admin.locator("h1")).to_have_text("Acme Inc")
        expect(admin.locator("#members")).to_contain_text("ann@example.com")

        # The dialog: keyboard focus moves into it, a live count of what was typed, three result lines.
        admin.click("#invite-open")
        dialog = admin.locator("#invite-dialog")
        expect(dialog).to_be_visible()
        expect(admin.locator("#invite-emails")).to_be_focused()
        admin.fill("#invite-emails", "newbie@example.com, gone@example.com\nnot-an-email")
        expect(dialog.locator("[data-email-count]")).to_have_text("3 addresses · 1 looks wrong")
        admin.select_option("#invite-role", "member")
        dialog.get_by_role("button", name="Send invitations").click()
        results = dialog.locator(".result")
        expect(results).to_have_count(3)
        expect(dialog.locator(".results-summary")).to_have_text("2 invited · 1 invalid address")
        expect(dialog.locator('.result[data-result="invited"]', has_text="newbie@example.com")).to_be_visible()
        expect(dialog.locator('.result[data-result="invited"]', has_text="gone@example.com")).to_be_visible()
        expect(dialog.locator('.result[data-result="invalid_email"]', has_text="not-an-email")).to_contain_text(
            "Not a valid email address"
        )
        expect(admin.locator("#invite-emails")).to_have_value("not-an-email")  # left to correct
        # Behind the dialog the pending list already holds both, without a reload.
        expect(admin.locator("#pending-count")).to_have_text("2")
        admin.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(admin.locator("#invite-open")).to_be_focused()  # focus returns to the opener

        # Resend and revoke update their rows in place (no navigation).
        url_before = admin.url
        row(admin, "newbie@example.com").get_by_role("button", name="Resend").click()
        expect(row(admin, "newbie@example.com")).to_contain_text("Invitation sent again.")
        expect(row(admin, "newbie@example.com")).to_contain_text("2 sends")
        row(admin, "gone@example.com").get_by_role("button", name="Revoke").click()
        confirm = admin.locator(".confirm-dialog")  # our own dialog asks first, never the browser's confirm()
        expect(confirm).to_contain_text("Revoke the invitation for gone@example.com?")
        confirm.get_by_role("button", name="Revoke invitation").click()
        expect(row(admin, "gone@example.com")).to_contain_text("Revoked")
        expect(row(admin, "gone@example.com").get_by_role("button")).to_have_count(0)
        expect(admin.locator("#pending-count")).to_have_text("1")
        assert admin.url == url_before

        # The invitee, in a browser of their own, follows the link from the newest email.
        mail = latest_mail(clerk_gateway, "newbie@example.com")
        assert mail.subject == "Ann Lee invited you to join Acme Inc"
        assert len([m for m in clerk_gateway.messages if m.to == "newbie@example.com"]) == 2  # sent and resent
        invitee_context = browser.new_context()
        invitee = invitee_context.new_page()
        watch_errors(invitee, errors)
        invitee.goto(mail.link or "")
        invitee.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_up*")
        card = invitee.locator("[data-accept-invite]")
        expect(card).to_contain_text("Ann Lee invited you to join Acme Inc as a member.")
        expect(invitee.locator("#accept-sign-up")).to_be_visible()
        expect(invitee.locator("#accept-email")).to_have_value("newbie@example.com")

        # Our own checks first, beside the fields.
        invitee.click("#accept-sign-up button[type=submit]")
        expect(invitee.locator("#accept-first-name-error")).to_have_text("Enter your first name.")
        expect(invitee.locator("#accept-password-error")).to_have_text("Choose a password.")
        expect(invitee.locator("#accept-first-name")).to_be_focused()
        invitee.fill("#accept-first-name", "Nina")
        invitee.fill("#accept-last-name", "Berg")
        invitee.fill("#accept-password", "short")
        expect(invitee.locator("#accept-first-name-error")).to_be_hidden()  # cleared on edit
        invitee.click("#accept-sign-up button[type=submit]")
        expect(invitee.locator("#accept-password-error")).to_have_text("Use at least 8 characters.")
        # Show/hide the password.
        toggle = invitee.get_by_role("button", name="Show password")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(invitee.locator("#accept-password")).to_have_attribute("type", "text")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        toggle.click()
        expect(invitee.locator("#accept-password")).to_have_attribute("type", "password")
        expect(toggle).to_have_attribute("aria-pressed", "false")

        # A field error from Clerk (here a breached-password refusal, answered once in Clerk's shape) shows
        # beside its field; the flow goes on when it is fixed.
        def pwned(route: Route) -> None:
            body = {
                "errors": [
                    {
                        "code": "form_password_pwned",
                        "message": "Password has been found in an online data breach.",
                        "long_message": "Password has been found in an online data breach. Use a different one.",
                        "meta": {"param_name": "password"},
                    }
                ]
            }
            origin = route.request.headers.get("origin", "")
            headers = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Content-Type": "application/json",
            }
            route.fulfill(status=422, headers=headers, body=json.dumps(body))

        invitee.route("**/v1/client/sign_ups*", pwned)
        invitee.fill("#accept-password", "password1234")
        invitee.click("#accept-sign-up button[type=submit]")
        expect(invitee.locator("#accept-password-error")).to_have_text(
            "Password has been found in an online data breach. Use a different one."
        )
        expect(invitee.locator("#accept-password")).to_be_focused()
        invitee.unroute("**/v1/client/sign_ups*")

        invitee.fill("#accept-password", PASSWORD)
        invitee.click("#accept-sign-up button[type=submit]")
        # A new member verifies a phone number (SMS code, through ClerkJS) before reaching the product.
        invitee.wait_for_url(f"{app_url}/onboarding/phone/?next=*")
        shot_dir = os.environ.get("SCREENSHOT_DIR")
        if shot_dir:
            invitee.screenshot(path=f"{shot_dir}/onboarding-phone.png", full_page=True)
        invitee.fill("#phone-number", "+1 415 555 0199")
        invitee.get_by_role("button", name="Send code").click()
        expect(invitee.locator("#phone-code")).to_be_visible()
        code = next(m.code for m in reversed(clerk_gateway.messages) if m.kind == "sms" and m.to == "+14155550199")
        invitee.fill("#phone-code", code or "")
        invitee.get_by_role("button", name="Verify").click()
        invitee.wait_for_url(f"{app_url}/dashboard/")
        main = invitee.locator("main")
        expect(main).to_contain_text("Welcome, Nina")
        expect(main).to_contain_text("newbie@example.com")
        expect(main.locator(".list-row", has_text="Acme Inc")).to_contain_text("Member")

        # The revoked invitation's link still leads to our accept page (as Clerk's does), which says it was revoked.
        gone = latest_mail(clerk_gateway, "gone@example.com")
        other = browser.new_context().new_page()
        watch_errors(other, errors)
        other.goto(gone.link or "")
        expect(other.locator('[data-panel="revoked"]')).to_be_visible()
        ticket = (gone.link or "").split("ticket=", 1)[1]
        other.goto(f"{app_url}/accept-invite/?__clerk_ticket={ticket}&__clerk_status=sign_up")
        expect(other.locator('[data-panel="revoked"]')).to_be_visible()
        expect(other.locator('[data-panel="revoked"]')).to_contain_text("This invitation was revoked")
        expect(other.locator("#accept-sign-up")).to_be_hidden()

        # Back on the admin's page: the invitee is a member now.
        admin.reload()
        expect(admin.locator("#members")).to_contain_text("newbie@example.com")
        browser.close()
    # (The database is read only here: Playwright's sync API runs an event loop, where Django refuses queries.)
    assert WorkspaceInvitation.objects.get(email="newbie@example.com").status == InvitationStatus.ACCEPTED
    assert WorkspaceInvitation.objects.get(email="gone@example.com").status == InvitationStatus.REVOKED
    assert errors == []


def test_an_existing_account_joins_with_sign_in_after_leaving_another_session(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
) -> None:
    """``__clerk_status=sign_in``, opened in a browser already signed in as someone else (anchors.md §3, item 4)."""
    workspace = clerk_workspace("Acme Inc")
    admin_session = clerk_session(
        email="ann@example.com",
        password=PASSWORD,
        first_name="Ann",
        last_name="Lee",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
    )
    clerk_session(email="sam@example.com", password=PASSWORD, first_name="Sam", last_name="Ito")
    [result] = services.invitations_create(
        workspace=workspace, inviter=admin_session.user, emails=["sam@example.com"], role="admin"
    )
    assert result.result == "invited"

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser: Browser = launch(playwright)
        page = browser.new_page()
        watch_errors(page, errors)
        sign_in(page, app_url, "ann@example.com", "/dashboard/")

        page.goto(latest_mail(clerk_gateway, "sam@example.com").link or "")
        page.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_in*")
        switch = page.locator('[data-panel="switch"]')
        expect(switch).to_be_visible()
        expect(switch).to_contain_text(
            "You are signed in as ann@example.com, but this invitation is for sam@example.com"
        )
        page.get_by_role("button", name="Sign out and continue").click()

        # Signed out of Ann's account, then straight into Sam's with the ticket: "Joining Acme Inc…".
        page.wait_for_url(f"{app_url}/dashboard/")
        main = page.locator("main")
        expect(main).to_contain_text("sam@example.com")
        expect(main.locator(".list-row", has_text="Acme Inc")).to_contain_text("Admin")
        browser.close()
    assert WorkspaceInvitation.objects.get(email="sam@example.com").status == InvitationStatus.ACCEPTED
    assert errors == []


def test_an_existing_account_joins_only_after_clicking_join(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
) -> None:
    """Opening the link accepts nothing: a mail scanner that runs scripts must not join on the invitee's behalf."""
    workspace = clerk_workspace("Acme Inc")
    admin_session = clerk_session(
        email="ann@example.com", password=PASSWORD, workspace=workspace, workspace_role=WorkspaceRole.ADMIN
    )
    clerk_session(email="sam@example.com", password=PASSWORD, first_name="Sam", last_name="Ito")
    [result] = services.invitations_create(
        workspace=workspace, inviter=admin_session.user, emails=["sam@example.com"], role="member"
    )
    assert result.invitation is not None
    clerk_invitation_id = result.invitation.clerk_invitation_id

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser: Browser = launch(playwright)
        page = browser.new_page()
        watch_errors(page, errors)
        page.goto(latest_mail(clerk_gateway, "sam@example.com").link or "")
        page.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_in*")
        confirm = page.locator('[data-panel="confirm-join"]')
        expect(confirm).to_be_visible()
        expect(confirm).to_contain_text("sam@example.com")
        page.wait_for_timeout(500)
        assert clerk_gateway.organization_invitations[clerk_invitation_id or ""].status == "pending"

        confirm.get_by_role("button", name="Accept and join Acme Inc").click()
        page.wait_for_url(f"{app_url}/dashboard/")
        expect(page.locator("main .list-row", has_text="Acme Inc")).to_be_visible()
        browser.close()
    assert clerk_gateway.organization_invitations[clerk_invitation_id or ""].status == "accepted"
    assert errors == []
