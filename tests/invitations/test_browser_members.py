"""Members in a real browser (Chromium through Playwright, the real vendored ClerkJS signing in against the Clerk
emulator): an admin makes one member an admin and removes another, each after the product's own confirmation
dialog (Cancel changes nothing), the rows updating in place; Clerk and our database agree afterwards."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, sign_in, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]  # the live-server fixture, shared with the workspace journey


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def remote_roles(emulator: Emulator, workspace: Workspace) -> dict[str, str]:
    emails = {user.id: user.primary_email for user in emulator.users.values()}
    return {
        str(emails[m.user_id]): m.role
        for m in emulator.memberships.values()
        if m.organization_id == workspace.clerk_organization_id
    }


def test_admin_changes_a_members_role_and_removes_another(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
) -> None:
    workspace = clerk_workspace("Acme Inc")
    people = {
        "ann@example.com": ("Ann", "Lee", WorkspaceRole.ADMIN),
        "bob@example.com": ("Bob", "Stone", WorkspaceRole.MEMBER),
        "cleo@example.com": ("Cleo", "Park", WorkspaceRole.MEMBER),
    }
    for email, (first, last, role) in people.items():
        clerk_session(
            email=email, password=PASSWORD, first_name=first, last_name=last, workspace=workspace, workspace_role=role
        )
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        watch_errors(page, errors)
        sign_in(page, app_url, "ann@example.com", "/settings/")
        members = page.locator("#members")
        expect(members).to_contain_text("Bob Stone")
        shot(page, "settings-members")

        # Make Bob an admin: the product's dialog asks; Cancel first changes nothing.
        bob = members.locator("li.member-row", has_text="Bob Stone")
        bob.get_by_role("button", name="Make admin: Bob Stone").click()
        dialog = page.locator(".confirm-dialog")  # static/core/confirm.js, as for every confirmation
        expect(dialog).to_be_visible()
        expect(dialog.locator("h2")).to_have_text("Make Bob Stone an admin?")
        shot(page, "settings-members-confirm")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(bob.get_by_role("button", name="Make admin: Bob Stone")).to_be_focused()
        bob.get_by_role("button", name="Make admin: Bob Stone").click()
        dialog.get_by_role("button", name="Make admin").click()
        bob = members.locator("li.member-row", has_text="Bob Stone")
        expect(bob.locator(".badge")).to_have_text("Admin")
        expect(bob).to_contain_text("now an admin of Acme Inc.")
        expect(bob).to_be_focused()
        # Ann is no longer the only admin: her own "Make member" is enabled at once, without a reload.
        expect(members.get_by_role("button", name="Make member: Ann Lee")).to_be_enabled()

        # Remove Cleo, confirmed with Escape the first time (closes, nothing happens), then for real.
        cleo = members.locator("li.member-row", has_text="Cleo Park")
        cleo.get_by_role("button", name="Remove Cleo Park from the workspace").click()
        expect(dialog).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        cleo.get_by_role("button", name="Remove Cleo Park from the workspace").click()
        dialog.get_by_role("button", name="Remove member").click()
        expect(members.locator(".member-removed")).to_have_text("Cleo Park was removed from the workspace.")
        expect(members.locator(".member-removed")).to_be_focused()
        expect(members.locator("li.member-row")).to_have_count(2)
        shot(page, "settings-members-after")

        # A reload shows what the database holds: Bob an admin, Cleo gone; Ann (no longer the only admin) may leave.
        page.reload()
        expect(members.locator("li.member-row")).to_have_count(2)
        expect(members.get_by_role("button", name="Leave")).to_be_enabled()
        expect(members.locator(".count")).to_have_text("2")
        browser.close()

    assert errors == []
    local = dict(WorkspaceMembership.objects.filter(workspace=workspace).values_list("user__email", "role"))
    assert local == {"ann@example.com": "admin", "bob@example.com": "admin"}
    assert remote_roles(clerk_gateway, workspace) == {"ann@example.com": "org:admin", "bob@example.com": "org:admin"}
