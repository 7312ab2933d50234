"""``/v1/client/sign_ups``: ticket sign-ups (the instance is invite-only), as ClerkJS drives them.

A sign-up completes as soon as nothing is missing: the ticket verifies the email address, the password is set,
and the phone number, when the instance verifies phones at sign-up, has been verified with ``phone_code``.
Until then it is ``missing_requirements`` with ``missing_fields`` / ``unverified_fields``, as on Clerk.
"""

from __future__ import annotations

from typing import Any

from clerk_emulator import records
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.fapi import codes, wire
from clerk_emulator.fapi.routing import Call, Form, route
from clerk_emulator.invitations import accept_app_invitation, accept_organization_invitation, resolve_ticket
from clerk_emulator.params import normalize_email
from clerk_emulator.sessions import start_session
from clerk_emulator.state import Emulator
from clerk_emulator.users import check_password, check_phone, find_user_by_email, identifier_taken, new_user

ATTEMPT_LIFETIME_MS = 86_400_000


def restricted() -> ClerkAPIError:
    return ClerkAPIError(
        403,
        "not_allowed_access",
        "Sign-ups are restricted to invitations.",
        "This application is invite-only: sign up through an invitation link.",
    )


def _required(em: Emulator) -> list[str]:
    fields = ["email_address", "password"]
    if em.settings.names_required:
        fields += ["first_name", "last_name"]
    if em.settings.phone_required:
        fields.append("phone_number")
    return fields


def _missing(em: Emulator, sign_up: records.SignUp) -> list[str]:
    values = {
        "email_address": sign_up.email_address,
        "password": sign_up.password,
        "first_name": sign_up.first_name,
        "last_name": sign_up.last_name,
        "phone_number": sign_up.phone_number,
    }
    return [name for name in _required(em) if not values[name]]


def _unverified(em: Emulator, sign_up: records.SignUp) -> list[str]:
    if sign_up.phone_number and em.settings.phone_verify_at_sign_up and not sign_up.phone_verified:
        return ["phone_number"]
    return []


def _phone_verification(em: Emulator, sign_up: records.SignUp) -> dict[str, Any] | None:
    if not sign_up.phone_number:
        return None
    code = sign_up.code
    if sign_up.phone_verified:
        status, next_action = "verified", ""
    elif code is not None and code.expire_at <= em.now_ms():
        status, next_action = "expired", "needs_prepare"
    else:
        status, next_action = "unverified", "needs_attempt" if code else "needs_prepare"
    verification = wire.otp_verification(
        "phone_code",
        status,
        attempts=code.attempts if code else None,
        expire_at=code.expire_at if code else sign_up.abandon_at,
    )
    return {**verification, "next_action": next_action, "supported_strategies": ["phone_code"]}


def sign_up_json(em: Emulator, sign_up: records.SignUp) -> dict[str, Any]:
    settings = em.settings
    optional = [] if settings.names_required else ["first_name", "last_name"]
    if not settings.phone_required:
        optional.append("phone_number")
    email_verification: dict[str, Any] | None = (
        {
            "object": "verification_ticket",
            "status": "verified",
            "strategy": "ticket",
            "attempts": None,
            "expire_at": None,
            "next_action": "",
            "supported_strategies": [],
        }
        if sign_up.email_address
        else None
    )
    return {
        "object": "sign_up_attempt",
        "id": sign_up.id,
        "status": sign_up.status,
        "required_fields": _required(em),
        "optional_fields": optional,
        "missing_fields": [] if sign_up.status == "complete" else _missing(em, sign_up),
        "unverified_fields": [] if sign_up.status == "complete" else _unverified(em, sign_up),
        "verifications": {
            "email_address": email_verification,
            "phone_number": _phone_verification(em, sign_up),
            "web3_wallet": None,
            "external_account": None,
        },
        "username": None,
        "email_address": sign_up.email_address,
        "phone_number": sign_up.phone_number,
        "web3_wallet": None,
        "password_enabled": sign_up.password is not None,
        "first_name": sign_up.first_name,
        "last_name": sign_up.last_name,
        "unsafe_metadata": dict(sign_up.unsafe_metadata),
        "public_metadata": {},
        "custom_action": False,
        "external_id": None,
        "created_session_id": sign_up.created_session_id,
        "created_user_id": sign_up.created_user_id,
        "abandon_at": sign_up.abandon_at,
        "legal_accepted_at": None,
    }


def apply_fields(form: Form, sign_up: records.SignUp) -> None:
    """Take the fields of one request (``create`` or ``update``)."""
    email = form.string("email_address")
    if email and sign_up.email_address and normalize_email(email) != sign_up.email_address:
        raise ClerkAPIError(
            422,
            "form_param_value_invalid",
            "is invalid",
            "This invitation belongs to another email address.",
            meta={"param_name": "email_address"},
        )
    if form.has("password"):
        password = form.string("password")
        check_password(password)
        sign_up.password = password
    for name in ("first_name", "last_name"):
        if name in form.data:
            setattr(sign_up, name, form.string(name, max_length=256) or None)
    if form.has("phone_number"):
        phone = check_phone("phone_number", form.string("phone_number") or "")
        if phone != sign_up.phone_number:
            sign_up.phone_number, sign_up.phone_verified, sign_up.code = phone, False, None
    metadata = form.json_object("unsafe_metadata")
    if metadata is not None:
        sign_up.unsafe_metadata = metadata


