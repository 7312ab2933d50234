"""Organizations and their memberships."""

from __future__ import annotations

import re
from typing import Any

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError, not_found, param_missing, param_value_invalid
from clerk_emulator.params import Body, Query, normalize_email
from clerk_emulator.state import Emulator
from clerk_emulator.users import get_user, merge_metadata

ROLES = {"org:admin", "org:member"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MEMBERSHIP_ORDER_FIELDS = {"phone_number", "email_address", "created_at", "first_name", "last_name", "username"}


def check_role(role: str | None) -> str:
    if role is None:
        raise param_missing("role")
    if role not in ROLES:
        # Clerk's OrganizationRoleNotFound: 404 ``resource_not_found`` naming the parameter (clerk-docs index).
        raise ClerkAPIError(
            404,
            "resource_not_found",
            "not found",
            f"Organization role not found: '{role}' (this instance has org:admin and org:member).",
            meta={"param_name": "role"},
        )
    return role


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "organization"


def get_organization(em: Emulator, id_or_slug: str) -> records.Organization:
    org = em.organizations.get(id_or_slug)
    if org is None:
        org = next((o for o in em.organizations.values() if o.slug == id_or_slug), None)
    if org is None:
        raise not_found("organization")
    return org


def _check_slug(em: Emulator, slug: str, *, current: str | None = None) -> str:
    if not SLUG_RE.match(slug):
        raise param_value_invalid("slug", "Slugs may contain only lowercase letters, digits and dashes.")
    if any(o.slug == slug and o.id != current for o in em.organizations.values()):
        raise ClerkAPIError(
            422, "form_identifier_exists", "That slug is taken. Please try another.", meta={"param_name": "slug"}
        )
    return slug


def _check_name(name: str) -> str:
    if "<" in name or ">" in name or re.search(r"https?://", name):
        raise param_value_invalid("name", "Organization names may not contain URLs or HTML.")
    return name


def create_organization(em: Emulator, raw: Any) -> records.Organization:
    body = Body(
        raw,
        allowed={
            "name",
            "created_by",
            "private_metadata",
            "public_metadata",
            "slug",
            "max_allowed_memberships",
            "created_at",
            "role_set_key",
        },
    )
    name = _check_name(body.string("name", required=True, max_length=256) or "")
    creator_id = body.string("created_by")
    creator = em.users.get(creator_id) if creator_id else None
    if creator_id and creator is None:
        # Clerk's OrganizationCreatorNotFound (400); a 404 here is not even declared for CreateOrganization.
        raise ClerkAPIError(
            400, "organization_creator_not_found", "creator not found", f"No users found with id {creator_id}."
        )
    slug = body.string("slug")
    if slug is None:
        slug = slugify(name)
        if any(o.slug == slug for o in em.organizations.values()):
            slug = f"{slug}-{em.new_id('x')[2:8].lower()}"
    _check_slug(em, slug)
    now = em.now_ms()
    org = records.Organization(
        id=em.new_id("org"),
        name=name,
        slug=slug,
        created_at=now,
        updated_at=now,
        created_by=creator.id if creator else None,
        max_allowed_memberships=body.integer("max_allowed_memberships", default=0, minimum=0) or 0,
        public_metadata=body.mapping("public_metadata") or {},
        private_metadata=body.mapping("private_metadata") or {},
    )
    em.organizations[org.id] = org
    em.emit("organization.created", shapes.organization(em, org))
    if creator is not None:
        add_membership(em, org, creator, "org:admin")
    return org


def update_organization(em: Emulator, org: records.Organization, raw: Any) -> records.Organization:
    body = Body(
        raw,
        allowed={
            "name",
            "slug",
            "public_metadata",
            "private_metadata",
            "max_allowed_memberships",
            "admin_delete_enabled",
            "created_at",
            "role_set_key",
        },
    )
    # Validate everything first, then apply: a bad field changes nothing.
    name = _check_name(body.string("name", required=True, max_length=256) or "") if body.has("name") else None
    slug = _check_slug(em, body.string("slug") or "", current=org.id) if body.has("slug") else None
    metadata = {key: body.mapping(key) for key in ("public_metadata", "private_metadata")}
    max_members = body.integer("max_allowed_memberships", minimum=0)
    body.boolean("admin_delete_enabled")  # accepted; the emulator always reports admin deletion as enabled
    body.string("created_at")
    body.string("role_set_key")
    if name is not None:
        org.name = name
    if slug is not None:
        org.slug = slug
    for key, value in metadata.items():
        if value is not None:
            setattr(org, key, value)
    if max_members is not None:
        org.max_allowed_memberships = max_members
    _touch(em, org)
    return org


def merge_organization_metadata(em: Emulator, org: records.Organization, raw: Any) -> records.Organization:
    body = Body(raw, allowed={"public_metadata", "private_metadata"})
    for name in ("public_metadata", "private_metadata"):
        patch = body.mapping(name)
        if patch is not None:
            merge_metadata(getattr(org, name), patch)
    _touch(em, org)
    return org


def _touch(em: Emulator, org: records.Organization) -> None:
    org.updated_at = max(em.now_ms(), org.updated_at + 1)
    em.emit("organization.updated", shapes.organization(em, org))


def delete_organization(em: Emulator, org: records.Organization) -> dict[str, Any]:
    for membership in [m for m in em.memberships.values() if m.organization_id == org.id]:
        payload = shapes.membership(em, membership)
        del em.memberships[membership.id]
        em.emit("organizationMembership.deleted", payload)
    for invitation in [i for i in em.organization_invitations.values() if i.organization_id == org.id]:
        del em.organization_invitations[invitation.id]
    del em.organizations[org.id]
    payload = shapes.deleted("organization", org.id)
    payload["slug"] = org.slug
    em.emit("organization.deleted", payload)
    return payload


def list_organizations(em: Emulator, query: Query) -> list[records.Organization]:
    orgs = list(em.organizations.values())
    text = query.string("query")
    if text:
        orgs = [o for o in orgs if text.lower() in o.name.lower() or text.lower() in o.slug or text == o.id]
    user_ids = query.values("user_id")
    if user_ids:
        member_orgs = {m.organization_id for m in em.memberships.values() if m.user_id in user_ids}
        orgs = [o for o in orgs if o.id in member_orgs]
    org_ids = query.values("organization_id")
    if org_ids:
        orgs = [o for o in orgs if o.id in org_ids]
    field, descending = query.order_by({"name", "created_at", "members_count"})
    if field == "members_count":
        counts = {o.id: sum(1 for m in em.memberships.values() if m.organization_id == o.id) for o in orgs}
        orgs.sort(key=lambda o: (counts[o.id], o.id), reverse=descending)
    else:
        orgs.sort(key=lambda o: (getattr(o, field), o.id), reverse=descending)
    return orgs


# -- memberships ---------------------------------------------------------------------------------------------


def find_membership(em: Emulator, org_id: str, user_id: str) -> records.Membership | None:
    return next(
        (m for m in em.memberships.values() if m.organization_id == org_id and m.user_id == user_id),
        None,
    )


def already_member(user: records.User) -> ClerkAPIError:
    return ClerkAPIError(
        400,
        "already_a_member_in_organization",
        "already a member",
        f"User {user.id} is already a member of the organization.",
    )


def add_membership(
    em: Emulator,
    org: records.Organization,
    user: records.User,
    role: str,
    *,
    public_metadata: dict[str, Any] | None = None,
    private_metadata: dict[str, Any] | None = None,
) -> records.Membership:
    if find_membership(em, org.id, user.id) is not None:
        raise already_member(user)
    members = sum(1 for m in em.memberships.values() if m.organization_id == org.id)
    if org.max_allowed_memberships and members >= org.max_allowed_memberships:
        raise ClerkAPIError(
            403,
            "organization_membership_quota_exceeded",
            "organization membership quota exceeded",
            f"You have reached your limit of {org.max_allowed_memberships} organization memberships.",
        )
    now = em.now_ms()
    membership = records.Membership(
        id=em.new_id("orgmem"),
        organization_id=org.id,
        user_id=user.id,
        role=role,
        created_at=now,
        updated_at=now,
        public_metadata=dict(public_metadata or {}),
        private_metadata=dict(private_metadata or {}),
    )
    em.memberships[membership.id] = membership
    em.emit("organizationMembership.created", shapes.membership(em, membership))
    return membership


def create_membership(em: Emulator, org: records.Organization, raw: Any) -> records.Membership:
    body = Body(raw, allowed={"user_id", "role", "public_metadata", "private_metadata"})
    user = get_user(em, body.string("user_id", required=True) or "")
    role = check_role(body.string("role", required=True))
    return add_membership(
        em,
        org,
        user,
        role,
        public_metadata=body.mapping("public_metadata"),
        private_metadata=body.mapping("private_metadata"),
    )


def get_membership(em: Emulator, org: records.Organization, user_id: str) -> records.Membership:
    membership = find_membership(em, org.id, user_id)
    if membership is None:
        raise not_found("organization membership")
    return membership


def update_membership(em: Emulator, membership: records.Membership, raw: Any) -> records.Membership:
    body = Body(raw, allowed={"role"})
    membership.role = check_role(body.string("role", required=True))
    membership.updated_at = max(em.now_ms(), membership.updated_at + 1)
    em.emit("organizationMembership.updated", shapes.membership(em, membership))
    return membership


def delete_membership(em: Emulator, membership: records.Membership) -> dict[str, Any]:
    payload = shapes.membership(em, membership)
    del em.memberships[membership.id]
    em.emit("organizationMembership.deleted", payload)
    return payload


def list_memberships(
    em: Emulator, query: Query, *, org_id: str | None = None, user_id: str | None = None
) -> list[records.Membership]:
    items = [
        m
        for m in em.memberships.values()
        if (org_id is None or m.organization_id == org_id) and (user_id is None or m.user_id == user_id)
    ]
    user_ids = query.values("user_id")
    if user_ids:
        items = [m for m in items if m.user_id in user_ids]
    roles = query.values("role")
    if roles:
        items = [m for m in items if m.role in roles]
    emails = {normalize_email(e) for e in query.values("email_address")}
    text = query.string("query")

    def user_emails(membership: records.Membership) -> list[str]:
        user = em.users.get(membership.user_id)
        return [a.email_address for a in user.email_addresses] if user else []

    if emails:
        items = [m for m in items if emails & set(user_emails(m))]
    if text:
        needle = text.lower()

        def matches(membership: records.Membership) -> bool:
            user = em.users.get(membership.user_id)
            values = [membership.user_id, *user_emails(membership)]
            if user:
                values += [user.first_name or "", user.last_name or "", user.username or ""]
            return any(needle in value.lower() for value in values)

        items = [m for m in items if matches(m)]
    field, descending = query.order_by(MEMBERSHIP_ORDER_FIELDS)

    def sort_key(membership: records.Membership) -> tuple[Any, str]:
        if field == "created_at":
            return (membership.created_at, membership.id)
        user = em.users.get(membership.user_id)
        if user is None:
            return ("", membership.id)
        value = {
            "email_address": user.primary_email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "username": user.username,
            "phone_number": user.primary_phone.phone_number if user.primary_phone else None,
        }[field]
        return (value or "", membership.id)

    items.sort(key=sort_key, reverse=descending)
    return items
