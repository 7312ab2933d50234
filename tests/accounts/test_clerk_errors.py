"""How the gateway reads Clerk's error answers, whatever shape they come in: the class, the Clerk code, the message
shown to people and the ``Retry-After`` honoured."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts import clerk


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (
            422,
            '{"errors": [{"code": "form_param_nil", "long_message": "Email is required."}]}',
            clerk.ClerkRejected,
            "form_param_nil",
            "Email is required.",
        ),
        (422, '{"errors": [{"code": "x", "message": "short only"}]}', clerk.ClerkRejected, "x", "short only"),
        (400, "<html>Bad gateway page</html>", clerk.ClerkRejected, "", None),
        (400, '{"errors": "not a list"}', clerk.ClerkRejected, "", None),
        (400, '{"errors": [42]}', clerk.ClerkRejected, "", None),
        (400, '{"errors": [{"code": 7, "message": ["no"]}]}', clerk.ClerkRejected, "", None),
        (
            404,
            '{"errors": [{"code": "resource_not_found", "message": "not found"}]}',
            clerk.ClerkNotFound,
            "resource_not_found",
            "not found",
        ),
        (
            401,
            '{"errors": [{"code": "authentication_invalid", "message": "bad key"}]}',
            clerk.ClerkError,
            "authentication_invalid",
            None,
        ),
        (503, "", clerk.ClerkUnavailable, "", None),
        (302, "", clerk.ClerkError, "", None),
    ],
)
def test_error_answers_map_to_our_errors(status: int, body: str, kind: type, code: str, message: str | None) -> None:
    error = clerk._from_response(status, body, {})
    assert type(error) is kind
    assert error.clerk_code == code
    assert error.status == status
    if message is not None:
        assert error.message == message
    else:
        assert error.message  # never empty: the class's default explains it


def test_401_is_our_configuration_not_the_users_fault() -> None:
    error = clerk._from_response(401, "{}", {})
    assert not isinstance(error, clerk.ClerkRejected | clerk.ClerkNotFound | clerk.ClerkUnavailable)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, clerk.DEFAULT_RETRY_AFTER_S),
        ("", clerk.DEFAULT_RETRY_AFTER_S),
        ("17", 17),
        ("2.5", 2),
        ("0", 1),
        ("soon", clerk.DEFAULT_RETRY_AFTER_S),
    ],
)
def test_retry_after_in_seconds(header: str | None, expected: int) -> None:
    headers = {} if header is None else {"retry-after": header}
    error = clerk._from_response(429, '{"errors": [{"code": "too_many_requests"}]}', headers)
    assert isinstance(error, clerk.ClerkRateLimited)
    assert error.retry_after == expected
    assert error.clerk_code == "too_many_requests"


def test_retry_after_as_an_http_date() -> None:
    in_a_minute = format_datetime(timezone.now() + timedelta(seconds=61), usegmt=True)
    error = clerk._from_response(429, "", {"retry-after": in_a_minute})
    assert isinstance(error, clerk.ClerkRateLimited)
    assert 55 <= error.retry_after <= 61
    past = format_datetime(timezone.now() - timedelta(hours=1), usegmt=True)
    late = clerk._from_response(429, "", {"retry-after": past})
    assert isinstance(late, clerk.ClerkRateLimited)
    assert late.retry_after == 1


@pytest.mark.parametrize("timeout", [0, -5, "3000"])
def test_a_bad_timeout_setting_is_refused_at_first_use(settings: Any, timeout: Any) -> None:
    settings.CLERK_TIMEOUT_MS = timeout
    clerk.reset_client()
    try:
        with pytest.raises(ImproperlyConfigured, match="CLERK_TIMEOUT_MS"):
            clerk.client()
    finally:
        clerk.reset_client()
