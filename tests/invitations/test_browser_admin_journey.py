"""A workspace admin's day in a real browser (Chromium via Playwright, the live server, ClerkJS and Clerk's
invitation links from the in-thread Clerk emulator): make one member an admin, remove another (each after our
confirmation dialog), read the invitation history and a timeline, open a pending invitation's details, fetch its
invite link once and copy it; the invitee opens the copied link and reaches the accept page with their address."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from invitations import services
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, sign_in, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]  # the live-server fixture, shared with the workspace journey


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_admin_manages_members_reads_the_history_and_copies_a_link_the_invitee_opens(
    app_url: str,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # setup and checks read the database from Playwright's loop
    workspace = clerk_workspace("Acme Inc")
    people = {
        "ann@example.com": ("Ann", "Lee", WorkspaceRole.ADMIN),
        "bob@example.com": ("Bob", "Stone", WorkspaceRole.MEMBER),
        "cleo@example.com": ("Cleo", "Park", WorkspaceRole.MEMBER),
    }
    sessions = {
        email: clerk_session(
            email=email, password=PASSWORD, first_name=first, last_name=last, workspace=workspace, workspace_role=role
        )
        for email, (first, last, role) in people.items()
    }
    ann = sessions["ann@example.com"].user
    newbie, gone = (
        result.invitation
        for result in services.invitations_create(
            workspace=workspace, inviter=ann, emails=["newbie@example.com", "gone@example.com"], role="member"
        )
    )
    assert newbie is not None
    assert gone is not None
    services.invitation_revoke(invitation=gone, actor=ann)

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
        admin = context.new_page()
        watch_errors(admin, errors)
        sign_in(admin, app_url, "ann@example.com", "/settings/")
        members = admin.locator("#members")
        confirm = admin.locator(".confirm-dialog")

        # Bob becomes an admin, Cleo leaves the workspace: our one dialog asks each time, the card updates in place.
        members.get_by_role("button", name="Make admin: Bob Stone").click()
        expect(confirm.locator("h2")).to_have_text("Make Bob Stone an admin?")
        confirm.get_by_role("button", name="Make admin").click()
        expect(members.locator("li.member-row", has_text="Bob Stone").locator(".badge")).to_have_text("Admin")
        members.get_by_role("button", name="Remove Cleo Park from the workspace").click()
        expect(confirm.locator("h2")).to_have_text("Remove Cleo Park?")
        confirm.get_by_role("button", name="Remove member").click()
        expect(members.locator(".member-removed")).to_have_text("Cleo Park was removed from the workspace.")
        expect(members.locator("li.member-row")).to_have_count(2)

        # The history (loaded in place) holds the revoked invitation; its timeline opens in the panel.
        history = admin.locator("#history")
        revoked = history.locator("tr.invite-row", has_text="gone@example.com")
        expect(revoked).to_contain_text("Revoked by ann@example.com")
        revoked.get_by_role("link", name="Timeline of the invitation to gone@example.com").click()
        timeline = admin.locator("#timeline-panel .timeline-card")
        expect(timeline).to_be_focused()
        expect(timeline.locator(".timeline-step")).to_have_count(3)  # created, sent, revoked
        expect(timeline.locator(".timeline-step").last).to_contain_text("Revoked")
        shot(admin, "journey-history-timeline")

        # The pending invitation's details: the invite link from Clerk, shown once, copied.
        admin.locator("tr.invite-row", has_text="newbie@example.com").get_by_role(
            "link", name="Details of the invitation to newbie@example.com: timeline and invite link"
        ).click()
        admin.get_by_role("button", name="Get invite link for newbie@example.com").click()
        link_field = admin.locator(f"#invite-link-{newbie.pk}")
        expect(link_field).to_be_visible()
        admin.get_by_role("button", name="Copy link").click()
        expect(admin.locator("[data-copy-status]")).to_have_text("Copied. Paste it into a message to the invitee.")
        shot(admin, "journey-invite-link")
        copied = str(admin.evaluate("() => navigator.clipboard.readText()"))
        assert copied == link_field.input_value()

        # The invitee, in a browser of their own, opens the pasted link and lands on our accept page.
        invitee = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        watch_errors(invitee, errors)
        invitee.goto(copied)
        invitee.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_up*")
        expect(invitee.locator("[data-accept-invite]")).to_contain_text("Ann Lee invited you to join Acme Inc")
        expect(invitee.locator("#accept-email")).to_have_value("newbie@example.com")
        shot(invitee, "journey-accept-from-copied-link")
        browser.close()

    assert errors == []
    roles = dict(WorkspaceMembership.objects.filter(workspace=workspace).values_list("user__email", "role"))
    assert roles == {"ann@example.com": "admin", "bob@example.com": "admin"}
