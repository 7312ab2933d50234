"""Expiry: pending staff invitations past their deadline become ``expired`` (hourly; the lists already treat them
as expired)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.audit import audit
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services.shared import AUDIT_INVITATION, _invitation_details


def internal_invitations_expire(*, now: datetime | None = None) -> int:
    """Mark pending invitations past their expiry as expired (hourly; the lists already treat them as expired)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(InternalInvitation.objects.past_expiry(now=now).select_for_update(skip_locked=True))
        for row in rows:
            row.status = InternalInvitationStatus.EXPIRED
            row.save(update_fields=["status", "updated_at"])
            audit(
                "internal_invitation.expired",
                target_type=AUDIT_INVITATION,
                target_id=row.pk,
                details=_invitation_details(row),
            )
    return len(rows)
