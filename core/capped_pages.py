"""Page-numbered lists whose total is counted only up to a cap ("1,000+"): the pending invitations and the members
of a workspace, on the pages and in the API.

An exact ``COUNT(*)`` reads every matching row, so it is what grows with the table; counting up to ``COUNT_CAP`` + 1
costs the same at 1,000 rows and at 100,000. Whether a next page exists is known from one row read past the page,
not from the total, so a capped list still pages on to its end. ``CappedPageNumberPagination`` is the same for DRF:
``count`` (at most ``COUNT_CAP``) with ``count_capped``, ``next``/``previous`` page links and ``results``.
Measured in bench/pending_list.py and bench/members_list.py; see docs/figures.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.api import StandardPagination

COUNT_CAP = 1000
_MAX_OFFSET = 2**62


def capped_count(rows: QuerySet[Any], *, cap: int = COUNT_CAP) -> int:
    """How many rows there are, up to ``cap`` + 1 (that is: more than ``cap``). One query, its order dropped."""
    return rows.order_by()[: cap + 1].count()


def count_label(total: int, *, cap: int = COUNT_CAP) -> str:
    return f"{cap:,}+" if total > cap else f"{total:,}"


@dataclass(frozen=True)
class CappedPage[Row]:
    rows: list[Row]
    number: int  # 1-based
    total: int  # capped at COUNT_CAP + 1
    page_size: int
    more: bool = False  # a row exists after this page

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_label(self) -> str:
        return count_label(self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


@dataclass(frozen=True)
class PageSlice[Row]:
    """What ``read_page`` found: the page's rows, its number (moved back into range) and the capped total."""

    rows: list[Row]
    number: int
    total: int
    more: bool


def read_page[Row](
    *,
    counted: QuerySet[Any],
    fetch: Callable[[int, int], Sequence[Row]],
    number: int,
    page_size: int,
    past_the_end: str = "first",
) -> PageSlice[Row]:
    """The capped count of ``counted``, then ``fetch(offset, limit)`` for page ``number`` plus one row.

    With an exact (uncapped) total, a number past the last page becomes the last page. A page that comes back empty
    all the same (past the end of a capped total) is the first page again (``past_the_end="first"``, for pages) or
    DRF's 404 ``not_found`` (``"404"``, for the API). Two queries (or what ``fetch`` costs)."""
    total = capped_count(counted)
    number = max(1, number)
    if total <= COUNT_CAP:
        number = min(number, max(1, -(-total // page_size)))
    found = list(fetch((number - 1) * page_size, page_size + 1))
    if not found and number > 1:
        if past_the_end == "404":
            raise NotFound("Invalid page.")
        number = 1
        found = list(fetch(0, page_size + 1))
    return PageSlice(rows=found[:page_size], number=number, total=total, more=len(found) > page_size)


def capped_page[M: Model](*, rows: QuerySet[M], number: int, page_size: int) -> CappedPage[M]:
    """Page ``number`` of an ordered queryset (LIMIT/OFFSET) with its capped total: the pages' common case."""
    found = read_page(
        counted=rows,
        fetch=lambda offset, limit: list(rows[offset : offset + limit]),
        number=number,
        page_size=page_size,
    )
    return CappedPage(rows=found.rows, number=found.number, total=found.total, page_size=page_size, more=found.more)


class CappedPageNumberPagination(StandardPagination):
    """``StandardPagination`` (``?page=N&page_size=M``, strictly parsed) with a capped count and no exact total.

    The response is ``{"count", "count_capped", "next", "previous", "results"}``: ``count`` is exact up to
    ``COUNT_CAP``; beyond it ``count`` is ``COUNT_CAP`` and ``count_capped`` is true. A page past the end is 404."""

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request, view: Any = None
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise TypeError("CappedPageNumberPagination counts in SQL: give it a queryset")
        size = self.get_page_size(request)
        number = self.get_page_number(request, None)
        if (number - 1) * size > _MAX_OFFSET:  # beyond any list, and beyond PostgreSQL's bigint OFFSET
            raise NotFound("Invalid page.")
        found = read_page(
            counted=queryset,
            fetch=lambda offset, limit: list(queryset[offset : offset + limit]),
            number=number,
            page_size=size,
            past_the_end="404",
        )
        if found.number != number:  # past the last page of an exact total
            raise NotFound("Invalid page.")
        self._found, self._url = found, request.build_absolute_uri()
        return found.rows

    def _link(self, number: int) -> str:
        if number == 1:
            return remove_query_param(self._url, self.page_query_param)
        return replace_query_param(self._url, self.page_query_param, number)

    def get_paginated_response(self, data: Any) -> Response:
        found = self._found
        return Response(
            {
                "count": min(found.total, COUNT_CAP),
                "count_capped": found.total > COUNT_CAP,
                "next": self._link(found.number + 1) if found.more else None,
                "previous": self._link(found.number - 1) if found.number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "count_capped", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "maximum": COUNT_CAP,
                    "example": 123,
                    "description": f"How many there are, counted up to {COUNT_CAP:,} (see `count_capped`).",
                },
                "count_capped": {
                    "type": "boolean",
                    "description": f"True when there are more than {COUNT_CAP:,}: `count` is then {COUNT_CAP:,}.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "The next page."},
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The previous page.",
                },
                "results": schema,
            },
        }
