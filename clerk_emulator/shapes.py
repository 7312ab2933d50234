"""Records → the JSON Clerk sends (Backend API responses and webhook ``data``), per the 2025-11-10 OpenAPI spec."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from clerk_emulator import records

if TYPE_CHECKING:
    from clerk_emulator.state import Emulator

ROLE_NAMES = {"org:admin": "Admin", "org:member": "Member"}
ROLE_PERMISSIONS = {
    "org:admin": [
        "org:sys_profile:manage",
        "org:sys_profile:delete",
        "org:sys_memberships:read",
        "org:sys_memberships:manage",
        "org:sys_domains:read",
        "org:sys_domains:manage",
    ],
    "org:member": ["org:sys_memberships:read"],
}


# The emulator's own address for the request being answered (set by server.EmulatorApp): avatars are served by the
# emulator itself, so no page of the demo or the tests makes a request that leaves the machine.
serving_base_url: ContextVar[str] = ContextVar("serving_base_url", default="http://127.0.0.1")


def image_url(seed: str) -> str:
    return f"{serving_base_url.get()}/__emulator/img/{seed}"


def email_address(email: records.EmailAddress) -> dict[str, Any]:
    verification: dict[str, Any] | None
    if email.verification_strategy == "ticket":
        verification = {
            "object": "verification_ticket",
            "status": "verified",
            "strategy": "ticket",
            "attempts": None,
            "expire_at": None,
        }
    elif email.verification_strategy is not None:
        verification = {
            "object": "verification_admin",
            "status": "verified",
            "strategy": "admin",
            "attempts": None,
            "expire_at": None,
        }
    else:
        verification = None
    return {
        "id": email.id,
        "object": "email_address",
        "email_address": email.email_address,
        "reserved": False,
        "verification": verification,
        "linked_to": [],
        "matches_sso_connection": False,
        "created_at": email.created_at,
        "updated_at": email.updated_at,
    }


def phone_verification(phone: records.PhoneNumber) -> dict[str, Any]:
    """A phone number's verification as the Backend API shows it: always present, ``unverified`` until verified."""
    return {
        "object": "verification_otp",
        "status": "verified" if phone.verified else "unverified",
        "strategy": "phone_code",
        "attempts": phone.attempts,
        "expire_at": phone.code_expire_at,
        "channel": "sms",
    }


def phone_number(phone: records.PhoneNumber, verification: dict[str, Any] | None) -> dict[str, Any]:
    """A phone number with ``verification`` as the API at hand shows it (the Frontend API's differs, see
    ``fapi.wire.phone_verification``)."""
    return {
        "id": phone.id,
        "object": "phone_number",
        "phone_number": phone.phone_number,
        "reserved_for_second_factor": False,
        "default_second_factor": False,
        "reserved": False,
        "verification": verification,
        "linked_to": [],
        "created_at": phone.created_at,
        "updated_at": phone.updated_at,
    }


def user(record: records.User) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "user",
        "external_id": record.external_id,
        "primary_email_address_id": record.primary_email_address_id,
        "primary_phone_number_id": record.primary_phone_number_id,
        "primary_web3_wallet_id": None,
        "username": record.username,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "profile_image_url": image_url(record.id),
        "image_url": image_url(record.id),
        "has_image": False,
        "public_metadata": copy.deepcopy(record.public_metadata),
        "private_metadata": copy.deepcopy(record.private_metadata),
        "unsafe_metadata": copy.deepcopy(record.unsafe_metadata),
        "email_addresses": [email_address(email) for email in record.email_addresses],
        "phone_numbers": [phone_number(phone, phone_verification(phone)) for phone in record.phone_numbers],
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": record.password is not None,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": record.last_sign_in_at,
        "banned": record.banned,
        "locked": record.locked,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": 100,
        "updated_at": record.updated_at,
        "created_at": record.created_at,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "last_active_at": record.last_active_at,
        "legal_accepted_at": None,
    }


def deleted(object_name: str, object_id: str) -> dict[str, Any]:
    return {"object": object_name, "id": object_id, "deleted": True}


