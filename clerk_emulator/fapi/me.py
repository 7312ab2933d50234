"""``/v1/me``: the signed-in user (ClerkJS's ``user`` resource): names, password, phone numbers."""

from __future__ import annotations

import secrets
from typing import Any

from clerk_emulator import records, sessions, shapes
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.fapi import codes, wire
from clerk_emulator.fapi.routing import Call, route, signed_out
from clerk_emulator.state import Emulator
from clerk_emulator.users import check_password, check_phone, touch


def _user(call: Call) -> records.User:
    """The user of the session named by ``_clerk_session_id`` (FAPI's convention), else of the active one."""
    client = call.require_client()
    session_id = call.session_id_param() or client.last_active_session_id
    if not session_id:
        raise signed_out("There is no active session on this client.")
    if session_id not in client.session_ids:
        raise not_found("session")
    session = sessions.active_session(call.em, session_id)
    user = call.em.users.get(session.user_id)
    if user is None:
        raise signed_out("The user of this session no longer exists.")
    return user


def _respond(call: Call, resource: Any) -> dict[str, Any]:
    return wire.envelope(call.em, resource, call.client)


@route("/v1/me", "GET")
def get_me(call: Call) -> dict[str, Any]:
    return _respond(call, wire.user(call.em, _user(call)))


@route("/v1/me", "PATCH")
def update_me(call: Call) -> dict[str, Any]:
    user = _user(call)
    form = call.form
    for name in ("first_name", "last_name"):
        if name in form.data:
            setattr(user, name, form.string(name, max_length=256) or None)
    if form.has("primary_phone_number_id"):
        phone = _phone(user, form.string("primary_phone_number_id") or "")
        if not phone.verified:
            raise ClerkAPIError(
                422,
                "form_param_value_invalid",
                "is invalid",
                "Only a verified phone number can be primary.",
                meta={"param_name": "primary_phone_number_id"},
            )
        user.primary_phone_number_id = phone.id
    metadata = form.json_object("unsafe_metadata")
    if metadata is not None:
        user.unsafe_metadata = metadata
    touch(call.em, user)
    return _respond(call, wire.user(call.em, user))


@route("/v1/me/change_password", "POST")
def change_password(call: Call) -> dict[str, Any]:
    em, form = call.em, call.form
    user = _user(call)
    if user.password is not None:
        current = form.string("current_password", required=True) or ""
        if not secrets.compare_digest(user.password, current):
            raise ClerkAPIError(
                422,
                "form_password_incorrect",
                "Password is incorrect. Try again.",
                meta={"param_name": "current_password"},
            )
    new_password = form.string("new_password", required=True)
    check_password(new_password)
    user.password = new_password
    if form.boolean("sign_out_of_other_sessions"):
        keep = call.session_id_param() or call.require_client().last_active_session_id
        for session in list(em.sessions.values()):
            if session.user_id == user.id and session.id != keep:
                sessions.end_session(em, sessions.get_session(em, session.id), "revoked")
    touch(em, user)
    return _respond(call, wire.user(em, user))


# -- phone numbers ---------------------------------------------------------------------------------------------


def _phone(user: records.User, phone_id: str) -> records.PhoneNumber:
    for phone in user.phone_numbers:
        if phone.id == phone_id:
            return phone
    raise not_found("phone number")


def _code(phone: records.PhoneNumber) -> records.Code | None:
    if phone.pending_code is None or phone.code_expire_at is None:
        return None
    return records.Code(phone.pending_code, phone.code_expire_at, phone.attempts)


@route("/v1/me/phone_numbers", "GET")
def list_phone_numbers(call: Call) -> list[dict[str, Any]]:
    return [wire.phone_number(p) for p in _user(call).phone_numbers]


def add_phone(em: Emulator, user: records.User, number: str) -> records.PhoneNumber:
    number = check_phone("phone_number", number)
    existing = next((p for p in user.phone_numbers if p.phone_number == number), None)
    if existing is not None:
        raise ClerkAPIError(
            422, "form_identifier_exists", "That phone number is taken.", meta={"param_name": "phone_number"}
        )
    for other in em.users.values():
        if other.id != user.id and any(p.phone_number == number and p.verified for p in other.phone_numbers):
            raise ClerkAPIError(
                422, "form_identifier_exists", "That phone number is taken.", meta={"param_name": "phone_number"}
            )
    now = em.now_ms()
    phone = records.PhoneNumber(em.new_id("idn"), number, False, now, now)
    user.phone_numbers.append(phone)
    if user.primary_phone_number_id is None:
        user.primary_phone_number_id = phone.id
    touch(em, user)
    return phone


def prepare_phone(em: Emulator, user: records.User, phone: records.PhoneNumber) -> None:
    if phone.verified:
        raise ClerkAPIError(400, "verification_already_verified", "This phone number is already verified.")
    code = codes.new_code(em)
    phone.pending_code, phone.code_expire_at, phone.attempts = code.value, code.expire_at, 0
    phone.updated_at = em.now_ms()
    codes.send_sms_code(em, phone.phone_number, code, user_id=user.id)


def verify_phone(em: Emulator, user: records.User, phone: records.PhoneNumber, attempt: str) -> None:
    if phone.verified:
        raise ClerkAPIError(400, "verification_already_verified", "This phone number is already verified.")
    code = _code(phone)
    try:
        codes.check(em, code, attempt)
    finally:
        if code is not None:
            phone.attempts = code.attempts
    phone.verified = True
    phone.pending_code = None
    phone.updated_at = em.now_ms()
    touch(em, user)


@route("/v1/me/phone_numbers", "POST")
def create_phone_number(call: Call) -> dict[str, Any]:
    user = _user(call)
    phone = add_phone(call.em, user, call.form.string("phone_number", required=True) or "")
    return _respond(call, wire.phone_number(phone))


@route("/v1/me/phone_numbers/<phone_id>", "GET")
def get_phone_number(call: Call, phone_id: str) -> dict[str, Any]:
    return _respond(call, wire.phone_number(_phone(_user(call), phone_id)))


@route("/v1/me/phone_numbers/<phone_id>", "DELETE")
def delete_phone_number(call: Call, phone_id: str) -> dict[str, Any]:
    user = _user(call)
    phone = _phone(user, phone_id)
    user.phone_numbers.remove(phone)
    if user.primary_phone_number_id == phone.id:
        verified = [p for p in user.phone_numbers if p.verified]
        user.primary_phone_number_id = verified[0].id if verified else None
    touch(call.em, user)
    return _respond(call, shapes.deleted("phone_number", phone.id))


@route("/v1/me/phone_numbers/<phone_id>/prepare_verification", "POST")
def prepare_phone_verification(call: Call, phone_id: str) -> dict[str, Any]:
    em = call.em
    user = _user(call)
    phone = _phone(user, phone_id)
    if (call.form.string("strategy") or "phone_code") != "phone_code":
        # 400, not 422: the spec declares no 422 for this operation.
        raise ClerkAPIError(
            400, "verification_strategy_invalid", "Unsupported strategy.", meta={"param_name": "strategy"}
        )
    prepare_phone(em, user, phone)
    return _respond(call, wire.phone_number(phone))


@route("/v1/me/phone_numbers/<phone_id>/attempt_verification", "POST")
def attempt_phone_verification(call: Call, phone_id: str) -> dict[str, Any]:
    em = call.em
    user = _user(call)
    phone = _phone(user, phone_id)
    verify_phone(em, user, phone, call.form.string("code", required=True) or "")
    return _respond(call, wire.phone_number(phone))
