"""Reconciler for workspace (organization) invitations (see core/reconcile.py).

Clerk's word on an invitation wins: accepted, revoked or expired there while open here is applied here; a pending
Clerk invitation we have no row for is adopted (made in Clerk's dashboard, or our send never heard back).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkOrganizationInvitation, clerk_time
from accounts.models import Workspace
from accounts.roles import WORKSPACE_ROLE_FROM_CLERK, WorkspaceRole
from core.audit import audit
from core.reconcile import SyncContext, paged, register
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services import (
    AUDIT_TARGET,
    _mark_accepted_from_clerk,
    invitation_revoked_from_clerk,
)

AREA = "workspace_invitations"
CLERK_STATUSES = ("pending", "accepted", "revoked", "expired")


def _remote_invitations(workspace: Workspace) -> dict[str, ClerkOrganizationInvitation]:
    found: dict[str, ClerkOrganizationInvitation] = {}
    for status in CLERK_STATUSES:
        for invitation in paged(
            lambda limit, offset, s=status: clerk.list_organization_invitations(  # type: ignore[misc]
                workspace.clerk_organization_id, status=s, limit=limit, offset=offset
            )
        ):
            found[invitation.id] = invitation
    return found


@transaction.atomic
def _expire(row_pk: int) -> None:
    updated = WorkspaceInvitation.objects.filter(pk=row_pk, status__in=OPEN_STATUSES).update(
        status=InvitationStatus.EXPIRED, retry_at=None, updated_at=timezone.now()
    )
    if updated:
        audit("workspace_invitation.expired", target_type=AUDIT_TARGET, target_id=row_pk, details={"source": "clerk"})


def _adopt(workspace: Workspace, invitation: ClerkOrganizationInvitation) -> None:
    """A pending Clerk invitation with no row: link the open row for that email, or make one."""
    with transaction.atomic():
        row = (
            WorkspaceInvitation.objects.select_for_update()
            .filter(workspace=workspace, status__in=OPEN_STATUSES, clerk_invitation_id__isnull=True)
            .alias(email_lower=Lower("email"))
            .filter(email_lower=invitation.email)
            .first()
        )
        now = timezone.now()
        if row is not None:
            row.clerk_invitation_id = invitation.id
            row.status = InvitationStatus.PENDING
            row.retry_at = None
            row.failure_reason = ""
            row.expires_at = clerk_time(invitation.expires_at) or row.expires_at
            row.save()
        else:
            try:
                with transaction.atomic():
                    row = WorkspaceInvitation.objects.create(
                        workspace=workspace,
                        email=invitation.email,
                        role=WORKSPACE_ROLE_FROM_CLERK.get(invitation.role, WorkspaceRole.MEMBER),
                        status=InvitationStatus.PENDING,
                        clerk_invitation_id=invitation.id,
                        expires_at=clerk_time(invitation.expires_at) or now,
                        last_sent_at=clerk_time(invitation.created_at),
                        send_count=1,
                    )
            except IntegrityError:
                raise RuntimeError("another open invitation for this email exists here; left alone") from None
        audit(
            "workspace_invitation.adopted",
            target_type=AUDIT_TARGET,
            target_id=row.pk,
            details={"email": row.email, "clerk_invitation_id": invitation.id, "source": "clerk_sync"},
        )


def reconcile_workspace_invitations(context: SyncContext) -> None:
    for workspace in Workspace.objects.order_by("pk"):
        remote = _remote_invitations(workspace)
        context.seen(AREA, len(remote))
        local = {
            row.clerk_invitation_id: row
            for row in WorkspaceInvitation.objects.filter(workspace=workspace, clerk_invitation_id__in=list(remote))
        }
        for clerk_id, invitation in remote.items():
            row = local.get(clerk_id)
            if row is None:
                if invitation.status == "pending":
                    context.drift(
                        AREA,
                        "missing_locally",
                        clerk_id,
                        f"pending invitation of {invitation.email} to {workspace.slug}",
                        partial(_adopt, workspace, invitation),
                    )
                continue
            if row.status not in OPEN_STATUSES or invitation.status == "pending":
                continue
            description = f"{row.email} in {workspace.slug}: {invitation.status} in Clerk, {row.status} here"
            if invitation.status == "accepted":
                repair: Callable[[], object] = partial(_mark_accepted_from_clerk, row, invitation)
            elif invitation.status == "revoked":
                repair = partial(invitation_revoked_from_clerk, clerk_invitation_id=invitation.id)
            else:
                repair = partial(_expire, row.pk)
            context.drift(AREA, f"{invitation.status}_in_clerk", clerk_id, description, repair)


def register_reconcilers() -> None:
    register(AREA, reconcile_workspace_invitations)
