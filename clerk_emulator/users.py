"""Users: create, read, list and count with filters, metadata, ban/lock, delete."""

from __future__ import annotations

import copy
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError, not_found
from clerk_emulator.params import PHONE_RE, Body, Query, check_email, normalize_email
from clerk_emulator.state import Emulator

USER_ORDER_FIELDS = {
    "created_at",
    "updated_at",
    "email_address",
    "web3wallet",
    "first_name",
    "last_name",
    "phone_number",
    "username",
    "last_active_at",
    "last_sign_in_at",
}


def identifier_taken(name: str, what: str = "email address") -> ClerkAPIError:
    return ClerkAPIError(
        422,
        "form_identifier_exists",
        f"That {what} is taken. Please try another.",
        meta={"param_name": name},
    )


def find_user_by_email(em: Emulator, email: str) -> records.User | None:
    email = normalize_email(email)
    for user in em.users.values():
        if any(address.email_address == email for address in user.email_addresses):
            return user
    return None


def get_user(em: Emulator, user_id: str) -> records.User:
    user = em.users.get(user_id)
    if user is None:
        raise not_found("user")
    return user


def check_phone(name: str, value: str) -> str:
    phone = value.replace(" ", "").replace("-", "")
    if not PHONE_RE.match(phone):
        raise ClerkAPIError(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be a valid phone number in E.164 format.",
            meta={"param_name": name},
        )
    return phone


def check_password(password: str | None, *, skip_checks: bool = False) -> None:
    if password is None or skip_checks:
        return
    if len(password) < 8:
        raise ClerkAPIError(
            422,
            "form_password_length_too_short",
            "Passwords must be 8 characters or more.",
            meta={"param_name": "password"},
        )


def new_user(
    em: Emulator,
    *,
    email: str | None,
    email_verification: str | None = "admin",
    phone: str | None = None,
    phone_verified: bool = False,
    password: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    username: str | None = None,
    external_id: str | None = None,
    public_metadata: dict[str, Any] | None = None,
    private_metadata: dict[str, Any] | None = None,
    unsafe_metadata: dict[str, Any] | None = None,
) -> records.User:
    """Create a user and announce it with ``user.created``. Callers validate uniqueness first."""
    now = em.now_ms()
    user = records.User(
        id=em.new_id("user"),
        created_at=now,
        updated_at=now,
        first_name=first_name,
        last_name=last_name,
        username=username,
        external_id=external_id,
        password=password,
        public_metadata=copy.deepcopy(public_metadata or {}),
        private_metadata=copy.deepcopy(private_metadata or {}),
        unsafe_metadata=copy.deepcopy(unsafe_metadata or {}),
    )
    if email:
        address = records.EmailAddress(em.new_id("idn"), normalize_email(email), email_verification, now, now)
        user.email_addresses.append(address)
        user.primary_email_address_id = address.id
    if phone:
        number = records.PhoneNumber(em.new_id("idn"), phone, phone_verified, now, now)
        user.phone_numbers.append(number)
        user.primary_phone_number_id = number.id
    em.users[user.id] = user
    em.emit("user.created", shapes.user(user))
    return user


def create_user(em: Emulator, raw: Any) -> records.User:
    body = Body(
        raw,
        allowed={
            "external_id",
            "first_name",
            "last_name",
            "email_address",
            "email_address_identification_status",
            "phone_number",
            "phone_number_identification_status",
            "web3_wallet",
            "username",
            "password",
            "password_digest",
            "password_hasher",
            "skip_password_checks",
            "skip_password_requirement",
            "totp_secret",
            "backup_codes",
            "public_metadata",
            "private_metadata",
            "unsafe_metadata",
            "delete_self_enabled",
            "legal_accepted_at",
            "skip_legal_checks",
            "skip_user_requirement",
            "create_organization_enabled",
            "create_organizations_limit",
            "created_at",
            "bypass_client_trust",
            "locale",
            "banned",
            "locked",
        },
    )
    emails = [check_email("email_address", value) for value in body.strings("email_address")]
    phones = [check_phone("phone_number", value) for value in body.strings("phone_number")]
    if not emails and not phones and not body.has("username") and not body.has("external_id"):
        raise ClerkAPIError(
            422,
            "form_data_missing",
            "at least one identifier is required",
            "You must provide at least one identifier: email address, phone number, username or external id.",
        )
    for email in emails:
        if find_user_by_email(em, email) is not None:
            raise identifier_taken("email_address")
    password = body.string("password")
    check_password(password, skip_checks=bool(body.boolean("skip_password_checks")))
    for flag in ("banned", "locked", "skip_password_requirement", "skip_legal_checks", "bypass_client_trust"):
        body.boolean(flag)
    username = body.string("username")
    if username and any(user.username == username for user in em.users.values()):
        raise identifier_taken("username", "username")
    external_id = body.string("external_id")
    if external_id and any(user.external_id == external_id for user in em.users.values()):
        raise identifier_taken("external_id", "external ID")
    user = new_user(
        em,
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        phone_verified=True,
        password=password,
        first_name=body.string("first_name"),
        last_name=body.string("last_name"),
        username=username,
        external_id=external_id,
        public_metadata=body.mapping("public_metadata"),
        private_metadata=body.mapping("private_metadata"),
        unsafe_metadata=body.mapping("unsafe_metadata"),
    )
    now = em.now_ms()
    for extra in emails[1:]:
        user.email_addresses.append(records.EmailAddress(em.new_id("idn"), extra, "admin", now, now))
    user.banned = bool(body.boolean("banned"))
    user.locked = bool(body.boolean("locked"))
    return user


