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

The trigram index costs what the posting lists of the text's trigrams cost, and a trigram that nearly every row has
(``exa``, ``com``, a company's domain, a shared prefix) has a list as long as the table: a whole address made of
such trigrams read 489 index pages at 100,000 rows for one match. So the index is asked only for the parts of the
text made of rarer trigrams (``probe``: which are rare is read from the column's statistics, ``common_trigrams``),
and the whole text is re-tested on the rows it returns. docs/figures.md ("Search at 100,000 rows") has the figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, connections
from django.db.models import Expression, F, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import GreaterThanOrEqual, IContains, IsNull, LessThanOrEqual

WINDOW = 2_000
# A trigram in more than this share of the rows is left out of what the index is asked (``probe``).
COMMON_SHARE = 0.2

Match = Callable[[bool], Q]

_WORD = re.compile(r"[^\W_]+")  # pg_trgm's words: runs of letters and digits


def _trigrams(word: str) -> list[str]:
    return [word[i : i + 3] for i in range(len(word) - 2)]


def common_trigrams(*indexes: str) -> dict[str, frozenset[str]]:
    """For each of ``indexes`` (trigram indexes on one ``UPPER(column)`` each), the trigrams that more than
    ``COMMON_SHARE`` of the rows have, estimated from the statistics ``ANALYZE`` keeps on the index's expression: its
    most common values with their frequencies, and its histogram's bounds, each standing for an equal share of the
    other rows (the bounds are spread over the column's sort order, a fair sample for trigrams). One query; none,
    and nothing common, when the database is not PostgreSQL; nothing common for an index never analysed."""
    found = dict.fromkeys(indexes, frozenset[str]())
    if connection.vendor != "postgresql" or not indexes:
        return found
    with connection.cursor() as cursor:
        # The indexes of the current schema (where the tables are), named in full so that the view's filter
        # reaches the catalogue's indexes (a join on pg_class reads all of pg_attribute: 20 ms).
        cursor.execute(
            "SELECT tablename, most_common_vals::text::text[], most_common_freqs, histogram_bounds::text::text[]"
            " FROM pg_stats WHERE schemaname = current_schema() AND tablename = ANY(%s::text[])",
            [list(indexes)],
        )
        for name, values, freqs, bounds in cursor.fetchall():
            found[name] = _common(values or [], freqs or [], bounds or [])
    return found


def _common(values: list[str], freqs: list[float], bounds: list[str]) -> frozenset[str]:
    share: dict[str, float] = {}

    def count(value: str, weight: float) -> None:
        for trigram in {t for word in _WORD.findall(value.lower()) for t in _trigrams(word)}:
            share[trigram] = share.get(trigram, 0.0) + weight

    for value, freq in zip(values, freqs, strict=False):
        count(value, freq)
    for value in bounds:
        count(value, (1.0 - sum(freqs)) / len(bounds))
    return frozenset(trigram for trigram, part in share.items() if part > COMMON_SHARE)


def probe(text: str, common: Iterable[str]) -> list[str]:
    """The parts of ``text`` to ask the trigram index for: each longest run of letters and digits whose trigrams are
    all outside ``common`` (a row that contains ``text`` contains every part). Empty when there is nothing to leave
    out (no trigram of ``text`` is common) or nothing rarer to ask (every one is): then ask for the whole text."""
    common = frozenset(common)
    parts: list[str] = []
    dropped = False
    for word in _WORD.findall(text.lower()):
        run = ""
        for trigram in _trigrams(word):
            if trigram in common:
                dropped = True
                if run:
                    parts.append(run)
                run = ""
            else:
                run = run + trigram[2] if run else trigram
        if run:
            parts.append(run)
    return parts if dropped else []


def contains(field: str, text: str, *, indexed: bool, common: Iterable[str] = ()) -> Q:
    """``field`` contains ``text``, any case. ``indexed``: as ``field__icontains`` (``UPPER(field) LIKE``), which the
    trigram indexes serve; otherwise the same test on ``field || ''``, which no index serves (the walk's form).
    ``common``: trigrams of ``field`` too frequent to ask its index for; the indexed form then asks for the rarer
    parts of ``text`` (``probe``) and tests the whole text on the rows they find."""
    if indexed:
        parts = probe(text, common)
        if not parts:
            return Q(**{f"{field}__icontains": text})
        indexed_parts = Q(*(Q(**{f"{field}__icontains": part}) for part in parts))
        return indexed_parts & contains(field, text, indexed=False)
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
    # Its near end, the key of its first row: redundant (no row of the list is before it), but a range bounded at
    # both ends by values known only at run time is one the planner prices at a few rows (its default for such a
    # range), so it walks the key's index; bounded at one end only, it prices a third of the table and reads it
    # whole (bench/search_scale.py: a parallel sequential scan of 100,000 rows, three times per search).
    start = Subquery(counted.order_by(*order).values("_search_key")[:1])
    low, high = (bound, start) if descending else (start, bound)
    in_window = Q(GreaterThanOrEqual(F("_search_key"), low), LessThanOrEqual(F("_search_key"), high))
    walk = rows.filter(in_window, match(False))
    enough = IsNull(Subquery(walk.order_by(*order).values("pk")[need - 1 : need]), False)
    found = walk.filter(enough).order_by(*order).values_list("pk", "_search_key")[:need]
    scarce = IsNull(Subquery(walk.order_by(*order).values("pk")[need - 1 : need]), True)
    indexed = rows.filter(match(True), scarce).order_by(*order).values_list("pk", "_search_key")[:need]
    merged = found.union(indexed, all=True).order_by(*order)
    return [pk for pk, _ in merged]
