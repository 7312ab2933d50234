"""Input and output shapes of the staff API. Input serializers only validate; the services hold every rule.

Every answer about a person is one ``StaffEntry`` shape, whether it is an invitation (``kind: "invitation"``) or a
user (``kind: "user"``): the list returns pages of them, the invitation actions return the invitation, the user
actions return the user. Fields that do not apply to a kind are ``null``. Never the Clerk invitation id, URL or
ticket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from accounts.models import User
from accounts.roles import INTERNAL_ROLES, Role
from core.serializers import (
    CONTROL_CHARACTERS_MESSAGE,
    NO_CONTROL_CHARACTERS,
    StrictSerializer,
    StringField,
    no_control_characters,
)
from internal_users import selectors
from internal_users.errors import InvalidCursor, InvalidStaffFilter
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from internal_users.selectors import StaffEntry
from internal_users.services import MAX_EMAIL_LENGTH

STAFF_ROLES = [(role.value, role.label) for role in Role if role in INTERNAL_ROLES]
STATUS_FILTERS = sorted(selectors.STATUS_FILTERS)
ROLE_FILTERS = sorted(selectors.ROLE_FILTERS)
# What ``status`` may say: an invitation's effective status, or whether a user is active.
ENTRY_STATUSES = [
    InternalInvitationStatus.PENDING.value,
    InternalInvitationStatus.EXPIRED.value,
    InternalInvitationStatus.FAILED.value,
    InternalInvitationStatus.ACCEPTED.value,
    InternalInvitationStatus.REVOKED.value,
    "active",
    "inactive",
]
MAX_CURSOR_LENGTH = 1_000
CURSOR = re.compile(r"[A-Za-z0-9_-]*")  # unpadded url-safe base64, as the selector encodes it
WHOLE_NUMBER = re.compile(r"[1-9][0-9]*")  # ASCII digits, no sign, no leading zero


def _text(**kwargs: Any) -> StringField:
    """A JSON string without control characters (header injection, NUL bytes PostgreSQL refuses)."""
    return StringField(
        trim_whitespace=False,  # the services trim; a stray line break must be refused, not trimmed away
        # The RegexValidator puts `pattern` in the OpenAPI schema; the function does the actual check.
        validators=[RegexValidator(NO_CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE), no_control_characters],
        **kwargs,
    )


class EmailAddressField(StringField):
    """An address the service checks (``invalid_email``); documented as ``format: email``, so only what looks like
    an address is schema-valid."""


class EmailAddressFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = EmailAddressField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["format"] = "email"
        return schema


def _email(**kwargs: Any) -> EmailAddressField:
    return EmailAddressField(
        max_length=MAX_EMAIL_LENGTH,
        trim_whitespace=False,  # the services trim; a stray line break must be refused, not trimmed away
        validators=[RegexValidator(NO_CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE), no_control_characters],
        **kwargs,
    )


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as its own named enum component (``enum_name``).

    drf-spectacular names enums after the field: our ``role`` and ``status`` are other choice sets than the
    workspace API's, and would rename (or warn about) its ``RoleEnum`` and ``StatusEnum``.
    """

    def __init__(self, *, enum_name: str, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices=choices, **kwargs)
        self.enum_name = enum_name


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field: NamedChoiceField = self.target
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": "\n".join(f"* `{value}` - {label}" for value, label in field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        ref: dict[str, Any] = component.ref
        return ref