def _matches(em: Emulator, user: records.User, query: Query) -> bool:
    emails = [address.email_address for address in user.email_addresses]
    phones = [phone.phone_number for phone in user.phone_numbers]
    wanted_emails = [normalize_email(value) for value in query.values("email_address")]
    if wanted_emails and not set(wanted_emails) & set(emails):
        return False
    wanted_phones = query.values("phone_number")
    if wanted_phones and not set(wanted_phones) & set(phones):
        return False
    if query.values("external_id") and user.external_id not in query.values("external_id"):
        return False
    if query.values("username") and user.username not in query.values("username"):
        return False
    if not _include_exclude(user.id, query.values("user_id")):
        return False
    org_ids = query.values("organization_id")
    if org_ids:
        user_orgs = {m.organization_id for m in em.memberships.values() if m.user_id == user.id}
        if not _include_exclude_set(user_orgs, org_ids):
            return False
    banned = query.boolean("banned")
    if banned is not None and user.banned != banned:
        return False
    text = query.string("query")
    if text:
        haystack = [user.id, user.first_name or "", user.last_name or "", user.username or "", *emails, *phones]
        if not any(text.lower() in value.lower() for value in haystack):
            return False
    for name, values in (
        ("email_address_query", emails),
        ("phone_number_query", phones),
        ("username_query", [user.username or ""]),
        (
            "name_query",
            [user.first_name or "", user.last_name or "", f"{user.first_name or ''} {user.last_name or ''}"],
        ),
    ):
        needle = query.string(name)
        if needle and not any(needle.lower() in value.lower() for value in values):
            return False
    for name, value in (
        ("created_at", user.created_at),
        ("last_sign_in_at", user.last_sign_in_at),
        ("last_active_at", user.last_active_at),
    ):
        before, after = query.string(f"{name}_before"), query.string(f"{name}_after")
        if before is not None and (value is None or value >= _int(f"{name}_before", before)):
            return False
        if after is not None and (value is None or value <= _int(f"{name}_after", after)):
            return False
    return True


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ClerkAPIError(
            422, "form_param_format_invalid", f"{name} must be an integer.", meta={"param_name": name}
        ) from None


def _include_exclude(value: str, filters: list[str]) -> bool:
    return _include_exclude_set({value}, filters)


def _include_exclude_set(values: set[str], filters: list[str]) -> bool:
    include = {f.lstrip("+") for f in filters if not f.startswith("-")}
    exclude = {f[1:] for f in filters if f.startswith("-")}
    if include and not values & include:
        return False
    return not values & exclude


def _sort_key(user: records.User, field: str) -> Any:
    value: Any
    if field == "email_address":
        value = user.primary_email or ""
    elif field == "phone_number":
        value = user.primary_phone.phone_number if user.primary_phone else ""
    elif field == "web3wallet":
        value = ""
    else:
        value = getattr(user, field)
    return (value is None, value if value is not None else 0)


def filter_users(em: Emulator, query: Query) -> list[records.User]:
    field, descending = query.order_by(USER_ORDER_FIELDS)
    query.boolean("banned")
    for name in ("created_at", "last_sign_in_at", "last_active_at"):
        for edge in ("before", "after"):
            raw = query.string(f"{name}_{edge}")
            if raw is not None:
                _int(f"{name}_{edge}", raw)
    users = [user for user in em.users.values() if _matches(em, user, query)]
    users.sort(key=lambda user: (_sort_key(user, field), user.id), reverse=descending)
    return users


