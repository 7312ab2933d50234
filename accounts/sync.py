"""Reconcilers for users, workspaces and memberships (see core/reconcile.py).

Clerk is the source of truth for who exists, bans, names and memberships; our database is the source of truth for
staff roles (Clerk metadata carries a copy, pushed back when they differ).
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

from django.db import transaction

from accounts import clerk
from accounts.clerk_types import ClerkMembership, ClerkOrganization, ClerkUser
from accounts.identity import user_fields, workspace_fields
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import INTERNAL_ROLES, WORKSPACE_ROLE_FROM_CLERK
from accounts.services import (
    ClerkDataStale,
    membership_upsert_from_clerk,
    user_delete_from_clerk,
    user_get_or_fetch,
    user_upsert_from_clerk,
    workspace_delete_from_clerk,
    workspace_upsert_from_clerk,
)
from core.reconcile import SyncContext, paged, pages, register


def _user_differences(user: User | None, remote: ClerkUser) -> list[str]:
    """What the upsert would change: compared with the values it stores (``accounts.identity``), not Clerk's raw
    ones, so data we clean or truncate is not drift."""
    if user is None:
        return ["missing locally"]
    differences = []
    if remote.banned != (user.disabled_at is not None):
        differences.append("banned in Clerk" if remote.banned else "unbanned in Clerk")
    fields = user_fields(remote)
    if fields.email is not None and user.email != fields.email and not _held_by_another(fields.email, user):
        differences.append("email differs")
    for name, local, theirs in (
        ("first name", user.first_name, fields.first_name),
        ("last name", user.last_name, fields.last_name),
        ("phone", user.phone_number, fields.phone_number),
        ("image", user.image_url, fields.image_url),
    ):
        if theirs and local != theirs:
            differences.append(f"{name} differs")
    return differences


def _held_by_another(email: str, user: User) -> bool:
    """An address another local user holds: the upsert leaves it with them while Clerk says they still have it
    (a fold-only twin, see ``user_upsert_from_clerk``); that user's own row is reconciled on its own."""
    return User.objects.filter(email__lower=email).exclude(pk=user.pk).exists()


def _metadata_role_difference(user: User, remote: ClerkUser) -> dict[str, Any] | None:
    """The metadata to push when Clerk's copy of the staff role is not ours (None: they agree)."""
    claimed = remote.public_metadata.get("role")
    if user.role in INTERNAL_ROLES:
        if claimed != user.role or remote.public_metadata.get("internal") is not True:
            return {"role": user.role, "internal": True}
        return None
    if claimed is not None or "internal" in remote.public_metadata:
        return {"role": None, "internal": None}  # None removes the key (Clerk's deep merge)
    return None


def _upsert(remote: ClerkUser) -> None:
    with contextlib.suppress(ClerkDataStale):
        user_upsert_from_clerk(clerk_user=remote)


def reconcile_users(context: SyncContext) -> None:
    seen: set[str] = set()
    for page in pages(lambda limit, offset: clerk.list_users(limit=limit, offset=offset)):
        # One query per page of Clerk users, not one per user.
        local = {user.clerk_user_id: user for user in User.objects.filter(clerk_user_id__in=[r.id for r in page])}
        for remote in page:
            seen.add(remote.id)
            context.seen("users")
            _reconcile_user(context, remote, local.get(remote.id))
    for clerk_user_id in User.objects.exclude(clerk_user_id__in=seen).values_list("clerk_user_id", flat=True):
        context.drift(
            "users",
            "deleted_in_clerk",
            clerk_user_id,
            "no such user in Clerk",
            partial(_delete_user_if_gone, clerk_user_id),
        )


def _reconcile_user(context: SyncContext, remote: ClerkUser, user: User | None) -> None:
    differences = _user_differences(user, remote)
    if differences:
        kind = "missing_locally" if user is None else "out_of_date"
        context.drift("users", kind, remote.id, ", ".join(differences), partial(_upsert, remote))
        user = User.objects.filter(clerk_user_id=remote.id).first()  # only after a repair
    if user is None:
        return
    push = _metadata_role_difference(user, remote)
    if push is not None:
        context.drift(
            "users",
            "role_metadata_differs",
            remote.id,
            f"Clerk metadata says role {remote.public_metadata.get('role')!r}; ours is {user.role!r}",
            partial(clerk.update_user_metadata, remote.id, public_metadata=push),
        )


