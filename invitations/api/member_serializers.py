"""Shapes of the member and workspace discovery API (``invitations/api/members.py``, ``workspaces.py``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.roles import WorkspaceRole
from core.serializers import StrictSerializer


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=WorkspaceRole.choices, help_text="The member's new workspace role.")


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
