"""The emulator's stored resources. Times are Unix milliseconds, as Clerk sends them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmailAddress:
    id: str
    email_address: str
    verification_strategy: str | None  # "ticket", "admin", "email_code" or None when unverified
    created_at: int
    updated_at: int


@dataclass
class PhoneNumber:
    id: str
    phone_number: str
    verified: bool
    created_at: int
    updated_at: int
    pending_code: str | None = None
    code_expire_at: int | None = None
    attempts: int = 0


@dataclass
class User:
    id: str
    created_at: int
    updated_at: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    external_id: str | None = None
    password: str | None = None
    email_addresses: list[EmailAddress] = field(default_factory=list)
    phone_numbers: list[PhoneNumber] = field(default_factory=list)
    primary_email_address_id: str | None = None
    primary_phone_number_id: str | None = None
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)
    unsafe_metadata: dict[str, Any] = field(default_factory=dict)
    banned: bool = False
    locked: bool = False
    last_sign_in_at: int | None = None
    last_active_at: int | None = None

    @property
    def primary_email(self) -> str | None:
        for email in self.email_addresses:
            if email.id == self.primary_email_address_id:
                return email.email_address
        return None

    @property
    def primary_phone(self) -> PhoneNumber | None:
        for phone in self.phone_numbers:
            if phone.id == self.primary_phone_number_id:
                return phone
        return None


@dataclass
class Organization:
    id: str
    name: str
    slug: str
    created_at: int
    updated_at: int
    created_by: str | None = None
    max_allowed_memberships: int = 0
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Membership:
    id: str
    organization_id: str
    user_id: str
    role: str
    created_at: int
    updated_at: int
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrganizationInvitation:
    id: str
    organization_id: str
    email_address: str
    role: str
    created_at: int
    updated_at: int
    expires_at: int
    status: str = "pending"  # pending, accepted, revoked (expired is derived from expires_at)
    inviter_id: str | None = None
    redirect_url: str | None = None
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    accepted_user_id: str | None = None


@dataclass
class Invitation:
    """An application (instance) invitation."""

    id: str
    email_address: str
    created_at: int
    updated_at: int
    expires_at: int
    status: str = "pending"
    redirect_url: str | None = None
    public_metadata: dict[str, Any] = field(default_factory=dict)
    template_slug: str = "invitation"
    url: str | None = None


@dataclass
class Session:
    id: str
    user_id: str
    client_id: str
    created_at: int
    updated_at: int
    expire_at: int
    abandon_at: int
    status: str = "active"  # active, ended, revoked, removed, expired
    last_active_organization_id: str | None = None
    last_active_at: int = 0


@dataclass
class Client:
    """A browser's Clerk client, named by its ``__client`` cookie (``token``) or by a development browser."""

    id: str
    token: str
    created_at: int
    session_ids: list[str] = field(default_factory=list)
    last_active_session_id: str | None = None
    sign_in_id: str | None = None
    sign_up_id: str | None = None
    updated_at: int = 0


@dataclass
class DevBrowser:
    """A development browser (``__clerk_db_jwt``): identifies one browser's client on a development instance."""

    id: str
    created_at: int
    client_id: str | None = None


@dataclass
class Code:
    """A one-time code sent by email or SMS, with its attempts."""

    value: str
    expire_at: int
    attempts: int = 0


@dataclass
class SignIn:
    id: str
    client_id: str
    created_at: int
    abandon_at: int
    identifier: str | None = None
    user_id: str | None = None
    status: str = "needs_identifier"
    first_factor_strategy: str | None = None
    first_factor_status: str | None = None  # unverified, verified, failed, expired
    code: Code | None = None
    created_session_id: str | None = None


@dataclass
class SignUp:
    id: str
    client_id: str
    created_at: int
    abandon_at: int
    ticket: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    phone_verified: bool = False
    phone_strategy: str | None = None
    password: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    unsafe_metadata: dict[str, Any] = field(default_factory=dict)
    code: Code | None = None
    status: str = "missing_requirements"
    created_user_id: str | None = None
    created_session_id: str | None = None


@dataclass
class Template:
    slug: str
    template_type: str  # "email" or "sms"
    name: str
    delivered_by_clerk: bool = True
    created_at: int = 0
    updated_at: int = 0


@dataclass
class Message:
    """An email or SMS that Clerk sent (or would have sent, when its template's delivery is off)."""

    id: str
    kind: str  # "email" or "sms"
    slug: str
    to: str
    subject: str
    body_plain: str
    body_html: str
    created_at: int
    delivered_by_clerk: bool
    data: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    link: str | None = None
    code: str | None = None
    sender: str = "clerk"  # "app": an email the application sent itself, handed to this mailbox (demo only)
