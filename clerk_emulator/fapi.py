"""Browser-facing endpoints (a stand-in for Clerk's Frontend API). Being written; see docs/clerk-emulator.md."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

ROUTES: dict[str, Callable[..., Response]] = {}
RULES: list[Rule] = []


def add_cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = "Authorization"
    return response


def preflight(request: Request) -> Response:
    return add_cors(request, Response(status=204))
