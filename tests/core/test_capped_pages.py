"""``core.capped_pages``: the count stops at the cap, the next page is known from one row more, and a page past the
end is the first page again (pages) or a 404 (the API's paginator). Rows are audit events: any ordered queryset."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.capped_pages import COUNT_CAP, CappedPageNumberPagination, capped_count, capped_page, count_label
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def events(count: int) -> list[int]:
    AuditEvent.objects.bulk_create(AuditEvent(action="capped.test", target_id=str(i)) for i in range(count))
    return list(AuditEvent.objects.filter(action="capped.test").order_by("pk").values_list("pk", flat=True))


def rows() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(action="capped.test").order_by("pk")


def test_the_count_stops_one_past_the_cap() -> None:
    events(COUNT_CAP + 5)
    assert capped_count(rows()) == COUNT_CAP + 1
    assert capped_count(rows(), cap=10) == 11
    assert (count_label(COUNT_CAP + 1), count_label(COUNT_CAP), count_label(7)) == ("1,000+", "1,000", "7")


def test_pages_of_an_exact_total_and_a_number_past_the_end() -> None:
    pks = events(12)
    first = capped_page(rows=rows(), number=1, page_size=5)
    assert ([row.pk for row in first.rows], first.total, first.has_next, first.has_previous) == (
        pks[:5],
        12,
        True,
        False,
    )
    last = capped_page(rows=rows(), number=3, page_size=5)
    assert ([row.pk for row in last.rows], last.has_next, last.first_index, last.last_index) == (
        pks[10:],
        False,
        11,
        12,
    )
    assert capped_page(rows=rows(), number=99, page_size=5).number == 3
    full = capped_page(rows=rows(), number=2, page_size=6)
    assert (len(full.rows), full.has_next) == (6, False)  # the extra row read says there is none after


def test_a_capped_list_pages_on_past_the_cap_and_back_to_the_first_page_past_its_end() -> None:
    pks = events(COUNT_CAP + 30)
    with CaptureQueriesContext(connection) as ctx:
        beyond = capped_page(rows=rows(), number=21, page_size=50)
    assert len(ctx.captured_queries) == 2
    assert (beyond.total_label, beyond.total_is_capped, beyond.number) == ("1,000+", True, 21)
    assert ([row.pk for row in beyond.rows], beyond.has_next) == (pks[1000:], False)
    gone = capped_page(rows=rows(), number=30, page_size=50)
    assert (gone.number, [row.pk for row in gone.rows]) == (1, pks[:50])


def paginate(query: dict[str, str | int]) -> tuple[list[int], dict[str, object]]:
    request = Request(APIRequestFactory().get("/api/things/", query))
    paginator = CappedPageNumberPagination()
    page = paginator.paginate_queryset(rows(), request)
    body = paginator.get_paginated_response([row.pk for row in page]).data
    return [row.pk for row in page], body


def test_the_api_paginator_caps_count_and_links_pages() -> None:
    pks = events(COUNT_CAP + 2)
    found, body = paginate({"page": 2, "page_size": 100})
    assert found == pks[100:200]
    assert (body["count"], body["count_capped"]) == (COUNT_CAP, True)
    assert body["next"] == "http://testserver/api/things/?page=3&page_size=100"
    assert body["previous"] == "http://testserver/api/things/?page_size=100"
    found, body = paginate({"page": 11, "page_size": 100})
    assert (found, body["next"]) == (pks[1000:], None)
    with pytest.raises(NotFound):
        paginate({"page": 12, "page_size": 100})


def test_the_api_paginator_with_an_exact_count() -> None:
    events(3)
    found, body = paginate({})
    assert (len(found), body["count"], body["count_capped"], body["next"], body["previous"]) == (
        3,
        3,
        False,
        None,
        None,
    )
    with pytest.raises(NotFound):
        paginate({"page": 2})
    with pytest.raises(NotFound):
        paginate({"page": "9" * 30})
