"""The API's one error shape ``{"code", "message", "extra"}``, and shared pagination."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from core.exceptions import ApplicationError, RateLimited

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_S = 60


def error_body(code: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "extra": extra or {}}


def _drf_error(exc: drf.APIException) -> tuple[int, dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, drf.ValidationError):
        return status, error_body("invalid", "Some of the input is not valid.", {"fields": exc.detail})
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return 401, error_body("not_authenticated", str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return status, error_body("permission_denied", str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return status, error_body("not_found", "Not found.")
    if isinstance(exc, drf.Throttled):
        return status, error_body("rate_limited", str(exc.detail), {"retry_after": getattr(exc, "wait", None)})
    code = exc.default_code if isinstance(exc.default_code, str) else "error"
    return status, error_body(code, str(exc.detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error, whoever raised it, leaves in the same shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, Ratelimited):
        exc = RateLimited(retry_after=DEFAULT_RETRY_AFTER_S)
    if isinstance(exc, ApplicationError):
        status, body = exc.http_status, error_body(exc.code, exc.message, exc.extra)
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, DjangoValidationError):
        detail = as_serializer_error(exc)
        status, body = 400, error_body("invalid", "Some of the input is not valid.", {"fields": detail})
    elif isinstance(exc, Http404):
        status, body = 404, error_body("not_found", "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        status, body = 403, error_body("permission_denied", "You do not have permission to do this.")
    elif isinstance(exc, drf.APIException):
        status, body = _drf_error(exc)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf.Throttled) and wait:
            headers["Retry-After"] = str(int(wait))
    else:
        return None
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    return Response(body, status=status, headers=headers)


class StandardPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
