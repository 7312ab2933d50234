"""``GET /v1/tickets/accept`` (the link in an invitation email) and ``GET /.well-known/jwks.json``."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

from clerk_emulator import records
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.fapi.routing import Call, add_cors, route
from clerk_emulator.invitations import invitation_of_ticket, resolve_ticket
from clerk_emulator.state import Emulator
from clerk_emulator.users import find_user_by_email

TICKET_PROBLEMS = {
    "ticket_expired_code": ("This invitation has expired", "Ask the person who invited you to send a new one."),
    "ticket_invalid_code": (
        "This invitation link can't be used",
        "It is not a valid invitation link of this instance. Open the link from the invitation email again, in full.",
    ),
    "organization_invitation_revoked_code": (
        "This invitation was revoked",
        "It was withdrawn, or replaced by a newer one. Use the most recent invitation email, or ask the person who "
        "invited you.",
    ),
    "revoked_invitation": (
        "This invitation was revoked",
        "It was withdrawn, or replaced by a newer one. Use the most recent invitation email, or ask the person who "
        "invited you.",
    ),
    "organization_invitation_already_accepted": ("This invitation was already accepted", "Sign in instead."),
    "invitation_already_accepted": ("This invitation was already accepted", "Sign in instead."),
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


def ticket_status(em: Emulator, ticket: str) -> tuple[str, str | None]:
    """``(status, redirect_url)``: ``sign_in`` if the invited email has a user, else ``sign_up``."""
    invitation = resolve_ticket(em, ticket)
    user = find_user_by_email(em, invitation.email_address)
    return ("sign_in" if user is not None else "sign_up"), invitation.redirect_url


@route("/v1/tickets/accept", "GET", needs_dev_browser=False)
def accept_ticket(call: Call) -> Response:
    """Follow an invitation link: redirect to the invitation's ``redirect_url``, or explain what happened."""
    em, request = call.em, call.request
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
            status, redirect_url = ticket_status(em, ticket)
        except ClerkAPIError as error:
            # Clerk sends a used, revoked or expired ticket of its own to the redirect URL all the same; the sign-in
            # or sign-up attempt there fails with the ticket code, so the app's accept page explains it.
            try:
                known = invitation_of_ticket(em, ticket)
            except ClerkAPIError:
                known = None
            if known is not None and known.redirect_url and _is_web_url(known.redirect_url):
                return _redirect(with_ticket(known.redirect_url, ticket, "sign_in"))
            title, hint = TICKET_PROBLEMS.get(error.code, TICKET_PROBLEMS["ticket_invalid_code"])
            return _ticket_page(400, title, hint, code=error.code)
        invitation = resolve_ticket(em, ticket)
        organization = (
            em.organizations.get(invitation.organization_id)
            if isinstance(invitation, records.OrganizationInvitation)
            else None
        )
    if redirect_url and _is_web_url(redirect_url):
        return _redirect(with_ticket(redirect_url, ticket, status))
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


def _redirect(location: str) -> Response:
    response = Response(status=303, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


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


@route("/.well-known/jwks.json", "GET", needs_dev_browser=False)
def jwks(call: Call) -> Response:
    response = Response(json.dumps(call.em.keys.jwks()), content_type="application/json")
    return add_cors(call.em, call.request, response)
