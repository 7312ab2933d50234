"""Django admin for core: the audit trail, read-only (it is a record). The webhook inbox is in accounts.admin."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from core.models import AuditEvent


class ReadOnlyAdminMixin:
    """Rows anyone may look at in the admin but nobody adds, edits or deletes there."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[AuditEvent]):
    list_display = ("created_at", "action", "outcome", "actor_email", "actor_role", "target_type", "target_id")
    list_filter = ("outcome", "target_type", "actor_role", ("created_at", admin.DateFieldListFilter))
    search_fields = ("action", "actor_email", "actor_clerk_user_id", "target_id", "request_id", "=ip_address")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False
