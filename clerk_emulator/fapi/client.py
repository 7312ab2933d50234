"""``/v1/client``: the browser's client (``null`` until its first sign-in or sign-up, as on Clerk)."""

from __future__ import annotations

from typing import Any

from clerk_emulator import sessions
from clerk_emulator.errors import not_found
from clerk_emulator.fapi import wire
from clerk_emulator.fapi.routing import Call, route


@route("/v1/client", "GET")
def get_client(call: Call) -> dict[str, Any]:
    data = wire.client(call.em, call.client)
    return {"response": data, "client": data}


@route("/v1/client", "PUT", "POST")
def create_client(call: Call) -> dict[str, Any]:
    """A fresh client for this browser (ClerkJS does this when it has none and must start a flow)."""
    client = call.client
    if client is None:
        client = call.ensure_client()
    data = wire.client(call.em, client)
    return {"response": data, "client": data}


@route("/v1/client", "DELETE")
def delete_client(call: Call) -> dict[str, Any]:
    """Sign out of every session and forget the client (404 when there is none, as the spec declares)."""
    client = call.client
    if client is None:
        raise not_found("client")
    for session_id in client.session_ids:
        sessions.end_session(call.em, sessions.get_session(call.em, session_id))
    client.last_active_session_id = None
    data = wire.client(call.em, client)
    call.adopt(None)
    return {"response": data, "client": None}
