"""The staff API: thin DRF viewsets over the staff services and selectors (``internal_users``).

Each action validates its input, calls one selector or service, and serializes the answer. Who may call what:

- every endpoint needs ``internal_users:manage`` (super_admin, admin): 401 without a session, 403 otherwise;
- ``DELETE`` needs ``internal_users:delete`` (super_admin);
- the finer rules (only a super admin gives the super_admin role or acts on a super admin; nobody acts on
  themselves; the last active super admin stays) are the services', checked before any Clerk call.

Writes are rate-limited per user (settings ``INTERNAL_USERS_API_*_RATE``), and everything that creates a Clerk
application invitation (invite, resend) also spends one global budget below Clerk's hourly cap of 100
(``INTERNAL_USERS_GLOBAL_INVITATIONS_RATE``). Reads come from our database only. Errors leave in the one shape
``{"code", "message", "extra"}`` through ``core.api.exception_handler``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from drf_spectacular.helpers import forced_singular_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import HasPermission
from accounts.roles import Permission
from core import ratelimits
from core.audit import audit
from core.exceptions import NotAuthenticated, NotFound
from core.models import AuditEvent
from core.parsers import DepthLimitedJSONParser
from core.serializers import ErrorSerializer
from internal_users import selectors, services
from internal_users.api.serializers import (
    LIST_QUERY_SCHEMA,
    GrantRoleRequestSerializer,
    StaffEntrySerializer,
    StaffInviteRequestSerializer,
    StaffListQuerySerializer,
    StaffPageSerializer,
    invitation_entry,
    user_entry,
)
from internal_users.models import InternalInvitation
from internal_users.ratelimits import (
    ACTION_GROUP,
    ACTION_RATE_SETTING,
    INVITE_GROUP,
    INVITE_RATE_SETTING,
    RESEND_GROUP,
    RESEND_RATE_SETTING,
)

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- ids from the URL
_INVITATION_ID = re.compile(r"[1-9][0-9]{0,17}")  # positive and within a bigint: anything else cannot name a row
_CLERK_USER_ID = re.compile(r"user_[A-Za-z0-9]{1,59}")  # Clerk's user ids; anything else cannot name a staff member


def _invitation_id_or_404(value: object) -> int:
    if isinstance(value, str) and _INVITATION_ID.fullmatch(value):
        return int(value)
    raise NotFound()


def _clerk_user_id_or_404(value: object) -> str:
    if isinstance(value, str) and _CLERK_USER_ID.fullmatch(value):
        return value
    raise NotFound()


# --------------------------------------------------------------------------- documentation
def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


UNAUTHENTICATED = _error("No valid session token (`not_authenticated`).")
FORBIDDEN = _error(
    "Staff management needs the super_admin or admin role (`permission_denied`); only a super admin may give the "
    "super_admin role or act on a super admin (`super_admin_required`); nobody acts on their own account "
    "(`cannot_act_on_self`). Also a failed CSRF check for a cookie-authenticated request."
)
FORBIDDEN_DELETE = _error(
    "Removing staff needs the super_admin role (`permission_denied`); nobody removes their own account "
    "(`cannot_act_on_self`). Also a failed CSRF check for a cookie-authenticated request."
)
INVALID_LIST = _error(
    "Unknown `status` or `role` (`invalid_filter`), or a malformed `q` / `page_size` (`invalid`, with `extra.fields`)."
)
INVALID_BODY = _error(
    "The body is not valid: `invalid` (with `extra.fields`; undeclared fields are refused too), `parse_error` "
    "(malformed JSON), `invalid_email`, `invalid_role`; or Clerk refused the request (`clerk_rejected`, Clerk's "
    "code in `extra.clerk_code`)."
)
NOT_FOUND_INVITATION = _error("No staff invitation has this id (`not_found`).")
NOT_FOUND_USER = _error("No staff member has this Clerk user id (`not_found`), in our database or in Clerk.")
INVITE_CONFLICT = _error(
    "`already_staff` (this email is on the staff), `already_a_user` (the email has an account: grant a staff role "
    "instead, `extra.action` = `grant_role`), `already_invited` (a pending invitation exists), or a Clerk conflict "
    "(`clerk_rejected`)."
)
INVITATION_CONFLICT = _error(
    "`invitation_not_pending` (accepted or revoked; revoking a revoked invitation is not an error), "
    "`already_staff`, `already_invited` (another pending invitation for this email), `already_a_user`, or a Clerk "
    "conflict (`clerk_rejected`)."
)
USER_CONFLICT = _error(
    "`last_super_admin` (the last active super admin cannot be deactivated, demoted or removed), or a Clerk "
    "conflict (`clerk_rejected`)."
)
GRANT_INVALID = _error(
    "The body is not valid (`invalid`, `parse_error`, `invalid_email`, `invalid_role`), or Clerk refused the "
    "request (`clerk_rejected`)."
)
NO_SUCH_PAGE = _error("The cursor is not one of ours (`invalid_cursor`): start again from the first page.")
NO_ACCOUNT = _error("No account uses this email (`no_account`): invite them instead.")
UNPROCESSABLE = _error("Clerk refused the request (`clerk_rejected`, with Clerk's code in `extra.clerk_code`).")
UNSUPPORTED_MEDIA = _error("The body is not JSON (`unsupported_media_type`).")
RATE_LIMITED = _error(
    "Too many requests (`rate_limited`): per user, the global budget of staff invitations, or Clerk's own limit. "
    "See the `Retry-After` header and `extra.retry_after`."
)
CLERK_ERROR = _error("Clerk answered with an error (`clerk_error`).")
CLERK_UNAVAILABLE = _error("Clerk cannot be reached right now (`clerk_unavailable`); try again in a moment.")

INVITATION_ID = OpenApiParameter(
    "invitation_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The staff invitation's `invitation_id`."
)
CLERK_USER_ID = OpenApiParameter(
    "clerk_user_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The staff member's `clerk_user_id` (`user_…`).",
    pattern=r"^user_[A-Za-z0-9]{1,59}$",
)
LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        LIST_QUERY_SCHEMA["status"],
        description="Invitations (`pending`, `expired`, `failed`) or users (`active`, `inactive`) in that state. "
        "Without it: pending and failed invitations, then every staff user. Another value is `invalid_filter`.",
    ),
    OpenApiParameter(
        "role", LIST_QUERY_SCHEMA["role"], description="Only this staff role. Another value is `invalid_filter`."
    ),
    OpenApiParameter(
        "q",
        LIST_QUERY_SCHEMA["q"],
        description="Search: part of the email, or words of the first and last name.",
    ),
    OpenApiParameter(
        "cursor",
        LIST_QUERY_SCHEMA["cursor"],
        description="Opaque; take it from `next` or `previous`, never build it. One that is not ours is "
        "`invalid_cursor`: start again from the first page.",
    ),
    OpenApiParameter("page_size", LIST_QUERY_SCHEMA["page_size"], description="How many entries per page."),
]

INVITATION_ACTION_RESPONSES = {
    200: StaffEntrySerializer,
    400: UNPROCESSABLE,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND_INVITATION,
    409: INVITATION_CONFLICT,
    422: UNPROCESSABLE,
    429: RATE_LIMITED,
    502: CLERK_ERROR,
    503: CLERK_UNAVAILABLE,
}
USER_ACTION_RESPONSES = {
    200: StaffEntrySerializer,
    400: UNPROCESSABLE,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND_USER,
    409: USER_CONFLICT,
    422: UNPROCESSABLE,
    429: RATE_LIMITED,
    502: CLERK_ERROR,
    503: CLERK_UNAVAILABLE,
}
# The list action answers one object (a page), not an array of them.
STAFF_PAGE = forced_singular_serializer(StaffPageSerializer)  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------- who may call
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _printable(value: object, limit: int) -> str:
    """Client-chosen text (ids from the URL, the path) made safe for a log line and a database row."""
    return _UNPRINTABLE.sub("?", str(value))[:limit]


class StaffApiPermission(HasPermission):
    """``HasPermission`` that logs each refusal of a signed-in caller, and audits refused writes."""

    messages: ClassVar[dict[str, str]] = {
        Permission.INTERNAL_USERS_MANAGE: "Staff management needs the super_admin or admin role.",
        Permission.INTERNAL_USERS_DELETE: "Removing staff needs the super_admin role.",
    }

    def has_permission(self, request: Request, view: APIView) -> bool:
        if super().has_permission(request, view):
            return True
        self.message = self.messages.get(self.permission, "You do not have permission to do this.")
        user = request.user if isinstance(request.user, User) else None
        if user is None:  # IsAuthenticated answers 401 first; nothing to add
            return False
        target = _printable(next(iter(getattr(view, "kwargs", {}).values()), ""), 64)
        path = _printable(request.path, 200)
        logger.warning(
            "api access denied: %s %s user=%s role=%s missing=%s",
            request.method,
            path,
            user.pk,
            user.role,
            self.permission,
            extra={"actor_id": user.pk, "reason": "missing_permission", "status": 403},
        )
        if request.method not in SAFE_METHODS:
            audit(
                "internal_users.denied",
                actor=user,
                target_type="internal_users",
                target_id=target,
                outcome=AuditEvent.Outcome.DENIED,
                details={"method": request.method, "path": path, "missing_permission": self.permission},
            )
        return False


CAN_MANAGE = StaffApiPermission.of(Permission.INTERNAL_USERS_MANAGE)
CAN_DELETE = StaffApiPermission.of(Permission.INTERNAL_USERS_DELETE)


# --------------------------------------------------------------------------- views
class UnicodeJSONParser(DepthLimitedJSONParser):
    """JSON whose strings are all valid Unicode. Python's ``json`` accepts a lone surrogate (``"\\ud800"``), which
    cannot be encoded back: echoed in an error message it would fail the response with a 500. It is a 400
    ``parse_error`` here instead."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - strings must be valid Unicode (no lone surrogates).") from None
        return data


