"""A workspace invitation link that can no longer be used never ends on a dead end (real ClerkJS, vendored).

The old link of a resent invitation opens on "a newer link was sent" (the server knows, Clerk only says revoked).
A link opened while the invitation was pending and revoked before the invitee submits the form is refused by Clerk
with ``organization_invitation_revoked_code``, and the page turns that into "this invitation was revoked", the
greeting with the inviter's name gone. Screenshots of both go to ``$SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from clerk_emulator.users import find_user_by_email
from invitations import services
from invitations.models import WorkspaceInvitation
from tests.browser import launch
from tests.invitations.test_browser_journey import PASSWORD, app_url, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]


def latest_link(em: Emulator, to: str) -> str:
    with em.lock:
        link = next(m.link for m in reversed(em.messages) if m.to == to and m.link)
    assert link is not None
    return link


def in_a_thread(work: Callable[[], object]) -> None:
    """Run ``work`` (ORM calls) outside Playwright's event loop, which Django refuses to run queries in."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed back to the test
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert failures == []


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_superseded_and_a_revoked_link_explain_themselves_and_offer_a_way_on(
    app_url: str,
    clerk_gateway: Emulator,
    clerk_session: Callable[..., Any],
    clerk_workspace: Callable[..., Any],
    settings: Any,
) -> None:
    settings.INVITATIONS_RESEND_COOLDOWN_SECONDS = 0
    workspace = clerk_workspace("Acme Inc")
    admin = clerk_session(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        workspace=workspace,
        workspace_role=WorkspaceRole.ADMIN,
    )
    [result] = services.invitations_create(
        workspace=workspace, inviter=admin.user, emails=["rae@example.com"], role=WorkspaceRole.MEMBER
    )
    assert result.invitation is not None
    old_link = latest_link(clerk_gateway, "rae@example.com")
    resent = services.invitation_resend(invitation=result.invitation, actor=admin.user)
    new_link = latest_link(clerk_gateway, "rae@example.com")
    assert new_link != old_link

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 820})
        watch_errors(page, errors)

        # The old link: through Clerk's /v1/tickets/accept to our page, which says a newer one was sent.
        page.goto(old_link)
        page.wait_for_url(f"{app_url}/accept-invite/?*")
        superseded = page.locator('[data-panel="superseded"]')
        expect(superseded).to_be_visible()
        expect(page.get_by_role("heading", name="A newer invitation link was sent")).to_be_visible()
        expect(superseded).to_contain_text("only the link in the latest email works")
        expect(page.locator("body")).not_to_contain_text("Ann Lee")
        screenshot(page, "accept-superseded")

        # The new link works... until an admin revokes it while the invitee is filling in the form.
        page.goto(new_link)
        page.wait_for_url(f"{app_url}/accept-invite/?*__clerk_status=sign_up*")
        expect(page.locator("#accept-first-name")).to_be_focused()
        expect(page.locator(".invite-context")).to_contain_text("Ann Lee invited you to join Acme Inc")
        in_a_thread(
            lambda: services.invitation_revoke(
                invitation=WorkspaceInvitation.objects.get(pk=resent.pk), actor=admin.user
            )
        )
        page.fill("#accept-first-name", "Rae")
        page.fill("#accept-last-name", "Ng")
        page.fill("#accept-password", PASSWORD)
        page.click("#accept-sign-up button[type=submit]")

        revoked = page.locator('[data-panel="revoked"]')
        expect(revoked).to_be_visible()
        expect(page.get_by_role("heading", name="This invitation was revoked")).to_be_focused()
        expect(revoked).to_contain_text("ask the person who invited you, or another admin of the workspace")
        greetings = page.locator("[data-invite-context]")  # the greeting and the "ask Ann Lee" note
        expect(greetings).to_have_count(2)
        for greeting in greetings.all():
            expect(greeting).to_be_hidden()
        expect(revoked.get_by_role("link", name="Already a member? Sign in")).to_have_attribute(
            "href", "/sign-in/?next=/dashboard/"
        )
        screenshot(page, "accept-revoked")
        browser.close()
    assert errors == []
    with clerk_gateway.lock:
        assert find_user_by_email(clerk_gateway, "rae@example.com") is None  # Clerk refused the sign-up
