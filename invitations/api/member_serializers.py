"""Shapes of the member and workspace discovery API (``invitations/api/members.py``, ``workspaces.py``)."""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from accounts.roles import WorkspaceRole
from core.serializers import StrictSerializer


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=WorkspaceRole.choices, help_text="The member's new workspace role.")


class MemberRoleSerializerExtension(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """drf-spectacular documents every PATCH body as partial (nothing required); ours requires ``role``."""

    target_class = MemberRoleSerializer
    priority = 1  # before StrictSerializerExtension

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        serializer = copy.copy(self.target)
        serializer.partial = False
        schema: dict[str, Any] = auto_schema._map_serializer(serializer, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


class WorkspacePermissionsSerializer(serializers.Serializer[dict[str, bool]]):
    invite = serializers.BooleanField(help_text="Invite people, resend and revoke invitations, list them.")
    manage_members = serializers.BooleanField(help_text="Change members' workspace roles and remove members.")
    leave = serializers.BooleanField(help_text="Leave the workspace (a member who is not its only admin).")


class WorkspaceSerializer(serializers.Serializer[Any]):
    """A workspace the caller can reach, their workspace role in it, and what they may do there."""

    id = serializers.IntegerField(source="workspace.pk")
    name = serializers.CharField(source="workspace.name")
    slug = serializers.CharField(source="workspace.slug")
    role = serializers.ChoiceField(
        choices=WorkspaceRole.choices,
        allow_null=True,
        help_text="Your workspace role; null when you reach it as staff without being a member.",
    )
    member_count = serializers.IntegerField()
    permissions = WorkspacePermissionsSerializer()
