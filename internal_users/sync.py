"""Reconciler for staff (application) invitations (see core/reconcile.py).

Clerk sends no webhook for application invitations, so this is how an acceptance is noticed when the new user's
``user.created`` was lost, and how revocations or expiry made in Clerk's dashboard reach us. A pending Clerk
invitation carrying a staff role that we have no row for is adopted (made in Clerk's dashboard).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkInvitation, clerk_time
from accounts.roles import INTERNAL_ROLES
from core.audit import audit
from core.reconcile import SyncContext, paged, register
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services import AUDIT_INVITATION, invitation_accepted_from_clerk

AREA = "staff_invitations"
CLERK_STATUSES = ("pending", "accepted", "revoked", "expired")
# A pending row still without a Clerk id after this long was never sent (an invite takes seconds).
UNSENT_GRACE = timedelta(minutes=10)
UNSENT_REASON = "clerk_no_response: the invitation was never created in Clerk; resend it"


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
    """A pending Clerk staff invitation with no row: link our row for that email that never learned its Clerk id
    (a crash or timeout between Clerk's create and our save), or else make one (made in Clerk's dashboard)."""
    role = invitation.public_metadata.get("role")
    if role not in INTERNAL_ROLES:
        raise RuntimeError("not a staff invitation (no staff role in its metadata); left alone")
    expires_at = clerk_time(invitation.expires_at) or timezone.now()
    with transaction.atomic():
        row = (
            InternalInvitation.objects.select_for_update()
            .filter(
                email=invitation.email,
                clerk_invitation_id__isnull=True,
                status__in=[InternalInvitationStatus.PENDING, InternalInvitationStatus.FAILED],
            )
            .order_by("-created_at")
            .first()
        )
        if row is not None:
            pending_elsewhere = (
                InternalInvitation.objects.filter(email=invitation.email, status=InternalInvitationStatus.PENDING)
                .exclude(pk=row.pk)
                .exists()
            )
            if pending_elsewhere:
                raise RuntimeError("another pending staff invitation for this email exists here; left alone")
            row.clerk_invitation_id = invitation.id
            row.status = InternalInvitationStatus.PENDING
            row.failure_reason = ""
            row.expires_at = expires_at
            row.save()
            action = "internal_invitation.linked"
        else:
            try:
                with transaction.atomic():
                    row = InternalInvitation.objects.create(
                        email=invitation.email,
                        role=role,
                        status=InternalInvitationStatus.PENDING,
                        clerk_invitation_id=invitation.id,
                        expires_at=expires_at,
                        last_sent_at=clerk_time(invitation.created_at),
                        send_count=1,
                    )
            except IntegrityError:
                raise RuntimeError("another pending staff invitation for this email exists here; left alone") from None
            action = "internal_invitation.adopted"
        audit(
            action,
            target_type=AUDIT_INVITATION,
            target_id=row.pk,
            details={"email": row.email, "role": row.role, "clerk_invitation_id": invitation.id},
        )


@transaction.atomic
def _fail_unsent(row_pk: int) -> None:
    """A pending row that never got a Clerk invitation (the process died before or during the call)."""
    updated = InternalInvitation.objects.filter(
        pk=row_pk, status=InternalInvitationStatus.PENDING, clerk_invitation_id__isnull=True
    ).update(status=InternalInvitationStatus.FAILED, failure_reason=UNSENT_REASON, updated_at=timezone.now())
    if updated:
        audit(
            "internal_invitation.failed",
            target_type=AUDIT_INVITATION,
            target_id=row_pk,
            details={"reason": UNSENT_REASON},
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
    cutoff = timezone.now() - UNSENT_GRACE
    linked = {invitation.email for invitation in remote.values() if invitation.status == "pending"}
    unsent = InternalInvitation.objects.filter(
        status=InternalInvitationStatus.PENDING, clerk_invitation_id__isnull=True, created_at__lt=cutoff
    ).exclude(email__in=linked)
    for row in unsent:
        context.drift(
            AREA,
            "never_sent",
            f"local:{row.pk}",
            f"{row.email}: pending here, unknown to Clerk",
            partial(_fail_unsent, row.pk),
        )


def register_reconcilers() -> None:
    register(AREA, reconcile_staff_invitations)
