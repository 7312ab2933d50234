"""Clients, sessions and session tokens (shared by the Backend API and the browser-facing endpoints)."""

from __future__ import annotations

import secrets
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.organizations import find_membership, get_organization
from clerk_emulator.params import Body, Query
from clerk_emulator.state import Emulator
from clerk_emulator.tokens import session_claims
from clerk_emulator.users import get_user

SESSION_LIFETIME_MS = 7 * 86_400_000


def user_banned() -> ClerkAPIError:
    return ClerkAPIError(
        403, "user_banned", "This account is banned.", "This account has been banned and cannot sign in."
    )


def user_locked() -> ClerkAPIError:
    return ClerkAPIError(403, "user_locked", "This account is locked.", "This account is locked and cannot sign in.")


def check_can_sign_in(user: records.User) -> None:
    if user.banned:
        raise user_banned()
    if user.locked:
        raise user_locked()


def new_client(em: Emulator) -> records.Client:
    now = em.now_ms()
    client = records.Client(id=em.new_id("client"), token=secrets.token_urlsafe(32), created_at=now, updated_at=now)
    em.clients[client.id] = client
    return client


def start_session(
    em: Emulator, user: records.User, client: records.Client, *, organization_id: str | None = None
) -> records.Session:
    check_can_sign_in(user)
    now = em.now_ms()
    session = records.Session(
        id=em.new_id("sess"),
        user_id=user.id,
        client_id=client.id,
        created_at=now,
        updated_at=now,
        expire_at=now + SESSION_LIFETIME_MS,
        abandon_at=now + 30 * 86_400_000,
        last_active_at=now,
        last_active_organization_id=organization_id,
    )
    em.sessions[session.id] = session
    client.session_ids.append(session.id)
    client.last_active_session_id = session.id
    user.last_sign_in_at = now
    user.last_active_at = now
    em.emit("session.created", shapes.session(session))
    return session


def get_session(em: Emulator, session_id: str) -> records.Session:
    session = em.sessions.get(session_id)
    if session is None:
        raise not_found("session")
    if session.status == "active" and session.expire_at <= em.now_ms():
        session.status = "expired"
    return session


def active_session(em: Emulator, session_id: str) -> records.Session:
    session = get_session(em, session_id)
    if session.status != "active":
        raise ClerkAPIError(
            401,
            "signed_out",
            "Signed out",
            f"The session {session.id} is no longer active ({session.status}).",
        )
    user = em.users.get(session.user_id)
    if user is None:
        raise ClerkAPIError(401, "signed_out", "Signed out", "The user of this session no longer exists.")
    if user.banned:
        end_session(em, session, "revoked")
        raise ClerkAPIError(401, "signed_out", "Signed out", "The user of this session is banned.")
    check_can_sign_in(user)
    return session


def mint_token(em: Emulator, session: records.Session, *, azp: str | None, lifetime_s: int = 60) -> str:
    org_claim = None
    org_id = session.last_active_organization_id
    if org_id and org_id in em.organizations:
        membership = find_membership(em, org_id, session.user_id)
        if membership is not None:
            org = em.organizations[org_id]
            # Clerk leaves system permissions (org:sys_*) out of session claims, and the emulator's roles carry
            # nothing else, so ``o`` has no ``per``/``fpm`` (and the token no ``fea``).
            org_claim = {"id": org.id, "slg": org.slug, "rol": membership.role.removeprefix("org:")}
    session.last_active_at = em.now_ms()
    claims = session_claims(
        user_id=session.user_id,
        session_id=session.id,
        issuer=em.frontend_api_url,
        now_s=em.now_s(),
        lifetime_s=lifetime_s,
        azp=azp,
        organization=org_claim,
    )
    return em.keys.sign(claims)


def end_session(em: Emulator, session: records.Session, status: str = "ended") -> records.Session:
    if session.status == "active":
        session.status = status
        session.updated_at = em.now_ms()
        em.emit(f"session.{status}", shapes.session(session))
    return session


# -- Backend API ---------------------------------------------------------------------------------------------


def create_session(em: Emulator, raw: Any) -> records.Session:
    body = Body(raw, allowed={"user_id", "active_organization_id"})
    user = get_user(em, body.string("user_id", required=True) or "")
    org_id = body.string("active_organization_id")
    if org_id:
        org = get_organization(em, org_id)
        if find_membership(em, org.id, user.id) is None:
            raise ClerkAPIError(
                403,
                "not_a_member_in_organization",
                "not a member",
                f"User {user.id} is not a member of organization {org.id}.",
            )
        org_id = org.id
    return start_session(em, user, new_client(em), organization_id=org_id)


def create_session_token(em: Emulator, session_id: str, raw: Any) -> dict[str, Any]:
    body = Body(raw if raw is not None else {}, allowed={"expires_in_seconds"})
    lifetime = body.integer("expires_in_seconds", default=60, minimum=30, maximum=315_360_000) or 60
    session = active_session(em, session_id)
    return {"object": "token", "jwt": mint_token(em, session, azp=None, lifetime_s=lifetime)}


def list_sessions(em: Emulator, query: Query) -> list[records.Session]:
    status = query.choice("status", {"active", "ended", "expired", "removed", "revoked", "abandoned", "pending"})
    user_id, client_id = query.string("user_id"), query.string("client_id")
    if not user_id and not client_id:
        raise ClerkAPIError(
            422, "form_param_missing", "user_id or client_id must be included.", meta={"param_name": "user_id"}
        )
    items = [get_session(em, s.id) for s in em.sessions.values()]
    items = [
        s
        for s in items
        if (not user_id or s.user_id == user_id)
        and (not client_id or s.client_id == client_id)
        and (not status or s.status == status)
    ]
    items.sort(key=lambda s: (s.created_at, s.id), reverse=True)
    return items
