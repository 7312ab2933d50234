"""Every Frontend API route the emulator serves, answered with JSON that matches Clerk's published Frontend API
spec (fapi 2026-05-12) for that operation and status: the ``{response, client}`` envelopes, the resources inside
them, and Clerk's error shape on the error answers.

Requests go through ``fapi_support.Browser``, which speaks like ClerkJS 6.40 (development browser, form bodies,
``_method`` tunnelling). A final check lists the routes from ``clerk_emulator.fapi.RULES`` and fails when one of
them was never validated. Where the emulator knowingly departs from the spec, the departure is an entry of
``ALLOWANCES``, named, explained and checked on its own (see docs/clerk-emulator.md, "Where the emulator departs
from the spec").
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from clerk_backend_api import Clerk

from clerk_emulator import fapi
from clerk_emulator.state import Emulator
from tests.clerk_emulator.fapi_support import (
    ORIGIN,
    PASSWORD,
    Browser,
    make_org,
    make_user,
    org_invitation,
    ticket_of,
)
from tests.clerk_emulator.openapi import FAPI

DAY_S = 86_400

# Departures from the published spec, each named and used by the test that checks the real answer instead.
ALLOWANCES = {
    "dev_browser_body": (
        "POST /v1/dev_browser: the spec describes no response body at all; ClerkJS 6.40 reads the development "
        "browser's `id` from the JSON the Frontend API answers (Clerk's own answer is "
        "`{object: dev_browser, id, ...}`), so the emulator answers that and the test checks it has a string `id`."
    ),
    "ticket_page_for_a_foreign_ticket": (
        "GET /v1/tickets/accept: a person's browser opens this link, not ClerkJS. For a missing ticket or one this "
        "instance never issued the spec declares a 400 ClerkErrors JSON body; the emulator answers the 400 with a "
        "page that explains it (a demo shows people, not JSON), carrying the error code in its text."
    ),
    "dev_browser_unauthenticated_everywhere": (
        "A development instance refuses a call without a known development browser with 401 "
        "dev_browser_unauthenticated on every route that needs one; the spec declares a 401 only on some of them "
        "(not on PUT/POST/DELETE /v1/client, POST /v1/client/sign_ins or /sign_ups). ClerkJS 6.40 handles exactly "
        "this answer from any Frontend API call (its response hook calls __internal_handleUnauthenticatedDevBrowser "
        "and retries), so the emulator answers it there too, in the ClerkErrors shape."
    ),
    "session_tasks_in_every_client": (
        "The spec describes the client twice: Client.Client-2, in most answers, whose sessions declare `tasks`, and "
        "Client.Client, in the answers of POST /v1/client/sign_ins/{id}/reset_password and "
        "POST /v1/me/change_password, whose sessions do not. A session is the same resource wherever it appears, "
        "and ClerkJS 6.40 reads `tasks` from every one (`this.tasks = data.tasks || null`), so the emulator sends "
        "it everywhere; the check for keys the spec names nowhere drops it in those two answers."
    ),
    "token_object_key": (
        "POST /v1/client/sessions/{id}/tokens: the spec describes the body as `{jwt}` only, while its own Token "
        'component (the `last_active_token` of every session) is `{object: "token", jwt}`. The emulator '
        "answers the Token shape in both places; the check for keys the spec names nowhere drops `object` there."
    ),
    "request_too_large_413": (
        "A body over the emulator's 1 MB limit is refused with 413 request_body_invalid in the ClerkErrors shape. "
        "The spec declares no 413 on any operation (the limit is not part of it); 413 is what HTTP names this, "
        "and ClerkJS treats any 4xx with `errors` alike."
    ),
}

# Keys a named allowance lets through the check for keys the spec names nowhere: (template, what to drop).
_TOLERATED_KEYS = {
    ("POST", "/v1/client/sign_ins/{}/reset_password"): "session_tasks_in_every_client",
    ("POST", "/v1/me/change_password"): "session_tasks_in_every_client",
    ("POST", "/v1/client/sessions/{}/tokens"): "token_object_key",
}


def _without_tolerated_keys(method: str, template: str, data: Any) -> Any:
    allowance = _TOLERATED_KEYS.get((method.upper(), _shape(template)))
    if allowance == "token_object_key" and isinstance(data, dict) and "jwt" in data:
        assert data["object"] == "token"
        return {key: value for key, value in data.items() if key != "object"}
    if allowance == "session_tasks_in_every_client" and data.get("client"):
        sessions = data["client"]["sessions"]
        assert all("tasks" in session for session in sessions)
        client = {**data["client"], "sessions": [{k: v for k, v in s.items() if k != "tasks"} for s in sessions]}
        return {**data, "client": client}
    return data


class Recorder:
    """Sends requests as ClerkJS would, validates each JSON answer against its operation, remembers coverage."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.covered: set[tuple[str, str]] = set()
        self.errors: set[tuple[str, str, int]] = set()

    def __call__(self, method: str, path: str, *, status: int = 200, code: str | None = None, **kwargs: Any) -> Any:
        response = self.browser.call(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return self.check(method, path, response, code=code)

    def check(self, method: str, path: str, response: httpx.Response, *, code: str | None = None) -> Any:
        template = FAPI.operation_for(method, path.partition("?")[0])
        self.covered.add((method.upper(), _shape(template)))
        if response.status_code >= 400:
            self.errors.add((method.upper(), _shape(template), response.status_code))
            FAPI.assert_clerk_error(response, response.status_code, code)
        data = FAPI.assert_conforms(template, method, response)
        strict = _without_tolerated_keys(method, template, data) if response.status_code < 400 else data
        undeclared = FAPI.undeclared_keys(template, method, response.status_code, strict)
        assert not undeclared, f"{method} {template}: keys the spec names nowhere:\n" + "\n".join(undeclared)
        return data


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", template)


@pytest.fixture
def call(browser: Browser) -> Recorder:
    return Recorder(browser)


# Each scenario drives a group of routes; ``test_scenario`` runs them one by one, and
# ``test_every_frontend_route_is_validated`` runs them all to prove no route of ``clerk_emulator.fapi`` is missed.


def scenario_environment_and_client(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    env = call("GET", "/v1/environment")
    assert env["user_settings"]["sign_up"]["mode"] == "restricted"
    assert call("PATCH", "/v1/environment", json={"origin": ORIGIN}) == env
    assert call("GET", "/v1/client") == {"response": None, "client": None}
    created = call("PUT", "/v1/client")
    assert created["response"]["object"] == "client"
    assert call("POST", "/v1/client")["response"]["id"] == created["response"]["id"]
    assert call("GET", "/v1/client")["client"]["id"] == created["response"]["id"]
    deleted = call("DELETE", "/v1/client")
    assert deleted["client"] is None
    call("DELETE", "/v1/client", status=404, code="resource_not_found")
    call.browser.dev_browser = "dvb_unknown"
    call("GET", "/v1/client", status=401, code="dev_browser_unauthenticated")


def scenario_password_sign_in(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    user_id = make_user(sdk)
    org_id = make_org(sdk, user_id)
    done = call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "password": PASSWORD})
    assert done["response"]["status"] == "complete"
    assert done["client"]["sessions"][0]["user"]["organization_memberships"][0]["organization"]["id"] == org_id
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"identifier": "ann@example.com", "password": "wrong"},
        status=422,
        code="form_password_incorrect",
    )
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"identifier": "nobody@example.com", "password": PASSWORD},
        status=422,
        code="form_identifier_not_found",
    )
    call("POST", "/v1/client/sign_ins", json={"strategy": "oauth_google"}, status=422, code="strategy_for_user_invalid")
    started = call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "locale": "en-US"})
    sign_in_id = started["response"]["id"]
    assert started["response"]["status"] == "needs_first_factor"
    assert started["client"]["sign_in"]["id"] == sign_in_id
    call("GET", f"/v1/client/sign_ins/{sign_in_id}")
    call("GET", "/v1/client/sign_ins/sia_missing", status=404, code="resource_not_found")
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/attempt_first_factor",
        json={"strategy": "password", "password": "wrong"},
        status=422,
        code="form_password_incorrect",
    )
    finished = call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/attempt_first_factor",
        json={"strategy": "password", "password": PASSWORD},
    )
    assert finished["response"]["status"] == "complete"
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/attempt_first_factor",
        json={"strategy": "password", "password": PASSWORD},
        status=400,
        code="sign_in_already_complete",
    )
    stale = call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com"})["response"]["id"]
    em.advance_clock(DAY_S + 1)
    call(
        "POST",
        f"/v1/client/sign_ins/{stale}/attempt_first_factor",
        json={"strategy": "password", "password": PASSWORD},
        status=400,
        code="sign_in_expired",
    )
    sdk.users.ban(user_id=user_id)
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"identifier": "ann@example.com", "password": PASSWORD},
        status=403,
        code="user_banned",
    )
    sdk.users.unban(user_id=user_id)
    sdk.users.lock(user_id=user_id)
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"identifier": "ann@example.com", "password": PASSWORD},
        status=403,
        code="user_locked",
    )


