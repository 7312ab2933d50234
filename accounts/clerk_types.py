"""Our own small views of Clerk objects, parsed from Clerk's JSON (Backend API responses and webhook ``data``).

The gateway (accounts/clerk.py) and the webhook handlers both build these, so the rest of the code never sees the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.emails import normalize_email_or_none

# Clerk timestamps are milliseconds since the epoch. Anything outside year 1970..9999 cannot be a real Clerk time
# (and would overflow our BigIntegerField or ``datetime``): it is read as 0, "no time", and the field is named in
# ``out_of_range`` so that the services can audit it (docs/security.md, "Identities").
MAX_CLERK_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def clerk_time(value: int) -> datetime | None:
    """A Clerk timestamp (milliseconds, as the parsers here read it) as an aware datetime; 0 ("no time") is None."""
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value > 0 else None


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CLERK_MS:
        return 0
    return value


def _out_of_range(data: dict[str, Any], *keys: str) -> tuple[str, ...]:
    return tuple(key for key in keys if data.get(key) is not None and _int(data, key) == 0 and data.get(key) != 0)


def _email_key(value: str) -> str:
    """Our key for an address Clerk holds: ``core.emails.normalize_email``, "" when it is not usable."""
    return normalize_email_or_none(value) or ""


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ClerkUser:
    id: str
    email: str
    first_name: str
    last_name: str
    image_url: str
    phone_number: str
    phone_verified: bool
    public_metadata: dict[str, Any]
    banned: bool
    locked: bool
    updated_at: int
    created_at: int
    email_verified_by_ticket: bool = False
    # The primary address exactly as Clerk holds it (``email`` is our normalised key of it, "" if unusable).
    raw_email: str = ""
    out_of_range: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkUser:
        primary_email_id = data.get("primary_email_address_id")
        email, by_ticket = "", False
        for address in data.get("email_addresses") or []:
            if isinstance(address, dict) and (address.get("id") == primary_email_id or not email):
                email = _str(address, "email_address")
                verification = address.get("verification") or {}
                by_ticket = isinstance(verification, dict) and verification.get("strategy") == "ticket"
        primary_phone_id = data.get("primary_phone_number_id")
        phone, phone_verified = "", False
        for number in data.get("phone_numbers") or []:
            if isinstance(number, dict) and (number.get("id") == primary_phone_id or not phone):
                phone = _str(number, "phone_number")
                verification = number.get("verification") or {}
                phone_verified = isinstance(verification, dict) and verification.get("status") == "verified"
        return cls(
            id=_str(data, "id"),
            email=_email_key(email),
            first_name=_str(data, "first_name"),
            last_name=_str(data, "last_name"),
            image_url=_str(data, "image_url") or _str(data, "profile_image_url"),
            phone_number=phone,
            phone_verified=phone_verified,
            public_metadata=_dict(data, "public_metadata"),
            banned=bool(data.get("banned")),
            locked=bool(data.get("locked")),
            updated_at=_int(data, "updated_at"),
            created_at=_int(data, "created_at"),
            email_verified_by_ticket=by_ticket,
            raw_email=email.strip(),
            out_of_range=_out_of_range(data, "updated_at", "created_at"),
        )


@dataclass(frozen=True)
class ClerkOrganization:
    id: str
    name: str
    slug: str
    updated_at: int
    public_metadata: dict[str, Any] = field(default_factory=dict)
    out_of_range: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkOrganization:
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            slug=_str(data, "slug"),
            updated_at=_int(data, "updated_at"),
            public_metadata=_dict(data, "public_metadata"),
            out_of_range=_out_of_range(data, "updated_at"),
        )


@dataclass(frozen=True)
class ClerkMembership:
    id: str
    organization: ClerkOrganization
    user_id: str
    email: str
    role: str
    updated_at: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkMembership:
        user_data = _dict(data, "public_user_data")
        return cls(
            id=_str(data, "id"),
            organization=ClerkOrganization.from_json(_dict(data, "organization")),
            user_id=_str(user_data, "user_id"),
            email=_str(user_data, "identifier").strip().lower(),
            role=_str(data, "role"),
            updated_at=_int(data, "updated_at"),
        )


@dataclass(frozen=True)
class ClerkOrganizationInvitation:
    id: str
    organization_id: str
    email: str
    role: str
    status: str
    url: str
    expires_at: int
    created_at: int
    updated_at: int
    user_id: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkOrganizationInvitation:
        return cls(
            id=_str(data, "id"),
            organization_id=_str(data, "organization_id"),
            email=_email_key(_str(data, "email_address")),
            role=_str(data, "role"),
            status=_str(data, "status"),
            url=_str(data, "url"),
            expires_at=_int(data, "expires_at"),
            created_at=_int(data, "created_at"),
            updated_at=_int(data, "updated_at"),
            user_id=_str(data, "user_id"),
        )


@dataclass(frozen=True)
class ClerkInvitation:
    """An application (instance) invitation."""

    id: str
    email: str
    status: str
    url: str
    public_metadata: dict[str, Any]
    expires_at: int
    created_at: int
    updated_at: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkInvitation:
        return cls(
            id=_str(data, "id"),
            email=_email_key(_str(data, "email_address")),
            status=_str(data, "status"),
            url=_str(data, "url"),
            public_metadata=_dict(data, "public_metadata"),
            expires_at=_int(data, "expires_at"),
            created_at=_int(data, "created_at"),
            updated_at=_int(data, "updated_at"),
        )
