"""``GET /api/workspaces/`` and ``GET /api/workspaces/{workspace_id}/``: discovery (``invitations.workspace_access``).

The caller's workspaces (all of them for staff whose role invites everywhere), each with the caller's workspace role
and what they may do there, so a client knows which other routes to offer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User, Workspace
from core.exceptions import NotAuthenticated, NotFound
from invitations.api.member_serializers import WorkspaceSerializer
from invitations.api.permissions import log_denied
from invitations.api.responses import BAD_QUERY, NOT_FOUND, UNAUTHENTICATED, error_response
from invitations.api.views import WORKSPACE_ID, _id_or_404
from invitations.workspace_access import workspace_access, workspace_access_get, workspace_access_queryset

PAGE_NOT_FOUND = error_response("The `page` is past the last one (`not_found`).")


@extend_schema(tags=["workspaces"])
@extend_schema_view(
    list=extend_schema(
        operation_id="workspaces_list",
        summary="List your workspaces",
        description="Paginated, by name: your role in each and what you may do there.",
        responses={
            200: WorkspaceSerializer(many=True),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            404: PAGE_NOT_FOUND,
        },
    ),
    retrieve=extend_schema(
        operation_id="workspaces_retrieve",
        summary="One of your workspaces",
        parameters=[WORKSPACE_ID],
        responses={200: WorkspaceSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
)
class WorkspaceViewSet(viewsets.GenericViewSet[Any]):
    permission_classes = [IsAuthenticated]
    serializer_class = WorkspaceSerializer
    queryset = Workspace.objects.none()  # for the schema
    http_method_names = ["get", "head"]
    lookup_url_kwarg = "workspace_id"
    lookup_value_regex = "[^/]+"

    @property
    def user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated()
        return user

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(workspace_access_queryset(user=self.user))
        rows = workspace_access(user=self.user, workspaces=list(page or []))
        return self.get_paginated_response(WorkspaceSerializer(rows, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = self.kwargs.get(self.lookup_url_kwarg)
        try:
            access = workspace_access_get(user=self.user, workspace_id=_id_or_404(raw))
        except NotFound:
            log_denied(request, reason="workspace_out_of_reach", workspace_id=raw, status=404)
            raise NotFound() from None
        return Response(WorkspaceSerializer(access).data)
