"""Bulk work on /settings/ in a real browser (Chromium via Playwright, the live server, the Clerk emulator): an admin
uploads a CSV with mistakes, checks it (nothing sent), fixes the mistakes in the check table, sends, then searches
the pending list, selects all matching and revokes them after our own confirmation dialog."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from accounts.models import Workspace
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, sign_in, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]  # the fixture, shared with the invitation journey

CSV = (
    "\ufeffemail;role\n"
    "ann.b@example.com;admin\n"
    "ben@example.com;\n"
    "not-an-email;member\n"
    "BEN@example.com;member\n"
    "cleo@example.com;owner\n"
)


def test_csv_check_fix_send_then_bulk_revoke(
    app_url: str,
    tmp_path: Path,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Workspace],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the checks below read the database from it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    workspace = clerk_workspace("Acme Inc")
    clerk_session(
        email="ada@example.com",
        password=PASSWORD,
        first_name="Ada",
        last_name="Admin",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
    )
    upload = tmp_path / "people.csv"
    upload.write_text(CSV, encoding="utf-8")
    shots = os.environ.get("SCREENSHOT_DIR")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        admin = browser.new_page(viewport={"width": 1280, "height": 900})
        watch_errors(admin, errors)
        sign_in(admin, app_url, "ada@example.com", "/settings/")

        admin.click("#invite-open")
        dialog = admin.locator("#invite-dialog")
        admin.set_input_files("#invite-csv", str(upload))
        dialog.get_by_role("button", name="Check addresses").click()
        table = dialog.locator(".check-table")
        expect(table.locator("tbody tr")).to_have_count(5)
        expect(dialog.locator(".results-summary")).to_contain_text("Nothing has been sent yet")
        expect(table.locator('tr[data-result="duplicate"]')).to_contain_text("line 3")
        expect(table.locator('tr[data-result="invalid_email"]')).to_have_count(1)
        expect(table.locator('tr[data-result="invalid_role"]')).to_have_count(1)
        assert not WorkspaceInvitation.objects.exists()  # the check sends nothing
        if shots:
            admin.screenshot(path=f"{shots}/invite-check-step.png", full_page=True)

        # Fix the two mistakes in place and check again.
        table.locator('tr[data-result="invalid_email"] input.entry-email').fill("dora@example.com")
        table.locator('tr[data-result="invalid_role"] select').select_option("member")
        dialog.get_by_role("button", name="Check again").click()
        expect(table.locator('tr[data-result="valid"]')).to_have_count(4)
        dialog.get_by_role("button", name="Send 4 invitations").click()
        expect(dialog.locator(".results-summary")).to_have_text("4 invited · 1 listed twice")
        roles = dict(WorkspaceInvitation.objects.values_list("email", "role"))
        assert roles == {
            "ann.b@example.com": "admin",
            "ben@example.com": "member",
            "dora@example.com": "member",
            "cleo@example.com": "member",
        }
        dialog.get_by_role("link", name="Done").click()
        expect(dialog).to_be_hidden()
        expect(admin.locator("#pending-count")).to_have_text("4")

        # Search, select all matching, revoke after our own confirmation.
        admin.fill("#pending-q", "e")
        admin.locator(".pending-search").get_by_role("button", name="Search").click()
        admin.wait_for_url("**q=e*")
        expect(admin.locator("tr.invite-row")).to_have_count(4)
        admin.fill("#pending-q", "DORA")
        admin.locator(".pending-search").get_by_role("button", name="Search").click()
        admin.wait_for_url("**q=DORA*")
        expect(admin.locator("tr.invite-row")).to_have_count(1)  # any case
        admin.fill("#pending-q", "example")
        admin.locator(".pending-search").get_by_role("button", name="Search").click()
        admin.wait_for_url("**q=example*")
        expect(admin.locator("tr.invite-row")).to_have_count(4)
        admin.locator("[data-bulk-all]").check()
        expect(admin.locator("[data-bulk-count]")).to_have_text("All matching invitations are selected")
        if shots:
            admin.screenshot(path=f"{shots}/pending-list.png", full_page=True)
        admin.get_by_role("button", name="Revoke selected").click()
        confirm = admin.locator(".confirm-dialog")
        expect(confirm).to_be_visible()
        confirm.get_by_role("button", name="Revoke invitations").click()
        expect(admin.locator(".bulk-notice")).to_contain_text("4 selected: 4 revoked.")
        expect(admin.locator("tr.invite-row")).to_have_count(0)
        assert WorkspaceInvitation.objects.filter(status=InvitationStatus.REVOKED).count() == 4
        revoked_in_clerk = [i for i in clerk_gateway.organization_invitations.values() if i.status == "revoked"]
        assert len(revoked_in_clerk) == 4
        browser.close()
    assert errors == []