def complete_if_ready(em: Emulator, client: records.Client, sign_up: records.SignUp) -> None:
    """Create the user, accept the invitation and start the session once nothing is missing or unverified."""
    if _missing(em, sign_up) or _unverified(em, sign_up):
        return
    invitation = resolve_ticket(em, sign_up.ticket or "")
    if find_user_by_email(em, invitation.email_address) is not None:
        raise identifier_taken("email_address")
    public_metadata = invitation.public_metadata if isinstance(invitation, records.Invitation) else {}
    user = new_user(
        em,
        email=invitation.email_address,
        email_verification="ticket",
        phone=sign_up.phone_number,
        phone_verified=sign_up.phone_verified,
        password=sign_up.password,
        first_name=sign_up.first_name,
        last_name=sign_up.last_name,
        public_metadata=public_metadata,
        unsafe_metadata=sign_up.unsafe_metadata,
    )
    organization_id = None
    if isinstance(invitation, records.OrganizationInvitation):
        accept_organization_invitation(em, invitation, user)
        organization_id = invitation.organization_id
    else:
        accept_app_invitation(em, invitation)
    session = start_session(em, user, client, organization_id=organization_id)
    sign_up.status, sign_up.created_user_id, sign_up.created_session_id = "complete", user.id, session.id
    client.sign_up_id = None
    client.updated_at = em.now_ms()


def _respond(call: Call, sign_up: records.SignUp) -> dict[str, Any]:
    return wire.envelope(call.em, sign_up_json(call.em, sign_up), call.client)


def _find(call: Call, sign_up_id: str, *, pending: bool = True) -> records.SignUp:
    client = call.require_client()
    sign_up = call.em.sign_ups.get(sign_up_id)
    if sign_up is None or sign_up.client_id != client.id:
        raise not_found("sign up")
    if pending and sign_up.status == "complete":
        raise ClerkAPIError(
            400, "sign_up_already_complete", "Already complete", "This sign-up attempt has already been completed."
        )
    return sign_up


@route("/v1/client/sign_ups", "POST")
def create_sign_up(call: Call) -> dict[str, Any]:
    em = call.em
    ticket = call.form.string("ticket")
    strategy = call.form.string("strategy")
    if not ticket or strategy not in (None, "ticket"):
        raise restricted()
    invitation = resolve_ticket(em, ticket)
    if find_user_by_email(em, invitation.email_address) is not None:
        raise identifier_taken("email_address")
    client = call.ensure_client()
    now = em.now_ms()
    sign_up = records.SignUp(
        em.new_id("sua"),
        client.id,
        now,
        now + ATTEMPT_LIFETIME_MS,
        ticket=ticket,
        email_address=invitation.email_address,
    )
    apply_fields(call.form, sign_up)
    em.sign_ups[sign_up.id] = sign_up
    client.sign_up_id = sign_up.id
    complete_if_ready(call.em, call.require_client(), sign_up)
    return _respond(call, sign_up)


@route("/v1/client/sign_ups/<sign_up_id>", "GET")
def get_sign_up(call: Call, sign_up_id: str) -> dict[str, Any]:
    return _respond(call, _find(call, sign_up_id, pending=False))


@route("/v1/client/sign_ups/<sign_up_id>", "PATCH")
def update_sign_up(call: Call, sign_up_id: str) -> dict[str, Any]:
    sign_up = _find(call, sign_up_id)
    apply_fields(call.form, sign_up)
    complete_if_ready(call.em, call.require_client(), sign_up)
    return _respond(call, sign_up)


def _check_phone_strategy(call: Call, sign_up: records.SignUp) -> None:
    if call.form.string("strategy", required=True) != "phone_code" or not sign_up.phone_number:
        raise ClerkAPIError(
            422,
            "verification_strategy_invalid",
            "Unsupported strategy",
            "Only phone_code verification of a phone number is supported here.",
            meta={"param_name": "strategy"},
        )


@route("/v1/client/sign_ups/<sign_up_id>/prepare_verification", "POST")
def prepare_verification(call: Call, sign_up_id: str) -> dict[str, Any]:
    sign_up = _find(call, sign_up_id)
    _check_phone_strategy(call, sign_up)
    sign_up.code = codes.new_code(call.em)
    codes.send_sms_code(call.em, sign_up.phone_number or "", sign_up.code, user_id=None)
    return _respond(call, sign_up)


@route("/v1/client/sign_ups/<sign_up_id>/attempt_verification", "POST")
def attempt_verification(call: Call, sign_up_id: str) -> dict[str, Any]:
    sign_up = _find(call, sign_up_id)
    _check_phone_strategy(call, sign_up)
    codes.check(call.em, sign_up.code, call.form.string("code", required=True) or "")
    sign_up.phone_verified = True
    complete_if_ready(call.em, call.require_client(), sign_up)
    return _respond(call, sign_up)
