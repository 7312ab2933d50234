"""The bulk actions of ``/api/workspaces/{id}/invitations/``, mixed into ``WorkspaceInvitationViewSet``:

- ``POST …/invitations/check/``: a dry run of a list (JSON or a CSV file); nothing is written or sent.
- ``POST …/invitations/import/``: the same input, sent; one result per entry (duplicates included).
- ``POST …/invitations/bulk/``: ``{action: resend|revoke, ids: [...] | filter: {q}}``, one result per invitation.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.parsers import DepthLimitedJSONParser
from core.ratelimits import per_user
from invitations import bulk, invite_check
from invitations.api import ratelimits
from invitations.api.bulk_serializers import (
    BulkRequestSerializer,
    BulkResponseSerializer,
    CheckResponseSerializer,
    ImportResponseSerializer,
    InviteListSerializer,
)
from invitations.api.responses import (
    CLERK_ERROR,
    CLERK_UNAVAILABLE,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA,
)

BULK_RATE_SETTING = "INVITATIONS_API_BULK_RATE"
LIST_PARSERS = [DepthLimitedJSONParser, MultiPartParser]
LIST_ERRORS = {
    400: INVALID,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    415: UNSUPPORTED_MEDIA,
    429: RATE_LIMITED,
}  # what check/ and import/ may refuse with (import/ adds Clerk's failures)


def _list_input(request: Request) -> tuple[InviteListSerializer, list[invite_check.InviteEntry]]:
    payload = InviteListSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload, payload.invite_entries()


class BulkInvitationActions:
    """Needs ``get_workspace()`` and ``user`` (``WorkspaceScopedViewSet``)."""

    @extend_schema(
        operation_id="workspace_invitations_check",
        summary="Check a list before sending (dry run)",
        description="What would happen to each entry: `valid` (would be sent), `invalid_email`, `invalid_role`, "
        "`duplicate` (listed twice), `already_member`, `already_invited`. Nothing is written, Clerk is not called.",
        request={"application/json": InviteListSerializer, "multipart/form-data": InviteListSerializer},
        responses={
            200: CheckResponseSerializer,
            **LIST_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Entries",
                value={"entries": [{"email": "ann@example.com", "role": "admin"}, {"email": "bob@example"}]},
                request_only=True,
            )
        ],
    )
    @action(detail=False, methods=["post"], parser_classes=LIST_PARSERS)
    @per_user("invitations.api.check", ratelimits.INVITE_RATE_SETTING)
    def check(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload, entries = _list_input(request)
        checked = invite_check.invitations_check(
            workspace=self.get_workspace(),  # type: ignore[attr-defined]
            inviter=self.user,  # type: ignore[attr-defined]
            entries=entries,
            default_role=payload.validated_data["role"],
        )
        body = {"results": checked, "summary": invite_check.check_summary(checked)}
        return Response(CheckResponseSerializer(body).data)

    @extend_schema(
        operation_id="workspace_invitations_import",
        summary="Send a list (JSON entries or a CSV file)",
        description="Checks the list as `check/` does and invites the `valid` entries, each with its role; one "
        "result per entry in order, duplicates and invalid roles included. Budgets as for `POST …/invitations/`.",
        request={"application/json": InviteListSerializer, "multipart/form-data": InviteListSerializer},
        responses={
            200: ImportResponseSerializer,
            **LIST_ERRORS,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=LIST_PARSERS)
    @per_user("invitations.api.invite", ratelimits.INVITE_RATE_SETTING)
    def import_list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload, entries = _list_input(request)
        results = bulk.invite_entries(
            workspace=self.get_workspace(),  # type: ignore[attr-defined]
            inviter=self.user,  # type: ignore[attr-defined]
            entries=entries,
            default_role=payload.validated_data["role"],
        )
        summary: dict[str, int] = {}
        for result in results:
            summary[result.result] = summary.get(result.result, 0) + 1
        return Response(ImportResponseSerializer({"results": results, "summary": summary}).data)

    @extend_schema(
        operation_id="workspace_invitations_bulk",
        summary="Resend or revoke many open invitations",
        description=f"The selected `ids`, or every open invitation matching `filter.q` (not just a page). At most "
        f"{bulk.MAX_BULK_REVOKE} to revoke and {bulk.MAX_BULK_RESEND} to resend at once (`too_many_selected`). "
        "One result per invitation: `revoked`, `resent`, `cooldown` (sent too recently; `retry_after`), "
        "`rate_limited` (a budget or Clerk said stop), `not_pending`, `failed`.",
        request=BulkRequestSerializer,
        responses={
            200: BulkResponseSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
        examples=[OpenApiExample("Revoke all matching", value={"action": "revoke", "filter": {"q": "@old.example"}})],
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    @per_user("invitations.api.bulk", BULK_RATE_SETTING)
    def bulk_action(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = BulkRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        results = bulk.invitations_bulk(
            workspace=self.get_workspace(),  # type: ignore[attr-defined]
            actor=self.user,  # type: ignore[attr-defined]
            action=data["action"],
            ids=data.get("ids"),
            query=data["filter"].get("q", "") if "filter" in data else None,
        )
        return Response(BulkResponseSerializer({"results": results, "summary": bulk.bulk_summary(results)}).data)
