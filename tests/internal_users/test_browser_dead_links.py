"""A staff invitation link that can no longer be used never ends on a dead end (real ClerkJS, vendored).

The old link of a resent staff invitation opens on "a newer link was sent"; a link opened while pending and revoked
before the form is sent is refused by Clerk with ``revoked_invitation`` (an application invitation's code), which
the page turns into "this invitation was revoked" with the greeting (inviter, role) gone. Screenshots go to
``$SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect, sync_playwright

from accounts.roles import Role
from clerk_emulator.state import Emulator
from clerk_emulator.users import find_user_by_email
from internal_users import services
from internal_users.models import InternalInvitation
from tests.browser import launch
from tests.invitations.test_browser_dead_links import in_a_thread, screenshot
from tests.invitations.test_browser_journey import PASSWORD, app_url, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["app_url"]

LINK = re.compile(r"https?://\S+invitation_id=\d+")


def latest_link(to: str) -> str:
    messages = [m for m in mail.outbox if m.to == [to]]
    assert messages
    link = LINK.search(str(messages[-1].body))
    assert link is not None
    return link.group(0)


def test_a_superseded_and_a_revoked_staff_link_explain_themselves(
    app_url: str, clerk_gateway: Emulator, clerk_session: Callable[..., Any]
) -> None:
    inviter = clerk_session(Role.SUPER_ADMIN, email="root@example.com", first_name="Rita", last_name="Root")
    row = services.internal_invite(email="pia@example.com", role=Role.PM, actor=inviter.user)
    old_link = latest_link("pia@example.com")
    resent = services.internal_invitation_resend(invitation=row, actor=inviter.user)
    new_link = latest_link("pia@example.com")
    assert new_link != old_link

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 820})
        watch_errors(page, errors)

        page.goto(old_link)
        page.wait_for_url(f"{app_url}/internal/accept-invite/?*")
        superseded = page.locator('[data-panel="superseded"]')
        expect(superseded).to_be_visible()
        expect(page.get_by_role("heading", name="A newer invitation link was sent")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("Rita Root")
        expect(page.locator("body")).not_to_contain_text("Project manager")
        screenshot(page, "staff-accept-superseded")

        page.goto(new_link)
        page.wait_for_url(f"{app_url}/internal/accept-invite/?*__clerk_status=sign_up*")
        expect(page.locator(".invite-context")).to_contain_text(
            "Rita Root invited you to join the staff as Project manager"
        )
        in_a_thread(
            lambda: services.internal_invitation_revoke(
                invitation=InternalInvitation.objects.get(pk=resent.pk), actor=inviter.user
            )
        )
        page.fill("#su-first-name", "Pia")
        page.fill("#su-last-name", "Park")
        page.fill("#su-phone", "+1 415 555 0142")
        page.fill("#su-password", PASSWORD)
        page.get_by_role("button", name="Create account").click()

        revoked = page.locator('[data-panel="revoked"]')
        expect(revoked).to_be_visible()
        expect(page.get_by_role("heading", name="This invitation was revoked")).to_be_focused()
        expect(revoked).to_contain_text("ask the person who invited you, or another staff admin, to invite you again")
        expect(page.locator("[data-invite-context]")).to_be_hidden()
        screenshot(page, "staff-accept-revoked")
        browser.close()
    assert errors == []
    with clerk_gateway.lock:
        assert find_user_by_email(clerk_gateway, "pia@example.com") is None
