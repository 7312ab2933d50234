"""One workspace invitation with its timeline, and its invite link on demand (issue 12 items 3 and 4).

- ``GET workspaces/{workspace_id}/invitations/{invitation_id}/``: the invitation and its timeline;
- ``POST workspaces/{workspace_id}/invitations/{invitation_id}/link/``: the invite link of a pending invitation,
  fetched from Clerk now, answered with ``Cache-Control: no-store`` (a POST: it is audited, never cached).

Its own viewset on the invitations prefix (the list/create/resend/revoke viewset has no detail route), with the same
guards: 404 outside the caller's reach, 403 without ``workspace:invite``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.serializers import InviteLinkSerializer, TimelineEntrySerializer
from invitations import links
from invitations.api.permissions import CanInviteToWorkspace
from invitations.api.responses import (
    CLERK_ERROR,
    CLERK_UNAVAILABLE,
    FORBIDDEN,
    NOT_FOUND,
    NOT_PENDING,
    RATE_LIMITED,
    UNAUTHENTICATED,
)
from invitations.api.serializers import InvitationSerializer
from invitations.api.views import INVITATION_ID, WORKSPACE_ID, InvitationScopedViewSet
from invitations.timeline import invitation_timeline

NO_STORE = "no-store"


class InvitationDetailSerializer(InvitationSerializer):
    """An invitation and its timeline, oldest step first."""

    timeline = serializers.SerializerMethodField()
    accepted_by = serializers.SerializerMethodField(help_text="The email of who accepted, if anyone.")
    revoked_by = serializers.SerializerMethodField(help_text="The email of who revoked it, if a person did.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "accepted_by", "revoked_by", "timeline"]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, invitation: Any) -> list[dict[str, Any]]:
        entries = invitation_timeline(invitation=invitation)
        return [dict(item) for item in TimelineEntrySerializer(entries, many=True).data]

    def get_accepted_by(self, invitation: Any) -> str:
        user = invitation.accepted_by
        return (user.email or "") if user is not None else ""

    def get_revoked_by(self, invitation: Any) -> str:
        user = invitation.revoked_by
        return ((user.email or "") if user is not None else "") or invitation.revoked_by_email


@extend_schema(parameters=[WORKSPACE_ID, INVITATION_ID], tags=["workspace invitations"])
@extend_schema_view(
    retrieve=extend_schema(
        operation_id="workspace_invitations_retrieve",
        summary="One invitation with its timeline",
        description="Created, each send and resend, failures, queued and retried sends, accepted by whom, revoked by "
        "whom, expired, and each time its link was shown: from the audit trail, oldest first.",
        responses={200: InvitationDetailSerializer, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    link=extend_schema(
        operation_id="workspace_invitations_link",
        summary="Get a pending invitation's invite link",
        description="Fetches the link from Clerk now, for when the email did not arrive. Answered with "
        "`Cache-Control: no-store`; never stored or logged here; that it was shown is audited.",
        request=None,
        responses={
            200: InviteLinkSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: NOT_PENDING,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
    ),
)
class WorkspaceInvitationDetailViewSet(InvitationScopedViewSet):
    """``/api/workspaces/{workspace_id}/invitations/{invitation_id}/`` and its ``link/`` action."""

    permission_classes = [IsAuthenticated, CanInviteToWorkspace]
    serializer_class = InvitationDetailSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(InvitationDetailSerializer(self.get_invitation()).data)

    @action(detail=True, methods=["post"])
    def link(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invite_link = links.invitation_link_reveal(invitation=self.get_invitation(), actor=self.user)
        response = Response(InviteLinkSerializer(invite_link).data)
        response["Cache-Control"] = NO_STORE
        return response
