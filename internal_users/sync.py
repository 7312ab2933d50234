"""Reconciler for staff (application) invitations (see core/reconcile.py).

Clerk sends no webhook for application invitations, so this is how an acceptance is noticed when the new user's
``user.created`` was lost, and how revocations or expiry made in Clerk's dashboard reach us. A pending Clerk
invitation carrying a staff role that we have no row for is adopted (made in Clerk's dashboard).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkInvitation
from accounts.roles import INTERNAL_ROLES
from core.audit import audit
from core.reconcile import SyncContext, paged, register
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services import AUDIT_INVITATION, clerk_time, invitation_accepted_from_clerk

AREA = "staff_invitations"
CLERK_STATUSES = ("pending", "accepted", "revoked", "expired")


def _remote() -> dict[str, ClerkInvitation]:
    found: dict[str, ClerkInvitation] = {}
    for status in CLERK_STATUSES:
        for invitation in paged(
            lambda limit, offset, s=status: clerk.list_invitations(status=s, limit=limit, offset=offset)  # type: ignore[misc]
        ):
            found[invitation.id] = invitation
    return found


@transaction.atomic
def _close(row_pk: int, status: str) -> None:
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "updated_at": now}
    if status == InternalInvitationStatus.REVOKED:
        fields["revoked_at"] = now
    if InternalInvitation.objects.filter(pk=row_pk, status=InternalInvitationStatus.PENDING).update(**fields):
        audit(
            f"internal_invitation.{status}", target_type=AUDIT_INVITATION, target_id=row_pk, details={"source": "clerk"}
        )


def _adopt(invitation: ClerkInvitation) -> None:
    role = invitation.public_metadata.get("role")
    if role not in INTERNAL_ROLES:
        raise RuntimeError("not a staff invitation (no staff role in its metadata); left alone")
    try:
        with transaction.atomic():
            row = InternalInvitation.objects.create(
                email=invitation.email,
                role=role,
                status=InternalInvitationStatus.PENDING,
                clerk_invitation_id=invitation.id,
                expires_at=clerk_time(invitation.expires_at) or timezone.now(),
                last_sent_at=clerk_time(invitation.created_at),
                send_count=1,
            )
    except IntegrityError:
        raise RuntimeError("another pending staff invitation for this email exists here; left alone") from None
    audit(
        "internal_invitation.adopted",
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        details={"email": row.email, "role": row.role, "clerk_invitation_id": invitation.id},
    )


def reconcile_staff_invitations(context: SyncContext) -> None:
    remote = _remote()
    context.seen(AREA, len(remote))
    local = {
        row.clerk_invitation_id: row for row in InternalInvitation.objects.filter(clerk_invitation_id__in=list(remote))
    }
    for clerk_id, invitation in remote.items():
        row = local.get(clerk_id)
        if row is None:
            if invitation.status == "pending" and invitation.public_metadata.get("role") in INTERNAL_ROLES:
                context.drift(
                    AREA,
                    "missing_locally",
                    clerk_id,
                    f"pending staff invitation of {invitation.email}",
                    partial(_adopt, invitation),
                )
            continue
        if row.status != InternalInvitationStatus.PENDING or invitation.status == "pending":
            continue
        description = f"{row.email}: {invitation.status} in Clerk, pending here"
        if invitation.status == "accepted":
            repair: Callable[[], object] = partial(invitation_accepted_from_clerk, invitation=invitation)
        else:
            repair = partial(_close, row.pk, invitation.status)
        context.drift(AREA, f"{invitation.status}_in_clerk", clerk_id, description, repair)


def register_reconcilers() -> None:
    register(AREA, reconcile_staff_invitations)