def scenario_password_reset(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    make_user(sdk)
    started = call("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com"})
    sign_in_id = started["response"]["id"]
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/reset_password",
        json={"password": "brand-new-pass-1"},
        status=400,
        code="sign_in_no_reset_password",
    )
    prepared = call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/prepare_first_factor",
        json={"strategy": "reset_password_email_code"},
    )
    assert prepared["response"]["first_factor_verification"]["status"] == "unverified"
    code = em.messages[-1].code
    assert code is not None
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/prepare_first_factor",
        json={"strategy": "phone_code"},
        status=422,
        code="strategy_for_user_invalid",
    )
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/attempt_first_factor",
        json={"strategy": "reset_password_email_code", "code": "000000" if code != "000000" else "111111"},
        status=422,
        code="form_code_incorrect",
    )
    verified = call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/attempt_first_factor",
        json={"strategy": "reset_password_email_code", "code": code},
    )
    assert verified["response"]["status"] == "needs_new_password"
    call(
        "POST",
        f"/v1/client/sign_ins/{sign_in_id}/reset_password",
        json={"password": "short"},
        status=422,
        code="form_password_length_too_short",
    )
    reset = call("POST", f"/v1/client/sign_ins/{sign_in_id}/reset_password", json={"password": "brand-new-pass-1"})
    assert reset["response"]["status"] == "complete"
    # The one-step form: the code and the new password together, straight from create.
    again = call(
        "POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "strategy": "reset_password_email_code"}
    )
    one_step = call(
        "POST",
        f"/v1/client/sign_ins/{again['response']['id']}/attempt_first_factor",
        json={"strategy": "reset_password_email_code", "code": em.messages[-1].code, "password": "another-pass-2"},
    )
    assert one_step["response"]["status"] == "complete"