def merge_metadata(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Clerk's deep merge: nested objects merge, a ``null`` value removes the key."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_metadata(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def touch(em: Emulator, user: records.User) -> None:
    user.updated_at = max(em.now_ms(), user.updated_at + 1)
    em.emit("user.updated", shapes.user(user))


def update_metadata(em: Emulator, user: records.User, raw: Any, *, replace: bool = False) -> records.User:
    body = Body(raw, allowed={"public_metadata", "private_metadata", "unsafe_metadata"})
    for name in ("public_metadata", "private_metadata", "unsafe_metadata"):
        patch = body.mapping(name)
        if patch is None:
            continue
        if replace:
            setattr(user, name, copy.deepcopy(patch))
        else:
            merge_metadata(getattr(user, name), patch)
    touch(em, user)
    return user


USER_UPDATE_FIELDS = {
    "external_id",
    "first_name",
    "last_name",
    "locale",
    "primary_email_address_id",
    "notify_primary_email_address_changed",
    "primary_phone_number_id",
    "primary_web3_wallet_id",
    "username",
    "profile_image_id",
    "password",
    "password_digest",
    "password_hasher",
    "skip_password_checks",
    "sign_out_of_other_sessions",
    "totp_secret",
    "backup_codes",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
    "delete_self_enabled",
    "create_organization_enabled",
    "legal_accepted_at",
    "skip_legal_checks",
    "create_organizations_limit",
    "created_at",
    "bypass_client_trust",
}


def update_user(em: Emulator, user: records.User, raw: Any) -> records.User:
    """PATCH /users/{id}: every field of the 2025-11-10 ``UpdateUser`` body is accepted; metadata given here
    replaces that metadata object whole (the merging endpoint is PATCH /users/{id}/metadata).
    Everything is validated before anything changes."""
    body = Body(raw, allowed=USER_UPDATE_FIELDS)
    for flag in (
        "notify_primary_email_address_changed",
        "skip_password_checks",
        "sign_out_of_other_sessions",
        "delete_self_enabled",
        "create_organization_enabled",
        "skip_legal_checks",
        "bypass_client_trust",
    ):
        body.boolean(flag)
    body.integer("create_organizations_limit", minimum=0, maximum=1_000_000)
    changes: dict[str, Any] = {}
    for name in ("first_name", "last_name", "external_id", "username", "locale"):
        if name in body.data:
            changes[name] = body.string(name)
    for name, taken_label in (("username", "username"), ("external_id", "external ID")):
        value = changes.get(name)
        if value and any(getattr(other, name) == value and other.id != user.id for other in em.users.values()):
            raise identifier_taken(name, taken_label)
    if body.has("password"):
        password = body.string("password")
        check_password(password, skip_checks=bool(body.boolean("skip_password_checks")))
        changes["password"] = password
    for name, items in (
        ("primary_email_address_id", user.email_addresses),
        ("primary_phone_number_id", user.phone_numbers),
    ):
        if body.has(name):
            wanted = body.string(name)
            if not any(item.id == wanted for item in items):
                raise not_found(name.replace("_id", "").replace("_", " "))
            changes[name] = wanted
    for name in ("public_metadata", "private_metadata", "unsafe_metadata"):
        value = body.mapping(name)
        if value is not None:
            changes[name] = copy.deepcopy(value)
    for name, value in changes.items():
        if hasattr(user, name):  # ``locale`` is accepted but not stored
            setattr(user, name, value)
    if "password" in changes and body.boolean("sign_out_of_other_sessions"):
        end_sessions(em, user, "revoked")
    touch(em, user)
    return user


def end_sessions(em: Emulator, user: records.User, status: str) -> None:
    now = em.now_ms()
    for session in em.sessions.values():
        if session.user_id == user.id and session.status == "active":
            session.status = status
            session.updated_at = now
            em.emit(f"session.{status}", shapes.session(session))


def set_banned(em: Emulator, user: records.User, banned: bool) -> records.User:
    if user.banned != banned:
        user.banned = banned
        if banned:
            end_sessions(em, user, "revoked")
        touch(em, user)
    return user


def set_locked(em: Emulator, user: records.User, locked: bool) -> records.User:
    if user.locked != locked:
        user.locked = locked
        touch(em, user)
    return user


def delete_user(em: Emulator, user: records.User) -> dict[str, Any]:
    end_sessions(em, user, "removed")
    for membership in [m for m in em.memberships.values() if m.user_id == user.id]:
        payload = shapes.membership(em, membership)
        del em.memberships[membership.id]
        em.emit("organizationMembership.deleted", payload)
    del em.users[user.id]
    payload = shapes.deleted("user", user.id)
    em.emit("user.deleted", payload)
    return payload
