"""The emulator's ClerkJS stand-in (static/clerk.browser.js) driven in Debian's Chromium through Playwright.

A page on its own origin (a stdlib HTTP server) loads the script from the emulator exactly as a page loads ClerkJS
from Clerk, signs in or up, and must end with a session token that the official SDK accepts for that origin and a
``__session`` cookie on that origin.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from clerk_backend_api import Clerk
from playwright.sync_api import Browser, Page, sync_playwright

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.browser import launch, require_chromium
from tests.clerk_emulator.session_tokens import verify

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-9"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def app_origin(clerk_emulator_server: EmulatorServer) -> Iterator[str]:
    """The app's pages: every path answers one page that loads the script with the emulator's publishable key."""
    em = clerk_emulator_server.emulator
    script_src = f"{em.frontend_api_url}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App page</title>
<script defer crossorigin="anonymous" data-clerk-publishable-key="{html.escape(em.publishable_key)}"
  src="{html.escape(script_src)}" type="text/javascript"></script>
</head><body><h1>App page</h1></body></html>""".encode()

    class PageHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=server.serve_forever, name="test-app-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(chromium: Browser, clerk_emulator: Emulator) -> Iterator[Page]:
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def session_cookie(page: Page) -> str | None:
    cookies = {c["name"]: c for c in page.context.cookies(page.url)}
    cookie = cookies.get("__session")
    if cookie is None:
        return None
    assert cookie["path"] == "/"
    assert cookie["sameSite"] == "Lax"
    return cookie["value"]


SIGN_IN = """async ({email, password}) => {
  await Clerk.load();
  const before = {loaded: Clerk.loaded, user: Clerk.user, session: Clerk.session};
  const signIn = await Clerk.client.signIn.create({identifier: email, password});
  await Clerk.setActive({session: signIn.createdSessionId});
  const token = await Clerk.session.getToken();
  const cached = await Clerk.session.getToken();
  const user = Clerk.user;
  return {
    before,
    status: signIn.status,
    identifier: signIn.identifier,
    createdSessionId: signIn.createdSessionId,
    sessionId: Clerk.session.id,
    sessionStatus: Clerk.session.status,
    token,
    cached,
    cookie: document.cookie,
    user: {
      id: user.id, firstName: user.firstName, fullName: user.fullName,
      email: user.primaryEmailAddress.emailAddress, emails: user.emailAddresses.map(e => e.emailAddress),
      publicMetadata: user.publicMetadata, imageUrl: user.imageUrl,
    },
    clientToken: localStorage.getItem('__clerk_emulator_client'),
  };
}"""


