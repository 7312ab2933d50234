"""``/v1/client/sign_ins``: password, ticket and password-reset (``reset_password_email_code``) sign-ins.

The steps are the ones ClerkJS takes: ``create`` (an identifier, optionally a strategy and its secret), then
``prepare_first_factor`` / ``attempt_first_factor``, and ``reset_password`` once a reset code was accepted.
"""

from __future__ import annotations

import secrets
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.fapi import codes, wire
from clerk_emulator.fapi.routing import Call, route
from clerk_emulator.invitations import accept_app_invitation, accept_organization_invitation, resolve_ticket
from clerk_emulator.sessions import check_can_sign_in, end_session, get_session, start_session
from clerk_emulator.state import Emulator
from clerk_emulator.users import check_password, find_user_by_email, touch

ATTEMPT_LIFETIME_MS = 86_400_000
STRATEGIES = {"password", "ticket", "reset_password_email_code"}


def identifier_not_found() -> ClerkAPIError:
    return ClerkAPIError(
        422, "form_identifier_not_found", "Couldn't find your account.", meta={"param_name": "identifier"}
    )


def password_incorrect() -> ClerkAPIError:
    return ClerkAPIError(
        422,
        "form_password_incorrect",
        "Password is incorrect. Try again, or use another method.",
        meta={"param_name": "password"},
    )


def strategy_invalid() -> ClerkAPIError:
    return ClerkAPIError(
        422,
        "strategy_for_user_invalid",
        "Invalid verification strategy",
        "The verification strategy is not valid for this account.",
        meta={"param_name": "strategy"},
    )


# -- the resource ----------------------------------------------------------------------------------------------


def _factors(em: Emulator, user: records.User) -> list[dict[str, Any]]:
    factors: list[dict[str, Any]] = []
    if user.password is not None:
        factors.append({"strategy": "password"})
    for email in user.email_addresses:
        primary = email.id == user.primary_email_address_id
        for strategy in ("email_code", "reset_password_email_code"):
            factors.append(
                {
                    "strategy": strategy,
                    "safe_identifier": email.email_address,
                    "email_address_id": email.id,
                    "primary": primary,
                }
            )
    return factors


def _verification(sign_in: records.SignIn) -> dict[str, Any] | None:
    strategy, status = sign_in.first_factor_strategy, sign_in.first_factor_status
    if strategy is None or status is None:
        return None
    if strategy == "password":
        return {"object": "verification_password", "status": status, "strategy": "password", "attempts": 1}
    if strategy == "ticket":
        return {"object": "verification_ticket", "status": status, "strategy": "ticket", "attempts": None}
    code = sign_in.code
    return wire.otp_verification(
        strategy,
        status,
        attempts=code.attempts if code else None,
        expire_at=code.expire_at if code else sign_in.abandon_at,
    )


def sign_in_json(em: Emulator, sign_in: records.SignIn) -> dict[str, Any]:
    user = em.users.get(sign_in.user_id or "")
    return {
        "object": "sign_in_attempt",
        "id": sign_in.id,
        "status": sign_in.status,
        "supported_identifiers": ["email_address"],
        "supported_first_factors": _factors(em, user) if user else [],
        "supported_second_factors": None,
        "first_factor_verification": _verification(sign_in),
        "second_factor_verification": None,
        "identifier": sign_in.identifier,
        "user_data": {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "image_url": shapes.image_url(user.id),
            "has_image": False,
        }
        if user
        else None,
        "created_session_id": sign_in.created_session_id,
        "abandon_at": sign_in.abandon_at,
    }


def _respond(call: Call, sign_in: records.SignIn) -> dict[str, Any]:
    return wire.envelope(call.em, sign_in_json(call.em, sign_in), call.client)


def _find(call: Call, sign_in_id: str) -> records.SignIn:
    client = call.require_client()
    sign_in = call.em.sign_ins.get(sign_in_id)
    if sign_in is None or sign_in.client_id != client.id:
        raise not_found("sign in")
    if sign_in.status == "complete":
        raise ClerkAPIError(
            400, "sign_in_already_complete", "Already complete", "This sign-in attempt has already been completed."
        )
    if sign_in.abandon_at <= call.em.now_ms():
        raise ClerkAPIError(400, "sign_in_expired", "Sign in expired", "This sign-in attempt has expired.")
    return sign_in


def _user_of(em: Emulator, sign_in: records.SignIn) -> records.User:
    user = em.users.get(sign_in.user_id or "")
    if user is None:
        raise identifier_not_found()
    return user


def _complete(call: Call, sign_in: records.SignIn, user: records.User, *, organization_id: str | None = None) -> None:
    client = call.ensure_client()
    session = start_session(call.em, user, client, organization_id=organization_id)
    sign_in.status = "complete"
    sign_in.created_session_id = session.id
    client.sign_in_id = None  # a finished attempt leaves the client, as on Clerk
    client.updated_at = call.em.now_ms()


def _check_password(user: records.User, password: str) -> None:
    check_can_sign_in(user)
    if user.password is None or not secrets.compare_digest(user.password, password):
        raise password_incorrect()


def _prepare_reset(em: Emulator, sign_in: records.SignIn, user: records.User) -> None:
    email = user.primary_email
    if email is None:
        raise strategy_invalid()
    sign_in.code = codes.new_code(em)
    sign_in.first_factor_strategy = "reset_password_email_code"
    sign_in.first_factor_status = "unverified"
    codes.send_reset_password_code(em, email, sign_in.code, user_id=user.id)