def scenario_ticket_sign_in_and_ticket_errors(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    org_id = make_org(sdk, make_user(sdk))
    make_user(sdk, "bob@example.com")
    _, ticket = org_invitation(sdk, org_id, "bob@example.com", redirect_url=f"{ORIGIN}/accept")
    signed_in = call("POST", "/v1/client/sign_ins", json={"strategy": "ticket", "ticket": ticket})
    assert signed_in["response"]["first_factor_verification"]["strategy"] == "ticket"
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"strategy": "ticket", "ticket": ticket},
        status=400,
        code="organization_invitation_already_accepted",
    )
    call(
        "POST",
        "/v1/client/sign_ins",
        json={"strategy": "ticket", "ticket": ticket[:-6] + "abcdef"},
        status=400,
        code="ticket_invalid_code",
    )
    _, expiring = org_invitation(sdk, org_id, "carol@example.com", expires_in_days=1)
    revoked = sdk.invitations.create(request={"email_address": "dan@example.com", "notify": False})
    sdk.invitations.revoke(invitation_id=revoked.id)
    em.advance_clock(DAY_S + 1)
    for_expired = {"strategy": "ticket", "ticket": expiring, "password": PASSWORD}
    call("POST", "/v1/client/sign_ups", json=for_expired, status=400, code="ticket_expired_code")
    for_revoked = {"strategy": "ticket", "ticket": ticket_of(revoked.url), "password": PASSWORD}
    call("POST", "/v1/client/sign_ups", json=for_revoked, status=400, code="revoked_invitation")
    org_revoked_id, org_revoked = org_invitation(sdk, org_id, "erin@example.com")
    sdk.organization_invitations.revoke(organization_id=org_id, invitation_id=org_revoked_id)
    for_org_revoked = {"strategy": "ticket", "ticket": org_revoked, "password": PASSWORD}
    call("POST", "/v1/client/sign_ups", json=for_org_revoked, status=400, code="organization_invitation_revoked_code")
    staff = sdk.invitations.create(request={"email_address": "fay@example.com", "notify": False})
    staff_ticket = ticket_of(staff.url)
    call("POST", "/v1/client/sign_ups", json={"strategy": "ticket", "ticket": staff_ticket, "password": PASSWORD})
    again = {"strategy": "ticket", "ticket": staff_ticket}
    call("POST", "/v1/client/sign_ins", json=again, status=400, code="invitation_already_accepted")