def organization(em: Emulator, record: records.Organization, *, include_counts: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "object": "organization",
        "id": record.id,
        "name": record.name,
        "slug": record.slug,
        "image_url": image_url(record.id),
        "has_image": False,
        "max_allowed_memberships": record.max_allowed_memberships,
        "admin_delete_enabled": True,
        "public_metadata": copy.deepcopy(record.public_metadata),
        "private_metadata": copy.deepcopy(record.private_metadata),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if record.created_by is not None:  # a non-nullable, optional string in the spec
        data["created_by"] = record.created_by
    if include_counts:
        data["members_count"] = sum(1 for m in em.memberships.values() if m.organization_id == record.id)
        data["pending_invitations_count"] = sum(
            1
            for inv in em.organization_invitations.values()
            if inv.organization_id == record.id and invitation_status(em, inv) == "pending"
        )
    return data


def public_user_data(em: Emulator, user_id: str) -> dict[str, Any]:
    record = em.users.get(user_id)
    if record is None:
        return {
            "user_id": user_id,
            "first_name": None,
            "last_name": None,
            "profile_image_url": None,
            "image_url": image_url(user_id),
            "has_image": False,
            "identifier": "",
            "username": None,
            "banned": False,
            "deprovisioned": True,
        }
    return {
        "user_id": record.id,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "profile_image_url": image_url(record.id),
        "image_url": image_url(record.id),
        "has_image": False,
        "identifier": record.primary_email or "",
        "username": record.username,
        "banned": record.banned,
        "deprovisioned": False,
    }


def membership(em: Emulator, record: records.Membership) -> dict[str, Any]:
    org = em.organizations.get(record.organization_id)
    org_data = (
        organization(em, org)
        if org is not None
        else organization(
            em, records.Organization(id=record.organization_id, name="", slug="", created_at=0, updated_at=0)
        )
    )
    return {
        "id": record.id,
        "object": "organization_membership",
        "role": record.role,
        "role_name": ROLE_NAMES.get(record.role, record.role),
        "permissions": list(ROLE_PERMISSIONS.get(record.role, [])),
        "public_metadata": copy.deepcopy(record.public_metadata),
        "private_metadata": copy.deepcopy(record.private_metadata),
        "organization": org_data,
        "public_user_data": public_user_data(em, record.user_id),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def invitation_status(em: Emulator, record: records.OrganizationInvitation | records.Invitation) -> str:
    if record.status == "pending" and record.expires_at <= em.now_ms():
        return "expired"
    return record.status


def public_inviter_data(em: Emulator, inviter_id: str | None) -> dict[str, Any] | None:
    if inviter_id is None or inviter_id not in em.users:
        return None
    inviter = em.users[inviter_id]
    return {
        "user_id": inviter.id,
        "first_name": inviter.first_name,
        "last_name": inviter.last_name,
        "image_url": image_url(inviter.id),
        "has_image": False,
        "identifier": inviter.primary_email or "",
    }


def organization_invitation(em: Emulator, record: records.OrganizationInvitation) -> dict[str, Any]:
    status = invitation_status(em, record)
    return {
        "object": "organization_invitation",
        "id": record.id,
        "email_address": record.email_address,
        "role": record.role,
        "role_name": ROLE_NAMES.get(record.role, record.role),
        "organization_id": record.organization_id,
        "inviter_id": record.inviter_id,
        "public_inviter_data": public_inviter_data(em, record.inviter_id),
        "status": status,
        "public_metadata": copy.deepcopy(record.public_metadata),
        "private_metadata": copy.deepcopy(record.private_metadata),
        "url": record.url if status == "pending" else None,
        "expires_at": record.expires_at,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def invitation(em: Emulator, record: records.Invitation) -> dict[str, Any]:
    status = invitation_status(em, record)
    data: dict[str, Any] = {
        "object": "invitation",
        "id": record.id,
        "email_address": record.email_address,
        "public_metadata": copy.deepcopy(record.public_metadata),
        "status": status,
        "expires_at": record.expires_at,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if status == "pending" and record.url:
        data["url"] = record.url
    if status == "revoked":
        data["revoked"] = True
    return data


def session(record: records.Session) -> dict[str, Any]:
    return {
        "object": "session",
        "id": record.id,
        "user_id": record.user_id,
        "client_id": record.client_id,
        "status": record.status,
        "last_active_organization_id": record.last_active_organization_id,
        "last_active_at": record.last_active_at,
        "expire_at": record.expire_at,
        "abandon_at": record.abandon_at,
        "updated_at": record.updated_at,
        "created_at": record.created_at,
    }


def template(em: Emulator, record: records.Template) -> dict[str, Any]:
    return {
        "id": f"ctmp_{record.template_type}_{record.slug}",
        "object": "template",
        "instance_id": em.instance_id,
        "resource_type": "system",
        "template_type": record.template_type,
        "name": record.name,
        "slug": record.slug,
        "position": 0,
        "can_revert": False,
        "can_delete": False,
        "can_edit_body": True,
        "can_toggle": True,
        "subject": None,
        "markup": "",
        "body": "",
        "available_variables": [],
        "required_variables": [],
        "from_email_name": "notifications",
        # ``reply_to_email_name`` is an optional, non-nullable string in the spec: omitted when unset.
        "delivered_by_clerk": record.delivered_by_clerk,
        "enabled": True,
        "flagged_as_suspicious": False,
        "updated_at": record.updated_at,
        "created_at": record.created_at,
    }


def email_event(em: Emulator, message: records.Message) -> dict[str, Any]:
    """``data`` of an ``email.created`` webhook (WebhookSpec ``EmailEventPayload``)."""
    return {
        "id": message.id,
        "object": "email",
        "slug": message.slug,
        "from_email_name": "notifications",
        "reply_to_email_name": None,
        "to_email_address": message.to,
        "email_address_id": None,
        "user_id": message.user_id,
        "subject": message.subject,
        "body": message.body_html,
        "body_plain": message.body_plain,
        "status": "queued",
        "data": copy.deepcopy(message.data),
        "delivered_by_clerk": message.delivered_by_clerk,
    }
