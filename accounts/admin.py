"""Django admin at ``/django-admin/``, for active super admins only (``User.is_staff``).

Users, workspaces and memberships mirror Clerk, so the admin shows them but does not create or rename them: that goes
through Clerk (the management commands, the staff and settings pages, webhooks), or the next sync would undo it.
Django holds no passwords, so the admin's login page sends people to ``/sign-in/`` and its logout to ``/sign-out/``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.views import admin_login, sign_out
from accounts.webhook_inbox import replay_event
from core.admin import ReadOnlyAdminMixin
from core.models import WebhookEvent

admin.site.login = admin_login  # type: ignore[method-assign]
admin.site.logout = sign_out  # type: ignore[method-assign,assignment]
admin.site.site_header = "Clerk Invitations admin"
admin.site.site_title = "Clerk Invitations admin"
admin.site.index_title = "Data"
admin.site.site_url = "/dashboard/"
# Roles live on the user (accounts.roles); Django's groups and permissions are not used.
admin.site.unregister(Group)

CLERK_USER_FIELDS = (
    "clerk_user_id",
    "email",
    "first_name",
    "last_name",
    "image_url",
    "phone_number",
    "role",
    "is_internal",
    "disabled_at",
    "clerk_updated_at",
    "created_at",
    "updated_at",
    "last_login",
)


class DisabledFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[User]) -> list[tuple[str, str]]:
        return [("active", "Active"), ("disabled", "Disabled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "active":
            return queryset.filter(disabled_at__isnull=True)
        if self.value() == "disabled":
            return queryset.filter(disabled_at__isnull=False)
        return queryset


class MembershipInline(admin.TabularInline[WorkspaceMembership, Workspace]):
    model = WorkspaceMembership
    fields = ("user", "role", "clerk_membership_id", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "first_name", "last_name", "role", "is_internal", "is_active", "created_at")
    list_filter = ("role", "is_internal", DisabledFilter, "phone_verification_required")
    search_fields = ("email", "first_name", "last_name", "=clerk_user_id", "phone_number")
    ordering = ("email",)
    readonly_fields = CLERK_USER_FIELDS
    fieldsets = (
        ("Clerk user (synced from Clerk)", {"fields": ("clerk_user_id", "email", "first_name", "last_name")}),
        ("Contact", {"fields": ("phone_number", "image_url")}),
        ("Access (Clerk metadata and ban status)", {"fields": ("role", "is_internal", "disabled_at")}),
        ("Local", {"fields": ("phone_verification_required",)}),
        ("History", {"fields": ("clerk_updated_at", "created_at", "updated_at", "last_login")}),
    )

    @admin.display(boolean=True, description="Active")
    def is_active(self, obj: User) -> bool:
        return obj.is_active

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Workspace]):
    list_display = ("name", "slug", "clerk_organization_id", "member_count", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("name", "slug", "=clerk_organization_id")
    ordering = ("name",)
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workspace]:
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, obj: Workspace) -> int:
        return int(getattr(obj, "member_total", 0))


@admin.register(WorkspaceMembership)
class WorkspaceMembershipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WorkspaceMembership]):
    list_display = ("user", "workspace", "role", "clerk_membership_id", "created_at")
    list_filter = ("role", "workspace")
    search_fields = ("user__email", "workspace__name", "workspace__slug", "=clerk_membership_id")
    list_select_related = ("user", "workspace")
    ordering = ("workspace__name", "user__email")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WebhookEvent]):
    """The webhook inbox: every stored Clerk event by state, with its attempts and last error; parked ones replay."""

    list_display = ("received_at", "type", "status", "attempts", "short_error", "object_id", "svix_id", "processed_at")
    list_filter = ("status", "type", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=svix_id", "type", "object_id", "request_id")
    ordering = ("-received_at", "-id")
    list_per_page = 50
    show_full_result_count = False
    actions = ("replay_parked",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in WebhookEvent._meta.fields]

    @admin.display(description="last error")
    def short_error(self, obj: WebhookEvent) -> str:
        return obj.last_error.splitlines()[-1][:120] if obj.last_error else ""

    @admin.action(description="Replay the selected parked events")
    def replay_parked(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        parked = list(queryset.filter(status=WebhookEvent.Status.PARKED).order_by("clerk_timestamp", "id"))
        skipped = queryset.count() - len(parked)
        outcomes = Counter(replay_event(event=event, actor=request.user, via="admin").status for event in parked)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items())) or "nothing"
        self.message_user(request, f"Replayed {len(parked)} parked event(s): {summary}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} event(s) that are not parked.", messages.WARNING)