def scenario_ticket_sign_up_with_phone_verification(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    em.settings.phone_verify_at_sign_up = True
    em.settings.names_required = True
    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "new@example.com", redirect_url=f"{ORIGIN}/accept")
    call(
        "POST",
        "/v1/client/sign_ups",
        json={"email_address": "walk-in@example.com"},
        status=403,
        code="not_allowed_access",
    )
    started = call(
        "POST",
        "/v1/client/sign_ups",
        json={"strategy": "ticket", "ticket": ticket, "password": PASSWORD, "phone_number": "+15555550100"},
    )
    attempt = started["response"]
    assert attempt["status"] == "missing_requirements"
    assert attempt["missing_fields"] == ["first_name", "last_name"]
    assert attempt["unverified_fields"] == ["phone_number"]
    sign_up_id = attempt["id"]
    call("GET", f"/v1/client/sign_ups/{sign_up_id}")
    call("GET", "/v1/client/sign_ups/sua_missing", status=404, code="resource_not_found")
    call(
        "PATCH",
        f"/v1/client/sign_ups/{sign_up_id}",
        json={"password": "short"},
        status=422,
        code="form_password_length_too_short",
    )
    named = call("PATCH", f"/v1/client/sign_ups/{sign_up_id}", json={"first_name": "Nia", "last_name": "New"})
    assert named["response"]["missing_fields"] == []
    call(
        "POST",
        f"/v1/client/sign_ups/{sign_up_id}/prepare_verification",
        json={"strategy": "email_link"},
        status=422,
        code="verification_strategy_invalid",
    )
    call(
        "POST",
        f"/v1/client/sign_ups/{sign_up_id}/attempt_verification",
        json={"strategy": "phone_code", "code": "123456"},
        status=400,
        code="verification_not_sent",
    )
    call("POST", f"/v1/client/sign_ups/{sign_up_id}/prepare_verification", json={"strategy": "phone_code"})
    em.advance_clock(11 * 60)  # past the code's ten minutes
    expired = call("GET", f"/v1/client/sign_ups/{sign_up_id}")
    assert expired["response"]["verifications"]["phone_number"]["status"] == "expired"
    call(
        "POST",
        f"/v1/client/sign_ups/{sign_up_id}/attempt_verification",
        json={"strategy": "phone_code", "code": em.messages[-1].code},
        status=400,
        code="verification_expired",
    )
    prepared = call("POST", f"/v1/client/sign_ups/{sign_up_id}/prepare_verification", json={"strategy": "phone_code"})
    assert prepared["response"]["verifications"]["phone_number"]["next_action"] == "needs_attempt"
    code = em.messages[-1].code
    call(
        "POST",
        f"/v1/client/sign_ups/{sign_up_id}/attempt_verification",
        json={"strategy": "phone_code", "code": "000000" if code != "000000" else "111111"},
        status=422,
        code="form_code_incorrect",
    )
    done = call(
        "POST", f"/v1/client/sign_ups/{sign_up_id}/attempt_verification", json={"strategy": "phone_code", "code": code}
    )
    assert done["response"]["status"] == "complete"
    assert done["client"]["sessions"][0]["last_active_organization_id"] == org_id
    call("GET", f"/v1/client/sign_ups/{sign_up_id}")
    call(
        "PATCH",
        f"/v1/client/sign_ups/{sign_up_id}",
        json={"first_name": "Again"},
        status=400,
        code="sign_up_already_complete",
    )


