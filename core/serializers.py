"""Serializer pieces every API of the product shares: the one error shape, strict input, plain JSON strings.

The API error shape itself is produced by core.api.exception_handler; ``ErrorSerializer`` documents it in the
OpenAPI schema. Feature apps' serializers build on ``StrictSerializer`` and ``StringField``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """Every error, whatever its status: ``{"code", "message", "extra"}`` (core.api.exception_handler)."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`, `invitation_not_pending`.")
    message = serializers.CharField(help_text="A sentence for people.")
    extra = serializers.DictField(
        help_text="Details: `fields` (per-field messages) for `invalid`, `retry_after` (seconds) for "
        "`rate_limited`, Clerk's `clerk_code` for upstream rejections."
    )


class StrictSerializer(serializers.Serializer[dict[str, Any]]):
    """Refuses fields it does not declare (400), so nothing can be smuggled past validation."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["This field is not allowed."] for name in unknown})
        value: dict[str, Any] = super().to_internal_value(data)
        return value


class StrictSerializerExtension(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """Documents ``StrictSerializer`` request bodies with ``additionalProperties: false``."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


# Line breaks and other control characters have no place in an address (header injection). A regex the OpenAPI
# schema can carry as `pattern` (Python's `re` and ECMA-262 read these escapes alike).
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_CHARACTERS_MESSAGE = "Must not contain line breaks or other control characters."


def no_control_characters(value: str) -> None:
    """The check itself (Python's ``$`` would let a final line break through the documented pattern)."""
    if CONTROL_CHARACTER.search(value):
        raise serializers.ValidationError(CONTROL_CHARACTERS_MESSAGE)


class StringField(serializers.CharField):
    """A JSON string and nothing else (DRF's CharField would turn ``1`` or ``true`` into text)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --------------------------------------------------------------------------- invitation history (both flows)
class TimelineEntrySerializer(serializers.Serializer[Any]):
    """One step of an invitation's life, from the audit trail."""

    at = serializers.DateTimeField(read_only=True)
    kind = serializers.ChoiceField(
        choices=[
            "created",
            "sent",
            "queued",
            "retried",
            "failed",
            "resent",
            "invited_again",
            "accepted",
            "revoked",
            "expired",
            "link_shown",
        ],
        read_only=True,
    )
    text = serializers.CharField(source="label", read_only=True, help_text="A sentence for people.")
    actor_email = serializers.CharField(read_only=True, help_text="Who did it; empty for Clerk or the system.")
    detail = serializers.CharField(read_only=True, help_text="More about it, e.g. Clerk's error code; often empty.")
    outcome = serializers.ChoiceField(choices=["success", "failed"], read_only=True)


class InviteLinkSerializer(serializers.Serializer[Any]):
    """The invite link, for the caller only: shown once, never stored or logged."""

    url = serializers.URLField(read_only=True, help_text="Clerk's invitation link (it carries the sign-in ticket).")
    expires_at = serializers.DateTimeField(read_only=True)
