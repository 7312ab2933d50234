"""``/v1/client/sessions``: touch (``setActive``), session tokens (refreshed by ClerkJS in the background), sign-out."""

from __future__ import annotations

import dataclasses
from typing import Any

from clerk_emulator import records, sessions
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.fapi import wire
from clerk_emulator.fapi.routing import Call, route
from clerk_emulator.organizations import find_membership, get_organization
from clerk_emulator.state import Emulator


def _of_client(call: Call, session_id: str) -> records.Session:
    """A session of this browser's client (another client's session is as good as unknown)."""
    client = call.require_client()
    if session_id not in client.session_ids:
        raise not_found("session")
    return sessions.get_session(call.em, session_id)


def _organization_id(em: Emulator, session: records.Session, reference: str | None, param: str) -> str | None:
    """The organization (id or slug; empty for none) the session's user may make active."""
    if not reference:
        return None
    org = get_organization(em, reference)
    if find_membership(em, org.id, session.user_id) is None:
        raise ClerkAPIError(
            403,
            "not_a_member_in_organization",
            "not a member",
            f"User {session.user_id} is not a member of organization {org.id}.",
            meta={"param_name": param},
        )
    return org.id


@route("/v1/client/sessions/<session_id>", "GET")
def get_session(call: Call, session_id: str) -> dict[str, Any]:
    session = _of_client(call, session_id)
    return wire.envelope(call.em, wire.session(call.em, session), call.client)


@route("/v1/client/sessions/<session_id>/touch", "POST")
def touch_session(call: Call, session_id: str) -> dict[str, Any]:
    """Make the session the client's active one; ``active_organization_id`` (id or slug, ``""`` for none) too."""
    em = call.em
    session = sessions.active_session(em, _of_client(call, session_id).id)
    if "active_organization_id" in call.form.data:
        reference = call.form.string("active_organization_id")
        session.last_active_organization_id = _organization_id(em, session, reference, "active_organization_id")
    now = em.now_ms()
    session.last_active_at = session.updated_at = now
    client = call.require_client()
    client.last_active_session_id = session.id
    return wire.envelope(em, wire.session(em, session), client)


@route("/v1/client/sessions/<session_id>/tokens", "POST")
def create_session_token(call: Call, session_id: str) -> dict[str, Any]:
    """A fresh session token; ``azp`` is the page's origin. ``organization_id`` picks another org for this token."""
    em = call.em
    session = sessions.active_session(em, _of_client(call, session_id).id)
    target = session
    if "organization_id" in call.form.data:
        org_id = _organization_id(em, session, call.form.string("organization_id"), "organization_id")
        target = dataclasses.replace(session, last_active_organization_id=org_id)
    jwt = sessions.mint_token(
        em, target, azp=call.request.headers.get("Origin") or None, lifetime_s=em.settings.session_token_lifetime_s
    )
    session.last_active_at = target.last_active_at
    return {"object": "token", "jwt": jwt}


@route("/v1/client/sessions/<session_id>/end", "POST")
def end_session(call: Call, session_id: str) -> dict[str, Any]:
    session = sessions.end_session(call.em, _of_client(call, session_id))
    return wire.envelope(call.em, wire.session(call.em, session), call.client)


@route("/v1/client/sessions/<session_id>/remove", "POST")
def remove_session(call: Call, session_id: str) -> dict[str, Any]:
    session = sessions.end_session(call.em, _of_client(call, session_id), "removed")
    return wire.envelope(call.em, wire.session(call.em, session), call.client)


@route("/v1/client/sessions", "DELETE")
def end_all_sessions(call: Call) -> dict[str, Any]:
    """Sign out of every session of this client (ClerkJS's ``signOut()``)."""
    client = call.require_client()
    for session_id in client.session_ids:
        sessions.end_session(call.em, sessions.get_session(call.em, session_id))
    client.last_active_session_id = None
    data = wire.client(call.em, client)
    return {"response": data, "client": data}