class StaffRoleInputField(NamedChoiceField):
    """A staff role in a request: any string goes to the service, which answers ``invalid_role`` (400) as it does
    for the pages; anything else (a number, a list, ``null``) is ``invalid`` here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enum_name="StaffRoleEnum", choices=STAFF_ROLES, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return data


def staff_role_field(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(enum_name="StaffRoleEnum", choices=STAFF_ROLES, **kwargs)


# --------------------------------------------------------------------------- input
class StaffInviteRequestSerializer(StrictSerializer):
    """Who to invite and with which staff role. Undeclared fields (e.g. ``public_metadata``) are refused (400)."""

    email = _email(help_text="The address to invite (trimmed and lowercased; a malformed one is `invalid_email`).")
    role = StaffRoleInputField(
        help_text="The staff role they will have (another value is `invalid_role`). Only a super admin may give "
        "`super_admin`."
    )


class GrantRoleRequestSerializer(StrictSerializer):
    """Whose account gets a staff role, and which. Undeclared fields are refused (400)."""

    email = _email(help_text="The email of an existing account (ours or Clerk's); a malformed one is `invalid_email`.")
    role = StaffRoleInputField(
        help_text="The staff role to give (or change to; another value is `invalid_role`). Only a super admin may "
        "give `super_admin` or change a super admin's role.",
    )


class FilterField(serializers.Field[str, str, str, Any]):
    """``status`` or ``role`` of the list: exactly one of ``choices`` (not blank, not padded), else
    ``invalid_filter`` (400)."""

    def __init__(self, *, choices: list[str], **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.choices = choices

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or data not in self.choices:
            raise InvalidStaffFilter(
                f"Unknown {self.field_name} {data!r}: use one of {', '.join(self.choices)}.",
                extra={"field": self.field_name},
            )
        return data

    def to_representation(self, value: str) -> str:
        return value


class CursorField(StringField):
    """The opaque cursor of ``next`` / ``previous``: anything that is not one of ours is ``invalid_cursor`` (404)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if len(value) > MAX_CURSOR_LENGTH or not CURSOR.fullmatch(value):
            raise InvalidCursor()
        return value


class PageSizeField(StringField):
    """1 to ``MAX_PAGE_SIZE`` in plain ASCII digits (DRF's IntegerField would also take ``" 5"`` or ``"5.0"``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> int:  # type: ignore[override]
        value = super().to_internal_value(data)
        if not (WHOLE_NUMBER.fullmatch(value) and len(value) <= 3 and int(value) <= selectors.MAX_PAGE_SIZE):
            raise serializers.ValidationError(f"Must be a whole number from 1 to {selectors.MAX_PAGE_SIZE}.")
        return int(value)


class StaffListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """The list's query string. Every value of a repeated parameter is checked; the last one counts."""

    status = FilterField(choices=STATUS_FILTERS)
    role = FilterField(choices=ROLE_FILTERS)
    q = _text(required=False, allow_blank=True, max_length=selectors.MAX_SEARCH_LENGTH)
    cursor = CursorField()
    page_size = PageSizeField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        names: list[str] = list(self.fields.keys())
        if isinstance(data, QueryDict):
            for name in names:
                for earlier in data.getlist(name)[:-1]:
                    super().to_internal_value({name: earlier})
        # Other query parameters (e.g. `format`) are not ours to judge.
        if isinstance(data, Mapping):
            data = {name: data[name] for name in names if name in data}
        params: dict[str, Any] = super().to_internal_value(data)
        params.setdefault("page_size", selectors.DEFAULT_PAGE_SIZE)
        return params


# The list's query parameters as the schema shows them (the serializer above is what checks them).
LIST_QUERY_SCHEMA: dict[str, dict[str, Any]] = {
    "status": {"type": "string", "enum": STATUS_FILTERS},
    "role": {"type": "string", "enum": ROLE_FILTERS},
    "q": {"type": "string", "maxLength": selectors.MAX_SEARCH_LENGTH, "pattern": NO_CONTROL_CHARACTERS},
    "cursor": {"type": "string", "maxLength": MAX_CURSOR_LENGTH, "pattern": f"^{CURSOR.pattern}$"},
    "page_size": {
        "type": "integer",
        "minimum": 1,
        "maximum": selectors.MAX_PAGE_SIZE,
        "default": selectors.DEFAULT_PAGE_SIZE,
    },
}


# --------------------------------------------------------------------------- output
def invitation_entry(invitation: InternalInvitation) -> StaffEntry:
    return StaffEntry("invitation", invitation.effective_status, invitation=invitation)


def user_entry(user: User) -> StaffEntry:
    return StaffEntry("user", "active" if user.is_active else "inactive", user=user)


