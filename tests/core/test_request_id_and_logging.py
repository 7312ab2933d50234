"""Request ids travel from the request to the response and into every log line; secrets never reach a log."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.logging import JsonFormatter, RedactingFilter, redact
from core.request_id import RequestIdFilter, RequestIdMiddleware, current_request_id


def _run(headers: dict[str, str]) -> tuple[HttpResponse, str]:
    seen: dict[str, str] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["id"] = current_request_id()
        return HttpResponse("ok")

    request = RequestFactory().get("/", headers=headers)
    response = RequestIdMiddleware(view)(request)
    return response, seen["id"]


def test_incoming_request_id_is_honoured_and_returned() -> None:
    response, inside = _run({"X-Request-ID": "abc-123"})
    assert inside == "abc-123"
    assert response["X-Request-ID"] == "abc-123"
    assert current_request_id() == ""


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "line\nbreak", "<script>"])
def test_unsafe_request_ids_are_replaced(bad: str) -> None:
    response, inside = _run({"X-Request-ID": bad} if "\n" not in bad else {})
    assert inside != bad
    assert len(inside) == 32
    assert response["X-Request-ID"] == inside


def test_log_records_carry_the_request_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert RequestIdFilter().filter(record)
    assert getattr(record, "request_id", None) == "-"


@pytest.mark.parametrize(
    "secret",
    [
        "sk_test_abcdefghijklmnop1234",
        "sk_live_ABCDEF0123456789",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.c2lnbmF0dXJl",
        "https://clerk.example.com/v1/tickets/accept?ticket=opaque-ticket-value",
        "/accept-invite/?__clerk_ticket=opaque-ticket-value&__clerk_status=sign_up",
    ],
)
def test_redaction_removes_secrets(secret: str) -> None:
    cleaned = redact(f"calling Clerk with {secret} now")
    assert "opaque-ticket-value" not in cleaned
    assert secret not in cleaned


def test_redacting_filter_rewrites_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key=%s", ("sk_test_supersecretvalue",), None)
    RedactingFilter().filter(record)
    assert "supersecretvalue" not in record.getMessage()


def test_json_formatter_emits_one_json_object() -> None:
    import json

    record = logging.LogRecord("audit", logging.INFO, __file__, 1, "invite %s", ("ok",), None)
    RequestIdFilter().filter(record)
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "invite ok"
    assert payload["level"] == "INFO"
    assert payload["request_id"] == "-"
