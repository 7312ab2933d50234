"""Changes that arrive from Clerk (webhooks, ``clerk_sync``, and Clerk's answers to our own revoke): an invitation
accepted or revoked there, or a membership that makes its open invitations accepted. Acceptance is a fact in Clerk
and wins over our revoked/expired/failed.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkOrganizationInvitation, clerk_time
from accounts.models import User, Workspace
from accounts.services import ClerkDataStale, user_get_or_fetch, user_upsert_from_clerk
from accounts.webhooks import deleted_in_clerk
from core.audit import audit
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.services.shared import AUDIT_TARGET, _invitation_details


def accepting_user(*, clerk_user_id: str, email: str) -> User | None:
    """The local user who accepted: by Clerk id, fetched from Clerk when we have not seen them yet."""
    if clerk_user_id:
        if deleted_in_clerk(clerk_user_id):  # a user.deleted already arrived: fetching would only answer 404
            return User.objects.filter(clerk_user_id=clerk_user_id).first()
        try:
            return user_get_or_fetch(clerk_user_id=clerk_user_id)
        except (clerk.ClerkNotFound, ClerkDataStale):
            return None
    if not email:
        return None
    user = User.objects.filter(email__lower=email.lower()).first()
    if user is not None:
        return user
    # Clerk's invitation object (unlike the `accepted` webhook) does not name the user: find them by email.
    found = clerk.list_users(email_addresses=[email], limit=1)
    if not found:
        return None
    try:
        return user_upsert_from_clerk(clerk_user=found[0])
    except ClerkDataStale:
        return None


def _mark_accepted_from_clerk(row: WorkspaceInvitation, invitation: ClerkOrganizationInvitation) -> WorkspaceInvitation:
    user = accepting_user(clerk_user_id=invitation.user_id, email=invitation.email)
    accepted = invitation_accepted_from_clerk(
        workspace=row.workspace,
        clerk_invitation_id=invitation.id,
        email=row.email,
        user=user,
        accepted_at=clerk_time(invitation.updated_at),
    )
    return accepted or WorkspaceInvitation.objects.get(pk=row.pk)


@transaction.atomic
def invitation_accepted_from_clerk(
    *,
    workspace: Workspace,
    clerk_invitation_id: str,
    email: str,
    user: User | None,
    accepted_at: datetime | None = None,
) -> WorkspaceInvitation | None:
    """Clerk says the invitation was accepted. Matched by Clerk id, else (our send got no answer, so we never
    learned the id) the open invitation for that workspace and email. Acceptance is a fact in Clerk: it wins over
    our revoked/expired/failed. Idempotent; ``None`` when nothing local matches."""
    row = (
        WorkspaceInvitation.objects.select_for_update()
        .filter(clerk_invitation_id=clerk_invitation_id, workspace=workspace)
        .first()
        if clerk_invitation_id
        else None
    )
    if row is None and email:
        row = (
            WorkspaceInvitation.objects.select_for_update()
            .filter(workspace=workspace, status__in=OPEN_STATUSES)
            .alias(email_lower=Lower("email"))
            .filter(email_lower=email.strip().lower())
            .first()
        )
    if row is None:
        return None
    if row.status == InvitationStatus.ACCEPTED:
        if row.accepted_by_id is None and user is not None:
            row.accepted_by = user
            row.save(update_fields=["accepted_by", "updated_at"])
        return row
    previous = row.status
    row.status = InvitationStatus.ACCEPTED
    row.accepted_at = accepted_at or timezone.now()
    row.accepted_by = user
    row.retry_at = None
    fields = ["status", "accepted_at", "accepted_by", "retry_at", "updated_at"]
    if row.clerk_invitation_id is None and clerk_invitation_id:
        taken = WorkspaceInvitation.objects.filter(clerk_invitation_id=clerk_invitation_id).exists()
        if not taken:
            row.clerk_invitation_id = clerk_invitation_id
            fields.append("clerk_invitation_id")
    row.save(update_fields=fields)
    audit(
        "workspace_invitation.accepted",
        actor=user,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="accepted", previous_status=previous),
    )
    return row


@transaction.atomic
def invitation_revoked_from_clerk(*, clerk_invitation_id: str) -> WorkspaceInvitation | None:
    """Clerk says the invitation was revoked (someone used Clerk's dashboard, or our own revoke echoing back).
    Only an open row with that Clerk id changes; a resend unlinks the old id first, so its echo changes nothing."""
    row = (
        WorkspaceInvitation.objects.select_for_update()
        .filter(clerk_invitation_id=clerk_invitation_id, status__in=OPEN_STATUSES)
        .first()
    )
    if row is None:
        return None
    row.status = InvitationStatus.REVOKED
    row.revoked_at = timezone.now()
    row.retry_at = None
    row.save(update_fields=["status", "revoked_at", "retry_at", "updated_at"])
    audit(
        "workspace_invitation.revoked",
        actor=None,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="revoked", source="clerk"),
    )
    return row


@transaction.atomic
def invitations_accepted_by_membership(
    *, workspace: Workspace, email: str, user: User | None, accepted_at: datetime | None = None
) -> int:
    """The person is now a member (``organizationMembership.created``): their open invitations are accepted."""
    rows = list(
        WorkspaceInvitation.objects.select_for_update()
        .filter(workspace=workspace, status__in=OPEN_STATUSES)
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
    )
    for row in rows:
        invitation_accepted_from_clerk(
            workspace=workspace, clerk_invitation_id="", email=row.email, user=user, accepted_at=accepted_at
        )
    return len(rows)
