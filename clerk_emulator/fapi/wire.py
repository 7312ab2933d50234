"""The Frontend API's JSON resources (snake_case, as ClerkJS reads them), and the ``{response, client}`` envelope."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.sessions import get_session, mint_token
from clerk_emulator.state import Emulator


def otp_verification(strategy: str, status: str, *, attempts: int | None, expire_at: int) -> dict[str, Any]:
    return {
        "object": "verification_otp",
        "status": status,
        "strategy": strategy,
        "attempts": attempts,
        "expire_at": expire_at,
    }


def phone_verification(phone: records.PhoneNumber) -> dict[str, Any] | None:
    """A phone number's verification as the Frontend API shows it: none until a code was sent (ClerkJS's
    ``prepareVerification``), then the code's state; the Backend API always shows one (``shapes``)."""
    if phone.verified:
        return otp_verification(
            "phone_code", "verified", attempts=phone.attempts, expire_at=phone.code_expire_at or phone.updated_at
        )
    if phone.code_expire_at is not None:
        return otp_verification("phone_code", "unverified", attempts=phone.attempts, expire_at=phone.code_expire_at)
    return None


def phone_number(phone: records.PhoneNumber) -> dict[str, Any]:
    return {**shapes.phone_number(phone, phone_verification(phone)), "backup_codes": None}


def _organization(em: Emulator, org: records.Organization) -> dict[str, Any]:
    return {
        "object": "organization",
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "image_url": shapes.image_url(org.id),
        "has_image": False,
        "max_allowed_memberships": org.max_allowed_memberships,
        "admin_delete_enabled": True,
        "public_metadata": copy.deepcopy(org.public_metadata),
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


def user(em: Emulator, record: records.User) -> dict[str, Any]:
    memberships = sorted(
        (m for m in em.memberships.values() if m.user_id == record.id and m.organization_id in em.organizations),
        key=lambda m: (m.created_at, m.id),
    )
    return {
        "id": record.id,
        "object": "user",
        "username": record.username,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "image_url": shapes.image_url(record.id),
        "has_image": False,
        "primary_email_address_id": record.primary_email_address_id,
        "primary_phone_number_id": record.primary_phone_number_id,
        "primary_web3_wallet_id": None,
        "password_enabled": record.password is not None,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "email_addresses": [shapes.email_address(e) for e in record.email_addresses],
        "phone_numbers": [phone_number(p) for p in record.phone_numbers],
        "web3_wallets": [],
        "passkeys": [],
        "organization_memberships": [
            {
                "id": m.id,
                "object": "organization_membership",
                "role": m.role,
                "role_name": shapes.ROLE_NAMES.get(m.role, m.role),
                "permissions": list(shapes.ROLE_PERMISSIONS.get(m.role, [])),
                "public_metadata": copy.deepcopy(m.public_metadata),
                "organization": _organization(em, em.organizations[m.organization_id]),
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            }
            for m in memberships
        ],
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "public_metadata": copy.deepcopy(record.public_metadata),
        "unsafe_metadata": copy.deepcopy(record.unsafe_metadata),
        "external_id": record.external_id,
        "last_sign_in_at": record.last_sign_in_at,
        "banned": record.banned,
        "locked": record.locked,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": 100,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "delete_self_enabled": False,
        "create_organization_enabled": False,
        "last_active_at": record.last_active_at,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "legal_accepted_at": None,
    }


# The page origin of the Frontend API request being answered: the ``azp`` of the tokens minted into its response.
request_origin: ContextVar[str | None] = ContextVar("request_origin", default=None)


def is_live(em: Emulator, session: records.Session) -> bool:
    owner = em.users.get(session.user_id)
    return session.status == "active" and owner is not None and not owner.banned


def session(em: Emulator, record: records.Session) -> dict[str, Any]:
    owner = em.users.get(record.user_id)
    data: dict[str, Any] = {
        "object": "session",
        "id": record.id,
        "status": record.status,
        "expire_at": record.expire_at,
        "abandon_at": record.abandon_at,
        "last_active_at": record.last_active_at,
        "last_active_organization_id": record.last_active_organization_id,
        # ClerkJS writes this token to the `__session` cookie as soon as it reads the client, and removes the cookie
        # when it is null, so a live session always carries a fresh one (as Clerk's responses do).
        "last_active_token": (
            {
                "object": "token",
                "jwt": mint_token(
                    em, record, azp=request_origin.get(), lifetime_s=em.settings.session_token_lifetime_s
                ),
            }
            if is_live(em, record)
            else None
        ),
        "actor": None,
        "tasks": None,
        "public_user_data": shapes.public_user_data(em, record.user_id),
        "factor_verification_age": [0, -1],
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if owner is not None:
        data["user"] = user(em, owner)
    return data


def client(em: Emulator, record: records.Client | None) -> dict[str, Any] | None:
    """The client with its live sessions (ended ones drop out, as on Clerk) and its current sign-in/sign-up."""
    if record is None:
        return None
    # Imported here: the attempt shapes live with their resources, which import this module.
    from clerk_emulator.fapi import sign_ins, sign_ups

    live = [s for s in (get_session(em, sid) for sid in record.session_ids) if is_live(em, s)]
    if record.last_active_session_id not in {s.id for s in live}:
        record.last_active_session_id = live[-1].id if live else None
    sign_in = em.sign_ins.get(record.sign_in_id or "")
    sign_up = em.sign_ups.get(record.sign_up_id or "")
    return {
        "object": "client",
        "id": record.id,
        "sessions": [session(em, s) for s in live],
        "sign_in": sign_ins.sign_in_json(em, sign_in) if sign_in else None,
        "sign_up": sign_ups.sign_up_json(em, sign_up) if sign_up else None,
        "last_active_session_id": record.last_active_session_id,
        "last_authentication_strategy": None,
        "cookie_expires_at": None,
        "captcha_bypass": False,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def envelope(em: Emulator, resource: Any, record: records.Client | None) -> dict[str, Any]:
    return {"response": resource, "client": client(em, record)}
