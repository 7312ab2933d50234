"""The WSGI application (Backend API, browser endpoints, control panel) and a threaded server around it."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from clerk_emulator import bapi, clerk_js, control, fapi, shapes
from clerk_emulator.errors import ClerkAPIError, authorization_header_invalid, request_body_invalid, unauthenticated
from clerk_emulator.params import Query
from clerk_emulator.state import DEFAULT_ALLOWED_ORIGINS, DEFAULT_SECRET_KEY, Emulator, Fault
from clerk_emulator.webhooks import WebhookDispatcher

logger = logging.getLogger("clerk_emulator")
MAX_BODY_BYTES = 1_000_000
DEFAULT_FAULT_CODES = {
    400: "bad_request",
    401: "authentication_invalid",
    403: "resource_forbidden",
    404: "resource_not_found",
    409: "conflict",
    422: "form_param_value_invalid",
    429: "too_many_requests",
    500: "internal_clerk_error",
    502: "internal_clerk_error",
    503: "maintenance_mode",
    504: "gateway_timeout",
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


def error_response(error: ClerkAPIError) -> Response:
    body = error.body()
    body["clerk_trace_id"] = "emulator"
    return json_response(body, error.status, error.headers)


def fault_response(fault: Fault) -> Response:
    status = fault.status or 500
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 60)
    error = ClerkAPIError(
        status,
        fault.code or DEFAULT_FAULT_CODES.get(status, "internal_clerk_error"),
        fault.message or f"Injected fault ({status})",
        headers=headers,
    )
    return error_response(error)


MAX_JSON_DEPTH = 64


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, computed without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json(request: Request) -> Any:
    """The JSON body, ``None`` when empty; malformed, non-standard (NaN) or absurdly nested JSON is a 400."""
    too_large = ClerkAPIError(413, "request_body_invalid", "Request body invalid", "The request body is too large.")
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise too_large
    # A chunked body has no Content-Length: read at most one byte past the limit, and refuse it if that byte came.
    request.max_content_length = MAX_BODY_BYTES + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    if not raw.strip():
        return None
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise request_body_invalid("The request body is not valid JSON.") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise request_body_invalid(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
    return data


class EmulatorApp:
    """Routes ``/v1`` (Backend API with the secret key, and the browser-facing endpoints), ``/npm``, ``/__emulator``."""

    def __init__(self, em: Emulator) -> None:
        self.em = em
        # Fresh copies: a werkzeug Rule binds to one Map, and a process may run several emulators.
        rules = [rule.empty() for rule in (*bapi.RULES, *fapi.RULES, *clerk_js.RULES, *control.RULES)]
        self.url_map = Map(rules, strict_slashes=False)
        # Requests being handled now (a faulted one sleeps inside); tests wait for none rather than for a fixed time.
        self.in_flight = 0
        self.answered = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.answered:
            self.in_flight += 1
        token = shapes.serving_base_url.set(self.em.base_url)
        try:
            response = self.handle(request)
            self.em.request_log.append((request.method, request.path, response.status_code))
        finally:
            shapes.serving_base_url.reset(token)
            with self.answered:
                self.in_flight -= 1
                self.answered.notify_all()
        return response(environ, start_response)

    def wait_answered(self, timeout: float) -> bool:
        """Block until no request is being handled (a delayed one included); False if ``timeout`` passed first."""
        with self.answered:
            return self.answered.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    def handle(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = self._match(adapter, request)
        except NotFound:
            if request.method == "OPTIONS":
                return fapi.preflight(self.em, request)
            if request.path == "/" and request.method in {"GET", "HEAD"}:
                return redirect("/__emulator/")  # a person following the demo's link gets the overview page
            return error_response(ClerkAPIError(404, "resource_not_found", "not found", "The resource was not found."))
        except MethodNotAllowed:
            if request.method == "OPTIONS":
                return fapi.preflight(self.em, request)
            return error_response(ClerkAPIError(405, "method_not_allowed", "Method not allowed."))
        except HTTPException as exc:  # e.g. a redirect for a trailing slash
            return exc.get_response(request.environ)
        try:
            if not endpoint.startswith("control."):
                fault = self.em.take_fault(request.method, request.path)
                if fault is not None:
                    if fault.delay_s:
                        time.sleep(fault.delay_s)
                    if fault.status:
                        injected = fault_response(fault)
                        return fapi.add_cors(self.em, request, injected) if endpoint.startswith("fapi.") else injected
            if endpoint.startswith("bapi."):
                return self.handle_backend(request, endpoint, args)
            if endpoint.startswith("fapi."):
                return fapi.ROUTES[endpoint](self.em, request, **args)
            if endpoint.startswith("clerk_js."):
                return clerk_js.ROUTES[endpoint](self.em, request, **args)
            return control.ROUTES[endpoint](self.em, request, **args)
        except ClerkAPIError as error:
            response = error_response(error)
            if endpoint.startswith("fapi."):
                fapi.add_cors(self.em, request, response)
            return response
        except Exception:
            logger.exception("clerk emulator: unhandled error on %s %s", request.method, request.path)
            return error_response(ClerkAPIError(500, "internal_clerk_error", "Internal error in the Clerk emulator."))

    @staticmethod
    def _match(adapter: Any, request: Request) -> tuple[str, dict[str, Any]]:
        """The route; a Frontend API ``POST …?_method=PATCH|PUT|DELETE`` is routed as that method (ClerkJS's tunnel)."""
        tunnelled = fapi.tunnelled_method(request)
        if tunnelled is not None:
            try:
                endpoint, args = adapter.match(method=tunnelled)
            except (NotFound, MethodNotAllowed):
                pass
            else:
                if endpoint.startswith("fapi."):
                    return endpoint, args
        endpoint, args = adapter.match()
        return endpoint, args

    def handle_backend(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or not authorization[len("Bearer ") :].strip():
            raise authorization_header_invalid()
        if authorization != f"Bearer {self.em.secret_key}":
            raise unauthenticated()
        body = parse_json(request)
        call = bapi.Call(self.em, body, Query(request.args))
        with self.em.lock:
            return json_response(bapi.ROUTES[endpoint](call, **args))


class QuietRequestHandler(WSGIRequestHandler):
    """No access log: request lines would carry tickets and invitation URLs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _listen(host: str, port: int, app: EmulatorApp) -> BaseWSGIServer:
    """werkzeug's threaded server; a failed bind raises ``OSError`` (werkzeug itself prints why and exits)."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    except SystemExit:
        reason = printed.getvalue().strip().splitlines()
        code = errno.EADDRINUSE if any("in use" in line for line in reason) else errno.EADDRNOTAVAIL
        raise OSError(code, reason[0] if reason else "Cannot listen") from None


class EmulatorServer:
    """Runs an :class:`Emulator` on a threaded HTTP server, in a background thread of this process."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        emulator: Emulator | None = None,
        production: bool = False,
        allowed_origins: tuple[str, ...] | list[str] = DEFAULT_ALLOWED_ORIGINS,
    ) -> None:
        self.emulator = emulator or Emulator(
            secret_key=secret_key,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            production=production,
            allowed_origins=allowed_origins,
        )
        self.app = EmulatorApp(self.emulator)
        self._server = _listen(host, port, self.app)
        self.host = host
        self.port = self._server.server_port
        self.emulator.base_url = f"http://{host}:{self.port}"
        self.dispatcher = WebhookDispatcher(self.emulator)
        self.emulator.dispatcher = self.dispatcher
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.emulator.base_url

    @property
    def api_url(self) -> str:
        return self.emulator.backend_api_url

    def wait_requests_answered(self, timeout: float = 10.0) -> bool:
        """Until every request the emulator has received is answered, slow (faulted) ones included: what a test waits
        for after its client gave up on Clerk, before it looks at what Clerk did. False if ``timeout`` passed first."""
        return self.app.wait_answered(timeout)

    def start(self) -> EmulatorServer:
        self.dispatcher.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="clerk-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.dispatcher.start()
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.dispatcher.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
