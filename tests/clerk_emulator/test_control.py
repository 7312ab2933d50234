"""``/__emulator/``: keys, reset, state, requests, faults, caps, clock, webhooks and the mailbox, over HTTP."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from clerk_backend_api import Clerk

from clerk_emulator import auth
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator
from tests.clerk_emulator.receiver import SECRET


@pytest.fixture
def ctl(clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{clerk_emulator_server.url}/__emulator", timeout=5) as client:
        yield client


def assert_clerk_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["message"]
    assert error["long_message"]
    if code is not None:
        assert error["code"] == code
    return dict(error)


def org_with_admin(sdk: Clerk) -> tuple[str, str]:
    admin = sdk.users.create(email_address=["admin@example.com"], first_name="Ada", last_name="Admin")
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    return org.id, admin.id


# --------------------------------------------------------------------------------------------- keys, reset, state


def test_keys_point_an_app_at_the_emulator_and_the_pem_verifies_its_tokens(
    ctl: httpx.Client, bapi: httpx.Client, sdk: Clerk, clerk_emulator_server: EmulatorServer
) -> None:
    keys = ctl.get("/keys").json()
    host = urlsplit(clerk_emulator_server.url).netloc
    assert keys["backend_api_url"] == clerk_emulator_server.api_url
    assert keys["frontend_api_url"] == clerk_emulator_server.url
    assert keys["secret_key"] == clerk_emulator_server.emulator.secret_key
    payload = keys["publishable_key"].removeprefix("pk_test_")
    assert base64.b64decode(payload + "=" * (-len(payload) % 4)).decode() == "emulator.clerk.accounts.dev$"
    assert keys["proxy_url"] == f"http://{host}"
    assert keys["jwks_url"] == f"{clerk_emulator_server.api_url}/jwks"
    assert keys["jwt_key"].startswith("-----BEGIN PUBLIC KEY-----")

    user = sdk.users.create(email_address=["ann@example.com"])
    session = bapi.post("/sessions", json={"user_id": user.id}).json()
    token = bapi.post(f"/sessions/{session['id']}/tokens").json()["jwt"]
    claims = jwt.decode(token, keys["jwt_key"], algorithms=["RS256"])
    assert (claims["sub"], claims["sid"], claims["v"]) == (user.id, session["id"], 2)
    assert jwt.get_unverified_header(token)["kid"] == bapi.get("/jwks").json()["keys"][0]["kid"]


def test_state_dumps_everything_and_reset_forgets_it(
    ctl: httpx.Client, sdk: Clerk, bapi: httpx.Client, clerk_emulator: Emulator
) -> None:
    org_id, admin_id = org_with_admin(sdk)
    invitation = sdk.organization_invitations.create(
        organization_id=org_id, email_address="new@example.com", role="org:member"
    )
    assert ctl.post("/faults", json={"path": "/v1/nothing", "status": 500}).status_code == 201
    assert ctl.post("/clock", json={"advance_seconds": 60}).status_code == 200

    state = ctl.get("/state").json()
    assert [u["id"] for u in state["users"]] == [admin_id]
    assert state["users"][0] == bapi.get(f"/users/{admin_id}").json()
    assert [o["id"] for o in state["organizations"]] == [org_id]
    assert [m["public_user_data"]["user_id"] for m in state["memberships"]] == [admin_id]
    assert [i["id"] for i in state["organization_invitations"]] == [invitation.id]
    assert [m["to"] for m in state["messages"]] == ["new@example.com"]
    assert [e["type"] for e in state["events"]][:3] == [
        "user.created",
        "organization.created",
        "organizationMembership.created",
    ]
    assert [f["path"] for f in state["faults"]] == ["/v1/nothing"]
    assert state["caps"]["enabled"] is False
    assert state["clock_offset_ms"] == 60_000
    assert state["instance_id"] == clerk_emulator.instance_id

    assert ctl.post("/reset").json() == {"reset": True}
    state = ctl.get("/state").json()
    assert (state["users"], state["organizations"], state["organization_invitations"]) == ([], [], [])
    assert (state["messages"], state["events"], state["faults"], state["clock_offset_ms"]) == ([], [], [], 0)
    assert bapi.get("/users").json() == []
    assert {t["slug"] for t in state["templates"]} >= {"invitation", "organization_invitation"}


def test_requests_lists_what_was_answered(ctl: httpx.Client, bapi: httpx.Client) -> None:
    bapi.get("/users")
    bapi.get("/users/user_missing")
    log = ctl.get("/requests", params={"limit": 2}).json()
    assert log == [
        {"method": "GET", "path": "/v1/users", "status": 200},
        {"method": "GET", "path": "/v1/users/user_missing", "status": 404},
    ]
    assert_clerk_error(ctl.get("/requests", params={"limit": "ten"}), 422, "form_param_value_invalid")


def test_index_page_links_everything(ctl: httpx.Client, clerk_emulator: Emulator) -> None:
    response = ctl.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for text in (clerk_emulator.publishable_key, clerk_emulator.backend_api_url, 'href="/__emulator/mail"'):
        assert text in response.text
    assert_clerk_error(ctl.get("/no-such-page"), 404, "resource_not_found")


# --------------------------------------------------------------------------------------------- faults


def test_a_fault_answers_the_next_n_matching_calls_then_clears(ctl: httpx.Client, bapi: httpx.Client) -> None:
    created = ctl.post("/faults", json={"method": "get", "path": "/v1/users", "count": 2, "status": 503})
    assert created.status_code == 201
    assert created.json() | {"hits": 0} == {
        "method": "GET",
        "path": "/v1/users",
        "remaining": 2,
        "status": 503,
        "delay_ms": 0,
        "retry_after": None,
        "code": None,
        "message": None,
        "hits": 0,
    }
    assert bapi.post("/users", json={"email_address": ["a@example.com"]}).status_code == 200  # other method
    assert bapi.get("/users/count").status_code == 200  # exact path only
    assert_clerk_error(bapi.get("/users"), 503, "maintenance_mode")
    [listed] = ctl.get("/faults").json()
    assert (listed["remaining"], listed["hits"]) == (1, 1)
    assert_clerk_error(bapi.get("/users"), 503)
    assert bapi.get("/users").status_code == 200
    assert ctl.get("/faults").json() == []


def test_prefix_faults_rate_limits_with_retry_after_and_custom_errors(ctl: httpx.Client, bapi: httpx.Client) -> None:
    ctl.post(
        "/faults",
        json={"path": "/v1/organizations/*", "status": 429, "retry_after": 7, "code": "slow_down", "message": "Easy"},
    )
    response = bapi.get("/organizations/org_x/invitations")
    error = assert_clerk_error(response, 429, "slow_down")
    assert error["message"] == "Easy"
    assert response.headers["retry-after"] == "7"

    ctl.post("/faults", json={"path": "*", "status": 429})  # any route, default Retry-After
    response = bapi.get("/invitations")
    assert_clerk_error(response, 429, "too_many_requests")
    assert response.headers["retry-after"] == "60"
    assert ctl.get("/faults").json() == []  # the control API itself is never faulted


def test_delay_faults_and_clearing_them(ctl: httpx.Client, bapi: httpx.Client) -> None:
    ctl.post("/faults", json={"method": "GET", "path": "/v1/users", "delay_ms": 300})
    started = time.monotonic()
    assert bapi.get("/users").status_code == 200  # slow, then the real answer
    assert time.monotonic() - started >= 0.3

    ctl.post("/faults", json={"path": "/v1/users", "status": 500, "count": 5})
    assert ctl.delete("/faults").json() == {"cleared": True}
    assert ctl.get("/faults").json() == []
    assert bapi.get("/users").status_code == 200


def test_the_official_sdk_sees_an_injected_fault(ctl: httpx.Client, sdk: Clerk) -> None:
    from clerk_backend_api import models

    ctl.post("/faults", json={"method": "POST", "path": "/v1/users", "status": 422, "code": "form_param_missing"})
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.users.create(email_address=["ann@example.com"])
    assert caught.value.data.errors[0].code == "form_param_missing"
    assert sdk.users.create(email_address=["ann@example.com"]).id.startswith("user_")


BAD_INPUT: list[tuple[str, str, Any, int]] = [
    ("POST", "/faults", b"{not json", 400),
    ("POST", "/faults", b"NaN", 400),
    ("POST", "/faults", [1, 2], 400),
    ("POST", "/faults", "text", 400),
    ("POST", "/faults", {"path": "/v1/users"}, 422),  # neither status nor delay
    ("POST", "/faults", {"status": 200}, 422),
    ("POST", "/faults", {"status": 600}, 422),
    ("POST", "/faults", {"status": "500"}, 422),
    ("POST", "/faults", {"status": True}, 422),
    ("POST", "/faults", {"status": 500, "count": 0}, 422),
    ("POST", "/faults", {"status": 500, "count": 1.5}, 422),
    ("POST", "/faults", {"status": 500, "delay_ms": -1}, 422),
    ("POST", "/faults", {"status": 500, "delay_ms": 10**9}, 422),
    ("POST", "/faults", {"status": 500, "method": "FETCH"}, 422),
    ("POST", "/faults", {"status": 500, "method": 7}, 422),
    ("POST", "/faults", {"status": 500, "path": "v1/users"}, 422),
    ("POST", "/faults", {"status": 500, "retry_after": -5}, 422),
    ("POST", "/faults", {"status": 500, "colour": "red"}, 422),
    ("POST", "/caps", {"enabled": "yes"}, 422),
    ("POST", "/caps", {"limits": {"nope": 1}}, 422),
    ("POST", "/caps", {"limits": {"invitations.create": -1}}, 422),
    ("POST", "/caps", {"limits": {"invitations.create": True}}, 422),
    ("POST", "/caps", {"limits": {"invitations.create": "5"}}, 422),
    ("POST", "/caps", {"limits": [1]}, 422),
    ("POST", "/clock", {"advance_seconds": -1}, 422),
    ("POST", "/clock", {"advance_seconds": "1"}, 422),
    ("POST", "/clock", {"advance_seconds": 10**12}, 422),
    ("POST", "/clock", {"seconds": 1}, 422),
    ("POST", "/webhooks", {"url": "ftp://example.com/hook"}, 422),
    ("POST", "/webhooks", {"url": "not a url"}, 422),
    ("POST", "/webhooks", {"url": 5}, 422),
    ("POST", "/webhooks", {"secret": "sk_test_nope"}, 422),
    ("POST", "/webhooks", {"secret": "whsec_"}, 422),
    ("POST", "/webhooks", {"secret": "whsec_!!not-base64!!"}, 422),
    ("POST", "/webhooks", b"[", 400),
    ("PUT", "/faults", {}, 405),
    ("DELETE", "/reset", None, 405),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_INPUT)
def test_bad_input_is_a_4xx_with_clerks_error_body(
    ctl: httpx.Client, clerk_emulator: Emulator, method: str, path: str, body: Any, status: int
) -> None:
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = ctl.request(method, path, **kwargs)
    assert_clerk_error(response, status)
    assert clerk_emulator.faults == []
    assert clerk_emulator.caps_enabled is False
    assert clerk_emulator.clock_offset_ms == 0
    assert clerk_emulator.webhook_url is None
    assert clerk_emulator.webhook_secret is None


def test_a_huge_control_body_is_refused(ctl: httpx.Client) -> None:
    assert_clerk_error(ctl.post("/faults", content=b" " * 200_001), 413)


# --------------------------------------------------------------------------------------------- caps and clock


def test_hourly_caps_are_off_by_default_and_answer_429_with_retry_after_when_on(
    ctl: httpx.Client, sdk: Clerk, bapi: httpx.Client
) -> None:
    org_id, _ = org_with_admin(sdk)

    def invite(n: int) -> httpx.Response:
        body = {"email_address": f"person{n}@example.com", "role": "org:member", "notify": False}
        return bapi.post(f"/organizations/{org_id}/invitations", json=body)

    assert ctl.get("/caps").json()["enabled"] is False
    assert all(invite(n).status_code == 200 for n in range(3))

    caps = ctl.post("/caps", json={"enabled": True, "limits": {"organization_invitations.create": 2}}).json()
    assert caps["enabled"] is True
    assert caps["limits"]["organization_invitations.create"] == 2
    assert caps["limits"]["invitations.create"] == 100  # Clerk's figure for the others
    assert [invite(n).status_code for n in range(3, 5)] == [200, 200]
    refused = invite(5)
    assert_clerk_error(refused, 429, "too_many_requests")
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600
    assert ctl.get("/caps").json()["used_last_hour"]["organization_invitations.create"] == 2

    ctl.post("/clock", json={"advance_seconds": 3601})  # the window slides with the emulator's clock
    assert invite(6).status_code == 200
    assert ctl.post("/caps", json={"enabled": False}).json()["enabled"] is False
    assert all(invite(n).status_code == 200 for n in range(7, 10))


def test_the_clock_expires_invitations(ctl: httpx.Client, sdk: Clerk, bapi: httpx.Client) -> None:
    org_id, _ = org_with_admin(sdk)
    invitation = bapi.post(
        f"/organizations/{org_id}/invitations",
        json={"email_address": "late@example.com", "role": "org:member", "expires_in_days": 1},
    ).json()
    assert invitation["status"] == "pending"
    before = ctl.get("/clock").json()
    moved = ctl.post("/clock", json={"advance_seconds": 86_401}).json()
    assert moved["clock_offset_ms"] == 86_401_000
    assert moved["now"] - before["now"] >= 86_401_000
    after = bapi.get(f"/organizations/{org_id}/invitations/{invitation['id']}").json()
    assert after["status"] == "expired"
    assert ctl.post("/clock", json={}).json()["clock_offset_ms"] == 86_401_000  # nothing to advance


# --------------------------------------------------------------------------------------------- webhooks


def test_webhook_configuration_and_delivery_log(
    ctl: httpx.Client, sdk: Clerk, clerk_emulator: Emulator, clerk_emulator_server: EmulatorServer
) -> None:
    clerk_emulator_server.dispatcher.retry_delays_s = (0.01,)
    assert ctl.get("/webhooks").json()["configured"] is False
    closed_port = "http://127.0.0.1:9/hook"  # discard port: nothing listens
    configured = ctl.post("/webhooks", json={"url": closed_port, "secret": SECRET}).json()
    assert configured == {"url": closed_port, "configured": True, "retry_delays_s": [0.01]}
    assert (clerk_emulator.webhook_url, clerk_emulator.webhook_secret) == (closed_port, SECRET)

    sdk.users.create(email_address=["ann@example.com"])
    assert clerk_emulator_server.dispatcher.wait_idle(timeout=5)
    [delivery] = ctl.get("/webhooks").json()["deliveries"]
    assert (delivery["type"], delivery["status"]) == ("user.created", "failed")
    assert delivery["msg_id"].startswith("msg_")
    assert [a["status"] for a in delivery["attempts"]] == [None, None]
    assert all(a["error"] and a["url"] == closed_port for a in delivery["attempts"])

    assert ctl.post("/webhooks", json={"url": None}).json()["configured"] is False
    assert clerk_emulator.webhook_url is None
    assert clerk_emulator.webhook_secret == SECRET


# --------------------------------------------------------------------------------------------- mailbox


@pytest.fixture
def mail(sdk: Clerk, bapi: httpx.Client, clerk_emulator: Emulator) -> dict[str, Any]:
    """Two organization invitations (one to an organization whose name needs escaping) and an SMS code."""
    org_id, admin_id = org_with_admin(sdk)
    first = sdk.organization_invitations.create(
        organization_id=org_id,
        email_address="Bea@Example.com",
        role="org:member",
        inviter_user_id=admin_id,
        redirect_url="http://app.test/accept",
    )
    evil = sdk.organizations.create(request={"name": 'Tom & Jerry\'s "Cartoons"', "created_by": admin_id})
    second = sdk.organization_invitations.create(
        organization_id=evil.id, email_address="cy@example.com", role="org:admin", inviter_user_id=admin_id
    )
    with clerk_emulator.lock:
        user = clerk_emulator.users[admin_id]
        phone = auth.create_phone_number(clerk_emulator, user, {"phone_number": "+15555550123"})
        auth.prepare_phone_verification(clerk_emulator, user, phone, {"strategy": "phone_code"})
        code = phone.pending_code
    return {"first": first, "second": second, "code": code}


def test_mail_json_lists_messages_newest_first_and_filters_by_recipient(
    ctl: httpx.Client, mail: dict[str, Any]
) -> None:
    messages = ctl.get("/mail.json").json()
    assert [m["to"] for m in messages] == ["+15555550123", "cy@example.com", "bea@example.com"]
    sms, _, invite = messages
    assert (sms["kind"], sms["slug"], sms["code"], sms["link"]) == ("sms", "verification_code", mail["code"], None)
    assert (invite["kind"], invite["slug"]) == ("email", "organization_invitation")
    assert invite["link"] == mail["first"].url
    assert invite["delivered_by_clerk"] is True
    assert "Ada Admin invited you to join Acme" in invite["subject"]

    [only] = ctl.get("/mail.json", params={"to": "BEA@example.com"}).json()
    assert only["id"] == invite["id"]
    assert ctl.get("/mail.json", params={"to": "nobody@example.com"}).json() == []
    assert [m["code"] for m in ctl.get("/mail.json", params={"to": "+15555550123"}).json()] == [mail["code"]]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)
        if tag == "script":
            self.scripts += 1


def test_mailbox_page_shows_messages_with_clickable_invitation_links(
    ctl: httpx.Client, mail: dict[str, Any], clerk_emulator_server: EmulatorServer
) -> None:
    response = ctl.get("/mail")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "3 messages" in page
    assert mail["code"] in page
    assert "+15555550123" in page
    assert "Tom &amp; Jerry&#x27;s &quot;Cartoons&quot;" in page
    links = _Links()
    links.feed(page)
    assert links.scripts == 0  # nothing from a message is ever run
    invitation_links = [href for href in links.hrefs if "/v1/tickets/accept?ticket=" in href]
    assert invitation_links == [mail["second"].url, mail["first"].url]

    # Clicking the first invitation's link lands on its redirect_url with the ticket, as Clerk's link does.
    clicked = httpx.get(invitation_links[1], follow_redirects=False, timeout=5)
    assert clicked.status_code in (302, 303)
    target = urlsplit(clicked.headers["location"])
    assert (target.netloc, target.path) == ("app.test", "/accept")
    query = parse_qs(target.query)
    assert query["__clerk_status"] == ["sign_up"]
    assert query["__clerk_ticket"] == [mail["first"].url.split("ticket=", 1)[1]]

    filtered = ctl.get("/mail", params={"to": "cy@example.com"}).text
    assert "1 message" in filtered
    assert mail["second"].url.replace("&", "&amp;") in filtered
    assert mail["first"].url not in filtered
    assert mail["code"] not in filtered
    assert re.search(
        r"No messages\s+for nobody@example\.com", ctl.get("/mail", params={"to": "nobody@example.com"}).text
    )


def test_mailbox_flags_messages_clerk_did_not_send(ctl: httpx.Client, sdk: Clerk) -> None:
    import warnings

    from clerk_backend_api import models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk.email_sms_templates.toggle_template_delivery(
            template_type=models.ToggleTemplateDeliveryPathParamTemplateType.EMAIL,
            slug="invitation",
            delivered_by_clerk=False,
        )
    sdk.invitations.create(request={"email_address": "staff@example.com"})
    [message] = ctl.get("/mail.json").json()
    assert message["delivered_by_clerk"] is False
    assert "email.created webhook" in ctl.get("/mail").text


def test_empty_mailbox(ctl: httpx.Client) -> None:
    assert ctl.get("/mail.json").json() == []
    assert "No messages" in ctl.get("/mail").text


def test_app_mail_lands_in_the_mailbox_with_its_link_as_a_button(ctl: httpx.Client) -> None:
    link = "http://127.0.0.1:8000/internal/accept-invite/?__clerk_ticket=abc&invitation_id=7"
    text = f"You are invited to join the staff.\n\nAccept: {link}\n\nThe link expires in 7 days."
    created = ctl.post("/mail", json={"to": "Staff@Example.com", "subject": "Join the staff", "body_plain": text})
    assert created.status_code == 201, created.text
    assert created.json()["link"] == link
    [message] = ctl.get("/mail.json", params={"to": "staff@example.com"}).json()
    assert (message["sender"], message["slug"], message["subject"]) == ("app", "app", "Join the staff")
    page = ctl.get("/mail").text
    assert "Sent by the app" in page
    links = _Links()
    links.feed(page)
    assert link in links.hrefs


@pytest.mark.parametrize(
    "body",
    [{}, {"to": ""}, {"to": 5, "subject": "x"}, {"to": "a@example.com", "bcc": "b@example.com"}],
)
def test_app_mail_refuses_bad_bodies(ctl: httpx.Client, body: dict[str, Any]) -> None:
    assert ctl.post("/mail", json=body).status_code in (400, 422)
    assert ctl.get("/mail.json").json() == []


def test_root_opens_the_overview(clerk_emulator_server: EmulatorServer) -> None:
    response = httpx.get(clerk_emulator_server.url + "/", follow_redirects=True, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert str(response.url).endswith("/__emulator/")


def test_avatars_are_served_by_the_emulator(sdk: Clerk, clerk_emulator_server: EmulatorServer) -> None:
    user = sdk.users.create(email_address=["ada@example.com"], first_name="Ada", last_name="<Byron>")
    assert user.image_url is not None
    assert user.image_url.startswith(f"{clerk_emulator_server.url}/__emulator/img/")
    response = httpx.get(user.image_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert ">A&lt;<" in response.text  # initials, escaped
    assert "<script" not in response.text
    unknown = httpx.get(f"{clerk_emulator_server.url}/__emulator/img/user_nobody", timeout=5)
    assert unknown.status_code == 200
    assert ">?<" in unknown.text
