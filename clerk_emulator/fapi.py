"""Browser-facing endpoints: the emulator's stand-in for Clerk's Frontend API (FAPI).

Pages load ``static/clerk.browser.js`` from ``/npm/@clerk/clerk-js@<version>/dist/clerk.browser.js`` and it talks to
these endpoints. As on FAPI, bodies are snake_case JSON (form-encoded bodies are accepted too), and resources come
wrapped as ``{"response": <resource>, "client": <client>}`` so the browser can refresh its view of the client after
every call. The browser's client is identified by a token carried in the ``Authorization`` request header and handed
out in an ``Authorization`` response header, as Clerk development instances do for clients without cookies.

Every endpoint answers CORS for any ``Origin``: the app's pages live on another origin than the emulator.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clerk_emulator import auth, records, sessions, shapes
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.invitations import resolve_ticket
from clerk_emulator.organizations import find_membership, get_organization
from clerk_emulator.params import Body
from clerk_emulator.state import Emulator

Handler = Callable[..., Response]
ROUTES: dict[str, Handler] = {}
RULES: list[Rule] = []

MAX_BODY_BYTES = 1_000_000
ATTEMPT_LIFETIME_MS = 86_400_000


def route(path: str, *methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        endpoint = f"fapi.{handler.__name__}"
        ROUTES[endpoint] = handler
        RULES.append(Rule(path, endpoint=endpoint, methods=list(methods)))
        return handler

    return register


# -- CORS ------------------------------------------------------------------------------------------------------


def add_cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = "Authorization"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def preflight(request: Request) -> Response:
    return add_cors(request, Response(status=204))


# -- request and response helpers ------------------------------------------------------------------------------


def _json(request: Request, data: Any, *, status: int = 200, client: records.Client | None = None) -> Response:
    response = Response(json.dumps(data), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    if client is not None:
        response.headers["Authorization"] = client.token
    return add_cors(request, response)


def _body(request: Request) -> dict[str, Any]:
    """The request body as a dict: JSON (what our script sends) or form-encoded (what ClerkJS sends)."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise ClerkAPIError(413, "request_body_invalid", "Request body is too large.")
    if request.mimetype == "application/x-www-form-urlencoded":
        return dict(request.form.items())
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ClerkAPIError(400, "request_body_invalid", "Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ClerkAPIError(400, "request_body_invalid", "Request body must be a JSON object.")
    return data


def signed_out(long_message: str) -> ClerkAPIError:
    return ClerkAPIError(401, "signed_out", "Signed out", long_message)


def _client_token(request: Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def _find_client(em: Emulator, request: Request) -> records.Client | None:
    token = _client_token(request)
    if not token:
        return None
    return next((client for client in em.clients.values() if client.token == token), None)


def _require_client(em: Emulator, request: Request) -> records.Client:
    client = _find_client(em, request)
    if client is None:
        raise signed_out("This browser has no Clerk client yet (or it was reset); load GET /v1/client first.")
    return client


def _client_session(em: Emulator, client: records.Client, session_id: str) -> records.Session:
    """A session of this client (another client's session is as good as unknown)."""
    if session_id not in client.session_ids:
        raise not_found("session")
    return sessions.get_session(em, session_id)


def _me_session(em: Emulator, request: Request, client: records.Client) -> records.Session:
    """The session named by ``_clerk_session_id`` (FAPI's convention), else the client's last active one."""
    session_id = request.args.get("_clerk_session_id") or client.last_active_session_id
    if not session_id:
        raise signed_out("There is no active session on this client.")
    return sessions.active_session(em, _client_session(em, client, session_id).id)


def _session_user(em: Emulator, session: records.Session) -> records.User:
    user = em.users.get(session.user_id)
    if user is None:
        raise signed_out("The user of this session no longer exists.")
    return user


# -- resources -------------------------------------------------------------------------------------------------


def _is_live(em: Emulator, session: records.Session) -> bool:
    user = em.users.get(session.user_id)
    return session.status == "active" and user is not None and not user.banned


def session_json(em: Emulator, session: records.Session) -> dict[str, Any]:
    user = em.users.get(session.user_id)
    return {
        "object": "session",
        "id": session.id,
        "status": session.status,
        "expire_at": session.expire_at,
        "abandon_at": session.abandon_at,
        "last_active_at": session.last_active_at,
        "last_active_organization_id": session.last_active_organization_id,
        "last_active_token": None,
        "actor": None,
        "tasks": None,
        "factor_verification_age": [0, -1],
        "user": auth.client_user_json(em, user) if user is not None else None,
        "public_user_data": shapes.public_user_data(em, session.user_id),
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    }


def client_json(em: Emulator, client: records.Client) -> dict[str, Any]:
    """The FAPI client: its live sessions (ended ones drop out, as on Clerk) and the last active one."""
    live = [s for s in (sessions.get_session(em, sid) for sid in client.session_ids) if _is_live(em, s)]
    if client.last_active_session_id not in {s.id for s in live}:
        client.last_active_session_id = live[-1].id if live else None
    return {
        "object": "client",
        "id": client.id,
        "sessions": [session_json(em, s) for s in live],
        "sign_in": None,
        "sign_up": None,
        "last_active_session_id": client.last_active_session_id,
        "cookie_expires_at": None,
        "created_at": client.created_at,
        "updated_at": client.created_at,
    }


def _envelope(em: Emulator, resource: Any, client: records.Client) -> dict[str, Any]:
    return {"response": resource, "client": client_json(em, client)}


def sign_in_json(em: Emulator, session: records.Session, *, strategy: str, identifier: str | None) -> dict[str, Any]:
    user = _session_user(em, session)
    return {
        "object": "sign_in_attempt",
        "id": em.new_id("sia"),
        "status": "complete",
        "supported_identifiers": ["email_address"],
        "supported_first_factors": [],
        "supported_second_factors": None,
        "first_factor_verification": {
            "object": "verification",
            "status": "verified",
            "strategy": strategy,
            "attempts": 1,
            "expire_at": None,
        },
        "second_factor_verification": None,
        "identifier": identifier,
        "user_data": {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "image_url": shapes.image_url(user.id),
            "has_image": False,
        },
        "created_session_id": session.id,
        "abandon_at": em.now_ms() + ATTEMPT_LIFETIME_MS,
    }


def sign_up_json(em: Emulator, session: records.Session) -> dict[str, Any]:
    user = _session_user(em, session)
    phone = user.primary_phone
    return {
        "object": "sign_up_attempt",
        "id": em.new_id("sua"),
        "status": "complete",
        "required_fields": ["email_address", "password"],
        "optional_fields": ["first_name", "last_name", "phone_number"],
        "missing_fields": [],
        "unverified_fields": [],
        "verifications": {
            "email_address": {
                "object": "verification",
                "status": "verified",
                "strategy": "ticket",
                "attempts": None,
                "expire_at": None,
            },
            "phone_number": None,
            "external_account": None,
            "web3_wallet": None,
        },
        "username": user.username,
        "email_address": user.primary_email,
        "phone_number": phone.phone_number if phone else None,
        "web3_wallet": None,
        "password_enabled": user.password is not None,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "unsafe_metadata": dict(user.unsafe_metadata),
        "public_metadata": {},
        "custom_action": False,
        "external_id": None,
        "created_session_id": session.id,
        "created_user_id": user.id,
        "abandon_at": em.now_ms() + ATTEMPT_LIFETIME_MS,
        "legal_accepted_at": None,
    }


def environment_json(em: Emulator) -> dict[str, Any]:
    """A minimal FAPI environment: invite-only sign-up with email + password, optional phone, organizations on."""

    def attribute(*, required: bool, first_factor: bool = False, verifications: list[str] | None = None) -> Any:
        return {
            "enabled": True,
            "required": required,
            "used_for_first_factor": first_factor,
            "first_factors": ["email_code"] if first_factor else [],
            "used_for_second_factor": False,
            "second_factors": [],
            "verifications": verifications or [],
            "verify_at_sign_up": bool(verifications),
        }

    return {
        "object": "environment",
        "id": f"env_{em.instance_id.removeprefix('ins_')}",
        "auth_config": {"object": "auth_config", "single_session_mode": False, "claimed_at": None},
        "display_config": {
            "object": "display_config",
            "instance_environment_type": "development",
            "application_name": "Clerk emulator",
            "branded": False,
            "home_url": em.base_url,
            "sign_in_url": f"{em.base_url}/sign-in",
            "sign_up_url": f"{em.base_url}/sign-up",
            "logo_image_url": None,
            "favicon_image_url": None,
        },
        "user_settings": {
            "attributes": {
                "email_address": attribute(required=True, first_factor=True, verifications=["email_code"]),
                "phone_number": attribute(required=False, verifications=["phone_code"]),
                "password": attribute(required=True),
                "first_name": attribute(required=False),
                "last_name": attribute(required=False),
            },
            "sign_in": {"second_factor": {"required": False}},
            "sign_up": {"mode": "restricted", "captcha_enabled": False, "progressive": True},
            "password_settings": {"min_length": 8, "max_length": 72},
        },
        "organization_settings": {
            "enabled": True,
            "max_allowed_memberships": 0,
            "force_organization_selection": False,
            "domains": {"enabled": False},
        },
        "maintenance_mode": False,
    }


# -- environment and client ------------------------------------------------------------------------------------


@route("/v1/environment", "GET")
def environment(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(request, environment_json(em))


@route("/v1/client", "GET", "PUT", "POST")
def get_client(em: Emulator, request: Request) -> Response:
    """The caller's client; a browser without a (known) client token gets a new client and its token."""
    with em.lock:
        client = _find_client(em, request) or sessions.new_client(em)
        data = client_json(em, client)
        return _json(request, {"response": data, "client": data}, client=client)


# -- sign-in and sign-up ---------------------------------------------------------------------------------------


@route("/v1/client/sign_ins", "POST")
def create_sign_in(em: Emulator, request: Request) -> Response:
    raw = _body(request)
    with em.lock:
        client = _find_client(em, request) or sessions.new_client(em)
        session = auth.sign_in(em, client, raw)
        strategy = "ticket" if raw.get("strategy") == "ticket" or raw.get("ticket") else "password"
        identifier = raw.get("identifier") if strategy == "password" else _session_user(em, session).primary_email
        attempt = sign_in_json(em, session, strategy=strategy, identifier=identifier)
        return _json(request, _envelope(em, attempt, client), client=client)


@route("/v1/client/sign_ups", "POST")
def create_sign_up(em: Emulator, request: Request) -> Response:
    raw = _body(request)
    with em.lock:
        client = _find_client(em, request) or sessions.new_client(em)
        session = auth.sign_up(em, client, raw)
        return _json(request, _envelope(em, sign_up_json(em, session), client), client=client)


# -- sessions and tokens ---------------------------------------------------------------------------------------


@route("/v1/client/sessions/<session_id>/touch", "POST")
def touch_session(em: Emulator, request: Request, session_id: str) -> Response:
    """Make the session the client's active one; ``active_organization_id`` (id or slug, ``""`` for none) too."""
    raw = _body(request)
    with em.lock:
        client = _require_client(em, request)
        session = sessions.active_session(em, _client_session(em, client, session_id).id)
        body = Body(raw, allowed={"active_organization_id", "intent"})
        if "active_organization_id" in body.data:
            reference = body.string("active_organization_id")
            if not reference:
                session.last_active_organization_id = None
            else:
                org = get_organization(em, reference)
                if find_membership(em, org.id, session.user_id) is None:
                    raise ClerkAPIError(
                        403,
                        "not_a_member_in_organization",
                        "not a member",
                        f"User {session.user_id} is not a member of organization {org.id}.",
                        meta={"param_name": "active_organization_id"},
                    )
                session.last_active_organization_id = org.id
        now = em.now_ms()
        session.last_active_at = now
        session.updated_at = now
        client.last_active_session_id = session.id
        return _json(request, _envelope(em, session_json(em, session), client), client=client)


@route("/v1/client/sessions/<session_id>/tokens", "POST")
def create_session_token(em: Emulator, request: Request, session_id: str) -> Response:
    """A fresh session token; ``azp`` is the page's origin. ``organization_id`` picks another org for this token."""
    raw = _body(request)
    with em.lock:
        client = _require_client(em, request)
        session = sessions.active_session(em, _client_session(em, client, session_id).id)
        body = Body(raw, allowed={"organization_id"})
        target = session
        if "organization_id" in body.data:
            reference = body.string("organization_id")
            org_id = None
            if reference:
                org = get_organization(em, reference)
                if find_membership(em, org.id, session.user_id) is None:
                    raise ClerkAPIError(
                        403,
                        "not_a_member_in_organization",
                        "not a member",
                        f"User {session.user_id} is not a member of organization {org.id}.",
                        meta={"param_name": "organization_id"},
                    )
                org_id = org.id
            target = dataclasses.replace(session, last_active_organization_id=org_id)
        jwt = sessions.mint_token(em, target, azp=request.headers.get("Origin") or None)
        session.last_active_at = target.last_active_at
        return _json(request, {"object": "token", "jwt": jwt}, client=client)


@route("/v1/client/sessions/<session_id>/end", "POST")
def end_session(em: Emulator, request: Request, session_id: str) -> Response:
    with em.lock:
        client = _require_client(em, request)
        session = sessions.end_session(em, _client_session(em, client, session_id))
        return _json(request, _envelope(em, session_json(em, session), client), client=client)


@route("/v1/client/sessions/<session_id>/remove", "POST")
def remove_session(em: Emulator, request: Request, session_id: str) -> Response:
    with em.lock:
        client = _require_client(em, request)
        session = sessions.end_session(em, _client_session(em, client, session_id), "removed")
        return _json(request, _envelope(em, session_json(em, session), client), client=client)


@route("/v1/client/sessions", "DELETE")
def end_all_sessions(em: Emulator, request: Request) -> Response:
    """Sign out of every session of this client."""
    with em.lock:
        client = _require_client(em, request)
        for session_id in client.session_ids:
            sessions.end_session(em, sessions.get_session(em, session_id))
        client.last_active_session_id = None
        data = client_json(em, client)
        return _json(request, {"response": data, "client": data}, client=client)


# -- the signed-in user ----------------------------------------------------------------------------------------


@route("/v1/me", "GET")
def get_me(em: Emulator, request: Request) -> Response:
    with em.lock:
        client = _require_client(em, request)
        user = _session_user(em, _me_session(em, request, client))
        return _json(request, _envelope(em, auth.client_user_json(em, user), client), client=client)


@route("/v1/me/phone_numbers", "POST")
def create_phone_number(em: Emulator, request: Request) -> Response:
    raw = _body(request)
    with em.lock:
        client = _require_client(em, request)
        user = _session_user(em, _me_session(em, request, client))
        phone = auth.create_phone_number(em, user, raw)
        return _json(request, _envelope(em, shapes.phone_number(phone), client), client=client)


@route("/v1/me/phone_numbers/<phone_id>/prepare_verification", "POST")
def prepare_phone_verification(em: Emulator, request: Request, phone_id: str) -> Response:
    raw = _body(request)
    with em.lock:
        client = _require_client(em, request)
        user = _session_user(em, _me_session(em, request, client))
        phone = auth.prepare_phone_verification(em, user, auth.find_phone(user, phone_id), raw)
        return _json(request, _envelope(em, shapes.phone_number(phone), client), client=client)


@route("/v1/me/phone_numbers/<phone_id>/attempt_verification", "POST")
def attempt_phone_verification(em: Emulator, request: Request, phone_id: str) -> Response:
    raw = _body(request)
    with em.lock:
        client = _require_client(em, request)
        user = _session_user(em, _me_session(em, request, client))
        phone = auth.attempt_phone_verification(em, user, auth.find_phone(user, phone_id), raw)
        return _json(request, _envelope(em, shapes.phone_number(phone), client), client=client)


# -- invitation links ------------------------------------------------------------------------------------------

TICKET_PROBLEMS = {
    "ticket_expired_code": ("This invitation has expired", "Ask the person who invited you to send a new one."),
    "revoked_invitation": ("This invitation was withdrawn", "It was revoked, so it can no longer be used."),
    "ticket_invalid_code": (
        "This invitation link can't be used",
        "It is not valid, or the invitation was already accepted. If you already joined, sign in instead.",
    ),
}


def with_ticket(redirect_url: str, ticket: str, status: str) -> str:
    """``redirect_url`` plus ``__clerk_ticket`` and ``__clerk_status``, keeping its own query and fragment."""
    parts = urlsplit(redirect_url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("__clerk_ticket", "__clerk_status")
    ]
    query += [("__clerk_ticket", ticket), ("__clerk_status", status)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@route("/v1/tickets/accept", "GET")
def accept_ticket(em: Emulator, request: Request) -> Response:
    """Follow an invitation link: redirect to the invitation's ``redirect_url``, or explain what happened."""
    ticket = request.args.get("ticket", "").strip()
    if not ticket:
        return _ticket_page(
            400,
            "This invitation link is incomplete",
            "The link has no invitation ticket. Open the link from the invitation email again, in full.",
            code="ticket_invalid_code",
        )
    with em.lock:
        try:
            status, redirect_url = auth.ticket_status(em, ticket)
        except ClerkAPIError as error:
            title, hint = TICKET_PROBLEMS.get(error.code, TICKET_PROBLEMS["ticket_invalid_code"])
            return _ticket_page(400, title, hint, code=error.code)
        invitation = resolve_ticket(em, ticket)
        organization = (
            em.organizations.get(invitation.organization_id)
            if isinstance(invitation, records.OrganizationInvitation)
            else None
        )
    if redirect_url and _is_web_url(redirect_url):
        response = Response(status=303, headers={"Location": with_ticket(redirect_url, ticket, status)})
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    target = f" to join <strong>{html.escape(organization.name)}</strong>" if organization else ""
    action = "create your account" if status == "sign_up" else "sign in"
    return _ticket_page(
        200,
        "Your invitation is valid",
        f"This invitation for <strong>{html.escape(invitation.email_address)}</strong>{target} is valid, "
        "but it has no <code>redirect_url</code>, so there is no page to send you to. Real Clerk would open its "
        f"hosted Account Portal for you to {action}; the emulator has none. Create the invitation with a "
        "<code>redirect_url</code> pointing at your app's accept page.",
        code=None,
        trusted_html=True,
    )


def _ticket_page(status: int, title: str, message: str, *, code: str | None, trusted_html: bool = False) -> Response:
    body = message if trusted_html else html.escape(message)
    tone = "ok" if status < 400 else "problem"
    icon = "&#10003;" if status < 400 else "!"
    detail = f'<p class="detail">Clerk error code: <code>{html.escape(code)}</code></p>' if code else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} · Clerk emulator</title>
<style>
body{{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f6f7f9;
font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}}
.card{{background:#fff;border:1px solid #d8dee4;border-radius:14px;box-shadow:0 6px 24px rgba(31,35,40,.07);
max-width:460px;margin:1.5rem;padding:2rem 2.1rem}}
.icon{{width:44px;height:44px;border-radius:50%;display:flex;align-items:center;justify-content:center;
font-weight:700;font-size:1.35rem;margin-bottom:1rem}}
.problem .icon{{background:#ffebe9;color:#cf222e}} .ok .icon{{background:#dafbe1;color:#116329}}
h1{{font-size:1.3rem;margin:0 0 .5rem}} p{{margin:.4rem 0}} .detail{{color:#59636e;font-size:.85rem;margin-top:1rem}}
code{{background:#eef1f4;border-radius:4px;padding:0 .3rem;font-size:.85em}}
footer{{margin-top:1.5rem;padding-top:.9rem;border-top:1px solid #eef1f4;color:#59636e;font-size:.8rem}}
</style></head>
<body><main class="card {tone}" role="main"><div class="icon" aria-hidden="true">{icon}</div>
<h1>{html.escape(title)}</h1><p>{body}</p>{detail}
<footer>Clerk emulator &middot; invitation link</footer></main></body></html>"""
    response = Response(page, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- keys and the browser script -------------------------------------------------------------------------------


@route("/.well-known/jwks.json", "GET")
def jwks(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(request, em.keys.jwks())
