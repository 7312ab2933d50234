"""Accounts' Clerk webhook handlers: users, organizations (workspaces) and memberships.

Each handler parses ``event.data`` into our Clerk dataclasses and calls a service. They are idempotent and tolerate
any delivery order:

- upserts go by Clerk id, and the services ignore data older than the stored Clerk ``updated_at``, so
  ``user.updated`` before ``user.created`` ends as in order, and a stale update changes nothing;
- a stored ``*.deleted`` event is a tombstone (``deleted_in_clerk``): users and organizations never come back
  after deletion, and a membership is not recreated by data no newer than its deletion;
- a membership for a user we have not seen yet fetches that user through the gateway and upserts it first.

Imported by ``AccountsConfig.ready()``.
"""

from __future__ import annotations

from accounts import clerk
from accounts.clerk_types import ClerkMembership, ClerkOrganization, ClerkUser
from accounts.models import User
from accounts.services import (
    ClerkDataStale,
    membership_delete_from_clerk,
    membership_upsert_from_clerk,
    user_delete_from_clerk,
    user_get_or_fetch,
    user_upsert_from_clerk,
    workspace_delete_from_clerk,
    workspace_upsert_from_clerk,
)
from accounts.webhook_locks import deleted_in_clerk, lock_clerk_objects, tombstones
from accounts.webhook_registry import webhook_handler
from core.models import WebhookEvent


@webhook_handler("user.created", "user.updated")
def user_changed(event: WebhookEvent) -> str | None:
    clerk_user = ClerkUser.from_json(event.data)
    if not clerk_user.id:
        return "no user id; ignored"
    lock_clerk_objects(clerk_user.id)
    if deleted_in_clerk(clerk_user.id):
        return f"user {clerk_user.id} was deleted; ignored"
    try:
        user_upsert_from_clerk(clerk_user=clerk_user)
    except ClerkDataStale as exc:
        return exc.message
    return None


@webhook_handler("user.deleted")
def user_deleted(event: WebhookEvent) -> str | None:
    clerk_user_id = event.object_id
    lock_clerk_objects(clerk_user_id)
    user_delete_from_clerk(clerk_user_id=clerk_user_id)
    return None


@webhook_handler("organization.created", "organization.updated")
def organization_changed(event: WebhookEvent) -> str | None:
    organization = ClerkOrganization.from_json(event.data)
    if not organization.id:
        return "no organization id; ignored"
    lock_clerk_objects(organization.id)
    if deleted_in_clerk(organization.id):
        return f"organization {organization.id} was deleted; ignored"
    workspace_upsert_from_clerk(organization=organization)
    return None


@webhook_handler("organization.deleted")
def organization_deleted(event: WebhookEvent) -> str | None:
    lock_clerk_objects(event.object_id)
    workspace_delete_from_clerk(clerk_organization_id=event.object_id)
    return None


@webhook_handler("organizationMembership.created", "organizationMembership.updated")
def membership_changed(event: WebhookEvent) -> str | None:
    membership = ClerkMembership.from_json(event.data)
    if not (membership.organization.id and membership.user_id):
        return "membership without organization or user id; ignored"
    lock_clerk_objects(membership.id, membership.organization.id, membership.user_id)
    deleted = tombstones(membership.id, membership.organization.id, membership.user_id)
    if deleted.rule_out(membership.id, updated_at=membership.updated_at):
        return f"membership {membership.id} was deleted; ignored"
    if deleted.rule_out(membership.organization.id) or deleted.rule_out(membership.user_id):
        return f"organization or user of membership {membership.id} was deleted; ignored"
    user = _fetch_user(membership.user_id)
    if user is None:
        return f"user {membership.user_id} no longer exists in Clerk; ignored"
    membership_upsert_from_clerk(membership=membership, user=user)
    return None


@webhook_handler("organizationMembership.deleted")
def membership_deleted(event: WebhookEvent) -> str | None:
    membership = ClerkMembership.from_json(event.data)
    lock_clerk_objects(membership.id, membership.organization.id, membership.user_id)
    membership_delete_from_clerk(membership=membership)
    return None


def _fetch_user(clerk_user_id: str) -> User | None:
    """Ours, or (its ``user.created`` is late) fetched from Clerk; None when Clerk has no such user. Gateway
    failures propagate → retry."""
    try:
        return user_get_or_fetch(clerk_user_id=clerk_user_id)
    except (clerk.ClerkNotFound, ClerkDataStale):
        return None
