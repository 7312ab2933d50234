"""Invitations' Clerk webhook handlers. They run after the accounts handlers of the same event (INSTALLED_APPS
order), in the same transaction, and like them are idempotent and tolerate any order and any number of deliveries:

- ``organizationInvitation.accepted`` → the invitation is accepted (by Clerk id; before our send learned that id,
  by workspace and email); the accepting user is fetched from Clerk when we have not seen them yet;
- ``organizationInvitation.revoked`` → an open invitation with that Clerk id is revoked;
- ``organizationMembership.created`` → an open invitation of that person to that workspace is accepted (the
  accounts handler has just mirrored the membership and the user);
- ``organizationMembership.deleted`` changes no invitation (the accounts handler removes the membership).

Imported by ``InvitationsConfig.ready()``.
"""

from __future__ import annotations

from accounts.clerk_types import ClerkMembership, ClerkOrganizationInvitation, clerk_time
from accounts.selectors import user_get_by_clerk_id, workspace_get_by_clerk_id
from accounts.webhook_locks import deleted_in_clerk, lock_clerk_objects
from accounts.webhook_registry import webhook_handler
from core.models import WebhookEvent
from invitations.services import (
    accepting_user,
    invitation_accepted_from_clerk,
    invitation_revoked_from_clerk,
    invitations_accepted_by_membership,
)


@webhook_handler("organizationInvitation.accepted")
def organization_invitation_accepted(event: WebhookEvent) -> str | None:
    invitation = ClerkOrganizationInvitation.from_json(event.data)
    if not (invitation.id and invitation.organization_id):
        return "invitation without id or organization id; ignored"
    lock_clerk_objects(invitation.id, invitation.organization_id, invitation.user_id)
    workspace = workspace_get_by_clerk_id(clerk_organization_id=invitation.organization_id)
    if workspace is None:
        return f"organization {invitation.organization_id} is not a workspace here; invitation ignored"
    user = accepting_user(clerk_user_id=invitation.user_id, email=invitation.email)
    row = invitation_accepted_from_clerk(
        workspace=workspace,
        clerk_invitation_id=invitation.id,
        email=invitation.email,
        user=user,
        accepted_at=clerk_time(invitation.updated_at),
    )
    return None if row is not None else f"no local invitation for {invitation.id}; ignored"


@webhook_handler("organizationInvitation.revoked")
def organization_invitation_revoked(event: WebhookEvent) -> str | None:
    invitation = ClerkOrganizationInvitation.from_json(event.data)
    if not invitation.id:
        return "invitation without id; ignored"
    lock_clerk_objects(invitation.id, invitation.organization_id)
    invitation_revoked_from_clerk(clerk_invitation_id=invitation.id)
    return None


@webhook_handler("organizationMembership.created")
def membership_created(event: WebhookEvent) -> str | None:
    membership = ClerkMembership.from_json(event.data)
    if not (membership.organization.id and membership.user_id):
        return None  # the accounts handler has said why
    lock_clerk_objects(membership.id, membership.organization.id, membership.user_id)
    if deleted_in_clerk(membership.id, updated_at=membership.updated_at):
        return None
    workspace = workspace_get_by_clerk_id(clerk_organization_id=membership.organization.id)
    user = user_get_by_clerk_id(clerk_user_id=membership.user_id)
    email = (user.email if user is not None else "") or membership.email
    if workspace is None or not email:
        return None
    invitations_accepted_by_membership(
        workspace=workspace, email=email, user=user, accepted_at=clerk_time(membership.updated_at)
    )
    return None
