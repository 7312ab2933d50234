"""``/__emulator/``: reset, state, requests, faults, caps, clock, webhooks, keys and the mailbox (JSON and HTML).

These endpoints are the emulator's own (Clerk has nothing like them) and take no key: the emulator is a local
development and test tool. Bad input answers 4xx with Clerk's error body, never 500.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clerk_emulator import clerk_js, records, shapes
from clerk_emulator.errors import ClerkAPIError, param_value_invalid, request_body_invalid
from clerk_emulator.params import Body
from clerk_emulator.state import HOURLY_CAPS, Emulator, Fault, InstanceSettings
from clerk_emulator.webhooks import check_webhook_secret, check_webhook_url

Handler = Callable[..., Response]
ROUTES: dict[str, Handler] = {}
RULES: list[Rule] = []
FAULT_METHODS = {"*", "GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"}
MAX_CONTROL_BODY_BYTES = 100_000


def route(path: str, *methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        endpoint = f"control.{handler.__name__}"
        ROUTES[endpoint] = handler
        RULES.append(Rule(f"/__emulator{path}", endpoint=endpoint, methods=list(methods)))
        return handler

    return register


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, indent=2), status=status, content_type="application/json")


def _html(title: str, content: str) -> Response:
    return Response(_page(title, content), content_type="text/html; charset=utf-8")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _body(request: Request, allowed: set[str]) -> Body:
    """A JSON object body (empty reads as ``{}``) with only ``allowed`` keys."""
    if request.content_length and request.content_length > MAX_CONTROL_BODY_BYTES:
        raise ClerkAPIError(413, "request_body_invalid", "Request body invalid", "The request body is too large.")
    raw = request.get_data()
    try:
        data = json.loads(raw, parse_constant=_refuse_constant) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise request_body_invalid("The request body is not valid JSON.") from None
    return Body(data, allowed=allowed)


def _time(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- keys, reset, state, requests --------------------------------------------------------------------------


def keys_json(em: Emulator) -> dict[str, Any]:
    return {
        "backend_api_url": em.backend_api_url,
        "frontend_api_url": em.frontend_api_url,
        "secret_key": em.secret_key,
        "publishable_key": em.publishable_key,
        "proxy_url": em.proxy_url,
        "instance_type": "production" if em.production else "development",
        "clerk_js_version": clerk_js.version(),
        "allowed_origins": list(em.allowed_origins),
        "jwks_url": f"{em.backend_api_url}/jwks",
        "jwt_key": em.keys.public_pem,
        "instance_id": em.instance_id,
    }


@route("/keys", "GET")
def keys(em: Emulator, request: Request) -> Response:
    """Everything an app needs to point at this emulator, including the PEM public key (``CLERK_JWT_KEY``)."""
    return _json(keys_json(em))


@route("/reset", "POST")
def reset(em: Emulator, request: Request) -> Response:
    """Forget every user, organization, invitation, message, fault and queued webhook (keys and webhook target stay)."""
    em.reset()
    return _json({"reset": True})


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "method": fault.method,
        "path": fault.path,
        "remaining": fault.remaining,
        "status": fault.status,
        "delay_ms": int(fault.delay_s * 1000),
        "retry_after": fault.retry_after,
        "code": fault.code,
        "message": fault.message,
        "hits": fault.hits,
    }


def _caps_json(em: Emulator) -> dict[str, Any]:
    now = em.now_ms()
    return {
        "enabled": em.caps_enabled,
        "limits": {key: window.limit for key, window in em.caps.items()},
        "used_last_hour": {key: sum(1 for hit in w.hits if hit > now - 3_600_000) for key, w in em.caps.items()},
    }


def _webhooks_json(em: Emulator) -> dict[str, Any]:
    dispatcher = em.dispatcher
    return {
        "url": em.webhook_url,
        "configured": bool(em.webhook_url and em.webhook_secret),
        "retry_delays_s": list(dispatcher.retry_delays_s) if dispatcher else [],
        "deliveries": dispatcher.summaries() if dispatcher else [],
    }


@route("/state", "GET")
def state(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(
            {
                "instance_id": em.instance_id,
                "users": [shapes.user(u) for u in em.users.values()],
                "organizations": [shapes.organization(em, o, include_counts=True) for o in em.organizations.values()],
                "memberships": [shapes.membership(em, m) for m in em.memberships.values()],
                "organization_invitations": [
                    shapes.organization_invitation(em, i) for i in em.organization_invitations.values()
                ],
                "invitations": [shapes.invitation(em, i) for i in em.invitations.values()],
                "sessions": [shapes.session(s) for s in em.sessions.values()],
                "templates": [shapes.template(em, t) for t in em.templates.values()],
                "messages": _messages(em, None),
                "events": [{"type": e["type"], "timestamp": e["timestamp"]} for e in em.events],
                "faults": [_fault_json(f) for f in em.faults],
                "caps": _caps_json(em),
                "clock_offset_ms": em.clock_offset_ms,
                "now": em.now_ms(),
            }
        )


@route("/requests", "GET")
def requests_log(em: Emulator, request: Request) -> Response:
    """Every request the emulator answered, oldest first (``?limit=N`` for the last N)."""
    log = list(em.request_log)
    raw_limit = request.args.get("limit")
    if raw_limit:
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise param_value_invalid("limit", "limit must be a positive integer.")
        log = log[-int(raw_limit) :]
    return _json([{"method": m, "path": p, "status": s} for m, p, s in log])


# -- faults ------------------------------------------------------------------------------------------------


@route("/faults", "GET")
def list_faults(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json([_fault_json(f) for f in em.faults if f.remaining > 0])


@route("/faults", "POST")
def add_fault(em: Emulator, request: Request) -> Response:
    """``{"method", "path", "count", "status"?, "delay_ms"?, "retry_after"?, "code"?, "message"?}``.

    ``path`` is exact (``/v1/users``) or a prefix ending in ``*`` (``/v1/organizations/*``); ``*`` alone or no
    path matches every Clerk route (never ``/__emulator/``). The next ``count`` matching calls wait ``delay_ms``
    and, with a ``status``, answer Clerk's error body with it (429 adds ``Retry-After``, default 60).
    """
    body = _body(request, {"method", "path", "count", "status", "delay_ms", "retry_after", "code", "message"})
    method = (body.string("method") or "*").upper()
    if method not in FAULT_METHODS:
        raise param_value_invalid("method", f"method must be one of {', '.join(sorted(FAULT_METHODS))}.")
    path = body.string("path", max_length=2048) or "*"
    if path != "*" and not path.startswith("/"):
        raise param_value_invalid("path", "path must start with / (add a trailing * to match a prefix), or be *.")
    status = body.integer("status", minimum=400, maximum=599)
    delay_ms = body.integer("delay_ms", default=0, minimum=0, maximum=120_000) or 0
    if status is None and not delay_ms:
        raise ClerkAPIError(
            422,
            "form_param_missing",
            "is missing",
            "A fault needs a status (400-599), a delay_ms, or both.",
            meta={"param_name": "status"},
        )
    fault = Fault(
        method=method,
        path=path,
        remaining=body.integer("count", default=1, minimum=1, maximum=100_000) or 1,
        status=status,
        delay_s=delay_ms / 1000,
        retry_after=body.integer("retry_after", minimum=0, maximum=86_400),
        code=body.string("code", max_length=100),
        message=body.string("message", max_length=1000),
    )
    with em.lock:
        em.faults.append(fault)
        return _json(_fault_json(fault), 201)


@route("/faults", "DELETE")
def clear_faults(em: Emulator, request: Request) -> Response:
    with em.lock:
        em.faults.clear()
    return _json({"cleared": True})


# -- caps and clock ----------------------------------------------------------------------------------------


@route("/caps", "GET")
def get_caps(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(_caps_json(em))


@route("/caps", "POST")
def set_caps(em: Emulator, request: Request) -> Response:
    """``{"enabled": true, "limits": {"invitations.create": 100, ...}}`` switches Clerk's hourly caps on or off.

    They are off by default so tests and demos are not throttled; setting a limit also empties its window.
    """
    body = _body(request, {"enabled", "limits"})
    enabled = body.boolean("enabled")
    limits = body.mapping("limits") or {}
    for key, limit in limits.items():
        if key not in HOURLY_CAPS:
            raise param_value_invalid("limits", f"Unknown cap {key!r}; caps are {', '.join(sorted(HOURLY_CAPS))}.")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1_000_000:
            raise param_value_invalid("limits", f"The limit for {key} must be an integer from 0 to 1000000.")
    with em.lock:
        if enabled is not None:
            em.caps_enabled = enabled
        for key, limit in limits.items():
            em.caps[key].limit = limit
            em.caps[key].hits.clear()
        return _json(_caps_json(em))


def _settings_json(em: Emulator) -> dict[str, Any]:
    settings = dataclasses.asdict(em.settings)
    settings["allowed_origins"] = list(em.allowed_origins)
    return settings


@route("/settings", "GET")
def get_settings(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(_settings_json(em))


@route("/settings", "POST")
def update_settings(em: Emulator, request: Request) -> Response:
    """Change instance settings for this test, e.g. ``{"phone_verify_at_sign_up": true}``; a reset puts them back.

    ``allowed_origins`` (the app origins the Frontend API answers with credentialed CORS) survives resets.
    """
    fields = {f.name for f in dataclasses.fields(InstanceSettings)}
    body = _body(request, fields | {"allowed_origins"})
    changes: dict[str, Any] = {}
    for name in fields - {"session_token_lifetime_s"}:
        value = body.boolean(name)
        if value is not None:
            changes[name] = value
    lifetime = body.integer("session_token_lifetime_s", minimum=5, maximum=86_400)
    if lifetime is not None:
        changes["session_token_lifetime_s"] = lifetime
    origins = body.strings("allowed_origins") if body.has("allowed_origins") else None
    for origin in origins or []:
        if not origin.startswith(("http://", "https://")) or origin.rstrip("/") != origin or origin.count("/") != 2:
            raise param_value_invalid("allowed_origins", f"{origin!r} is not an origin (scheme://host[:port]).")
    with em.lock:
        em.settings = dataclasses.replace(em.settings, **changes)
        if origins is not None:
            em.allowed_origins = list(origins)
        return _json(_settings_json(em))


@route("/clock", "GET")
def get_clock(em: Emulator, request: Request) -> Response:
    return _json({"clock_offset_ms": em.clock_offset_ms, "now": em.now_ms()})


@route("/clock", "POST")
def advance_clock(em: Emulator, request: Request) -> Response:
    """``{"advance_seconds": N}`` moves the emulator's clock forward (invitations and sessions expire by it)."""
    body = _body(request, {"advance_seconds"})
    seconds = body.integer("advance_seconds", default=0, minimum=0, maximum=10 * 365 * 86_400) or 0
    em.advance_clock(seconds)
    return _json({"clock_offset_ms": em.clock_offset_ms, "now": em.now_ms()})


# -- webhooks ----------------------------------------------------------------------------------------------


@route("/webhooks", "GET")
def list_deliveries(em: Emulator, request: Request) -> Response:
    return _json(_webhooks_json(em))


@route("/webhooks", "POST")
def configure_webhooks(em: Emulator, request: Request) -> Response:
    """``{"url": "http://…", "secret": "whsec_…"}`` sets where events go; ``{"url": null}`` stops deliveries."""
    body = _body(request, {"url", "secret"})
    url = body.string("url", max_length=2048)
    secret = body.string("secret")
    for name, value, check in (("url", url, check_webhook_url), ("secret", secret, check_webhook_secret)):
        if value is not None:
            try:
                check(value)
            except ValueError as exc:
                raise param_value_invalid(name, str(exc)) from None
    with em.lock:
        if "url" in body.data:
            em.webhook_url = url
        if secret is not None:
            em.webhook_secret = secret
    return _json({key: value for key, value in _webhooks_json(em).items() if key != "deliveries"})


# -- mailbox -----------------------------------------------------------------------------------------------


def _message_json(m: records.Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "slug": m.slug,
        "to": m.to,
        "subject": m.subject,
        "body_plain": m.body_plain,
        "body_html": m.body_html,
        "link": m.link,
        "code": m.code,
        "user_id": m.user_id,
        "created_at": m.created_at,
        "delivered_by_clerk": m.delivered_by_clerk,
        "sender": m.sender,
    }


def _messages(em: Emulator, to: str | None) -> list[dict[str, Any]]:
    """Newest first; ``to`` matches an email address (any case) or a phone number exactly."""
    wanted = (to or "").strip().lower()
    with em.lock:
        return [_message_json(m) for m in reversed(em.messages) if not wanted or m.to.lower() == wanted]


@route("/mail.json", "GET")
def mail_json(em: Emulator, request: Request) -> Response:
    return _json(_messages(em, request.args.get("to")))


_LINK = re.compile(r"https?://[^\s<>\"']+")


@route("/mail", "POST")
def deliver_app_mail(em: Emulator, request: Request) -> Response:
    """``{"to", "subject", "body_plain", "body_html"?}``: an email the application sent itself (its own branded
    staff invitation, say), shown in this mailbox beside Clerk's so a demo has one inbox. The first link of the
    plain text becomes the message's button."""
    body = _body(request, {"to", "subject", "body_plain", "body_html"})
    to = body.string("to", required=True, max_length=512) or ""
    subject = body.string("subject", max_length=998) or ""
    text = body.string("body_plain", max_length=MAX_CONTROL_BODY_BYTES) or ""
    found = _LINK.search(text)
    message = records.Message(
        id=em.new_id("ema"),
        kind="email",
        slug="app",
        to=to,
        subject=subject,
        body_plain=text,
        body_html=body.string("body_html", max_length=MAX_CONTROL_BODY_BYTES) or "",
        created_at=em.now_ms(),
        delivered_by_clerk=False,
        link=found.group(0).rstrip(".,;)") if found else None,
        sender="app",
    )
    em.add_message(message)
    return _json(_message_json(message), status=201)


@route("/mail", "GET")
def mail_html(em: Emulator, request: Request) -> Response:
    to = (request.args.get("to") or "").strip()
    messages = _messages(em, to)
    cards = "".join(_message_card(m) for m in messages)
    if not cards:
        cards = (
            '<div class="empty"><p><strong>No messages'
            + (f" for {html.escape(to)}" if to else "")
            + "</strong></p><p>Invitation emails and SMS verification codes appear here as Clerk sends them.</p></div>"
        )
    count = f"{len(messages)} message{'s' if len(messages) != 1 else ''}"
    filter_form = (
        '<form class="filter" method="get" action="/__emulator/mail">'
        f'<input type="search" name="to" value="{html.escape(to)}" placeholder="Filter by recipient" '
        'aria-label="Filter by recipient"><button type="submit">Filter</button>'
        + ('<a href="/__emulator/mail">Show all</a>' if to else "")
        + "</form>"
    )
    json_link = "/__emulator/mail.json" + (f"?{urlencode({'to': to})}" if to else "")
    content = (
        f'<div class="title"><h1>Mailbox</h1><span class="muted">{count} · newest first · '
        f'<a href="{html.escape(json_link)}">JSON</a></span></div>'
        '<p class="lead">What Clerk would have emailed or texted. Nothing leaves this machine: open an invitation '
        "link here to accept it as the invitee.</p>"
        f"{filter_form}{cards}"
    )
    return _html("Mailbox", content)


def _message_card(m: dict[str, Any]) -> str:
    if m["sender"] == "app":
        badge = (
            '<span class="badge ok" title="The application sent this email itself (SMTP in production)">'
            "Sent by the app</span>"
        )
    elif m["delivered_by_clerk"]:
        badge = '<span class="badge ok" title="The template is delivered by Clerk">Sent by Clerk</span>'
    else:
        badge = (
            '<span class="badge off" title="Delivery is switched off for this template: Clerk sent no message '
            'and announced it with an email.created webhook instead">Not sent · email.created webhook</span>'
        )
    action = ""
    if m["link"]:
        link = html.escape(m["link"])
        action = (
            f'<div class="action"><a class="button" href="{link}">Open invitation link</a>'
            f'<span class="url" title="{link}">{link}</span></div>'
        )
    elif m["code"]:
        action = (
            f'<div class="action"><span class="label">Code</span><span class="code">{html.escape(m["code"])}'
            "</span></div>"
        )
    text = m["body_plain"]
    if m["link"] and text.endswith(m["link"]):
        text = text[: -len(m["link"])].rstrip()  # the link gets its own button
    kind = "SMS" if m["kind"] == "sms" else "Email"
    return (
        f'<article class="message {html.escape(m["kind"])}" id="{html.escape(m["id"])}">'
        f'<header><span class="kind">{kind}</span><h2>{html.escape(m["subject"])}</h2>{badge}</header>'
        f'<dl class="meta"><dt>To</dt><dd>{html.escape(m["to"])}</dd><dt>Sent</dt><dd>{_time(m["created_at"])}</dd>'
        f"<dt>Template</dt><dd><code>{html.escape(m['kind'])}/{html.escape(m['slug'])}</code></dd></dl>"
        f'<p class="text">{html.escape(text)}</p>{action}</article>'
    )


# -- avatars -----------------------------------------------------------------------------------------------

_AVATAR_COLOURS = ("#4f46e5", "#0e7490", "#15803d", "#b45309", "#be123c", "#7c3aed", "#0369a1", "#4d7c0f")


@route("/img/<seed>", "GET")
def avatar(em: Emulator, request: Request, seed: str) -> Response:
    """The ``image_url`` of users and organizations: an SVG with their initials (Clerk serves a generated image from
    img.clerk.com; the emulator serves its own so nothing leaves the machine)."""
    with em.lock:
        user = em.users.get(seed)
        organization = em.organizations.get(seed)
        if user is not None:
            words = [user.first_name or "", user.last_name or ""]
            if not any(words):
                words = [next((e.email_address for e in user.email_addresses), "") or "?"]
        elif organization is not None:
            words = organization.name.split()[:2]
        else:
            words = ["?"]
    initials = "".join(word[:1] for word in words if word).upper() or "?"
    colour = _AVATAR_COLOURS[sum(seed.encode()) % len(_AVATAR_COLOURS)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">'
        f'<rect width="128" height="128" fill="{colour}"/>'
        '<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="system-ui, sans-serif" '
        f'font-size="52" font-weight="600" fill="#fff">{html.escape(initials)}</text></svg>'
    )
    return Response(svg, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


# -- index -------------------------------------------------------------------------------------------------


@route("/", "GET")
def index(em: Emulator, request: Request) -> Response:
    return _html("Clerk emulator", _index_html(em))


def _index_html(em: Emulator) -> str:
    with em.lock:
        counts = [
            ("Users", len(em.users)),
            ("Organizations", len(em.organizations)),
            ("Invitations", len(em.organization_invitations) + len(em.invitations)),
            ("Sessions", sum(1 for s in em.sessions.values() if s.status == "active")),
            ("Messages", len(em.messages)),
            ("Events", len(em.events)),
        ]
        active_faults = [f for f in em.faults if f.remaining > 0]
        caps_enabled = em.caps_enabled
        clock_offset_s = em.clock_offset_ms // 1000
    webhooks = _webhooks_json(em)
    deliveries = webhooks["deliveries"]
    delivered = sum(1 for d in deliveries if d["status"] == "delivered")
    failed = sum(1 for d in deliveries if d["status"] == "failed")
    pending = len(deliveries) - delivered - failed
    stats = "".join(f'<div class="stat"><strong>{n}</strong><span>{label}</span></div>' for label, n in counts)
    key_rows = "".join(
        f"<tr><th>{label}</th><td><code>{html.escape(value)}</code></td></tr>"
        for label, value in [
            ("CLERK_API_URL", em.backend_api_url),
            ("CLERK_SECRET_KEY", em.secret_key),
            ("CLERK_PUBLISHABLE_KEY", em.publishable_key),
            ("CLERK_FRONTEND_API_URL", em.frontend_api_url),
            ("Instance", em.instance_id),
        ]
    )
    if webhooks["configured"]:
        webhook_line = (
            f"Sending to <code>{html.escape(webhooks['url'])}</code> · {delivered} delivered · "
            f"{pending} pending · {failed} failed"
        )
    else:
        webhook_line = 'Not configured (<code>POST /__emulator/webhooks {"url", "secret"}</code> or CLI flags)'
    faults_line = (
        ", ".join(
            f"<code>{html.escape(f.method)} {html.escape(f.path)}</code> → {f.status or 'delay'} &times;{f.remaining}"
            for f in active_faults
        )
        or "None"
    )
    return (
        '<div class="title"><h1>Clerk emulator</h1><span class="muted">in-memory · resets on restart</span></div>'
        '<p class="lead">A local stand-in for Clerk: the Backend API subset the app uses, session tokens, '
        "svix-signed webhooks and a mailbox.</p>"
        f'<section class="stats">{stats}</section>'
        '<section class="panel"><h2>Point the app here</h2>'
        f'<table class="keys">{key_rows}</table>'
        '<p class="muted">The PEM public key for <code>CLERK_JWT_KEY</code> is in '
        '<a href="/__emulator/keys">/__emulator/keys</a>.</p></section>'
        '<section class="panel"><h2>Status</h2><dl class="status">'
        f"<dt>Webhooks</dt><dd>{webhook_line}</dd>"
        f"<dt>Faults</dt><dd>{faults_line}</dd>"
        f"<dt>Hourly caps</dt><dd>{'On' if caps_enabled else 'Off (Clerk enforces them; switch on via /caps)'}</dd>"
        f"<dt>Clock</dt><dd>{'+' + str(clock_offset_s) + ' s' if clock_offset_s else 'Real time'}</dd>"
        "</dl></section>"
        '<section class="panel"><h2>Control API</h2><ul class="links">'
        '<li><a href="/__emulator/mail">Mailbox</a> emails and SMS codes</li>'
        '<li><a href="/__emulator/state">State</a> everything, as JSON</li>'
        '<li><a href="/__emulator/webhooks">Webhooks</a> configuration and deliveries</li>'
        '<li><a href="/__emulator/requests">Requests</a> every call answered</li>'
        '<li><a href="/__emulator/faults">Faults</a> injected errors and delays</li>'
        '<li><a href="/__emulator/caps">Caps</a> · <a href="/__emulator/clock">Clock</a> · '
        '<a href="/__emulator/keys">Keys</a></li>'
        "</ul></section>"
    )


def _page(title: str, content: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)} · Clerk emulator</title>
<style>
*{{box-sizing:border-box}}
body{{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1f2328}}
a{{color:#5b3fd9}}
nav{{background:#17171c;color:#fff;padding:.85rem 1.5rem;display:flex;align-items:center;flex-wrap:wrap;
gap:.4rem 1.25rem;min-height:52px}}
nav .brand{{font-weight:700;display:flex;align-items:center;gap:.5rem;margin-right:.75rem;white-space:nowrap}}
nav .dot{{width:18px;height:18px;border-radius:50%;background:#6c47ff;box-shadow:inset 0 0 0 4px #a793ff}}
nav a{{color:#c9c9d4;text-decoration:none;font-size:.9rem}} nav a:hover,nav a[aria-current]{{color:#fff}}
main{{max-width:860px;margin:2rem auto 3rem;padding:0 1rem}}
.title{{display:flex;align-items:baseline;gap:1rem;flex-wrap:wrap}} h1{{font-size:1.6rem;margin:0}}
.lead{{color:#454d56;margin:.4rem 0 1.25rem}} .muted{{color:#6b737c;font-size:.875rem}}
h2{{font-size:1.05rem;margin:0}}
.filter{{display:flex;gap:.5rem;align-items:center;margin-bottom:1.25rem}}
.filter input{{flex:0 1 320px;padding:.45rem .7rem;border:1px solid #c9d1d9;border-radius:6px;font:inherit}}
.filter button{{padding:.45rem .9rem;border:1px solid #c9d1d9;background:#fff;border-radius:6px;font:inherit;
cursor:pointer}}
.message,.panel,.empty{{background:#fff;border:1px solid #d8dee4;border-radius:12px;padding:1.1rem 1.35rem;
margin-bottom:1rem;box-shadow:0 1px 2px rgba(31,35,40,.04)}}
.message header{{display:flex;gap:.65rem;align-items:center;flex-wrap:wrap}} .message h2{{flex:1 1 auto}}
.kind{{font-size:.68rem;font-weight:700;letter-spacing:.06em;text-transform:uppercase;border-radius:4px;
padding:.15rem .45rem;background:#ece8ff;color:#4b2fc4}} .sms .kind{{background:#dff3ff;color:#075985}}
.badge{{font-size:.75rem;border-radius:999px;padding:.15rem .65rem;white-space:nowrap}}
.ok{{background:#dafbe1;color:#116329}} .off{{background:#fff1c2;color:#7d4e00}}
.meta{{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .9rem;margin:.7rem 0;font-size:.875rem}}
.meta dt{{color:#6b737c}} .meta dd{{margin:0}}
.text{{margin:.5rem 0 .9rem;white-space:pre-wrap}}
.action{{display:flex;align-items:center;gap:.9rem;flex-wrap:wrap;border-top:1px solid #eef1f4;padding-top:.9rem}}
.button{{display:inline-block;background:#6c47ff;color:#fff;border-radius:6px;padding:.5rem 1rem;
text-decoration:none;font-weight:600;font-size:.9rem}} .button:hover{{background:#5b3fd9}}
.url{{color:#6b737c;font-size:.8rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:1 1 200px;
min-width:0}}
.label{{color:#6b737c;font-size:.85rem}}
.code{{font:700 1.6rem ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.25em;background:#f6f8fa;
border:1px dashed #c9d1d9;border-radius:8px;padding:.2rem .3rem .2rem .55rem}}
.empty{{text-align:center;color:#59636e;padding:2.5rem}} .empty p{{margin:.3rem 0}}
code{{background:#eef1f4;border-radius:4px;padding:.05rem .35rem;font-size:.85em;word-break:break-all}}
.stats{{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:.75rem;margin-bottom:1rem}}
.stat{{background:#fff;border:1px solid #d8dee4;border-radius:12px;padding:.8rem 1rem}}
.stat strong{{display:block;font-size:1.5rem}} .stat span{{color:#6b737c;font-size:.85rem}}
.panel h2{{margin-bottom:.7rem}}
.keys{{border-collapse:collapse;width:100%;font-size:.875rem}}
.keys th{{text-align:left;font-weight:600;padding:.35rem 1.25rem .35rem 0;white-space:nowrap;vertical-align:top;
color:#454d56;width:1%}} .keys td{{padding:.35rem 0}}
@media (max-width:560px){{.keys th,.keys td{{display:block;width:auto}} .keys th{{padding-bottom:0}}}}
.status{{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1.2rem;margin:0;font-size:.9rem}}
.status dt{{font-weight:600;color:#454d56}} .status dd{{margin:0}}
.links{{margin:0;padding-left:1.1rem}} .links li{{margin:.2rem 0}}
</style></head><body><nav><span class="brand"><span class="dot"></span>Clerk emulator</span>
<a href="/__emulator/"{' aria-current="page"' if title == "Clerk emulator" else ""}>Overview</a>
<a href="/__emulator/mail"{' aria-current="page"' if title == "Mailbox" else ""}>Mailbox</a>
<a href="/__emulator/webhooks">Webhooks</a><a href="/__emulator/state">State</a></nav>
<main>{content}</main></body></html>"""
