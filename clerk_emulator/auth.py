"""What the browser does through ClerkJS: sign in, sign up with a ticket, phone verification, sign out."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.invitations import accept_app_invitation, accept_organization_invitation, resolve_ticket
from clerk_emulator.params import Body, normalize_email
from clerk_emulator.sessions import check_can_sign_in, start_session
from clerk_emulator.state import Emulator
from clerk_emulator.users import check_password, check_phone, find_user_by_email, identifier_taken, new_user, touch

PHONE_CODE_TTL_MS = 10 * 60_000
MAX_CODE_ATTEMPTS = 3
TICKET_MAX_LENGTH = 4096  # tickets are RS256 JWTs, longer than an ordinary string parameter


def identifier_not_found() -> ClerkAPIError:
    return ClerkAPIError(
        422, "form_identifier_not_found", "Couldn't find your account.", meta={"param_name": "identifier"}
    )


def sign_in(em: Emulator, client: records.Client, raw: Any) -> records.Session:
    body = Body(
        raw, allowed={"identifier", "password", "strategy", "ticket", "redirect_url", "action_complete_redirect_url"}
    )
    strategy = body.string("strategy") or ("ticket" if body.has("ticket") else "password")
    if strategy == "ticket":
        return _sign_in_with_ticket(
            em, client, body.string("ticket", required=True, max_length=TICKET_MAX_LENGTH) or ""
        )
    if strategy != "password":
        raise ClerkAPIError(
            422, "strategy_for_user_invalid", "This strategy is not supported.", meta={"param_name": "strategy"}
        )
    identifier = body.string("identifier", required=True) or ""
    password = body.string("password", required=True) or ""
    user = find_user_by_email(em, identifier)
    if user is None:
        raise identifier_not_found()
    check_can_sign_in(user)
    if user.password is None or not secrets.compare_digest(user.password, password):
        raise ClerkAPIError(
            422,
            "form_password_incorrect",
            "Password is incorrect. Try again, or use another method.",
            meta={"param_name": "password"},
        )
    return start_session(em, user, client)


def _sign_in_with_ticket(em: Emulator, client: records.Client, ticket: str) -> records.Session:
    invitation = resolve_ticket(em, ticket)
    user = find_user_by_email(em, invitation.email_address)
    if user is None:
        raise identifier_not_found()
    check_can_sign_in(user)
    organization_id = None
    if isinstance(invitation, records.OrganizationInvitation):
        accept_organization_invitation(em, invitation, user)
        organization_id = invitation.organization_id
    else:
        accept_app_invitation(em, invitation)
    return start_session(em, user, client, organization_id=organization_id)


def sign_up(em: Emulator, client: records.Client, raw: Any) -> records.Session:
    """Only ticket sign-ups: the emulated instance is invite-only (``sign_up_mode: restricted``)."""
    body = Body(
        raw,
        allowed={
            "strategy",
            "ticket",
            "password",
            "first_name",
            "last_name",
            "phone_number",
            "email_address",
            "username",
            "unsafe_metadata",
            "legal_accepted",
            "redirect_url",
            "action_complete_redirect_url",
            "locale",
        },
    )
    ticket = body.string("ticket", max_length=TICKET_MAX_LENGTH)
    if not ticket:
        raise ClerkAPIError(
            403,
            "not_allowed_access",
            "Sign-ups are restricted to invitations.",
            "This application is invite-only: sign up through an invitation link.",
        )
    invitation = resolve_ticket(em, ticket)
    email = body.string("email_address")
    if email and normalize_email(email) != invitation.email_address:
        raise ClerkAPIError(
            422,
            "ticket_invalid_code",
            "is invalid",
            "This invitation belongs to another email address.",
            meta={"param_name": "email_address"},
        )
    if find_user_by_email(em, invitation.email_address) is not None:
        raise identifier_taken("email_address")
    password = body.string("password", required=True)
    check_password(password)
    phone = body.string("phone_number")
    phone = check_phone("phone_number", phone) if phone else None
    public_metadata = invitation.public_metadata if isinstance(invitation, records.Invitation) else {}
    user = new_user(
        em,
        email=invitation.email_address,
        email_verification="ticket",
        phone=phone,
        phone_verified=False,
        password=password,
        first_name=body.string("first_name"),
        last_name=body.string("last_name"),
        username=body.string("username"),
        public_metadata=public_metadata,
        unsafe_metadata=body.mapping("unsafe_metadata"),
    )
    organization_id = None
    if isinstance(invitation, records.OrganizationInvitation):
        accept_organization_invitation(em, invitation, user)
        organization_id = invitation.organization_id
    else:
        accept_app_invitation(em, invitation)
    return start_session(em, user, client, organization_id=organization_id)


def create_phone_number(em: Emulator, user: records.User, raw: Any) -> records.PhoneNumber:
    body = Body(raw, allowed={"phone_number", "reserved_for_second_factor"})
    phone = check_phone("phone_number", body.string("phone_number", required=True) or "")
    for existing in user.phone_numbers:
        if existing.phone_number == phone:
            return existing
    for other in em.users.values():
        if other.id != user.id and any(p.phone_number == phone and p.verified for p in other.phone_numbers):
            raise ClerkAPIError(
                422, "form_identifier_exists", "That phone number is taken.", meta={"param_name": "phone_number"}
            )
    now = em.now_ms()
    number = records.PhoneNumber(em.new_id("idn"), phone, False, now, now)
    user.phone_numbers.append(number)
    if user.primary_phone_number_id is None:
        user.primary_phone_number_id = number.id
    touch(em, user)
    return number


def find_phone(user: records.User, phone_id: str) -> records.PhoneNumber:
    for phone in user.phone_numbers:
        if phone.id == phone_id:
            return phone
    raise ClerkAPIError(404, "resource_not_found", "not found", "Phone number not found.")


def prepare_phone_verification(
    em: Emulator, user: records.User, phone: records.PhoneNumber, raw: Any
) -> records.PhoneNumber:
    body = Body(raw, allowed={"strategy"})
    if (body.string("strategy") or "phone_code") != "phone_code":
        raise ClerkAPIError(
            422, "verification_strategy_invalid", "Unsupported strategy.", meta={"param_name": "strategy"}
        )
    if phone.verified:
        raise ClerkAPIError(400, "verification_already_verified", "This phone number is already verified.")
    phone.pending_code = f"{secrets.randbelow(1_000_000):06d}"
    phone.code_expire_at = em.now_ms() + PHONE_CODE_TTL_MS
    phone.attempts = 0
    phone.updated_at = em.now_ms()
    template = em.templates.get(("sms", "verification_code"))
    em.add_message(
        records.Message(
            id=em.new_id("sms"),
            kind="sms",
            slug="verification_code",
            to=phone.phone_number,
            subject="Verification code",
            body_plain=f"{phone.pending_code} is your verification code.",
            body_html="",
            created_at=em.now_ms(),
            delivered_by_clerk=template.delivered_by_clerk if template else True,
            user_id=user.id,
            code=phone.pending_code,
        )
    )
    return phone


def attempt_phone_verification(
    em: Emulator, user: records.User, phone: records.PhoneNumber, raw: Any
) -> records.PhoneNumber:
    body = Body(raw, allowed={"code"})
    code = body.string("code", required=True) or ""
    if phone.verified:
        raise ClerkAPIError(400, "verification_already_verified", "This phone number is already verified.")
    if phone.pending_code is None:
        raise ClerkAPIError(400, "verification_not_sent", "No verification code was sent. Request a new code.")
    if phone.code_expire_at is not None and phone.code_expire_at <= em.now_ms():
        raise ClerkAPIError(400, "verification_expired", "This verification code has expired. Request a new code.")
    if phone.attempts >= MAX_CODE_ATTEMPTS:
        raise ClerkAPIError(
            400, "verification_failed", "Too many failed attempts. Request a new code.", meta={"param_name": "code"}
        )
    if not secrets.compare_digest(code.strip(), phone.pending_code):
        phone.attempts += 1
        raise ClerkAPIError(422, "form_code_incorrect", "Incorrect code.", meta={"param_name": "code"})
    phone.verified = True
    phone.pending_code = None
    phone.updated_at = em.now_ms()
    touch(em, user)
    return phone


def ticket_status(em: Emulator, ticket: str) -> tuple[str, str | None]:
    """``(status, redirect_url)`` for ``/v1/tickets/accept``: ``sign_in`` if the email has a user, else ``sign_up``."""
    invitation = resolve_ticket(em, ticket)
    user = find_user_by_email(em, invitation.email_address)
    return ("sign_in" if user is not None else "sign_up"), invitation.redirect_url


def client_user_json(em: Emulator, user: records.User) -> dict[str, Any]:
    """The FAPI user resource (snake_case on the wire, as Clerk's Frontend API sends it)."""
    data = shapes.user(user)
    data.pop("private_metadata", None)
    data["organization_memberships"] = [
        {
            "id": m.id,
            "object": "organization_membership",
            "role": m.role,
            "role_name": shapes.ROLE_NAMES.get(m.role, m.role),
            "permissions": list(shapes.ROLE_PERMISSIONS.get(m.role, [])),
            "public_metadata": copy.deepcopy(m.public_metadata),
            "organization": {
                "object": "organization",
                "id": m.organization_id,
                "name": em.organizations[m.organization_id].name,
                "slug": em.organizations[m.organization_id].slug,
                "image_url": shapes.image_url(m.organization_id),
                "has_image": False,
                "public_metadata": copy.deepcopy(em.organizations[m.organization_id].public_metadata),
            },
            "created_at": m.created_at,
            "updated_at": m.updated_at,
        }
        for m in sorted(em.memberships.values(), key=lambda m: (m.created_at, m.id))
        if m.user_id == user.id and m.organization_id in em.organizations
    ]
    return data
