"""One-time codes (email and SMS), delivered to the emulator's mailbox, with Clerk's attempt rules."""

from __future__ import annotations

import secrets

from clerk_emulator import records
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.invitations import send_email
from clerk_emulator.state import Emulator

CODE_TTL_MS = 10 * 60_000
MAX_ATTEMPTS = 3


def new_code(em: Emulator) -> records.Code:
    return records.Code(f"{secrets.randbelow(1_000_000):06d}", em.now_ms() + CODE_TTL_MS)


def send_sms_code(em: Emulator, to: str, code: records.Code, *, user_id: str | None) -> None:
    template = em.templates.get(("sms", "verification_code"))
    em.add_message(
        records.Message(
            id=em.new_id("sms"),
            kind="sms",
            slug="verification_code",
            to=to,
            subject="Verification code",
            body_plain=f"{code.value} is your verification code.",
            body_html="",
            created_at=em.now_ms(),
            delivered_by_clerk=template.delivered_by_clerk if template else True,
            user_id=user_id,
            code=code.value,
        )
    )


def send_reset_password_code(em: Emulator, to: str, code: records.Code, *, user_id: str) -> None:
    message = send_email(
        em,
        slug="reset_password_code",
        to=to,
        subject=f"{code.value} is your password reset code",
        text=f"{code.value} is your code to reset your password. It expires in 10 minutes.",
        link=None,
        data={"otp_code": code.value},
        user_id=user_id,
    )
    message.code = code.value


def check(em: Emulator, code: records.Code | None, attempt: str) -> None:
    """Raise Clerk's error for a wrong, expired or exhausted code; a right code passes (and is used up)."""
    if code is None:
        raise ClerkAPIError(400, "verification_not_sent", "No verification code was sent. Request a new code.")
    if code.expire_at <= em.now_ms():
        raise ClerkAPIError(400, "verification_expired", "This verification code has expired. Request a new code.")
    if code.attempts >= MAX_ATTEMPTS:
        raise ClerkAPIError(
            400, "verification_failed", "Too many failed attempts. Request a new code.", meta={"param_name": "code"}
        )
    if not secrets.compare_digest(attempt.strip(), code.value):
        code.attempts += 1
        raise ClerkAPIError(422, "form_code_incorrect", "Incorrect code", meta={"param_name": "code"})
    code.attempts += 1
