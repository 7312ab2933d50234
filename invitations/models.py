"""Workspace member invitations: our record of each Clerk organization invitation, and its audit trail."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import WorkspaceRole
from core.models import TimeStampedModel


class InvitationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # Clerk's rate limit hit; a task sends it after Retry-After
    PENDING = "pending", "Pending"  # sent; waiting for the invitee
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"  # Clerk refused it; `failure_reason` says why


OPEN_STATUSES = (InvitationStatus.QUEUED, InvitationStatus.PENDING)


class WorkspaceInvitationQuerySet(models.QuerySet["WorkspaceInvitation"]):
    """Expiry counts everywhere at once: an open invitation past ``expires_at`` is expired whatever its row says."""

    def open(self, *, now: datetime | None = None) -> WorkspaceInvitationQuerySet:
        return self.filter(status__in=OPEN_STATUSES, expires_at__gt=now or timezone.now())

    def past_expiry(self, *, now: datetime | None = None) -> WorkspaceInvitationQuerySet:
        return self.filter(status__in=OPEN_STATUSES, expires_at__lte=now or timezone.now())


class WorkspaceInvitation(TimeStampedModel):
    # No index of its own: every list is a workspace's, ordered by ``invitations_ws_created``; a lone ``created_at``
    # index only let the planner walk every workspace's invitations in time order and filter (migration 0005).
    created_at = models.DateTimeField(auto_now_add=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=320)
    role = models.CharField(max_length=20, choices=WorkspaceRole.choices, default=WorkspaceRole.MEMBER)
    status = models.CharField(
        max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING, db_index=True
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
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_by_email = models.CharField(max_length=320, blank=True, default="")
    failure_reason = models.CharField(max_length=300, blank=True, default="")
    # When a queued invitation may be sent again (Clerk's Retry-After).
    retry_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open invitation per workspace and email (case-insensitive): the database decides races.
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=Q(status__in=["queued", "pending"]),
                name="invitations_one_open_per_workspace_email",
            ),
            models.CheckConstraint(condition=Q(role__in=WorkspaceRole.values), name="invitations_role_valid"),
            models.CheckConstraint(condition=Q(status__in=InvitationStatus.values), name="invitations_status_valid"),
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "-created_at"]),
            # Open rows past their expiry (they count as expired in the history); see invitations/history.py.
            # The history's email search also has a trigram index, PostgreSQL only (migration 0003).
            models.Index(fields=["workspace", "status", "expires_at"], name="invitations_ws_status_expiry"),
            # Every status in one order: what a text search walks (core/text_search.py; migration 0004). On
            # PostgreSQL it also carries what the walk tests, read index-only (migration 0005, ``INCLUDE``).
            models.Index(fields=["workspace", "-created_at", "-id"], name="invitations_ws_created"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace} ({self.status})"

    @property
    def effective_status(self) -> str:
        """The status a person should see: an open invitation past its expiry is expired."""
        if self.status in OPEN_STATUSES and self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return self.status

    @property
    def is_open(self) -> bool:
        return self.effective_status in OPEN_STATUSES
