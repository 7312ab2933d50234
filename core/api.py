"""The API's one error shape ``{"code", "message", "extra"}``, and shared pagination."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
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


_WHOLE_NUMBER = re.compile(r"[1-9][0-9]*")  # ASCII digits, no sign, no leading zero
_FAR_PAST_THE_END = 10**18  # stands for longer numbers, which no page reaches (int() of thousands of digits fails)


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M``, both as documented: positive integers, ``page_size`` at most 100.

    DRF quietly falls back to the default for a malformed ``page_size`` and reads ``page=last``; here anything the
    schema does not allow is a 400 ``invalid`` naming the parameter (every value, when it is repeated), so a typo is
    never mistaken for a real page. A well-formed page past the end stays DRF's 404 ``not_found``.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()

    def _query_int(self, request: Request, name: str, maximum: int | None = None) -> int | None:
        value = None
        for raw in request.query_params.getlist(name):
            if _WHOLE_NUMBER.fullmatch(raw):
                value = int(raw) if len(raw) < len(str(_FAR_PAST_THE_END)) else _FAR_PAST_THE_END
                if maximum is None or value <= maximum:
                    continue
            limit = f" from 1 to {maximum}" if maximum is not None else " of 1 or more"
            raise drf.ValidationError({name: [f"Must be a whole number{limit}."]})
        return value

    def get_page_size(self, request: Request) -> int:
        size = self._query_int(request, self.page_size_query_param, self.max_page_size)
        return size if size is not None else self.page_size

    def get_page_number(self, request: Request, paginator: Any) -> int:
        number = self._query_int(request, self.page_query_param)
        return number if number is not None else 1

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = (
                    f"Number of results per page (default {self.page_size}, at most {self.max_page_size})."
                )
        return parameters
