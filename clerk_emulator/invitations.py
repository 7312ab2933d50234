"""Organization invitations and application invitations, their tickets, and the emails Clerk sends for them."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import jwt

from clerk_emulator import records, shapes
from clerk_emulator.errors import ClerkAPIError, not_found, request_body_invalid
from clerk_emulator.organizations import already_member, check_role, find_membership, get_organization
from clerk_emulator.params import Body, Query
from clerk_emulator.state import Emulator
from clerk_emulator.users import find_user_by_email, get_user

DAY_MS = 86_400_000
ORG_INVITATION_FIELDS = {
    "email_address",
    "role",
    "inviter_user_id",
    "public_metadata",
    "private_metadata",
    "redirect_url",
    "expires_in_days",
    "notify",
}
APP_INVITATION_FIELDS = {
    "email_address",
    "public_metadata",
    "redirect_url",
    "notify",
    "ignore_existing",
    "expires_in_days",
    "template_slug",
}
INVITATION_STATUSES = {"pending", "accepted", "revoked", "expired"}


# -- tickets ---------------------------------------------------------------------------------------------------


def issue_ticket(em: Emulator, invitation_id: str, kind: str, expires_at_ms: int) -> str:
    """A ticket JWT like Clerk's (``sid`` = invitation id, ``st`` = ticket type), signed by the instance key."""
    claims = {
        "iid": em.instance_id,
        "sid": invitation_id,
        "st": kind,
        "eis": max(0, (expires_at_ms - em.now_ms()) // 1000),
        "exp": expires_at_ms // 1000,
    }
    return em.keys.sign(claims)


def ticket_url(em: Emulator, ticket: str) -> str:
    return f"{em.frontend_api_url}/v1/tickets/accept?ticket={quote(ticket)}"


def ticket_invalid(message: str = "The ticket is invalid.") -> ClerkAPIError:
    return ClerkAPIError(400, "ticket_invalid_code", "is invalid", message, meta={"param_name": "ticket"})


def ticket_expired() -> ClerkAPIError:
    return ClerkAPIError(
        400, "ticket_expired_code", "is expired", "The invitation ticket has expired.", meta={"param_name": "ticket"}
    )


def resolve_ticket(em: Emulator, ticket: str) -> records.OrganizationInvitation | records.Invitation:
    """The pending invitation a ticket belongs to; any other state is refused."""
    try:
        claims = em.keys.decode(ticket, verify_exp=False)
    except jwt.PyJWTError:
        raise ticket_invalid() from None
    if claims.get("iid") != em.instance_id:
        raise ticket_invalid()
    invitation: records.OrganizationInvitation | records.Invitation | None
    if claims.get("st") == "organization_invitation":
        invitation = em.organization_invitations.get(str(claims.get("sid")))
    elif claims.get("st") == "invitation":
        invitation = em.invitations.get(str(claims.get("sid")))
    else:
        invitation = None
    if invitation is None or invitation.url is None or ticket not in invitation.url:
        raise ticket_invalid()
    status = shapes.invitation_status(em, invitation)
    if status == "expired":
        raise ticket_expired()
    if status == "revoked":
        raise ClerkAPIError(400, "revoked_invitation", "invitation revoked", "This invitation has been revoked.")
    if status == "accepted" or ticket in em.used_tickets:
        raise ticket_invalid("This invitation has already been accepted.")
    return invitation


def ticket_of(invitation: records.OrganizationInvitation | records.Invitation) -> str:
    return (invitation.url or "").split("ticket=", 1)[-1]


# -- emails ----------------------------------------------------------------------------------------------------


def send_email(
    em: Emulator,
    *,
    slug: str,
    to: str,
    subject: str,
    text: str,
    link: str | None,
    data: dict[str, Any],
    user_id: str | None = None,
) -> records.Message:
    """Clerk sends the email itself, or (delivery switched off) announces it with ``email.created``."""
    template = em.templates.get(("email", slug))
    delivered = template.delivered_by_clerk if template else True
    body_html = "<p>" + html.escape(text).replace("\n", "<br>") + "</p>"
    if link:
        body_html += f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
    message = records.Message(
        id=em.new_id("ema"),
        kind="email",
        slug=slug,
        to=to,
        subject=subject,
        body_plain=text + (f"\n\n{link}" if link else ""),
        body_html=body_html,
        created_at=em.now_ms(),
        delivered_by_clerk=delivered,
        data=data,
        user_id=user_id,
        link=link,
    )
    em.add_message(message)
    if not delivered:
        em.emit("email.created", shapes.email_event(em, message))
    return message


def _app_data(em: Emulator) -> dict[str, Any]:
    return {"name": "Clerk emulator", "domain_name": em.base_url.split("://", 1)[1], "url": em.base_url}


# -- organization invitations --------------------------------------------------------------------------------


def _pending_org_invitation(em: Emulator, org_id: str, email: str) -> records.OrganizationInvitation | None:
    return next(
        (
            inv
            for inv in em.organization_invitations.values()
            if inv.organization_id == org_id
            and inv.email_address == email
            and shapes.invitation_status(em, inv) == "pending"
        ),
        None,
    )


def _validate_org_invitation(em: Emulator, org: records.Organization, raw: Any) -> dict[str, Any]:
    body = Body(raw, allowed=ORG_INVITATION_FIELDS)
    email = body.email("email_address") or ""
    role = check_role(body.string("role", required=True))
    inviter_id = body.string("inviter_user_id")
    if inviter_id:
        inviter = get_user(em, inviter_id)
        membership = find_membership(em, org.id, inviter.id)
        if membership is None or membership.role != "org:admin":
            raise ClerkAPIError(
                403,
                "not_an_admin_in_organization",
                "not an admin",
                f"User {inviter.id} is not an administrator in organization {org.id}.",
            )
    existing_user = find_user_by_email(em, email)
    if existing_user is not None and find_membership(em, org.id, existing_user.id) is not None:
        raise already_member(existing_user)
    if _pending_org_invitation(em, org.id, email) is not None:
        raise ClerkAPIError(
            400,
            "organization_invitation_not_unique",
            "organization invitation not unique",
            "Organizations cannot have duplicate pending invitations for an email address.",
            meta={"email_address": email},
        )
    return {
        "email": email,
        "role": role,
        "inviter_id": inviter_id,
        "expires_in_days": body.integer("expires_in_days", default=30, minimum=1, maximum=365),
        "redirect_url": body.string("redirect_url", max_length=2048),
        "notify": body.boolean("notify", default=True),
        "public_metadata": body.mapping("public_metadata") or {},
        "private_metadata": body.mapping("private_metadata") or {},
    }


def _create_org_invitation(
    em: Emulator, org: records.Organization, values: dict[str, Any]
) -> records.OrganizationInvitation:
    now = em.now_ms()
    invitation = records.OrganizationInvitation(
        id=em.new_id("orginv"),
        organization_id=org.id,
        email_address=values["email"],
        role=values["role"],
        created_at=now,
        updated_at=now,
        expires_at=now + values["expires_in_days"] * DAY_MS,
        inviter_id=values["inviter_id"],
        redirect_url=values["redirect_url"],
        public_metadata=values["public_metadata"],
        private_metadata=values["private_metadata"],
    )
    invitation.url = ticket_url(em, issue_ticket(em, invitation.id, "organization_invitation", invitation.expires_at))
    em.organization_invitations[invitation.id] = invitation
    em.emit("organizationInvitation.created", shapes.organization_invitation(em, invitation))
    if values["notify"]:
        inviter = em.users.get(invitation.inviter_id or "")
        inviter_name = " ".join(filter(None, [inviter.first_name, inviter.last_name])) if inviter else ""
        send_email(
            em,
            slug="organization_invitation",
            to=invitation.email_address,
            subject=f"{inviter_name or 'Someone'} invited you to join {org.name}",
            text=(
                f"{inviter_name or 'Someone'} invited you to join {org.name}. "
                f"The invitation expires in {values['expires_in_days']} days."
            ),
            link=invitation.url,
            data={
                "app": _app_data(em),
                "action_url": invitation.url,
                "org": {"name": org.name, "slug": org.slug},
                "inviter_name": inviter_name,
                "invitation": {
                    "expires_in_days": values["expires_in_days"],
                    "public_metadata": values["public_metadata"],
                },
            },
        )
    return invitation


def create_organization_invitation(em: Emulator, org_id: str, raw: Any) -> records.OrganizationInvitation:
    org = get_organization(em, org_id)
    values = _validate_org_invitation(em, org, raw)
    em.check_cap("organization_invitations.create")
    return _create_org_invitation(em, org, values)


MAX_BULK = 10


def _check_bulk(raw: Any) -> list[Any]:
    """A JSON array of 1..10 entries (spec ``minItems: 1, maxItems: 10``)."""
    if not isinstance(raw, list):
        raise request_body_invalid("The request body must be a JSON array of invitations.")
    if not raw:
        raise request_body_invalid("The request body must contain at least one invitation.")
    if len(raw) > MAX_BULK:
        raise ClerkAPIError(
            400,
            "bulk_size_exceeded",
            "bulk size exceeded",
            f"Parameters exceed the maximum allowed bulk processing size of {MAX_BULK}.",
        )
    return raw


def bulk_create_organization_invitations(em: Emulator, org_id: str, raw: Any) -> list[records.OrganizationInvitation]:
    """All or nothing, like Clerk: one invalid entry fails the whole request before anything is created."""
    org = get_organization(em, org_id)
    entries = _check_bulk(raw)
    validated = [_validate_org_invitation(em, org, entry) for entry in entries]
    emails = [values["email"] for values in validated]
    duplicates = sorted({email for email in emails if emails.count(email) > 1})
    if duplicates:
        raise ClerkAPIError(
            400,
            "duplicate_record",
            "duplicate invitation",
            f"The request contains duplicate email addresses: {', '.join(duplicates)}",
            meta={"email_addresses": duplicates},
        )
    em.check_cap("organization_invitations.bulk_create")
    return [_create_org_invitation(em, org, values) for values in validated]


def get_organization_invitation(em: Emulator, org_id: str, invitation_id: str) -> records.OrganizationInvitation:
    org = get_organization(em, org_id)
    invitation = em.organization_invitations.get(invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        raise not_found("organization invitation")
    return invitation


def list_organization_invitations(
    em: Emulator, query: Query, *, org_id: str | None
) -> list[records.OrganizationInvitation]:
    items = [inv for inv in em.organization_invitations.values() if org_id is None or inv.organization_id == org_id]
    statuses = [s for s in query.values("status") if s]
    for status in statuses:
        if status not in INVITATION_STATUSES:
            raise ClerkAPIError(422, "form_param_value_invalid", "status is invalid.", meta={"param_name": "status"})
    if statuses:
        items = [inv for inv in items if shapes.invitation_status(em, inv) in statuses]
    email = query.string("email_address")
    if email:
        items = [inv for inv in items if inv.email_address == email.strip().lower()]
    text = query.string("query")
    if text:
        items = [inv for inv in items if text.lower() in inv.email_address or text == inv.id]
    field, descending = query.order_by({"created_at", "email_address"})
    items.sort(key=lambda inv: (getattr(inv, field), inv.id), reverse=descending)
    return items


def revoke_organization_invitation(
    em: Emulator, org_id: str, invitation_id: str, raw: Any
) -> records.OrganizationInvitation:
    invitation = get_organization_invitation(em, org_id, invitation_id)
    body = Body(raw if raw is not None else {}, allowed={"requesting_user_id"})
    requester_id = body.string("requesting_user_id")
    if requester_id:
        requester = get_user(em, requester_id)
        membership = find_membership(em, invitation.organization_id, requester.id)
        if membership is None or membership.role != "org:admin":
            raise ClerkAPIError(
                403,
                "not_an_admin_in_organization",
                "not an admin",
                f"User {requester.id} is not an administrator in organization {invitation.organization_id}.",
            )
    if shapes.invitation_status(em, invitation) != "pending":
        raise ClerkAPIError(
            400,
            "organization_invitation_not_pending",
            "organization invitation not pending",
            "Only pending organization invitations can be revoked.",
        )
    invitation.status = "revoked"
    invitation.updated_at = em.now_ms()
    em.emit("organizationInvitation.revoked", shapes.organization_invitation(em, invitation))
    return invitation


def accept_organization_invitation(
    em: Emulator, invitation: records.OrganizationInvitation, user: records.User
) -> None:
    from clerk_emulator.organizations import add_membership

    org = get_organization(em, invitation.organization_id)
    if find_membership(em, org.id, user.id) is not None:
        raise already_member(user)
    em.used_tickets.add(ticket_of(invitation))
    invitation.status = "accepted"
    invitation.accepted_user_id = user.id
    invitation.updated_at = em.now_ms()
    add_membership(
        em,
        org,
        user,
        invitation.role,
        public_metadata=invitation.public_metadata,
        private_metadata=invitation.private_metadata,
    )
    payload = shapes.organization_invitation(em, invitation)
    payload["user_id"] = user.id
    em.emit("organizationInvitation.accepted", payload)


# -- application invitations ---------------------------------------------------------------------------------


def _pending_app_invitation(em: Emulator, email: str) -> records.Invitation | None:
    return next(
        (
            inv
            for inv in em.invitations.values()
            if inv.email_address == email and shapes.invitation_status(em, inv) == "pending"
        ),
        None,
    )


def _validate_app_invitation(em: Emulator, raw: Any) -> dict[str, Any]:
    body = Body(raw, allowed=APP_INVITATION_FIELDS)
    email = body.email("email_address") or ""
    template_slug = body.string("template_slug") or "invitation"
    if template_slug not in ("invitation", "waitlist_invitation"):
        raise ClerkAPIError(
            422, "form_param_value_invalid", "template_slug is invalid.", meta={"param_name": "template_slug"}
        )
    if find_user_by_email(em, email) is not None:
        raise ClerkAPIError(
            400,
            "invitation_account_exists",
            "account already exists",
            f"An account with the email address {email} already exists.",
            meta={"email_address": email},
        )
    ignore_existing = bool(body.boolean("ignore_existing"))
    if not ignore_existing and _pending_app_invitation(em, email) is not None:
        raise ClerkAPIError(
            400,
            "duplicate_record",
            "duplicate invitation",
            f"There are already pending invitations for the following email addresses: {email}",
            meta={"email_addresses": [email]},
        )
    return {
        "email": email,
        "public_metadata": body.mapping("public_metadata") or {},
        "redirect_url": body.string("redirect_url", max_length=2048),
        "notify": body.boolean("notify", default=True),
        "expires_in_days": body.integer("expires_in_days", default=30, minimum=1, maximum=365),
        "template_slug": template_slug,
    }


def _create_app_invitation(em: Emulator, values: dict[str, Any]) -> records.Invitation:
    now = em.now_ms()
    invitation = records.Invitation(
        id=em.new_id("inv"),
        email_address=values["email"],
        created_at=now,
        updated_at=now,
        expires_at=now + values["expires_in_days"] * DAY_MS,
        redirect_url=values["redirect_url"],
        public_metadata=values["public_metadata"],
        template_slug=values["template_slug"],
    )
    invitation.url = ticket_url(em, issue_ticket(em, invitation.id, "invitation", invitation.expires_at))
    em.invitations[invitation.id] = invitation
    if values["notify"]:
        send_email(
            em,
            slug=values["template_slug"],
            to=invitation.email_address,
            subject="You have been invited",
            text=f"You have been invited to join. The invitation expires in {values['expires_in_days']} days.",
            link=invitation.url,
            data={
                "app": _app_data(em),
                "action_url": invitation.url,
                "invitation": {
                    "expires_in_days": values["expires_in_days"],
                    "public_metadata": values["public_metadata"],
                },
            },
        )
    return invitation


def create_invitation(em: Emulator, raw: Any) -> records.Invitation:
    values = _validate_app_invitation(em, raw)
    em.check_cap("invitations.create")
    return _create_app_invitation(em, values)


def bulk_create_invitations(em: Emulator, raw: Any) -> list[records.Invitation]:
    entries = _check_bulk(raw)
    validated = [_validate_app_invitation(em, entry) for entry in entries]
    emails = [values["email"] for values in validated]
    duplicates = sorted({email for email in emails if emails.count(email) > 1})
    if duplicates:
        raise ClerkAPIError(
            400,
            "duplicate_record",
            "duplicate invitation",
            f"There are already pending invitations for the following email addresses: {', '.join(duplicates)}",
            meta={"email_addresses": duplicates},
        )
    em.check_cap("invitations.bulk_create")
    return [_create_app_invitation(em, values) for values in validated]


def list_invitations(em: Emulator, query: Query) -> list[records.Invitation]:
    status = query.choice("status", INVITATION_STATUSES)
    items = list(em.invitations.values())
    if status:
        items = [inv for inv in items if shapes.invitation_status(em, inv) == status]
    else:
        items = [inv for inv in items if inv.status != "revoked"]
    text = query.string("query")
    if text:
        items = [inv for inv in items if text.lower() in inv.email_address or text == inv.id]
    field, descending = query.order_by({"created_at", "email_address", "expires_at"})
    items.sort(key=lambda inv: (getattr(inv, field), inv.id), reverse=descending)
    return items


def revoke_invitation(em: Emulator, invitation_id: str) -> records.Invitation:
    invitation = em.invitations.get(invitation_id)
    if invitation is None:
        raise not_found("invitation")
    status = shapes.invitation_status(em, invitation)
    if status == "revoked":
        raise ClerkAPIError(
            400, "invitation_already_revoked", "already revoked", "This invitation was already revoked."
        )
    if status == "accepted":
        raise ClerkAPIError(
            400, "invitation_already_accepted", "already accepted", "This invitation was already accepted."
        )
    if status == "expired":
        raise ClerkAPIError(400, "invitation_expired", "expired", "This invitation has expired and cannot be revoked.")
    invitation.status = "revoked"
    invitation.updated_at = em.now_ms()
    return invitation


def accept_app_invitation(em: Emulator, invitation: records.Invitation) -> None:
    em.used_tickets.add(ticket_of(invitation))
    invitation.status = "accepted"
    invitation.updated_at = em.now_ms()
