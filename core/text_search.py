"""Ordered, limited substring search whose cost does not grow with the table: the first rows of a list, in the
list's order, whose text contains what was typed (the history, the pending lists, the staff list).

A substring search (``icontains``) can be served two ways, and each is slow where the other is fast:

- walk the list's own index in order and test each row: stops after the page is full, so a common word costs
  about ``page / share of rows matching`` rows whatever the size of the table, but a rare one reads everything;
- ask the trigram GIN index (PostgreSQL, ``pg_trgm``) for every match, then sort them: a rare word costs almost
  nothing, but a common one costs every match, which grows with the table (bench/history_list.py: 7.2x at
  100,000 rows for a search matching one row in 20).

The planner cannot tell the two cases apart (its estimate of ``LIKE '%word%'`` is a guess), so ``first_matches``
decides in the statement itself, per list: it walks only the first ``WINDOW`` rows in order (a bounded index range:
the bound is the key of the ``WINDOW``-th row); if they hold a full page of matches, that is the answer; if not,
the word is rare there and the trigram index answers. One SQL statement; its cost is at most about ``WINDOW`` rows
plus the matches of a word rarer than one in ``WINDOW / page``. The text test of the walk is written so that no
index serves it (``match(False)``), and the trigram one so that the index does (``match(True)``): callers build both
with ``contains``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Expression, F, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import GreaterThanOrEqual, IContains, IsNull, LessThanOrEqual

WINDOW = 2_000

Match = Callable[[bool], Q]


def contains(field: str, text: str, *, indexed: bool) -> Q:
    """``field`` contains ``text``, any case. ``indexed``: as ``field__icontains`` (``UPPER(field) LIKE``), which the
    trigram indexes serve; otherwise the same test on ``field || ''``, which no index serves (the walk's form)."""
    if indexed:
        return Q(**{f"{field}__icontains": text})
    return Q(IContains(Concat(F(field), Value("")), text))


def first_matches(
    rows: QuerySet[Any],
    *,
    match: Match,
    key: Expression | str,
    descending: bool,
    need: int,
    window_rows: QuerySet[Any] | None = None,
    window: int = WINDOW,
) -> list[int]:
    """The primary keys of the first ``need`` rows of ``rows`` that ``match``, ordered by ``key`` (then the primary
    key, in the same direction). One query.

    ``rows`` carries every other filter, the cursor included; ``key`` must be what an index of ``rows`` is ordered
    by, so that the walk is an index range scan. ``window_rows`` (default ``rows``) is what the window is counted
    in: the same list with fewer filters (the cursor kept), whose first ``window`` keys an index-only scan reads
    (the window stays a prefix of the list, so the answer is the same; only where it ends moves)."""
    key_expr = F(key) if isinstance(key, str) else key
    rows = rows.annotate(_search_key=key_expr)
    direction = "-" if descending else ""
    order = (f"{direction}_search_key", f"{direction}pk")
    if not connections[rows.db].features.supports_slicing_ordering_in_compound:
        # SQLite (the demo): no trigram index to choose, and no LIMIT inside a UNION: the walk alone.
        return list(rows.filter(match(False)).order_by(*order).values_list("pk", flat=True)[:need])
    counted = (rows if window_rows is None else window_rows).annotate(_search_key=key_expr)
    reverse = ("_search_key" if descending else "-_search_key", "pk" if descending else "-pk")
    # The window's far end: the key of its last row, or of the list's last row when the list is shorter.
    bound = Coalesce(
        Subquery(counted.order_by(*order).values("_search_key")[window - 1 : window]),
        Subquery(counted.order_by(*reverse).values("_search_key")[:1]),
    )
    in_window = GreaterThanOrEqual(F("_search_key"), bound) if descending else LessThanOrEqual(F("_search_key"), bound)
    walk = rows.filter(in_window, match(False))
    enough = IsNull(Subquery(walk.order_by(*order).values("pk")[need - 1 : need]), False)
    found = walk.filter(enough).order_by(*order).values_list("pk", "_search_key")[:need]
    scarce = IsNull(Subquery(walk.order_by(*order).values("pk")[need - 1 : need]), True)
    indexed = rows.filter(match(True), scarce).order_by(*order).values_list("pk", "_search_key")[:need]
    merged = found.union(indexed, all=True).order_by(*order)
    return [pk for pk, _ in merged]
