"""Django admin for workspace invitations: read-only. Inviting, resending and revoking go through the services
(settings page, API), which keep Clerk and this table in step and write the audit trail; editing a row here would
not."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdminMixin
from invitations.models import WorkspaceInvitation


@admin.register(WorkspaceInvitation)
class WorkspaceInvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WorkspaceInvitation]):
    list_display = (
        "email",
        "workspace",
        "role",
        "status",
        "effective_status",
        "inviter_email",
        "send_count",
        "expires_at",
        "created_at",
    )
    list_filter = ("status", "role", ("created_at", admin.DateFieldListFilter), "workspace")
    search_fields = ("email", "=clerk_invitation_id", "inviter_email", "workspace__name", "workspace__slug")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkspaceInvitation]:
        return super().get_queryset(request).select_related("workspace")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in WorkspaceInvitation._meta.fields]

    @admin.display(description="effective status")
    def effective_status(self, obj: WorkspaceInvitation) -> str:
        return obj.effective_status
