"""The workspace invitation API: thin DRF viewsets over the invitation services and selectors.

Each action validates its input, calls one selector or service, and serializes the answer. Authorization is in
``permissions.py`` (404 outside the caller's reach, 403 without ``workspace:invite``), rate limits in
``ratelimits.py`` (counted by ``core.ratelimits``), errors leave in the one
shape through ``core.api.exception_handler``.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User, Workspace
from core.exceptions import NotAuthenticated, NotFound
from core.parsers import DepthLimitedJSONParser
from core.ratelimits import per_user
from invitations import selectors, services
from invitations.api import ratelimits
from invitations.api.bulk_views import BulkInvitationActions
from invitations.api.permissions import CanInviteToWorkspace, log_denied
from invitations.api.responses import (
    BAD_QUERY,
    CLERK_ERROR,
    CLERK_REJECTED,
    CLERK_UNAVAILABLE,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    NOT_PENDING,
    RATE_LIMITED,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA,
)
from invitations.api.serializers import (
    InvitationListQuerySerializer,
    InvitationSerializer,
    InviteRequestSerializer,
    InviteResponseSerializer,
    summarize,
)
from invitations.models import WorkspaceInvitation

_ID = re.compile(r"[1-9][0-9]{0,17}")  # positive and within a bigint: anything else cannot name a row


def _id_or_404(value: object) -> int:
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    raise NotFound()


WORKSPACE_ID = OpenApiParameter(
    "workspace_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The workspace's id."
)
INVITATION_ID = OpenApiParameter(
    "invitation_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The invitation's id in that workspace."
)


class WorkspaceScopedViewSet(viewsets.GenericViewSet[Any]):
    """Resolves ``workspace_id`` from the URL once per request, within the caller's reach."""

    parser_classes = [DepthLimitedJSONParser]
    http_method_names = ["get", "post", "head"]
    _workspace: Workspace | None = None

    @property
    def user(self) -> User:
        user = self.request.user
        if not isinstance(user, User):  # IsAuthenticated runs first; this only narrows the type
            raise NotAuthenticated()
        return user

    def get_workspace(self) -> Workspace:
        if self._workspace is None:
            raw = self.kwargs.get("workspace_id")
            try:
                workspace_id = _id_or_404(raw)
                self._workspace = selectors.workspace_for_member(user=self.user, workspace_id=workspace_id)
            except NotFound:
                log_denied(self.request, reason="workspace_out_of_reach", workspace_id=raw, status=404)
                raise NotFound() from None  # one body for "does not exist" and "not yours"
        return self._workspace


class InvitationScopedViewSet(WorkspaceScopedViewSet):
    """Also resolves ``invitation_id`` within that workspace: one 404 for "no such invitation" and "not here"."""

    queryset = WorkspaceInvitation.objects.none()  # for the schema; rows come from the selectors
    lookup_url_kwarg = "invitation_id"
    lookup_value_regex = "[^/]+"

    def get_invitation(self) -> WorkspaceInvitation:
        raw = self.kwargs.get(self.lookup_url_kwarg)
        workspace = self.get_workspace()
        try:
            return selectors.invitation_get(workspace=workspace, invitation_id=_id_or_404(raw))
        except NotFound:
            log_denied(self.request, reason="invitation_out_of_reach", workspace_id=workspace.pk, status=404)
            raise NotFound() from None


# Resend and revoke answer the same ways: the invitation, or one of these errors.
ROW_ACTION_RESPONSES = {
    200: InvitationSerializer,
    400: CLERK_REJECTED,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: NOT_PENDING,
    422: CLERK_REJECTED,
    429: RATE_LIMITED,
    502: CLERK_ERROR,
    503: CLERK_UNAVAILABLE,
}


@extend_schema(parameters=[WORKSPACE_ID], tags=["workspace invitations"])
@extend_schema_view(
    list=extend_schema(
        operation_id="workspace_invitations_list",
        summary="List a workspace's invitations",
        description="Newest first, paginated. Needs `workspace:invite` for the workspace.",
        parameters=[InvitationListQuerySerializer],
        responses={
            200: InvitationSerializer(many=True),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    ),
    create=extend_schema(
        operation_id="workspace_invitations_create",
        summary="Invite people by email",
        description=(
            "Invites 1 to 100 emails with one workspace role. Answers 200 with one result per distinct email "
            "(`invited`, `already_member`, `already_invited`, `invalid_email`, `queued` when Clerk's rate limit "
            "was hit and a task will send it later, `failed` with Clerk's code, or `revoked` when the invitation was "
            "revoked while Clerk was being asked) and a count per result. "
            "Rate-limited per user and globally below Clerk's hourly caps."
        ),
        request=InviteRequestSerializer,
        responses={
            200: InviteResponseSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            415: UNSUPPORTED_MEDIA,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
        examples=[
            OpenApiExample(
                "Two emails",
                value={"emails": ["ann@example.com", "bob@example.com"], "role": "member"},
                request_only=True,
            )
        ],
    ),
    resend=extend_schema(
        operation_id="workspace_invitations_resend",
        summary="Resend an open invitation",
        description="Replaces the Clerk invitation (new email, new expiry); the invitation keeps its id.",
        parameters=[INVITATION_ID],
        request=None,
        responses=ROW_ACTION_RESPONSES,
    ),
    revoke=extend_schema(
        operation_id="workspace_invitations_revoke",
        summary="Revoke an open invitation",
        description="Revokes it in Clerk and here; revoking a revoked invitation changes nothing and answers 200.",
        parameters=[INVITATION_ID],
        request=None,
        responses=ROW_ACTION_RESPONSES,
    ),
)
class WorkspaceInvitationViewSet(BulkInvitationActions, InvitationScopedViewSet):
    """``/api/workspaces/{workspace_id}/invitations/``: list, create, and the resend/revoke actions."""

    permission_classes = [IsAuthenticated, CanInviteToWorkspace]
    serializer_class = InvitationSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = InvitationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        invitations = selectors.invitation_list(
            workspace=self.get_workspace(), status=query.validated_data.get("status")
        )
        if query.validated_data.get("q"):
            invitations = invitations.filter(email__icontains=query.validated_data["q"])
        page = self.paginate_queryset(invitations)
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @per_user("invitations.api.invite", ratelimits.INVITE_RATE_SETTING)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = InviteRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        emails: list[str] = payload.validated_data["emails"]
        results = services.invitations_create(
            workspace=self.get_workspace(),
            inviter=self.user,
            emails=emails,
            role=payload.validated_data["role"],
        )
        body = {"results": results, "summary": summarize(results)}
        return Response(InviteResponseSerializer(body).data)

    @action(detail=True, methods=["post"])
    @per_user("invitations.api.resend", ratelimits.RESEND_RATE_SETTING)
    def resend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = self.get_invitation()
        invitation = services.invitation_resend(invitation=invitation, actor=self.user)
        return Response(InvitationSerializer(invitation).data)

    @action(detail=True, methods=["post"])
    @per_user("invitations.api.revoke", ratelimits.REVOKE_RATE_SETTING)
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = self.get_invitation()
        invitation = services.invitation_revoke(invitation=invitation, actor=self.user)
        return Response(InvitationSerializer(invitation).data)
