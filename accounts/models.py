"""Users (mirrors of Clerk users), workspaces (mirrors of Clerk organizations) and memberships."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from accounts.roles import INTERNAL_ROLES, Role, WorkspaceRole
from core.emails import normalize_email
from core.models import TimeStampedModel

# `email__lower=<lowercased>` is what the `Lower("email")` indexes serve; `email__iexact` compiles to UPPER(...) on
# PostgreSQL, which no index serves: a sequential scan of every user.
models.CharField.register_lookup(Lower)


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, clerk_user_id: str, **fields: Any) -> User:
        user = self.model(email=normalize_email(email), clerk_user_id=clerk_user_id, **fields)
        user.set_unusable_password()  # Clerk holds credentials; Django never does.
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, clerk_user_id: str, **fields: Any) -> User:
        fields.setdefault("role", Role.SUPER_ADMIN)
        fields.setdefault("is_internal", True)
        return self.create_user(email, clerk_user_id, **fields)


class User(AbstractBaseUser, TimeStampedModel):
    clerk_user_id = models.CharField(max_length=64, unique=True)
    # ``core.emails.normalize_email`` form; NULL for a Clerk user without a usable address (phone-only, say): such a
    # user signs in and is mirrored, but nobody can invite, promote or find them by email (docs/security.md).
    email = models.EmailField(max_length=320, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    image_url = models.URLField(max_length=500, blank=True, default="")
    phone_number = models.CharField(max_length=32, blank=True, default="")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER, db_index=True)
    is_internal = models.BooleanField(default=False, db_index=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    phone_verification_required = models.BooleanField(default=True)
    # Clerk's `updated_at` (ms) of the data last applied: older webhook payloads are ignored.
    clerk_updated_at = models.BigIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["clerk_user_id"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"),
        ]
        # The staff list pages through staff by lowercased email (internal_users.selectors).
        indexes = [models.Index(Lower("email"), condition=models.Q(is_internal=True), name="accounts_user_staff_email")]

    def __str__(self) -> str:
        return self.email or self.clerk_user_id

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.identifier

    @property
    def identifier(self) -> str:
        """How to name this user where an email would go: the email, else the phone number, else the Clerk id."""
        return self.email or self.phone_number or self.clerk_user_id

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.disabled_at is None

    @property
    def is_staff(self) -> bool:
        """Django admin access: active super admins only."""
        return self.is_active and self.role == Role.SUPER_ADMIN

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Django admin permissions: all or nothing, for active super admins."""
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    @property
    def has_internal_role(self) -> bool:
        return self.role in INTERNAL_ROLES


class Workspace(TimeStampedModel):
    clerk_organization_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=256)
    slug = models.SlugField(max_length=256, unique=True)
    clerk_updated_at = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkspaceMembership(TimeStampedModel):
    # No index of its own: ``accounts_membership_ws_joined`` serves the one list ordered by it, and a lone
    # ``created_at`` index only tempted the planner into walking every workspace's members (issue 12).
    created_at = models.DateTimeField(auto_now_add=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="workspace_memberships")
    role = models.CharField(max_length=20, choices=WorkspaceRole.choices, default=WorkspaceRole.MEMBER)
    clerk_membership_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    clerk_updated_at = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["workspace__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="accounts_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=WorkspaceRole.values), name="accounts_membership_role_valid"
            ),
        ]
        indexes = [
            # The members list pages through a workspace's members newest first (invitations.selectors).
            models.Index(fields=["workspace", "-created_at", "-id"], name="accounts_membership_ws_joined"),
            # Its admins: the last-admin rule locks them (invitations.members), the list asks whether there are two.
            models.Index(
                fields=["workspace"], condition=models.Q(role=WorkspaceRole.ADMIN), name="accounts_membership_ws_admins"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"
