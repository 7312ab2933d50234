"""Input and output shapes of the bulk invitation endpoints: check, import (send a checked list) and bulk actions."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.roles import WorkspaceRole
from core.serializers import StrictSerializer, StringField, no_control_characters
from invitations import bulk, csv_import, invite_check
from invitations.api.serializers import (
    INVITE_RESULTS,
    MAX_EMAIL_LENGTH,
    InvitationSerializer,
)

CHECK_RESULTS = tuple(
    sorted(
        {
            invite_check.VALID,
            invite_check.INVALID_EMAIL,
            invite_check.INVALID_ROLE,
            invite_check.DUPLICATE,
            invite_check.ALREADY_MEMBER,
            invite_check.ALREADY_INVITED,
        }
    )
)
IMPORT_RESULTS = tuple(sorted({*INVITE_RESULTS, invite_check.DUPLICATE, invite_check.INVALID_ROLE}))
BULK_RESULTS = ("resent", "revoked", "cooldown", "rate_limited", "not_pending", "failed")


class EntrySerializer(StrictSerializer):
    email = StringField(max_length=MAX_EMAIL_LENGTH, trim_whitespace=False, validators=[no_control_characters])
    role = StringField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="`admin` or `member` (also `org:admin`, `org:member`); empty or missing: the request's `role`. "
        "An unknown role is reported for that address (`invalid_role`), not refused.",
    )


class InviteListSerializer(StrictSerializer):
    """A list to check or send: exactly one of `emails`, `entries` (JSON) or `file` (multipart, a CSV file)."""

    emails = serializers.ListField(
        child=StringField(max_length=MAX_EMAIL_LENGTH, trim_whitespace=False, validators=[no_control_characters]),
        required=False,
        max_length=csv_import.MAX_CSV_ROWS,
        help_text="Addresses, all with `role`.",
    )
    entries = EntrySerializer(many=True, required=False, help_text="Addresses, each with its own role if given.")
    file = serializers.FileField(
        required=False,
        help_text=f"A CSV file (multipart): an `email` column and optionally `role`, header optional, `,` or `;` "
        f"separated, UTF-8 (a BOM is fine), at most {csv_import.MAX_CSV_ROWS} rows and "
        f"{csv_import.MAX_CSV_BYTES // 1024} KB.",
    )
    role = serializers.ChoiceField(
        choices=WorkspaceRole.choices, default=WorkspaceRole.MEMBER, help_text="The role of entries without one."
    )

    def validate_entries(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > csv_import.MAX_CSV_ROWS:
            raise serializers.ValidationError(f"At most {csv_import.MAX_CSV_ROWS} entries.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("emails", "entries", "file") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of `emails`, `entries` or `file`.")
        return attrs

    def invite_entries(self) -> list[invite_check.InviteEntry]:
        """The entries to check or send (reads and checks the CSV file; ``CsvRejected`` if it cannot be read)."""
        data = self.validated_data
        if "file" in data:
            raw = data["file"].read(csv_import.MAX_CSV_BYTES + 1)
            rows = csv_import.parse_invite_csv(raw)
            return [invite_check.InviteEntry(email=row.email, role=row.role, line=row.line) for row in rows]
        if "entries" in data:
            return [invite_check.InviteEntry(email=e["email"], role=e.get("role", "")) for e in data["entries"]]
        return [invite_check.InviteEntry(email=email) for email in data["emails"]]


class CheckedEntrySerializer(serializers.Serializer[Any]):
    email = serializers.CharField(help_text="Normalized; as given for an invalid address.")
    role = serializers.CharField(help_text="The role it would get; empty for `invalid_role`.")
    result = serializers.ChoiceField(choices=CHECK_RESULTS, help_text="Only `valid` would be sent.")
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True, help_text="The CSV line, for a file.")


class CheckResponseSerializer(serializers.Serializer[Any]):
    results = CheckedEntrySerializer(many=True, help_text="One per entry, duplicates included, in order.")
    summary = serializers.DictField(child=serializers.IntegerField(), help_text="How many entries per result.")


class ImportResultSerializer(serializers.Serializer[Any]):
    email = serializers.CharField()
    result = serializers.ChoiceField(choices=IMPORT_RESULTS)
    message = serializers.CharField()
    code = serializers.CharField(help_text="Clerk's error code for `failed`, else empty.")
    invitation = InvitationSerializer(allow_null=True)


class ImportResponseSerializer(serializers.Serializer[Any]):
    results = ImportResultSerializer(many=True, help_text="One per entry, duplicates included, in order.")
    summary = serializers.DictField(child=serializers.IntegerField())


class BulkFilterSerializer(StrictSerializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=320, help_text="Email contains (any case); empty: all."
    )


class BulkRequestSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=["resend", "revoke"])
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        min_length=1,
        max_length=bulk.MAX_BULK_REVOKE,
        help_text="The selected invitations (ids not open or not of this workspace are skipped).",
    )
    filter = BulkFilterSerializer(
        required=False, help_text="All open invitations matching the search, not just one page."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError("Give exactly one of `ids` or `filter`.")
        return attrs


class BulkResultSerializer(serializers.Serializer[Any]):
    invitation_id = serializers.IntegerField()
    email = serializers.CharField()
    result = serializers.ChoiceField(choices=BULK_RESULTS)
    message = serializers.CharField()
    code = serializers.CharField()
    retry_after = serializers.IntegerField(allow_null=True, help_text="Seconds, for `cooldown` and `rate_limited`.")


class BulkResponseSerializer(serializers.Serializer[Any]):
    results = BulkResultSerializer(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())
