"""``/api/workspaces/{workspace_id}/members/``: list the members; change one's role (PATCH) or remove one (DELETE).

The list is newest first with a capped count (``core.capped_pages``): a page costs the same at 1,000 and 100,000
members. ``{user}`` is the member's Clerk user id (``clerk_user_id`` in the list): stable, and the id Clerk's own
membership routes use. The rules are ``invitations.members``; refusals leave in the one error shape:
``last_admin`` (409), ``permission_denied`` (403), ``not_found`` (404), ``invalid`` / ``invalid_role`` (400) and
Clerk's errors.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import WorkspaceMembership
from core.capped_pages import CappedPageNumberPagination
from core.ratelimits import per_user
from invitations import members, selectors
from invitations.api import ratelimits
from invitations.api.member_serializers import MemberRoleSerializer
from invitations.api.permissions import CanSeeWorkspace
from invitations.api.responses import (
    BAD_QUERY,
    CLERK_ERROR,
    CLERK_REJECTED,
    CLERK_UNAVAILABLE,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA,
    error_response,
)
from invitations.api.serializers import MemberSerializer
from invitations.api.views import WORKSPACE_ID, WorkspaceScopedViewSet

USER = OpenApiParameter(
    "user", OpenApiTypes.STR, OpenApiParameter.PATH, description="The member's Clerk user id (`clerk_user_id`)."
)
MEMBER_FORBIDDEN = error_response(
    "You may see this workspace but not manage its members (`permission_denied`): only its admins and staff may "
    "change roles or remove others; anyone may remove themselves."
)
MEMBER_NOT_FOUND = error_response(
    "The workspace is outside your reach, or this person is not a member of it (`not_found`)."
)
LAST_ADMIN = error_response("This is the workspace's only admin: it cannot be demoted or removed (`last_admin`).")
WRITE_RESPONSES: dict[int, Any] = {
    401: UNAUTHENTICATED,
    403: MEMBER_FORBIDDEN,
    404: MEMBER_NOT_FOUND,
    409: LAST_ADMIN,
    422: CLERK_REJECTED,
    429: RATE_LIMITED,
    502: CLERK_ERROR,
    503: CLERK_UNAVAILABLE,
}


@extend_schema(parameters=[WORKSPACE_ID], tags=["workspace members"])
@extend_schema_view(
    list=extend_schema(
        operation_id="workspace_members_list",
        summary="List a workspace's members",
        description=(
            "Newest member first, a page at a time (`page`, `page_size`). `count` is exact up to 1,000; with more "
            "members it is 1,000 and `count_capped` is true (follow `next` to the end). Any member of the workspace "
            "may read it, as may super_admin, admin and pm."
        ),
        responses={200: MemberSerializer(many=True), 400: BAD_QUERY, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        operation_id="workspace_members_update",
        summary="Change a member's workspace role",
        description=(
            "Makes the member an `admin` or a `member`, in Clerk and here. Needs `workspace:invite` for the "
            "workspace (its admins, super_admin, admin, pm). The workspace's only admin cannot be demoted."
        ),
        parameters=[USER],
        request=MemberRoleSerializer,
        responses={
            200: MemberSerializer,
            400: error_response("`role` is missing or not `admin` / `member` (`invalid`), or the JSON is malformed."),
            415: UNSUPPORTED_MEDIA,
            **WRITE_RESPONSES,
        },
    ),
    destroy=extend_schema(
        operation_id="workspace_members_remove",
        summary="Remove a member (or leave)",
        description=(
            "Removes the member from the workspace, in Clerk and here. Admins of the workspace and staff may remove "
            "anyone; anyone may remove themselves (leave). The workspace's only admin cannot be removed."
        ),
        parameters=[USER],
        request=None,
        responses={204: OpenApiResponse(description="Removed."), **WRITE_RESPONSES},
    ),
)
class WorkspaceMemberViewSet(WorkspaceScopedViewSet):
    permission_classes = [IsAuthenticated, CanSeeWorkspace]
    serializer_class = MemberSerializer
    pagination_class = CappedPageNumberPagination
    queryset = WorkspaceMembership.objects.none()  # for the schema
    http_method_names = ["get", "patch", "delete", "head"]
    lookup_url_kwarg = "user"
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[WorkspaceMembership]:
        return selectors.workspace_members(workspace=self.get_workspace())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @per_user("invitations.members.role", ratelimits.REVOKE_RATE_SETTING)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = MemberRoleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = members.member_role_change(
            workspace=self.get_workspace(),
            actor=self.user,
            clerk_user_id=str(self.kwargs[self.lookup_url_kwarg]),
            role=payload.validated_data["role"],
        )
        return Response(MemberSerializer(membership).data)

    @per_user("invitations.members.remove", ratelimits.REVOKE_RATE_SETTING)
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        members.member_remove(
            workspace=self.get_workspace(),
            actor=self.user,
            clerk_user_id=str(self.kwargs[self.lookup_url_kwarg]),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