def test_password_sign_in_sets_a_verifiable_token_and_the_session_cookie(
    page: Page, app_origin: str, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    user = sdk.users.create(
        email_address=["ann@example.com"],
        password=PASSWORD,
        first_name="Ann",
        last_name="Lee",
        public_metadata={"plan": "team"},
    )
    page.goto(f"{app_origin}/sign-in")
    result = page.evaluate(SIGN_IN, {"email": "ann@example.com", "password": PASSWORD})

    assert result["before"] == {"loaded": True, "user": None, "session": None}
    assert result["status"] == "complete"
    assert result["identifier"] == "ann@example.com"
    assert result["sessionId"] == result["createdSessionId"]
    assert result["sessionStatus"] == "active"
    assert result["user"]["id"] == user.id
    assert result["user"]["fullName"] == "Ann Lee"
    assert result["user"]["email"] == "ann@example.com"
    assert result["user"]["publicMetadata"] == {"plan": "team"}
    assert result["clientToken"]

    token = result["token"]
    assert result["cached"] == token
    claims = verify(clerk_emulator, token, app_origin)
    assert claims["sub"] == user.id
    assert claims["sid"] == result["sessionId"]
    assert claims["azp"] == app_origin
    assert f"__session={token}" in result["cookie"].split("; ")
    assert session_cookie(page) == token

    # A new page load restores the session from the stored client token and refreshes the cookie.
    page.reload()
    restored = page.evaluate(
        "async () => { await Clerk.load(); return {user: Clerk.user && Clerk.user.id, sid: Clerk.session.id}; }"
    )
    assert restored == {"user": user.id, "sid": result["sessionId"]}
    refreshed = session_cookie(page)
    assert refreshed is not None
    assert verify(clerk_emulator, refreshed, app_origin)["sid"] == result["sessionId"]

    # Sign-out ends the session at the emulator and removes the cookie.
    after = page.evaluate(
        """async () => {
          await Clerk.signOut();
          return {user: Clerk.user, session: Clerk.session, cookie: document.cookie};
        }"""
    )
    assert after == {"user": None, "session": None, "cookie": ""}
    assert session_cookie(page) is None
    assert clerk_emulator.sessions[result["sessionId"]].status == "ended"


def test_errors_are_thrown_like_clerkjs(page: Page, app_origin: str, sdk: Clerk) -> None:
    sdk.users.create(email_address=["ann@example.com"], password=PASSWORD)
    page.goto(app_origin)
    error = page.evaluate(
        """async () => {
          await Clerk.load();
          try {
            await Clerk.client.signIn.create({identifier: 'ann@example.com', password: 'wrong-password'});
            return null;
          } catch (e) {
            return {isError: e instanceof Error, clerkError: e.clerkError, status: e.status, errors: e.errors,
                    message: e.message};
          }
        }"""
    )
    assert error["isError"] is True
    assert error["clerkError"] is True
    assert error["status"] == 422
    [detail] = error["errors"]
    assert detail["code"] == "form_password_incorrect"
    assert detail["meta"] == {"paramName": "password"}
    assert detail["message"]
    assert detail["longMessage"]
    assert error["message"]


def test_session_cookie_is_refreshed_on_a_timer(page: Page, app_origin: str, sdk: Clerk) -> None:
    sdk.users.create(email_address=["ann@example.com"], password=PASSWORD)
    page.clock.install()
    page.goto(app_origin)
    first = page.evaluate(SIGN_IN, {"email": "ann@example.com", "password": PASSWORD})["token"]
    assert session_cookie(page) == first
    page.clock.run_for(51_000)
    page.wait_for_function("first => !document.cookie.includes(first)", arg=first, timeout=5_000)
    second = session_cookie(page)
    assert second is not None
    assert second != first


def test_organization_invitation_sign_up_and_phone_verification(
    page: Page, app_origin: str, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    admin = sdk.users.create(email_address=["admin@example.com"], password=PASSWORD)
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    invitation = sdk.organization_invitations.create(
        organization_id=org.id,
        email_address="nia@example.com",
        role="org:member",
        inviter_user_id=admin.id,
        redirect_url=f"{app_origin}/invitations/accept?invitation_id=abc",
    )
    assert invitation.url is not None

    # The link in the email goes through the emulator's /v1/tickets/accept back to the app's accept page.
    page.goto(invitation.url)
    landed = urlsplit(page.url)
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == f"{app_origin}/invitations/accept"
    assert parse_qs(landed.query)["invitation_id"] == ["abc"]

    result = page.evaluate(
        """async ({password, orgId}) => {
          await Clerk.load();
          const params = new URLSearchParams(window.location.search);
          const ticket = params.get('__clerk_ticket');
          const status = params.get('__clerk_status');
          const signUp = await Clerk.client.signUp.create({
            strategy: 'ticket', ticket, password, firstName: 'Nia', lastName: 'Ng',
          });
          await Clerk.setActive({session: signUp.createdSessionId, organization: orgId});
          return {
            status,
            signUp: {
              status: signUp.status, createdSessionId: signUp.createdSessionId, createdUserId: signUp.createdUserId,
              emailAddress: signUp.emailAddress, missingFields: signUp.missingFields,
              unverifiedFields: signUp.unverifiedFields,
            },
            token: await Clerk.session.getToken(),
            organization: Clerk.organization && Clerk.organization.id,
            memberships: Clerk.user.organizationMemberships.map(m => [m.organization.id, m.role]),
          };
        }""",
        {"password": PASSWORD, "orgId": org.id},
    )
    assert result["status"] == "sign_up"
    sign_up = result["signUp"]
    assert sign_up["status"] == "complete"
    assert sign_up["emailAddress"] == "nia@example.com"
    assert sign_up["missingFields"] == []
    assert sign_up["unverifiedFields"] == []
    assert result["organization"] == org.id
    assert result["memberships"] == [[org.id, "org:member"]]
    claims = verify(clerk_emulator, result["token"], app_origin)
    assert claims["sub"] == sign_up["createdUserId"]
    assert claims["o"]["id"] == org.id
    assert claims["o"]["rol"] == "member"
    assert session_cookie(page) == result["token"]
    accepted = sdk.organization_invitations.get(organization_id=org.id, invitation_id=invitation.id)
    assert accepted.status == "accepted"

    # Phone verification with the code the emulator "sent" by SMS.
    prepared = page.evaluate(
        """async () => {
          window.phone = await Clerk.user.createPhoneNumber({phoneNumber: '+15555550199'});
          await window.phone.prepareVerification({strategy: 'phone_code'});
          return window.phone.verification.status;
        }"""
    )
    assert prepared == "unverified"
    [sms] = [m for m in clerk_emulator.messages if m.kind == "sms"]
    assert sms.to == "+15555550199"
    assert sms.code is not None

    wrong = page.evaluate(
        """async (code) => {
          try { await window.phone.attemptVerification({code}); return null; }
          catch (e) { return e.errors[0].code; }
        }""",
        "000000" if sms.code != "000000" else "111111",
    )
    assert wrong == "form_code_incorrect"
    verified = page.evaluate(
        """async (code) => {
          const phone = await window.phone.attemptVerification({code});
          await Clerk.user.reload();
          return {
            status: phone.verification.status,
            primary: Clerk.user.primaryPhoneNumber && Clerk.user.primaryPhoneNumber.phoneNumber,
            phones: Clerk.user.phoneNumbers.map(p => [p.phoneNumber, p.verification.status]),
          };
        }""",
        sms.code,
    )
    assert verified == {
        "status": "verified",
        "primary": "+15555550199",
        "phones": [["+15555550199", "verified"]],
    }


def test_existing_user_signs_in_with_an_organization_ticket(
    page: Page, app_origin: str, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    admin = sdk.users.create(email_address=["admin@example.com"], password=PASSWORD)
    bob = sdk.users.create(email_address=["bob@example.com"], password=PASSWORD)
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    invitation = sdk.organization_invitations.create(
        organization_id=org.id, email_address="bob@example.com", role="org:member", redirect_url=f"{app_origin}/a"
    )
    assert invitation.url is not None
    page.goto(invitation.url)
    result = page.evaluate(
        """async (orgId) => {
          await Clerk.load();
          const params = new URLSearchParams(window.location.search);
          const signIn = await Clerk.client.signIn.create({strategy: 'ticket', ticket: params.get('__clerk_ticket')});
          await Clerk.setActive({session: signIn.createdSessionId, organization: orgId});
          return {status: params.get('__clerk_status'), signIn: signIn.status, token: await Clerk.session.getToken()};
        }""",
        org.id,
    )
    assert result["status"] == "sign_in"
    assert result["signIn"] == "complete"
    claims = verify(clerk_emulator, result["token"], app_origin)
    assert claims["sub"] == bob.id
    assert claims["o"]["rol"] == "member"


def test_unusable_invitation_link_shows_a_clean_page(
    page: Page, sdk: Clerk, clerk_emulator: Emulator, tmp_path: Path
) -> None:
    admin = sdk.users.create(email_address=["admin@example.com"], password=PASSWORD)
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    invitation = sdk.organization_invitations.create(
        organization_id=org.id, email_address="late@example.com", role="org:member", expires_in_days=7
    )
    assert invitation.url is not None
    clerk_emulator.advance_clock(8 * 86400)
    response = page.goto(invitation.url)
    assert response is not None
    assert response.status == 400
    assert page.locator("h1").inner_text() == "This invitation has expired"
    assert "ticket_expired_code" in page.content()
    page.screenshot(path=str(tmp_path / "ticket-error.png"))
