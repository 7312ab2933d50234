"""Typed access to request bodies and query strings, failing with Clerk's 422 ``form_param_*`` errors."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from clerk_emulator.errors import (
    ClerkAPIError,
    param_invalid,
    param_missing,
    param_unknown,
    param_value_invalid,
    request_body_invalid,
)

EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
INT64_MAX = 2**63 - 1  # Clerk parses integer parameters as int64


def normalize_email(value: str) -> str:
    return value.strip().lower()


def check_email(name: str, value: str) -> str:
    if not EMAIL_RE.match(value.strip()) or len(value) > 320:
        raise ClerkAPIError(
            422,
            "form_param_format_invalid",
            f"{name} must be a valid email address.",
            f"{name} must be a valid email address.",
            meta={"param_name": name},
        )
    return normalize_email(value)


class Body:
    """A JSON object body. Unknown keys are refused, as Clerk's ``additionalProperties: false`` schemas do.

    No body at all reads as ``{}``, so a missing required field answers ``form_param_missing`` rather than a
    body error; any other non-object (an array, a string, a number) is ``request_body_invalid``.
    """

    def __init__(self, data: Any, *, allowed: set[str] | None = None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise request_body_invalid("The request body must be a JSON object.")
        self.data: dict[str, Any] = data
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    raise param_unknown(key)

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def string(self, name: str, *, required: bool = False, max_length: int = 512) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise param_missing(name)
            return None
        if not isinstance(value, str):
            raise param_invalid(name, f"{name} must be a string.")
        if required and not value.strip():
            raise param_missing(name)
        if len(value) > max_length:
            raise param_invalid(name, f"{name} must be at most {max_length} characters.")
        return value

    def boolean(self, name: str, *, default: bool | None = None) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise param_invalid(name, f"{name} must be a boolean.")
        return value

    def integer(
        self, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise param_invalid(name, f"{name} must be an integer.")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise param_value_invalid(name, f"{name} must be between {minimum} and {maximum}.")
        return value

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise param_invalid(name, f"{name} must be an object.")
        return value

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise param_invalid(name, f"{name} must be a list of strings.")
        return value

    def email(self, name: str, *, required: bool = True) -> str | None:
        value = self.string(name, required=required, max_length=320)
        return None if value is None else check_email(name, value)


class Query:
    """Query-string parameters; arrays arrive repeated (``?user_id=a&user_id=b``), optionally with ``[]``."""

    def __init__(self, args: MultiDict[str, str]) -> None:
        self.args = args

    def values(self, name: str) -> list[str]:
        values = self.args.getlist(name) + self.args.getlist(f"{name}[]")
        return [value for value in values if value != ""]

    def string(self, name: str) -> str | None:
        value = self.args.get(name)
        return value if value not in (None, "") else None

    def integer(self, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.args.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise param_invalid(name, f"{name} must be an integer.") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise param_value_invalid(name, f"{name} must be between {minimum} and {maximum}.")
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.args.get(name)
        if raw in (None, ""):
            return None
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise param_invalid(name, f"{name} must be a boolean.")

    def choice(self, name: str, choices: set[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in choices:
            raise param_value_invalid(name, f"{name} must be one of {', '.join(sorted(choices))}.")
        return value

    def order_by(self, allowed: set[str], default: str = "-created_at") -> tuple[str, bool]:
        value = self.string("order_by") or default
        descending = value.startswith("-")
        field = value.lstrip("+-")
        if field not in allowed:
            raise param_value_invalid("order_by", f"order_by must be one of {', '.join(sorted(allowed))}.")
        return field, descending


def paginate(items: list[Any], query: Query) -> list[Any]:
    limit = query.integer("limit", default=10, minimum=1, maximum=500)
    offset = query.integer("offset", default=0, minimum=0, maximum=INT64_MAX)
    return items[offset : offset + limit]
