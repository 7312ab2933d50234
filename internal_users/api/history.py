"""One staff invitation with its timeline, and its invite link on demand.

- ``GET /api/admin/internal-users/invitations/{invitation_id}/``: the invitation (the list's shape) and its
  timeline;
- ``POST /api/admin/internal-users/invitations/{invitation_id}/link/``: the invite link of a pending invitation,
  fetched from Clerk now, answered with ``Cache-Control: no-store`` (a POST: it is audited, never cached).

Same guards as the other staff routes (``internal_users:manage``; a super_admin invitation needs a super_admin).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.serializers import InviteLinkSerializer, TimelineEntrySerializer
from internal_users import links, selectors
from internal_users.api.serializers import StaffEntrySerializer, invitation_entry
from internal_users.api.views import (
    CLERK_ERROR,
    CLERK_UNAVAILABLE,
    FORBIDDEN,
    INVITATION_CONFLICT,
    INVITATION_ID,
    NOT_FOUND_INVITATION,
    UNAUTHENTICATED,
    StaffViewSetBase,
    _invitation_id_or_404,
)
from internal_users.models import InternalInvitation
from internal_users.timeline import internal_invitation_timeline


class StaffInvitationDetailSerializer(serializers.Serializer[Any]):
    """A staff invitation (as the list shows it) and its timeline, oldest step first."""

    invitation = StaffEntrySerializer(read_only=True)
    revoked_by = serializers.CharField(read_only=True, help_text="The email of who revoked it, if anyone.")
    timeline = TimelineEntrySerializer(many=True, read_only=True)


@extend_schema(tags=["internal users"], parameters=[INVITATION_ID])
@extend_schema_view(
    retrieve=extend_schema(
        operation_id="internal_invitations_retrieve",
        summary="One staff invitation with its timeline",
        description="Created, each email sent or failed, resends, accepted by whom, revoked by whom, expired, and "
        "each time its link was shown: from the audit trail, oldest first.",
        responses={
            200: StaffInvitationDetailSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND_INVITATION,
        },
    ),
    link=extend_schema(
        operation_id="internal_invitations_link",
        summary="Get a pending staff invitation's invite link",
        description="Fetches the link from Clerk now (the one our email carries), for when the email did not arrive. "
        "Answered with `Cache-Control: no-store`; never stored or logged here; that it was shown is audited.",
        request=None,
        responses={
            200: InviteLinkSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND_INVITATION,
            409: INVITATION_CONFLICT,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
    ),
)
class StaffInvitationDetailViewSet(StaffViewSetBase):
    """``/api/admin/internal-users/invitations/{invitation_id}/`` and its ``link/`` action."""

    http_method_names = ["get", "post", "head"]
    queryset = InternalInvitation.objects.none()  # for the schema; rows come from the selectors
    lookup_url_kwarg = "invitation_id"
    lookup_value_regex = "[^/]+"  # checked below, so a malformed id is a JSON 404

    def get_invitation(self) -> InternalInvitation:
        invitation_id = _invitation_id_or_404(self.kwargs.get(self.lookup_url_kwarg))
        return selectors.internal_invitation_get(invitation_id=invitation_id)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = self.get_invitation()
        body = {
            "invitation": invitation_entry(invitation),
            "revoked_by": invitation.revoked_by_email or (invitation.revoked_by.email if invitation.revoked_by else ""),
            "timeline": internal_invitation_timeline(invitation=invitation),
        }
        return Response(StaffInvitationDetailSerializer(body).data)

    @action(detail=True, methods=["post"])
    def link(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invite_link = links.internal_invitation_link_reveal(invitation=self.get_invitation(), actor=self.actor)
        response = Response(InviteLinkSerializer(invite_link).data)
        response["Cache-Control"] = "no-store"
        return response
