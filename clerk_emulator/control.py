"""``/__emulator/``: reset, state, faults, caps, clock, webhook settings and the mailbox (JSON and HTML)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clerk_emulator import shapes
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.params import Body
from clerk_emulator.state import HOURLY_CAPS, Emulator, Fault

Handler = Callable[..., Response]
ROUTES: dict[str, Handler] = {}
RULES: list[Rule] = []


def route(path: str, *methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        endpoint = f"control.{handler.__name__}"
        ROUTES[endpoint] = handler
        RULES.append(Rule(f"/__emulator{path}", endpoint=endpoint, methods=list(methods)))
        return handler

    return register


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, indent=2), status=status, content_type="application/json")


def _body(request: Request) -> Body:
    raw = request.get_data()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ClerkAPIError(400, "request_body_invalid", "Request body is not valid JSON.") from None
    return Body(data)


@route("/", "GET")
def index(em: Emulator, request: Request) -> Response:
    return Response(_page("Clerk emulator", _index_html(em)), content_type="text/html; charset=utf-8")


@route("/keys", "GET")
def keys(em: Emulator, request: Request) -> Response:
    return _json(
        {
            "backend_api_url": em.backend_api_url,
            "frontend_api_url": em.frontend_api_url,
            "secret_key": em.secret_key,
            "publishable_key": em.publishable_key,
            "jwt_key": em.keys.public_pem,
            "instance_id": em.instance_id,
        }
    )


@route("/reset", "POST")
def reset(em: Emulator, request: Request) -> Response:
    em.reset()
    if em.dispatcher is not None:
        em.dispatcher.clear()
    return _json({"reset": True})


@route("/state", "GET")
def state(em: Emulator, request: Request) -> Response:
    with em.lock:
        return _json(
            {
                "users": [shapes.user(u) for u in em.users.values()],
                "organizations": [shapes.organization(em, o, include_counts=True) for o in em.organizations.values()],
                "memberships": [shapes.membership(em, m) for m in em.memberships.values()],
                "organization_invitations": [
                    shapes.organization_invitation(em, i) for i in em.organization_invitations.values()
                ],
                "invitations": [shapes.invitation(em, i) for i in em.invitations.values()],
                "sessions": [shapes.session(s) for s in em.sessions.values()],
                "templates": [shapes.template(em, t) for t in em.templates.values()],
                "events": [{"type": e["type"], "timestamp": e["timestamp"]} for e in em.events],
                "faults": [vars(f) for f in em.faults],
                "caps": {"enabled": em.caps_enabled, "limits": {k: w.limit for k, w in em.caps.items()}},
                "clock_offset_ms": em.clock_offset_ms,
            }
        )


@route("/requests", "GET")
def requests_log(em: Emulator, request: Request) -> Response:
    return _json([{"method": m, "path": p, "status": s} for m, p, s in list(em.request_log)])


@route("/faults", "GET")
def list_faults(em: Emulator, request: Request) -> Response:
    return _json([vars(f) for f in em.faults])


@route("/faults", "POST")
def add_fault(em: Emulator, request: Request) -> Response:
    """``{"method", "path", "count", "status"?, "delay_ms"?, "retry_after"?, "code"?, "message"?}``."""
    body = _body(request)
    status = body.integer("status", minimum=400, maximum=599)
    delay_ms = body.integer("delay_ms", default=0, minimum=0, maximum=120_000) or 0
    if status is None and not delay_ms:
        raise ClerkAPIError(422, "form_param_missing", "A fault needs a status, a delay_ms, or both.")
    fault = Fault(
        method=(body.string("method") or "*").upper(),
        path=body.string("path") or "*",
        remaining=body.integer("count", default=1, minimum=1, maximum=100_000) or 1,
        status=status,
        delay_s=delay_ms / 1000,
        retry_after=body.integer("retry_after", minimum=0, maximum=86_400),
        code=body.string("code"),
        message=body.string("message"),
    )
    with em.lock:
        em.faults.append(fault)
    return _json(vars(fault), 201)


@route("/faults", "DELETE")
def clear_faults(em: Emulator, request: Request) -> Response:
    with em.lock:
        em.faults.clear()
    return _json({"cleared": True})


@route("/caps", "POST")
def set_caps(em: Emulator, request: Request) -> Response:
    """``{"enabled": true, "limits": {"invitations.create": 100, ...}}`` switches Clerk's hourly caps on."""
    body = _body(request)
    limits = body.mapping("limits") or {}
    with em.lock:
        enabled = body.boolean("enabled")
        if enabled is not None:
            em.caps_enabled = enabled
        for key, limit in limits.items():
            if key not in HOURLY_CAPS or not isinstance(limit, int) or limit < 0:
                raise ClerkAPIError(422, "form_param_value_invalid", f"Unknown cap or bad limit: {key}")
            em.caps[key].limit = limit
            em.caps[key].hits.clear()
        return _json({"enabled": em.caps_enabled, "limits": {k: w.limit for k, w in em.caps.items()}})


@route("/clock", "POST")
def advance_clock(em: Emulator, request: Request) -> Response:
    body = _body(request)
    seconds = body.integer("advance_seconds", default=0, minimum=0, maximum=10 * 365 * 86_400) or 0
    em.advance_clock(seconds)
    return _json({"clock_offset_ms": em.clock_offset_ms, "now": em.now_ms()})


