"""A request id for every request: taken from ``X-Request-ID`` when sane, returned in the response, put in logs;
when the request started (``request_started_at``), for budgets of time per request (``accounts.clerk``); and the
client's address (``current_client_ip``), so services record it in the audit trail without taking the request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_started_at: ContextVar[float | None] = ContextVar("request_started_at", default=None)
_client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEADER = "X-Request-ID"


def current_request_id() -> str:
    return _request_id.get()


def current_client_ip() -> str | None:
    """``REMOTE_ADDR`` of the request being served (the proxy sets it; see docs/deployment.md); None outside one."""
    return _client_ip.get()


def request_started_at() -> float | None:
    """``time.monotonic()`` when the current request arrived; None outside a request (commands, tasks)."""
    return _started_at.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        started = _started_at.set(time.monotonic())
        address = _client_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            response = self.get_response(request)
        finally:
            _client_ip.reset(address)
            _started_at.reset(started)
            _request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
