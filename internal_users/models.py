"""Internal staff invitations: our record of each Clerk application invitation, its email, and its audit trail."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.roles import INTERNAL_ROLES
from core.models import TimeStampedModel

STAFF_ROLE_VALUES = sorted(str(role) for role in INTERNAL_ROLES)


class InternalInvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"  # Clerk could not create (or re-create) it; `failure_reason` says why


class EmailDelivery(models.TextChoices):
    NOT_SENT = "not_sent", "Not sent"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # our mail backend refused it; `email_error` says why; resend tries again


class InternalInvitationQuerySet(models.QuerySet["InternalInvitation"]):
    """A pending invitation past ``expires_at`` is expired whatever its row says (rows are swept hourly)."""

    def pending(self, *, now: datetime | None = None) -> InternalInvitationQuerySet:
        return self.filter(status=InternalInvitationStatus.PENDING, expires_at__gt=now or timezone.now())

    def past_expiry(self, *, now: datetime | None = None) -> InternalInvitationQuerySet:
        return self.filter(status=InternalInvitationStatus.PENDING, expires_at__lte=now or timezone.now())


class InternalInvitation(TimeStampedModel):
    email = models.EmailField(max_length=320)
    role = models.CharField(max_length=20)
    status = models.CharField(
        max_length=20,
        choices=InternalInvitationStatus.choices,
        default=InternalInvitationStatus.PENDING,
        db_index=True,
    )
    clerk_invitation_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The inviter, and a snapshot of who they were: deleting the user keeps the history readable.
    inviter = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    inviter_email = models.CharField(max_length=320, blank=True, default="")
    inviter_name = models.CharField(max_length=300, blank=True, default="")
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_by_email = models.CharField(max_length=320, blank=True, default="")
    failure_reason = models.CharField(max_length=300, blank=True, default="")
    email_status = models.CharField(
        max_length=20, choices=EmailDelivery.choices, default=EmailDelivery.NOT_SENT, db_index=True
    )
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True, default="")

    objects = InternalInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One pending invitation per email (case-insensitive): the database decides races.
            models.UniqueConstraint(
                Lower("email"), condition=Q(status="pending"), name="internal_users_one_pending_per_email"
            ),
            models.CheckConstraint(condition=Q(role__in=STAFF_ROLE_VALUES), name="internal_users_role_valid"),
            models.CheckConstraint(
                condition=Q(status__in=InternalInvitationStatus.values), name="internal_users_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(email_status__in=EmailDelivery.values), name="internal_users_email_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="internal_users_inv_list"),
            models.Index(Lower("email"), name="internal_users_inv_email_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}, {self.status})"

    @property
    def effective_status(self) -> str:
        if self.status == InternalInvitationStatus.PENDING and self.expires_at <= timezone.now():
            return InternalInvitationStatus.EXPIRED
        return self.status

    @property
    def is_pending(self) -> bool:
        return self.effective_status == InternalInvitationStatus.PENDING
