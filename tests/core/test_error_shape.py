"""Every API error leaves in one shape: ``{"code", "message", "extra"}`` with the right status."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf

from core.api import exception_handler
from core.exceptions import Conflict, NotFound, RateLimited, UpstreamUnavailable


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Conflict("Already invited.", code="already_invited"), 409, "already_invited"),
        (NotFound(), 404, "not_found"),
        (UpstreamUnavailable(), 503, "clerk_unavailable"),
        (RateLimited(retry_after=30), 429, "rate_limited"),
        (Ratelimited(), 429, "rate_limited"),
        (drf.ValidationError({"emails": ["This field is required."]}), 400, "invalid"),
        (drf.NotAuthenticated(), 401, "not_authenticated"),
        (drf.AuthenticationFailed("Token expired."), 401, "not_authenticated"),
        (drf.PermissionDenied(), 403, "permission_denied"),
        (drf.NotFound(), 404, "not_found"),
        (drf.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (drf.ParseError(), 400, "parse_error"),
        (Http404(), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (DjangoValidationError({"email": ["Bad."]}), 400, "invalid"),
    ],
)
def test_error_shape(exc: Exception, status: int, code: str) -> None:
    response = exception_handler(exc, {})
    assert response is not None
    assert response.status_code == status
    assert set(response.data) == {"code", "message", "extra"}
    assert response.data["code"] == code
    assert isinstance(response.data["message"], str)
    assert response.data["message"]


def test_rate_limited_answers_retry_after() -> None:
    response = exception_handler(RateLimited(retry_after=42), {})
    assert response is not None
    assert response["Retry-After"] == "42"
    assert response.data["extra"]["retry_after"] == 42


def test_django_ratelimit_inside_drf_is_429_not_403() -> None:
    response = exception_handler(Ratelimited(), {})
    assert response is not None
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_validation_errors_name_their_fields() -> None:
    response = exception_handler(drf.ValidationError({"role": ["Not a valid choice."]}), {})
    assert response is not None
    assert response.data["extra"]["fields"]["role"] == ["Not a valid choice."]


def test_unauthenticated_carries_www_authenticate() -> None:
    response = exception_handler(drf.NotAuthenticated(), {})
    assert response is not None
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_exceptions_are_left_to_django() -> None:
    assert exception_handler(RuntimeError("boom"), {}) is None