def _flatten(entry: StaffEntry) -> dict[str, Any]:
    """Every field of the shape, ``None`` where it does not apply to this kind."""
    row, user = entry.invitation, entry.user
    data: dict[str, Any] = dict.fromkeys(StaffEntrySerializer.Meta.field_names)
    data.update(kind=entry.kind, status=entry.status, email=entry.email, role=entry.role)
    if user is not None:
        data.update(
            name=" ".join(part for part in (user.first_name, user.last_name) if part),
            first_name=user.first_name,
            last_name=user.last_name,
            image_url=user.image_url,
            phone_number=user.phone_number,
            clerk_user_id=user.clerk_user_id,
            created_at=user.created_at,
            disabled_at=user.disabled_at,
        )
    elif row is not None:
        data.update(
            invitation_id=row.pk,
            invited_by=row.inviter_email or None,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_sent_at=row.last_sent_at,
            send_count=row.send_count,
            email_status=row.email_status,
            email_error=row.email_error,
            failure_reason=row.failure_reason,
        )
    return data


class StaffEntrySerializer(serializers.Serializer[StaffEntry]):
    """A staff invitation or a staff user. Fields that do not apply to the kind are ``null``."""

    kind = serializers.ChoiceField(choices=["invitation", "user"], read_only=True)
    status = NamedChoiceField(
        enum_name="StaffEntryStatusEnum",
        choices=ENTRY_STATUSES,
        read_only=True,
        help_text="Invitations: `pending`, `expired` (a pending one past `expires_at` is expired even before the "
        "hourly sweep), `failed` (Clerk could not create it; see `failure_reason`, resend to retry), `accepted`, "
        "`revoked`. Users: `active`, or `inactive` (deactivated: banned in Clerk).",
    )
    email = serializers.CharField(read_only=True)
    role = staff_role_field(read_only=True)
    name = serializers.CharField(read_only=True, allow_null=True, help_text="Users: first and last name.")
    first_name = serializers.CharField(read_only=True, allow_null=True)
    last_name = serializers.CharField(read_only=True, allow_null=True)
    image_url = serializers.CharField(read_only=True, allow_null=True)
    phone_number = serializers.CharField(read_only=True, allow_null=True)
    clerk_user_id = serializers.CharField(
        read_only=True, allow_null=True, help_text="Users: their Clerk id, which the user actions take in the URL."
    )
    invitation_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Invitations: the id the invitation actions take in the URL."
    )
    invited_by = serializers.CharField(
        read_only=True, allow_null=True, help_text="Invitations: the inviter's email as it was when they invited."
    )
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    send_count = serializers.IntegerField(read_only=True, allow_null=True)
    email_status = serializers.ChoiceField(
        choices=EmailDelivery.choices,
        read_only=True,
        allow_null=True,
        help_text="Invitations: our branded email — `queued`, `sent`, or `failed` (see `email_error`; resend "
        "tries again).",
    )
    email_error = serializers.CharField(read_only=True, allow_null=True)
    failure_reason = serializers.CharField(read_only=True, allow_null=True)
    disabled_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Users: when they were deactivated; `null` while active."
    )

    class Meta:
        field_names = (
            "kind",
            "status",
            "email",
            "role",
            "name",
            "first_name",
            "last_name",
            "image_url",
            "phone_number",
            "clerk_user_id",
            "invitation_id",
            "invited_by",
            "created_at",
            "expires_at",
            "last_sent_at",
            "send_count",
            "email_status",
            "email_error",
            "failure_reason",
            "disabled_at",
        )

    def to_representation(self, instance: StaffEntry) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(_flatten(instance))  # type: ignore[arg-type]
        return data


class StaffCountsSerializer(serializers.Serializer[dict[str, int]]):
    """Summary counts over the whole staff, whatever the filters."""

    pending = serializers.IntegerField(help_text="Pending invitations (not expired).")
    active = serializers.IntegerField(help_text="Active staff users.")
    inactive = serializers.IntegerField(help_text="Deactivated staff users.")


class StaffPageSerializer(serializers.Serializer[dict[str, Any]]):
    """One page of the staff list: pending and failed invitations first (newest first), then users (by email)."""

    results = StaffEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or `null` on the last one.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or `null` on the first one.")
    counts = StaffCountsSerializer()