def scenario_sessions_and_tokens(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    ann = make_user(sdk)
    make_user(sdk, "bob@example.com")
    org_id = make_org(sdk, ann)
    call("POST", "/v1/client/sessions/sess_missing/tokens", status=401, code="signed_out")
    first = call.browser.sign_in("ann@example.com")
    second = call.browser.sign_in("bob@example.com")
    call("GET", f"/v1/client/sessions/{first}")
    touched = call("POST", f"/v1/client/sessions/{first}/touch", json={"active_organization_id": org_id})
    assert touched["response"]["last_active_organization_id"] == org_id
    call(
        "POST",
        f"/v1/client/sessions/{second}/touch",
        json={"active_organization_id": org_id},
        status=403,
        code="not_a_member_in_organization",
    )
    token = call("POST", f"/v1/client/sessions/{first}/tokens", json={"organization_id": org_id})
    assert token["jwt"]
    call("POST", f"/v1/client/sessions/{first}/tokens", params={"debug": "skip_cache"})
    call("POST", "/v1/client/sessions/sess_missing/tokens", status=404, code="resource_not_found")
    call("GET", "/v1/client/sessions/sess_missing", status=404, code="resource_not_found")
    call("POST", "/v1/client/sessions/sess_missing/touch", status=404, code="resource_not_found")
    ended = call("POST", f"/v1/client/sessions/{first}/end")
    assert ended["response"]["status"] == "ended"
    call("POST", f"/v1/client/sessions/{first}/tokens", status=401, code="signed_out")
    call("POST", "/v1/client/sessions/sess_missing/end", status=404, code="resource_not_found")
    removed = call("POST", f"/v1/client/sessions/{second}/remove")
    assert removed["response"]["status"] == "removed"
    call("POST", "/v1/client/sessions/sess_missing/remove", status=404, code="resource_not_found")
    call.browser.sign_in("ann@example.com")
    signed_out = call("DELETE", "/v1/client/sessions")
    assert signed_out["response"]["sessions"] == []


def scenario_the_user_and_phone_numbers(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    call("GET", "/v1/me", status=401, code="signed_out")
    make_user(sdk)
    session_id = call.browser.sign_in("ann@example.com")
    query = f"?_clerk_session_id={session_id}"
    call("GET", f"/v1/me{query}")
    call("PATCH", f"/v1/me{query}", json={"first_name": "Annie", "unsafe_metadata": {"theme": "dark"}})
    call(
        "PATCH",
        f"/v1/me{query}",
        json={"primary_phone_number_id": "idn_missing"},
        status=404,
        code="resource_not_found",
    )
    call(
        "POST",
        f"/v1/me/change_password{query}",
        json={"current_password": "wrong", "new_password": "brand-new-pass-1"},
        status=422,
        code="form_password_incorrect",
    )
    call(
        "POST",
        f"/v1/me/change_password{query}",
        json={"current_password": PASSWORD, "new_password": "brand-new-pass-1", "sign_out_of_other_sessions": True},
    )
    assert call("GET", f"/v1/me/phone_numbers{query}") == []
    call("POST", f"/v1/me/phone_numbers{query}", json={"phone_number": "555"}, status=422)
    phone = call("POST", f"/v1/me/phone_numbers{query}", json={"phone_number": "+15555550123"})["response"]
    call(
        "POST",
        f"/v1/me/phone_numbers{query}",
        json={"phone_number": "+15555550123"},
        status=422,
        code="form_identifier_exists",
    )
    call(
        "PATCH",
        f"/v1/me{query}",
        json={"primary_phone_number_id": phone["id"]},
        status=422,
        code="form_param_value_invalid",
    )
    call("GET", f"/v1/me/phone_numbers/{phone['id']}{query}")
    call("GET", f"/v1/me/phone_numbers/idn_missing{query}", status=404, code="resource_not_found")
    prepared = call("POST", f"/v1/me/phone_numbers/{phone['id']}/prepare_verification{query}", json={})
    assert prepared["response"]["verification"]["status"] == "unverified"
    call(
        "POST",
        f"/v1/me/phone_numbers/{phone['id']}/prepare_verification{query}",
        json={"strategy": "email_code"},
        status=400,
        code="verification_strategy_invalid",
    )
    code = em.messages[-1].code
    call(
        "POST",
        f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{query}",
        json={"code": "000000" if code != "000000" else "111111"},
        status=422,
        code="form_code_incorrect",
    )
    verified = call("POST", f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{query}", json={"code": code})
    assert verified["response"]["verification"]["status"] == "verified"
    call(
        "POST",
        f"/v1/me/phone_numbers/{phone['id']}/attempt_verification{query}",
        json={"code": code},
        status=400,
        code="verification_already_verified",
    )
    call("PATCH", f"/v1/me{query}", json={"primary_phone_number_id": phone["id"]})
    assert len(call("GET", f"/v1/me/phone_numbers{query}")) == 1
    deleted = call("DELETE", f"/v1/me/phone_numbers/{phone['id']}{query}")
    assert deleted["response"]["deleted"] is True
    call("DELETE", f"/v1/me/phone_numbers/{phone['id']}{query}", status=404, code="resource_not_found")


def scenario_links_keys_and_dev_browser(call: Recorder, sdk: Clerk, em: Emulator) -> None:
    keys = call("GET", "/.well-known/jwks.json")
    assert keys["keys"][0]["kty"] == "RSA"
    org_id = make_org(sdk, make_user(sdk))
    _, ticket = org_invitation(sdk, org_id, "new@example.com", redirect_url=f"{ORIGIN}/accept")
    link = call.browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket})
    _check_ticket_link(call, link, 303)
    assert link.headers["Location"].startswith(f"{ORIGIN}/accept?")
    _, no_redirect = org_invitation(sdk, org_id, "other@example.com")
    _check_ticket_link(call, call.browser.call("GET", "/v1/tickets/accept", params={"ticket": no_redirect}), 200)
    # ALLOWANCES["ticket_page_for_a_foreign_ticket"]
    foreign = call.browser.call("GET", "/v1/tickets/accept", params={"ticket": ticket[:-6] + "abcdef"})
    _check_ticket_link(call, foreign, 400)
    assert "ticket_invalid_code" in foreign.text
    # ALLOWANCES["dev_browser_body"]
    created = call.browser.http.post("/v1/dev_browser")
    assert created.status_code == 200
    assert "200" in FAPI.declared_statuses("/v1/dev_browser", "post")
    assert isinstance(created.json()["id"], str)
    call.covered.add(("POST", "/v1/dev_browser"))


def _check_ticket_link(call: Recorder, response: httpx.Response, status: int) -> None:
    """``/v1/tickets/accept`` answers a redirect or a page (the spec gives neither a JSON body)."""
    assert response.status_code == status, response.text
    assert str(status) in FAPI.declared_statuses("/v1/tickets/accept", "get")
    if status in (302, 303):
        assert response.headers["Location"]
    else:
        assert response.headers["Content-Type"].startswith("text/html")
    call.covered.add(("GET", "/v1/tickets/accept"))


SCENARIOS = [
    scenario_environment_and_client,
    scenario_password_sign_in,
    scenario_password_reset,
    scenario_ticket_sign_in_and_ticket_errors,
    scenario_ticket_sign_up_with_phone_verification,
    scenario_sessions_and_tokens,
    scenario_the_user_and_phone_numbers,
    scenario_links_keys_and_dev_browser,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__.removeprefix("scenario_"))
def test_scenario(scenario: Any, call: Recorder, sdk: Clerk, clerk_emulator: Emulator) -> None:
    scenario(call, sdk, clerk_emulator)


def test_every_frontend_route_is_validated(
    call: Recorder, sdk: Clerk, clerk_emulator: Emulator, clerk_emulator_server: Any
) -> None:
    for scenario in SCENARIOS:
        clerk_emulator.reset()
        clerk_emulator.allowed_origins.append(ORIGIN)
        call.browser = Browser(clerk_emulator_server.url)
        scenario(call, sdk, clerk_emulator)
    routes = {(method, _shape(rule.rule)) for rule in fapi.RULES for method in (rule.methods or ()) if method != "HEAD"}
    missing = routes - call.covered
    assert not missing, f"routes never validated against the spec: {sorted(missing)}"


def test_every_route_is_an_operation_of_the_spec() -> None:
    """A route the spec does not know would be the emulator's own invention."""
    for rule in fapi.RULES:
        for method in rule.methods or ():
            if method != "HEAD":
                FAPI.operation_for(method, re.sub(r"<[^>]+>", "x_1", rule.rule))


def test_an_oversized_body_is_refused_in_clerks_shape(browser: Browser) -> None:
    # ALLOWANCES["request_too_large_413"]
    response = browser.call("POST", "/v1/client/sign_ins", json={"identifier": "x" * 1_100_000})
    FAPI.assert_clerk_error(response, 413, "request_body_invalid")
    assert "413" not in FAPI.declared_statuses("/v1/client/sign_ins", "post")


def test_the_docs_list_every_route() -> None:
    docs = (FAPI.path.parents[3] / "docs" / "clerk-emulator.md").read_text()
    for rule in fapi.RULES:
        path = re.sub(r"<[^>]+>", "{id}", rule.rule)
        for method in rule.methods or ():
            if method != "HEAD":
                assert f"`{method} {path}`" in docs, f"docs/clerk-emulator.md does not list {method} {path}"


def test_every_allowance_is_documented() -> None:
    docs = (FAPI.path.parents[3] / "docs" / "clerk-emulator.md").read_text()
    for name in ALLOWANCES:
        assert f"`{name}`" in docs, name


def test_the_validator_is_strict(browser: Browser, sdk: Clerk) -> None:
    """The checks above would catch a wrong emulator: an extra key, a missing key, a wrong type, a bad null."""
    make_user(sdk)
    body = browser.ok("POST", "/v1/client/sign_ins", json={"identifier": "ann@example.com", "password": PASSWORD})
    template = "/v1/client/sign_ins"
    assert not FAPI.violations(template, "post", 200, body)
    attempt = body["response"]
    session = body["client"]["sessions"][0]
    broken: list[tuple[str, dict[str, Any]]] = [
        ("additional", {**body, "response": {**attempt, "nickname": "x"}}),
        ("required", {**body, "response": {k: v for k, v in attempt.items() if k != "status"}}),
        ("type", {**body, "response": {**attempt, "abandon_at": "soon"}}),
        ("enum", {**body, "response": {**attempt, "status": "halfway"}}),
        ("client", {**body, "client": {**body["client"], "sessions": [{**session, "status": "sleeping"}]}}),
        ("envelope", {"response": attempt}),
    ]
    for label, data in broken:
        assert FAPI.violations(template, "post", 200, data), label
    assert FAPI.violations(template, "post", 422, {"errors": [{"code": "x", "message": "y"}]})
    # The spec leaves the client, its sessions and the user open to extra keys; the closed check does not.
    assert not FAPI.undeclared_keys(template, "post", 200, body)
    invented: list[tuple[str, dict[str, Any]]] = [
        ("client", {**body, "client": {**body["client"], "nickname": "x"}}),
        ("session", {**body, "client": {**body["client"], "sessions": [{**session, "nickname": "x"}]}}),
        (
            "user",
            {**body, "client": {**body["client"], "sessions": [{**session, "user": {**session["user"], "x": 1}}]}},
        ),
    ]
    for label, data in invented:
        assert not FAPI.violations(template, "post", 200, data), label  # Clerk's schema lets these through
        assert FAPI.undeclared_keys(template, "post", 200, data), label


def _concrete(rule_path: str) -> str:
    return re.sub(r"<[^>]+>", "x_missing", rule_path)


def _routes() -> list[Any]:
    return [
        pytest.param(method, rule.rule, id=f"{method} {rule.rule}")
        for rule in fapi.RULES
        for method in sorted(rule.methods or ())
        if method != "HEAD"
    ]


@pytest.mark.parametrize(("method", "rule_path"), _routes())
def test_a_browser_without_a_client_gets_a_declared_answer(
    call: Recorder, clerk_emulator: Emulator, method: str, rule_path: str
) -> None:
    """Every route, called by a fresh development browser with no client yet and unknown ids, answers something
    its operation declares: a resource, or ``ClerkErrors`` with a declared status."""
    response = call.browser.call(method, _concrete(rule_path), json={})
    template = FAPI.operation_for(method, _concrete(rule_path))
    if rule_path == "/v1/tickets/accept":
        _check_ticket_link(call, response, 400)  # ALLOWANCES["ticket_page_for_a_foreign_ticket"]
    elif rule_path == "/v1/dev_browser":
        assert response.status_code == 200  # ALLOWANCES["dev_browser_body"]
    else:
        assert str(response.status_code) in FAPI.declared_statuses(template, method), response.text
        call.check(method, _concrete(rule_path), response)


@pytest.mark.parametrize(("method", "rule_path"), _routes())
def test_a_browser_without_a_dev_browser_is_refused_in_clerks_shape(
    clerk_emulator: Emulator, clerk_emulator_server: Any, app_origins: list[str], method: str, rule_path: str
) -> None:
    browser = Browser(clerk_emulator_server.url, dev_browser=False)
    response = browser.call(method, _concrete(rule_path), json={})
    browser.http.close()
    if rule_path in ("/v1/dev_browser", "/v1/tickets/accept", "/.well-known/jwks.json"):
        assert response.status_code != 401  # these need no development browser
        return
    FAPI.assert_clerk_error(response, 401, "dev_browser_unauthenticated")
    template = FAPI.operation_for(method, _concrete(rule_path))
    if "401" in FAPI.declared_statuses(template, method):
        FAPI.assert_conforms(template, method, response)
    else:
        assert "dev_browser_unauthenticated_everywhere" in ALLOWANCES