def _ticket(call: Call, sign_in: records.SignIn, ticket: str) -> None:
    em = call.em
    invitation = resolve_ticket(em, ticket)
    user = find_user_by_email(em, invitation.email_address)
    if user is None:
        raise identifier_not_found()
    check_can_sign_in(user)
    sign_in.user_id, sign_in.identifier = user.id, invitation.email_address
    organization_id = None
    if isinstance(invitation, records.OrganizationInvitation):
        accept_organization_invitation(em, invitation, user)
        organization_id = invitation.organization_id
    else:
        accept_app_invitation(em, invitation)
    sign_in.first_factor_strategy, sign_in.first_factor_status = "ticket", "verified"
    _complete(call, sign_in, user, organization_id=organization_id)


# -- routes ----------------------------------------------------------------------------------------------------


@route("/v1/client/sign_ins", "POST")
def create_sign_in(call: Call) -> dict[str, Any]:
    em, form = call.em, call.form
    strategy = form.string("strategy") or ("ticket" if form.has("ticket") else None)
    if strategy is not None and strategy not in STRATEGIES:
        raise strategy_invalid()
    client = call.ensure_client()
    now = em.now_ms()
    sign_in = records.SignIn(em.new_id("sia"), client.id, now, now + ATTEMPT_LIFETIME_MS)
    if strategy == "ticket":
        _ticket(call, sign_in, form.string("ticket", required=True) or "")
    else:
        identifier = form.string("identifier", required=True, max_length=320) or ""
        user = find_user_by_email(em, identifier)
        if user is None:
            raise identifier_not_found()
        sign_in.identifier, sign_in.user_id, sign_in.status = identifier.strip(), user.id, "needs_first_factor"
        if strategy == "password" or (strategy is None and form.has("password")):
            _check_password(user, form.string("password", required=True) or "")
            sign_in.first_factor_strategy, sign_in.first_factor_status = "password", "verified"
            _complete(call, sign_in, user)
        elif strategy == "reset_password_email_code":
            _prepare_reset(em, sign_in, user)
    em.sign_ins[sign_in.id] = sign_in
    if sign_in.status != "complete":
        client.sign_in_id = sign_in.id
    return _respond(call, sign_in)


@route("/v1/client/sign_ins/<sign_in_id>", "GET")
def get_sign_in(call: Call, sign_in_id: str) -> dict[str, Any]:
    client = call.require_client()
    sign_in = call.em.sign_ins.get(sign_in_id)
    if sign_in is None or sign_in.client_id != client.id:
        raise not_found("sign in")
    return _respond(call, sign_in)


@route("/v1/client/sign_ins/<sign_in_id>/prepare_first_factor", "POST")
def prepare_first_factor(call: Call, sign_in_id: str) -> dict[str, Any]:
    sign_in = _find(call, sign_in_id)
    user = _user_of(call.em, sign_in)
    strategy = call.form.string("strategy", required=True)
    if strategy != "reset_password_email_code":
        raise strategy_invalid()
    _prepare_reset(call.em, sign_in, user)
    return _respond(call, sign_in)


@route("/v1/client/sign_ins/<sign_in_id>/attempt_first_factor", "POST")
def attempt_first_factor(call: Call, sign_in_id: str) -> dict[str, Any]:
    sign_in = _find(call, sign_in_id)
    user = _user_of(call.em, sign_in)
    strategy = call.form.string("strategy", required=True)
    if strategy == "password":
        _check_password(user, call.form.string("password", required=True) or "")
        sign_in.first_factor_strategy, sign_in.first_factor_status = "password", "verified"
        _complete(call, sign_in, user)
    elif strategy == "reset_password_email_code" and sign_in.first_factor_strategy == strategy:
        new_password = call.form.string("password")
        if new_password is not None:
            check_password(new_password)
        codes.check(call.em, sign_in.code, call.form.string("code", required=True) or "")
        sign_in.first_factor_status = "verified"
        sign_in.status = "needs_new_password"
        if new_password is not None:
            # Clerk's documented custom flow sends the new password with the code and gets a complete sign-in.
            _set_new_password(call, sign_in, user, new_password)
    else:
        raise strategy_invalid()
    return _respond(call, sign_in)


@route("/v1/client/sign_ins/<sign_in_id>/reset_password", "POST")
def reset_password(call: Call, sign_in_id: str) -> dict[str, Any]:
    em = call.em
    sign_in = _find(call, sign_in_id)
    if sign_in.status != "needs_new_password":
        raise ClerkAPIError(
            400, "sign_in_no_reset_password", "Not allowed", "Verify the reset code before setting a new password."
        )
    user = _user_of(em, sign_in)
    password = call.form.string("password", required=True) or ""
    check_password(password)
    _set_new_password(call, sign_in, user, password)
    return _respond(call, sign_in)


def _set_new_password(call: Call, sign_in: Any, user: records.User, password: str) -> None:
    em = call.em
    user.password = password
    touch(em, user)
    if call.form.boolean("sign_out_of_other_sessions", default=True):
        for session in list(em.sessions.values()):
            if session.user_id == user.id:
                end_session(em, get_session(em, session.id), "revoked")
    check_can_sign_in(user)
    _complete(call, sign_in, user)