@route("/webhooks", "GET")
def list_deliveries(em: Emulator, request: Request) -> Response:
    deliveries = em.dispatcher.deliveries if em.dispatcher else []
    return _json({"url": em.webhook_url, "deliveries": [d.summary() for d in list(deliveries)]})


@route("/webhooks", "POST")
def configure_webhooks(em: Emulator, request: Request) -> Response:
    body = _body(request)
    secret = body.string("secret")
    if secret is not None and not secret.startswith("whsec_"):
        raise ClerkAPIError(422, "form_param_format_invalid", "secret must start with whsec_")
    with em.lock:
        if "url" in body.data:
            em.webhook_url = body.string("url")
        if secret is not None:
            em.webhook_secret = secret
    return _json({"url": em.webhook_url, "configured": bool(em.webhook_url and em.webhook_secret)})


def _messages(em: Emulator, request: Request) -> list[dict[str, Any]]:
    to = (request.args.get("to") or "").strip().lower()
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "slug": m.slug,
            "to": m.to,
            "subject": m.subject,
            "body_plain": m.body_plain,
            "link": m.link,
            "code": m.code,
            "created_at": m.created_at,
            "delivered_by_clerk": m.delivered_by_clerk,
        }
        for m in reversed(em.messages)
        if not to or m.to.lower() == to
    ]


@route("/mail.json", "GET")
def mail_json(em: Emulator, request: Request) -> Response:
    return _json(_messages(em, request))


@route("/mail", "GET")
def mail_html(em: Emulator, request: Request) -> Response:
    rows = []
    for m in _messages(em, request):
        when = datetime.fromtimestamp(m["created_at"] / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        delivery = (
            '<span class="badge ok">sent by Clerk</span>'
            if m["delivered_by_clerk"]
            else '<span class="badge off">not sent by Clerk: email.created webhook</span>'
        )
        action = ""
        if m["link"]:
            action = f'<a class="button" href="{html.escape(m["link"])}">Open invitation link</a>'
        elif m["code"]:
            action = f'<span class="code">{html.escape(m["code"])}</span>'
        rows.append(
            f'<article class="message"><header><span class="kind">{m["kind"].upper()}</span>'
            f"<strong>{html.escape(m['subject'])}</strong>{delivery}</header>"
            f'<p class="meta">To {html.escape(m["to"])} · {when} · template <code>{html.escape(m["slug"])}</code></p>'
            f"<pre>{html.escape(m['body_plain'])}</pre>{action}</article>"
        )
    content = "".join(rows) or '<p class="empty">No messages yet. Invitations and verification codes appear here.</p>'
    return Response(_page("Mailbox", f"<h1>Mailbox</h1>{content}"), content_type="text/html; charset=utf-8")


def _index_html(em: Emulator) -> str:
    return (
        "<h1>Clerk emulator</h1>"
        f"<p>Backend API: <code>{html.escape(em.backend_api_url)}</code></p>"
        f"<p>Publishable key: <code>{html.escape(em.publishable_key)}</code></p>"
        f"<p>{len(em.users)} users · {len(em.organizations)} organizations · "
        f"{len(em.organization_invitations) + len(em.invitations)} invitations · {len(em.messages)} messages</p>"
        '<p><a class="button" href="/__emulator/mail">Mailbox</a> '
        '<a class="button" href="/__emulator/state">State (JSON)</a> '
        '<a class="button" href="/__emulator/webhooks">Webhook deliveries</a></p>'
    )


def _page(title: str, content: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)} · Clerk emulator</title>
<style>
body{{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1f2328}}
nav{{background:#1f2328;color:#fff;padding:.8rem 1.5rem}} nav a{{color:#fff;margin-right:1rem;text-decoration:none}}
main{{max-width:820px;margin:2rem auto;padding:0 1rem}} h1{{font-size:1.5rem}}
.message{{background:#fff;border:1px solid #d8dee4;border-radius:10px;padding:1rem 1.25rem;margin-bottom:1rem}}
.message header{{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}}
.kind{{font-size:.7rem;font-weight:700;letter-spacing:.05em;background:#eef1f4;border-radius:4px;padding:.1rem .4rem}}
.badge{{font-size:.75rem;border-radius:999px;padding:.1rem .6rem}} .ok{{background:#dafbe1;color:#116329}}
.off{{background:#fff1c2;color:#7d4e00}} .meta{{color:#59636e;font-size:.85rem;margin:.3rem 0}}
pre{{white-space:pre-wrap;background:#f6f8fa;border-radius:6px;padding:.6rem;font-size:.85rem}}
.button{{display:inline-block;background:#6c47ff;color:#fff;border-radius:6px;padding:.45rem .9rem;
text-decoration:none}}
.code{{font:700 1.4rem ui-monospace,monospace;letter-spacing:.2em}} .empty{{color:#59636e}}
code{{background:#eef1f4;border-radius:4px;padding:0 .3rem}}
</style></head><body><nav><strong>Clerk emulator</strong> &nbsp; <a href="/__emulator/">Home</a>
<a href="/__emulator/mail">Mailbox</a><a href="/__emulator/state">State</a></nav><main>{content}</main></body></html>"""
