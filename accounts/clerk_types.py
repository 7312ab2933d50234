"""Our own small views of Clerk objects, parsed from Clerk's JSON (Backend API responses and webhook ``data``).

The gateway (accounts/clerk.py) and the webhook handlers both build these, so the rest of the code never sees the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


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
            email=email.strip().lower(),
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
        )


@dataclass(frozen=True)
class ClerkOrganization:
    id: str
    name: str
    slug: str
    updated_at: int
    public_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClerkOrganization:
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            slug=_str(data, "slug"),
            updated_at=_int(data, "updated_at"),
            public_metadata=_dict(data, "public_metadata"),
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
            email=_str(data, "email_address").strip().lower(),
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
            email=_str(data, "email_address").strip().lower(),
            status=_str(data, "status"),
            url=_str(data, "url"),
            public_metadata=_dict(data, "public_metadata"),
            expires_at=_int(data, "expires_at"),
            created_at=_int(data, "created_at"),
            updated_at=_int(data, "updated_at"),
        )