def _delete_user_if_gone(clerk_user_id: str) -> None:
    """Only when Clerk confirms (a user created after the listing started is not deleted)."""
    try:
        clerk.get_user(clerk_user_id)
    except clerk.ClerkNotFound:
        user_delete_from_clerk(clerk_user_id=clerk_user_id)
        return
    raise RuntimeError("the user exists in Clerk (created during the run); left alone")


def reconcile_workspaces(context: SyncContext) -> None:
    seen: set[str] = set()
    for organization in paged(lambda limit, offset: clerk.list_organizations(limit=limit, offset=offset)):
        seen.add(organization.id)
        context.seen("workspaces")
        workspace = Workspace.objects.filter(clerk_organization_id=organization.id).first()
        fields = workspace_fields(organization)
        if workspace is None or (workspace.name, workspace.slug) != (fields.name, fields.slug):
            context.drift(
                "workspaces",
                "missing_locally" if workspace is None else "out_of_date",
                organization.id,
                f"organization {organization.slug}",
                partial(workspace_upsert_from_clerk, organization=organization),
            )
        _reconcile_memberships(context, organization)
    for clerk_organization_id in Workspace.objects.exclude(clerk_organization_id__in=seen).values_list(
        "clerk_organization_id", flat=True
    ):
        context.drift(
            "workspaces",
            "deleted_in_clerk",
            clerk_organization_id,
            "no such organization in Clerk",
            partial(_delete_workspace_if_gone, clerk_organization_id),
        )


def _delete_workspace_if_gone(clerk_organization_id: str) -> None:
    try:
        clerk.get_organization(clerk_organization_id)
    except clerk.ClerkNotFound:
        workspace_delete_from_clerk(clerk_organization_id=clerk_organization_id)
        return
    raise RuntimeError("the organization exists in Clerk (created during the run); left alone")


def _membership_matches(row: WorkspaceMembership | None, remote: ClerkMembership) -> bool:
    return row is not None and row.role == WORKSPACE_ROLE_FROM_CLERK.get(remote.role, row.role)


def _upsert_membership(remote: ClerkMembership) -> None:
    membership_upsert_from_clerk(membership=remote, user=user_get_or_fetch(clerk_user_id=remote.user_id))


def _reconcile_memberships(context: SyncContext, organization: ClerkOrganization) -> None:
    workspace = Workspace.objects.filter(clerk_organization_id=organization.id).first()
    if workspace is None:
        return
    seen_users: set[str] = set()
    rows = {
        row.user.clerk_user_id: row
        for row in WorkspaceMembership.objects.filter(workspace=workspace).select_related("user")
    }
    for remote in paged(
        lambda limit, offset: clerk.list_organization_memberships(organization.id, limit=limit, offset=offset)
    ):
        seen_users.add(remote.user_id)
        context.seen("memberships")
        if not _membership_matches(rows.get(remote.user_id), remote):
            context.drift(
                "memberships",
                "missing_locally" if remote.user_id not in rows else "role_differs",
                remote.id,
                f"{remote.email or remote.user_id} in {organization.slug} as {remote.role}",
                partial(_upsert_membership, remote),
            )
    for clerk_user_id, row in rows.items():
        if clerk_user_id not in seen_users:
            context.drift(
                "memberships",
                "deleted_in_clerk",
                row.clerk_membership_id or f"{organization.id}/{clerk_user_id}",
                f"{row.user.email} is no longer in {organization.slug}",
                partial(_delete_membership, row.pk),
            )


@transaction.atomic
def _delete_membership(pk: int) -> None:
    WorkspaceMembership.objects.filter(pk=pk).delete()


def register_reconcilers() -> None:
    register("users", reconcile_users)
    register("workspaces", reconcile_workspaces)
