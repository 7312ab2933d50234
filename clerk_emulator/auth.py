"""In-process shortcuts for tests: what a browser achieves through the Frontend API, without HTTP.

Browser code and FAPI tests go through ``clerk_emulator.fapi`` over HTTP; this only serves tests that need the
outcome (an invitation accepted by a new user) inside the emulator's process.
"""

from __future__ import annotations

from typing import Any

from clerk_emulator import records
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.fapi.me import add_phone, prepare_phone, verify_phone
from clerk_emulator.fapi.routing import Form
from clerk_emulator.fapi.sign_ups import ATTEMPT_LIFETIME_MS, apply_fields, complete_if_ready, restricted
from clerk_emulator.invitations import resolve_ticket
from clerk_emulator.state import Emulator


def sign_up(em: Emulator, client: records.Client, raw: dict[str, Any]) -> records.Session:
    """A ticket sign-up that must complete at once (``raw`` as ClerkJS's ``signUp.create`` would send it)."""
    form = Form(raw)
    ticket = form.string("ticket")
    if not ticket:
        raise restricted()
    invitation = resolve_ticket(em, ticket)
    now = em.now_ms()
    attempt = records.SignUp(
        em.new_id("sua"),
        client.id,
        now,
        now + ATTEMPT_LIFETIME_MS,
        ticket=ticket,
        email_address=invitation.email_address,
    )
    apply_fields(form, attempt)
    em.sign_ups[attempt.id] = attempt
    complete_if_ready(em, client, attempt)
    if attempt.created_session_id is None:
        raise ClerkAPIError(422, "sign_up_incomplete", "Sign-up incomplete", "This sign-up needs more steps.")
    return em.sessions[attempt.created_session_id]


def create_phone_number(em: Emulator, user: records.User, raw: dict[str, Any]) -> records.PhoneNumber:
    """``user.createPhoneNumber({phoneNumber})``."""
    return add_phone(em, user, str(raw.get("phone_number", "")))


def prepare_phone_verification(
    em: Emulator, user: records.User, phone: records.PhoneNumber, raw: dict[str, Any] | None = None
) -> records.PhoneNumber:
    """``phoneNumber.prepareVerification()``: the code goes to the mailbox (and ``phone.pending_code``)."""
    prepare_phone(em, user, phone)
    return phone


def attempt_phone_verification(
    em: Emulator, user: records.User, phone: records.PhoneNumber, raw: dict[str, Any]
) -> records.PhoneNumber:
    """``phoneNumber.attemptVerification({code})``."""
    verify_phone(em, user, phone, str(raw.get("code", "")))
    return phone
