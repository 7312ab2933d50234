"""Input and output shapes of the invitation API. Input serializers only validate; they hold no business rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from accounts.models import WorkspaceMembership
from accounts.roles import WorkspaceRole
from core.serializers import (
    CONTROL_CHARACTERS_MESSAGE,
    NO_CONTROL_CHARACTERS,
    StrictSerializer,
    StringField,
    no_control_characters,
)
from invitations import selectors, services
from invitations.models import InvitationStatus, WorkspaceInvitation

INVITE_RESULTS = tuple(kind.value for kind in services.InviteResultKind)
MAX_EMAILS_PER_REQUEST = services.MAX_EMAILS  # 100: raw entries, so the folded count never exceeds it either
MAX_EMAIL_LENGTH = services.MAX_EMAIL_LENGTH  # 320
STATUS_FILTERS = tuple(sorted(selectors.STATUS_FILTERS))


# --------------------------------------------------------------------------- input
# What the service trims away (``str.strip``: every character ``str.isspace`` accepts). A list of nothing else is
# refused with 400 `no_emails`; the schema says so with `not: {items: {pattern: BLANK}}`.
BLANK = r"^[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"


class EmailListField(serializers.ListField):
    """The addresses of an invite: blank entries are skipped, but at least one must be more than blank."""


class EmailListFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = EmailListField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["not"] = {"items": {"pattern": BLANK}}
        return schema


class InviteRequestSerializer(StrictSerializer):
    """Who to invite and as what. Undeclared fields are refused (400)."""

    emails = EmailListField(
        child=StringField(
            min_length=1,
            max_length=MAX_EMAIL_LENGTH,
            trim_whitespace=False,  # the service trims; a stray line break must be refused, not trimmed away
            # The RegexValidator puts `pattern` in the OpenAPI schema; the function does the actual check.
            validators=[RegexValidator(NO_CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE), no_control_characters],
        ),
        min_length=1,
        max_length=MAX_EMAILS_PER_REQUEST,
        help_text=f"1 to {MAX_EMAILS_PER_REQUEST} addresses. Duplicates and case variants are folded: each distinct "
        "address gets one result (malformed ones get `invalid_email`). Entries of only spaces are skipped; a list of "
        "nothing else is refused (`no_emails`).",
    )
    role = serializers.ChoiceField(choices=WorkspaceRole.choices, help_text="The workspace role they will have.")


class InvitationListQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=STATUS_FILTERS,
        required=False,
        help_text="Only invitations with this effective status; `open` = `queued` or `pending` and not expired; "
        "`history` = `accepted`, `revoked`, `expired` or `failed`.",
    )

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=320, help_text="Only invitations whose email contains this."
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Query strings also carry pagination: only `status` and `q` are ours to check.
        if isinstance(data, Mapping):
            data = {name: data[name] for name in ("status", "q") if name in data}
        return super().to_internal_value(data)


# --------------------------------------------------------------------------- output
class InviterSerializer(serializers.Serializer[WorkspaceInvitation]):
    """Who sent it, as they were then: a snapshot that survives the inviter's deletion or renaming."""

    email = serializers.CharField(source="inviter_email", read_only=True)
    name = serializers.CharField(source="inviter_name", read_only=True, help_text="Empty when they had no name.")


class InvitationSerializer(serializers.ModelSerializer[WorkspaceInvitation]):
    """An invitation as people see it. Never the Clerk invitation id, URL or ticket."""

    status = serializers.ChoiceField(
        choices=InvitationStatus.choices,
        source="effective_status",
        read_only=True,
        help_text="Effective status: an open invitation past `expires_at` is `expired` even before the row says so.",
    )
    inviter = InviterSerializer(source="*", read_only=True)

    class Meta:
        model = WorkspaceInvitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "expires_at",
            "last_sent_at",
            "send_count",
            "created_at",
            "inviter",
            "accepted_at",
            "revoked_at",
            "failure_reason",
        ]
        read_only_fields = fields


class InviteResultSerializer(serializers.Serializer[Any]):
    """What happened to one distinct email."""

    email = serializers.CharField(help_text="The address as understood (trimmed, lowercased when valid).")
    result = serializers.ChoiceField(choices=INVITE_RESULTS)
    message = serializers.CharField()
    code = serializers.CharField(help_text="Clerk's error code for `failed`, else empty.")
    invitation = InvitationSerializer(allow_null=True, help_text="The invitation this email refers to, if any.")


class InviteSummarySerializer(serializers.Serializer[dict[str, int]]):
    """How many emails ended with each result."""

    invited = serializers.IntegerField()
    already_member = serializers.IntegerField()
    already_invited = serializers.IntegerField()
    invalid_email = serializers.IntegerField()
    queued = serializers.IntegerField()
    failed = serializers.IntegerField()
    revoked = serializers.IntegerField()


class InviteResponseSerializer(serializers.Serializer[dict[str, Any]]):
    """The answer to an invite: one result per distinct email, and the counts."""

    results = InviteResultSerializer(many=True, help_text="One entry per distinct email, in the order given.")
    summary = InviteSummarySerializer(help_text="How many emails ended with each result.")


class MemberSerializer(serializers.ModelSerializer[WorkspaceMembership]):
    """A member of the workspace and their workspace role."""

    user_id = serializers.IntegerField(source="user.id", read_only=True)
    clerk_user_id = serializers.CharField(
        source="user.clerk_user_id", read_only=True, help_text="Names the member in `…/members/{user}/`."
    )
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)
    image_url = serializers.CharField(source="user.image_url", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = WorkspaceMembership
        fields = ["user_id", "clerk_user_id", "email", "name", "image_url", "role", "joined_at"]
        read_only_fields = fields


def summarize(results: list[Any]) -> dict[str, int]:
    summary = dict.fromkeys(INVITE_RESULTS, 0)
    for result in results:
        summary[result.result] = summary.get(result.result, 0) + 1
    return summary