class StaffViewSetBase(viewsets.GenericViewSet[Any]):
    parser_classes = [UnicodeJSONParser]
    permission_classes = [IsAuthenticated, CAN_MANAGE]
    pagination_class = None  # the list pages with the selector's keyset cursor
    serializer_class = StaffEntrySerializer

    @property
    def actor(self) -> User:
        user = self.request.user
        if not isinstance(user, User):  # IsAuthenticated runs first; this only narrows the type
            raise NotAuthenticated()
        return user


@extend_schema(tags=["internal users"])
@extend_schema_view(
    create=extend_schema(
        operation_id="internal_invitations_create",
        summary="Invite someone to the staff",
        description=(
            "Creates a Clerk application invitation (`notify=false`) carrying the staff role, and sends our own "
            "branded email with its link once (from a task; `email_status` follows it). Answers 201 with the "
            "invitation. An email that already has an account answers 409 `already_a_user`: use "
            "`POST /api/admin/internal-users/grant-role/` instead. Rate-limited per user and by a global budget "
            "below Clerk's hourly cap."
        ),
        request=StaffInviteRequestSerializer,
        responses={
            201: StaffEntrySerializer,
            400: INVALID_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: INVITE_CONFLICT,
            415: UNSUPPORTED_MEDIA,
            422: UNPROCESSABLE,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
        examples=[
            OpenApiExample("A project manager", value={"email": "pat@example.com", "role": "pm"}, request_only=True)
        ],
    ),
    resend=extend_schema(
        operation_id="internal_invitations_resend",
        summary="Resend a staff invitation",
        description=(
            "Revokes the old Clerk invitation, creates a new one (new link, new expiry) and sends a new email; the "
            "invitation keeps its id. Pending, expired and failed invitations can be resent."
        ),
        parameters=[INVITATION_ID],
        request=None,
        responses=INVITATION_ACTION_RESPONSES,
    ),
    revoke=extend_schema(
        operation_id="internal_invitations_revoke",
        summary="Revoke a staff invitation",
        description="Revokes it in Clerk and here; revoking a revoked invitation changes nothing and answers 200.",
        parameters=[INVITATION_ID],
        request=None,
        responses=INVITATION_ACTION_RESPONSES,
    ),
)
class StaffInvitationViewSet(StaffViewSetBase):
    """``/api/admin/internal-users/invitations/``: create, and the resend/revoke actions."""

    http_method_names = ["post"]
    queryset = InternalInvitation.objects.none()  # for the schema; rows come from the selectors
    lookup_url_kwarg = "invitation_id"
    lookup_value_regex = "[^/]+"  # checked in get_invitation, so a malformed id is a JSON 404

    def get_invitation(self) -> InternalInvitation:
        invitation_id = _invitation_id_or_404(self.kwargs.get(self.lookup_url_kwarg))
        return selectors.internal_invitation_get(invitation_id=invitation_id)

    @ratelimits.per_user(INVITE_GROUP, INVITE_RATE_SETTING)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = StaffInviteRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invitation = services.internal_invite(**payload.validated_data, actor=self.actor)
        return Response(StaffEntrySerializer(invitation_entry(invitation)).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    @ratelimits.per_user(RESEND_GROUP, RESEND_RATE_SETTING)
    def resend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = services.internal_invitation_resend(invitation=self.get_invitation(), actor=self.actor)
        return Response(StaffEntrySerializer(invitation_entry(invitation)).data)

    @action(detail=True, methods=["post"])
    @ratelimits.per_user(ACTION_GROUP, ACTION_RATE_SETTING)
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation = services.internal_invitation_revoke(invitation=self.get_invitation(), actor=self.actor)
        return Response(StaffEntrySerializer(invitation_entry(invitation)).data)


@extend_schema(tags=["internal users"])
@extend_schema_view(
    list=extend_schema(
        operation_id="internal_users_list",
        summary="List staff and staff invitations",
        description=(
            "One list, from our database only: invitations first (newest first), then staff users (by email), cut "
            "into pages by an opaque cursor (`next`, `previous`). `counts` summarises the whole staff whatever the "
            "filters."
        ),
        parameters=LIST_PARAMETERS,
        responses={200: STAFF_PAGE, 400: INVALID_LIST, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NO_SUCH_PAGE},
    ),
    grant_role=extend_schema(
        operation_id="internal_users_grant_role",
        summary="Give an existing account a staff role",
        description=(
            "For people who already have an account (Clerk will not invite them: `already_a_user`), and to change "
            "a staff member's role. Sets the role in Clerk's public metadata, then here; answers 200 with the "
            "user. Giving the role they already have changes nothing. Only a super admin gives `super_admin` or "
            "changes a super admin's role; nobody changes their own; the last active super admin is never demoted."
        ),
        request=GrantRoleRequestSerializer,
        responses={
            200: StaffEntrySerializer,
            400: GRANT_INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NO_ACCOUNT,
            409: USER_CONFLICT,
            415: UNSUPPORTED_MEDIA,
            422: UNPROCESSABLE,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
        examples=[
            OpenApiExample("Make an admin", value={"email": "sam@example.com", "role": "admin"}, request_only=True)
        ],
    ),
    deactivate=extend_schema(
        operation_id="internal_users_deactivate",
        summary="Deactivate a staff member",
        description=(
            "Bans the user in Clerk (signed out everywhere, cannot sign in) and marks them inactive here. "
            "Deactivating an inactive user changes nothing."
        ),
        parameters=[CLERK_USER_ID],
        request=None,
        responses=USER_ACTION_RESPONSES,
    ),
    reactivate=extend_schema(
        operation_id="internal_users_reactivate",
        summary="Reactivate a staff member",
        description="Lifts the Clerk ban and marks them active here. Reactivating an active user changes nothing.",
        parameters=[CLERK_USER_ID],
        request=None,
        responses=USER_ACTION_RESPONSES,
    ),
    destroy=extend_schema(
        operation_id="internal_users_remove",
        summary="Remove a staff member",
        description="Deletes the user in Clerk and here (super admins only). Their audit trail stays. Answers 204.",
        parameters=[CLERK_USER_ID],
        request=None,
        responses={
            204: OpenApiResponse(description="Removed."),
            401: UNAUTHENTICATED,
            403: FORBIDDEN_DELETE,
            404: NOT_FOUND_USER,
            409: USER_CONFLICT,
            422: UNPROCESSABLE,
            429: RATE_LIMITED,
            502: CLERK_ERROR,
            503: CLERK_UNAVAILABLE,
        },
    ),
)
class StaffUserViewSet(StaffViewSetBase):
    """``/api/admin/internal-users/``: the list, grant-role, and deactivate / reactivate / remove one user."""

    http_method_names = ["get", "post", "delete", "head"]
    queryset = User.objects.none()  # for the schema; rows come from the selectors
    lookup_url_kwarg = "clerk_user_id"
    lookup_value_regex = "[^/]+"  # checked in get_staff_user, so a malformed id is a JSON 404

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action == "destroy":
            return [IsAuthenticated(), CAN_DELETE()]
        return super().get_permissions()

    def get_staff_user(self) -> User:
        clerk_user_id = _clerk_user_id_or_404(self.kwargs.get(self.lookup_url_kwarg))
        return selectors.staff_user_get(clerk_user_id=clerk_user_id)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = StaffListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        filters = selectors.staff_filters(status=params.get("status"), role=params.get("role"), search=params.get("q"))
        page = selectors.staff_list(filters=filters, cursor=params.get("cursor") or None, limit=params["page_size"])
        here = request.build_absolute_uri()
        body = {
            "results": page.entries,
            "next": replace_query_param(here, "cursor", page.next_cursor) if page.next_cursor else None,
            "previous": replace_query_param(here, "cursor", page.previous_cursor) if page.previous_cursor else None,
            "counts": selectors.staff_counts(),
        }
        return Response(StaffPageSerializer(body).data)

    @action(detail=False, methods=["post"], url_path="grant-role")
    @ratelimits.per_user(ACTION_GROUP, ACTION_RATE_SETTING)
    def grant_role(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = GrantRoleRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.staff_role_grant(**payload.validated_data, actor=self.actor)
        return Response(StaffEntrySerializer(user_entry(user)).data)

    @action(detail=True, methods=["post"])
    @ratelimits.per_user(ACTION_GROUP, ACTION_RATE_SETTING)
    def deactivate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = services.staff_user_deactivate(user=self.get_staff_user(), actor=self.actor)
        return Response(StaffEntrySerializer(user_entry(user)).data)

    @action(detail=True, methods=["post"])
    @ratelimits.per_user(ACTION_GROUP, ACTION_RATE_SETTING)
    def reactivate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = services.staff_user_reactivate(user=self.get_staff_user(), actor=self.actor)
        return Response(StaffEntrySerializer(user_entry(user)).data)

    @ratelimits.per_user(ACTION_GROUP, ACTION_RATE_SETTING)
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.staff_user_remove(user=self.get_staff_user(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
