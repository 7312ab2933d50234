"""Edges of the shared package: django-ratelimit's block answered as a 429 (JSON for the API, a page otherwise),
DRF's throttling in the one error shape, empty audit batches, JSON log lines carrying audit fields and a redacted
traceback, and the reconciler's registry and paging guard."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf

from core import reconcile
from core.api import DEFAULT_RETRY_AFTER_S, exception_handler
from core.audit import audit_many
from core.logging import JsonFormatter, RedactingFilter
from core.models import AuditEvent
from core.reconcile import SyncContext


def blocked(request: HttpRequest) -> HttpResponse:
    """What a view under ``@ratelimit(block=True)`` does once its budget is spent."""
    raise Ratelimited()


# Used by ``@pytest.mark.urls(__name__)`` below: the project's URLs plus one blocked API path and one blocked page.
urlpatterns = [path("api/blocked/", blocked), path("blocked/", blocked), path("", include("config.urls"))]


# =========================================================================== core.views.rate_limited
@pytest.mark.django_db
@pytest.mark.urls(__name__)
class TestRatelimitView:
    def test_an_api_path_answers_the_json_error_shape_with_retry_after(self, client: Client) -> None:
        response = client.get("/api/blocked/")
        assert response.status_code == 429
        assert response["Retry-After"] == str(DEFAULT_RETRY_AFTER_S)
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "code": "rate_limited",
            "message": "Too many requests. Try again later.",
            "extra": {"retry_after": DEFAULT_RETRY_AFTER_S},
        }

    def test_a_page_asked_for_json_answers_json(self, client: Client) -> None:
        response = client.get("/blocked/", headers={"Accept": "application/json"})
        assert response.status_code == 429
        assert response.json()["code"] == "rate_limited"

    def test_a_page_answers_the_429_page_not_django_ratelimits_403(self, client: Client) -> None:
        response = client.get("/blocked/", headers={"Accept": "text/html"})
        assert response.status_code == 429
        assert response["Retry-After"] == str(DEFAULT_RETRY_AFTER_S)
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert "Too many requests" in html
        assert f"Try again in {DEFAULT_RETRY_AFTER_S} seconds" in html


# =========================================================================== core.api: DRF throttling
class TestThrottled:
    def test_a_drf_throttle_is_429_rate_limited_with_its_wait_as_retry_after(self) -> None:
        response = exception_handler(drf.Throttled(wait=12), {})
        assert response is not None
        assert response.status_code == 429
        assert response.data["code"] == "rate_limited"
        assert response.data["extra"] == {"retry_after": 12}
        assert response["Retry-After"] == "12"

    def test_a_throttle_without_a_wait_has_no_retry_after_header(self) -> None:
        response = exception_handler(drf.Throttled(), {})
        assert response is not None
        assert response.status_code == 429
        assert response.data["extra"] == {"retry_after": None}
        assert "Retry-After" not in response


# =========================================================================== core.audit
@pytest.mark.django_db
def test_an_empty_audit_batch_writes_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    audit_many([])
    assert not AuditEvent.objects.exists()
    assert caplog.records == []


# =========================================================================== core.logging
def test_json_lines_carry_audit_fields_and_a_redacted_traceback() -> None:
    try:
        raise RuntimeError("Clerk answered 401 for sk_test_leakedsecretvalue")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("core.audit", logging.ERROR, __file__, 1, "audit %s", ("x",), exc_info)
    record.actor_id = 7
    record.action = "staff_user.removed"
    record.target_id = "42"
    record.outcome = "failed"
    payload = json.loads(JsonFormatter().format(record))
    assert (payload["actor_id"], payload["action"], payload["target_id"], payload["outcome"]) == (
        7,
        "staff_user.removed",
        "42",
        "failed",
    )
    assert "RuntimeError" in payload["exception"]
    assert "sk_[redacted]" in payload["exception"]
    assert "leakedsecretvalue" not in payload["exception"]


def test_json_lines_without_audit_fields_or_exception_leave_them_out() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", None, None)
    payload = json.loads(JsonFormatter().format(record))
    assert not {"actor_id", "action", "target_id", "outcome", "exception"} & set(payload)


# =========================================================================== core.reconcile
def test_registering_a_name_twice_keeps_the_first_reconciler() -> None:
    before = reconcile.reconcilers()
    name, first = before[0]

    def impostor(context: SyncContext) -> None:
        raise AssertionError("never registered")

    reconcile.register(name, impostor)
    assert reconcile.reconcilers() == before
    assert dict(reconcile.reconcilers())[name] is first


class TestPaging:
    @staticmethod
    def fetcher(total: int) -> tuple[Callable[[int, int], list[int]], list[tuple[int, int]]]:
        calls: list[tuple[int, int]] = []

        def fetch(limit: int, offset: int) -> list[int]:
            calls.append((limit, offset))
            return list(range(offset, min(offset + limit, total)))

        return fetch, calls

    def test_pages_are_fetched_until_a_short_one(self) -> None:
        fetch, calls = self.fetcher(7)
        assert list(reconcile.paged(fetch, page_size=3)) == list(range(7))
        assert calls == [(3, 0), (3, 3), (3, 6)]

    def test_an_exact_multiple_costs_one_empty_page(self) -> None:
        fetch, calls = self.fetcher(6)
        assert [len(page) for page in reconcile.pages(fetch, page_size=3)] == [3, 3, 0]
        assert calls == [(3, 0), (3, 3), (3, 6)]

    def test_a_list_that_never_ends_stops_at_the_runaway_guard(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(reconcile, "MAX_PAGES", 4)
        fetch, calls = self.fetcher(10**9)
        assert len(list(reconcile.paged(fetch, page_size=2))) == 8
        assert calls == [(2, 0), (2, 2), (2, 4), (2, 6)]


def test_the_redacting_filter_cleans_tracebacks_too() -> None:
    try:
        raise RuntimeError("webhook secret whsec_c2VjcmV0c2VjcmV0 rejected")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info)
    assert RedactingFilter().filter(record) is True
    assert record.exc_text is not None
    assert "whsec_[redacted]" in record.exc_text
    assert "c2VjcmV0c2VjcmV0" not in record.exc_text
