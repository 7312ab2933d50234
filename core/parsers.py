"""A JSON parser for the API that refuses hostile nesting as a 400 ``parse_error`` instead of a RecursionError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our bodies nest two or three levels; 32 leaves room for any client and stays far below Python's recursion limit.
MAX_JSON_DEPTH = 32


def _too_deep(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    max_depth = MAX_JSON_DEPTH

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise self._too_deep_error() from None
        if _too_deep(document, self.max_depth):
            raise self._too_deep_error()
        return document

    def _too_deep_error(self) -> ParseError:
        return ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.")
