"""How the Frontend API is spoken: routes, ``_method`` tunnelling, form bodies, client identity, CORS, envelopes.

ClerkJS sends every call as ``GET`` or ``POST`` (``POST …?_method=PATCH|DELETE|PUT`` for the others, so that no
CORS preflight is needed), with form-encoded bodies, ``credentials: "include"``, and these query parameters:
``__clerk_api_version``, ``_clerk_js_version``, ``_clerk_session_id``, ``_clerk_retry_attempt`` and, on a
development instance, ``__clerk_db_jwt`` (the development browser). The browser's client is identified by the
development browser (development instance) or by the ``__client`` cookie set on the Frontend API's own host
(production instance). Resources are answered as ``{"response": …, "client": …}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clerk_emulator import records, sessions
from clerk_emulator.errors import ClerkAPIError, param_invalid, param_missing
from clerk_emulator.fapi import wire
from clerk_emulator.state import Emulator

MAX_BODY_BYTES = 1_000_000
CLIENT_COOKIE = "__client"
DEV_BROWSER_PARAM = "__clerk_db_jwt"
DEV_BROWSER_PARAMS = (DEV_BROWSER_PARAM, "__dev_session")  # the spec names the second
CLIENT_COOKIE_MAX_AGE_S = 365 * 86_400
TUNNELLED_METHODS = {"PATCH", "PUT", "DELETE"}

Handler = Callable[..., Any]
ROUTES: dict[str, Callable[..., Response]] = {}
RULES: list[Rule] = []


# -- CORS ------------------------------------------------------------------------------------------------------


def allowed_origin(em: Emulator, request: Request) -> str | None:
    origin = request.headers.get("Origin")
    return origin if origin and origin in em.allowed_origins else None


def add_cors(em: Emulator, request: Request, response: Response) -> Response:
    """Credentialed CORS for the configured app origins only; any other origin gets no CORS headers at all."""
    response.vary.add("Origin")
    origin = allowed_origin(em, request)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Expose-Headers"] = "Clerk-Db-Jwt"
    return response


def preflight(em: Emulator, request: Request) -> Response:
    response = Response(status=204)
    if allowed_origin(em, request):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        requested = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = requested or "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return add_cors(em, request, response)


def tunnelled_method(request: Request) -> str | None:
    """The method a ``POST …?_method=X`` stands for (ClerkJS's way around preflights), else ``None``."""
    if request.method != "POST":
        return None
    method = request.args.get("_method", "").upper()
    return method if method in TUNNELLED_METHODS else None


# -- the form body ---------------------------------------------------------------------------------------------


class Form:
    """A FAPI request body: form-encoded (what ClerkJS sends) or a JSON object; unknown keys are ignored.

    ClerkJS adds parameters across versions (``locale``, ``timezone``, Protect's, …), so the emulator, like
    Clerk, reads what it knows and ignores the rest. Values arrive as strings; objects as JSON strings.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def parse(cls, request: Request) -> Form:
        if request.content_length and request.content_length > MAX_BODY_BYTES:
            raise ClerkAPIError(413, "request_body_invalid", "Request body invalid", "The request body is too large.")
        if request.method == "GET":
            return cls({})
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return cls(dict(request.form.items()))
        raw = request.get_data(cache=True)
        if not raw.strip():
            return cls({})
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ClerkAPIError(
                400, "request_body_invalid", "Request body invalid", "Malformed request body."
            ) from None
        if not isinstance(data, dict):
            raise ClerkAPIError(400, "request_body_invalid", "Request body invalid", "Malformed request body.")
        return cls(data)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def string(self, name: str, *, required: bool = False, max_length: int = 4096) -> str | None:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise param_missing(name)
            return None if value is None else ""
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str):
            raise param_invalid(name, f"{name} must be a string.")
        if len(value) > max_length:
            raise param_invalid(name, f"{name} must be at most {max_length} characters.")
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise param_invalid(name, f"{name} must be a boolean.")

    def json_object(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise param_invalid(name, f"{name} must be a JSON object.") from None
        if not isinstance(value, dict):
            raise param_invalid(name, f"{name} must be a JSON object.")
        return value


# -- client identity -------------------------------------------------------------------------------------------


def dev_browser_unauthenticated() -> ClerkAPIError:
    return ClerkAPIError(
        401,
        "dev_browser_unauthenticated",
        "Unable to authenticate the request",
        "Unable to authenticate this browser for your development instance. Create a development browser with "
        "POST /v1/dev_browser and send it as __clerk_db_jwt.",
    )


def signed_out(long_message: str) -> ClerkAPIError:
    return ClerkAPIError(401, "signed_out", "Signed out", long_message)


@dataclass
class Call:
    """One Frontend API request, under the emulator's lock: its body, its browser's client, its response."""

    em: Emulator
    request: Request
    form: Form
    dev_browser: records.DevBrowser | None = None
    _client: records.Client | None = None
    _client_known: bool = False
    set_cookie: bool = field(default=False)

    @classmethod
    def start(cls, em: Emulator, request: Request, *, needs_dev_browser: bool = True) -> Call:
        call = cls(em, request, Form.parse(request))
        if not em.production and needs_dev_browser:
            token = next((request.args[p] for p in DEV_BROWSER_PARAMS if request.args.get(p)), None)
            token = token or request.cookies.get(DEV_BROWSER_PARAM)
            call.dev_browser = em.dev_browsers.get(token or "")
            if call.dev_browser is None:
                raise dev_browser_unauthenticated()
        return call

    @property
    def client(self) -> records.Client | None:
        """This browser's client, ``None`` before it has one (Clerk creates it on the first sign-in or sign-up)."""
        if not self._client_known:
            self._client_known = True
            if self.dev_browser is not None:
                client_id = self.dev_browser.client_id
                self._client = self.em.clients.get(client_id) if client_id else None
            elif self.em.production:
                token = self.request.cookies.get(CLIENT_COOKIE, "")
                self._client = next((c for c in self.em.clients.values() if token and c.token == token), None)
        return self._client

    def ensure_client(self) -> records.Client:
        client = self.client
        if client is None:
            client = sessions.new_client(self.em)
            self.adopt(client)
        return client

    def adopt(self, client: records.Client | None) -> None:
        """Make ``client`` this browser's client (``None``: forget it, as ``DELETE /v1/client`` does)."""
        self._client, self._client_known = client, True
        if self.dev_browser is not None:
            self.dev_browser.client_id = client.id if client else None
        self.set_cookie = True

    def require_client(self) -> records.Client:
        client = self.client
        if client is None:
            raise signed_out("This browser has no Clerk client (it never signed in, or signed out).")
        return client

    def session_id_param(self) -> str | None:
        return self.request.args.get("_clerk_session_id") or None


def _cookie(call: Call, response: Response) -> None:
    if not call.em.production or not call.set_cookie:
        return
    client = call.client
    if client is None:
        response.delete_cookie(CLIENT_COOKIE, path="/", httponly=True, samesite="Lax")
        return
    # On the Frontend API's own host; Secure only when it is served over https (the emulator speaks plain http).
    secure = call.request.scheme == "https"
    response.set_cookie(
        CLIENT_COOKIE,
        client.token,
        max_age=CLIENT_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )


def json_response(call: Call, data: Any, *, status: int = 200) -> Response:
    response = Response(json.dumps(data), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    _cookie(call, response)
    return add_cors(call.em, call.request, response)


def route(path: str, *methods: str, needs_dev_browser: bool = True) -> Callable[[Handler], Handler]:
    """Register ``handler(call, **args)``; it returns the response body (a dict) or a finished ``Response``."""

    def register(handler: Handler) -> Handler:
        endpoint = f"fapi.{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"

        def serve(em: Emulator, request: Request, **args: Any) -> Response:
            token = wire.request_origin.set(request.headers.get("Origin") or None)
            try:
                with em.lock:
                    call = Call.start(em, request, needs_dev_browser=needs_dev_browser)
                    result = handler(call, **args)
                    return result if isinstance(result, Response) else json_response(call, result)
            finally:
                wire.request_origin.reset(token)

        ROUTES[endpoint] = serve
        RULES.append(Rule(path, endpoint=endpoint, methods=list(methods)))
        return handler

    return register
