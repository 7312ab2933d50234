"""Clerk's real ClerkJS (the vendored bundle) against the emulator's Frontend API, in Debian's Chromium.

A page on its own origin (a stdlib HTTP server) loads the bundle from the emulator with Clerk's documented script
tag plus ``data-clerk-proxy-url`` (the emulator speaks plain http), and drives the flows the product's pages use.
Nothing here is the emulator's code in the browser: every call below is ClerkJS's own.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from clerk_backend_api import Clerk
from playwright.sync_api import Browser, Page, sync_playwright

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.browser import launch, require_chromium
from tests.clerk_emulator.fapi_support import make_user
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
    """The app's pages: every path answers one page with Clerk's script tag, pointed at the emulator."""
    em = clerk_emulator_server.emulator
    script_src = f"{em.proxy_url}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App page</title>
<script defer crossorigin="anonymous" data-clerk-publishable-key="{html.escape(em.publishable_key)}"
  data-clerk-proxy-url="{html.escape(em.proxy_url)}" src="{html.escape(script_src)}" type="text/javascript"></script>
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
    origin = f"http://127.0.0.1:{server.server_port}"
    em.allowed_origins.append(origin)
    try:
        yield origin
    finally:
        em.allowed_origins.remove(origin)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(chromium: Browser, clerk_emulator: Emulator, app_origin: str) -> Iterator[Page]:
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{app_origin}/")
        page.wait_for_function("() => window.Clerk !== undefined")
        yield page
    finally:
        context.close()


SIGN_IN = """async ({email, password}) => {
  await Clerk.load();
  const before = {loaded: Clerk.loaded, user: Clerk.user, session: Clerk.session};
  const signIn = await Clerk.client.signIn.create({identifier: email, password});
  await Clerk.setActive({session: signIn.createdSessionId});
  const token = await Clerk.session.getToken();
  return {
    before, status: signIn.status, sessionId: Clerk.session.id, token,
    cookie: document.cookie,
    user: {id: Clerk.user.id, firstName: Clerk.user.firstName, email: Clerk.user.primaryEmailAddress.emailAddress},
  };
}"""


def test_clerk_loads_and_signs_in_with_a_password(
    page: Page, app_origin: str, sdk: Clerk, clerk_emulator: Emulator
) -> None:
    user_id = make_user(sdk, "ann@example.com")
    result = page.evaluate(SIGN_IN, {"email": "ann@example.com", "password": PASSWORD})
    assert result["before"] == {"loaded": True, "user": None, "session": None}
    assert result["status"] == "complete"
    assert result["user"] == {"id": user_id, "firstName": "Ann", "email": "ann@example.com"}
    assert "__clerk_db_jwt=dvb_" in result["cookie"]  # the development browser, on the app's own domain
    assert "__session=" in result["cookie"]
    claims = verify(clerk_emulator, result["token"], app_origin)
    assert claims["sub"] == user_id
    assert claims["sid"] == result["sessionId"]
