"""Django admin for core: the audit trail and the webhook deliveries, both read-only (they are records)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from core.models import AuditEvent, WebhookEvent


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


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WebhookEvent]):
    list_display = ("received_at", "type", "status", "object_id", "svix_id", "processed_at")
    list_filter = ("status", "type", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=svix_id", "type", "object_id", "request_id")
    ordering = ("-received_at", "-id")
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in WebhookEvent._meta.fields]
