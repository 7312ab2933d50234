"""The pending list of a workspace: open invitations, searched by email, one page at a time.

The rows come from the ``(workspace, status, -created_at)`` index with LIMIT/OFFSET; the search is a substring of
the email, any case, answered by ``core.text_search.first_matches`` (the ``(workspace, -created_at, -id)`` index
walked for a common word, the trigram index of invitations/0003 for a rare one); the total is counted only up to
``COUNT_CAP`` ("1,000+"), because an exact count of a huge match is what grows with the table.
bench/pending_list.py measures a page at 1,000 and 100,000 invitations.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Workspace
from core.text_search import contains, first_matches
from invitations.models import WorkspaceInvitation

PAGE_SIZE = 50
COUNT_CAP = 1000
MAX_QUERY_LENGTH = 320


@dataclass(frozen=True)
class PendingPage:
    rows: list[WorkspaceInvitation]
    query: str
    number: int  # 1-based
    total: int  # capped at COUNT_CAP + 1
    page_size: int = PAGE_SIZE

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total_is_capped else f"{self.total:,}"

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.page_size < self.total

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


def clean_query(raw: object) -> str:
    return str(raw or "").strip()[:MAX_QUERY_LENGTH]


def pending_matching(*, workspace: Workspace, query: str = "") -> QuerySet[WorkspaceInvitation]:
    """Open invitations of the workspace whose email contains ``query`` (any case), newest first.

    The same set the pending list shows, and what "select all matching" of a bulk action acts on."""
    rows = WorkspaceInvitation.objects.filter(workspace=workspace).open(now=timezone.now())
    query = clean_query(query)
    if query:
        rows = rows.filter(email__icontains=query)
    return rows.order_by("-created_at", "-id")


def _page_rows(*, workspace: Workspace, query: str, offset: int) -> list[WorkspaceInvitation]:
    if not query:
        return list(pending_matching(workspace=workspace).select_related("inviter")[offset : offset + PAGE_SIZE])
    everything = WorkspaceInvitation.objects.filter(workspace=workspace)
    ids = first_matches(
        everything.open(now=timezone.now()),
        match=lambda indexed: contains("email", query, indexed=indexed),
        key="created_at",
        descending=True,
        need=offset + PAGE_SIZE,
        window_rows=everything,
    )[offset:]
    found = {row.pk: row for row in WorkspaceInvitation.objects.filter(pk__in=ids).select_related("inviter")}
    return [found[pk] for pk in ids if pk in found]


def pending_page(*, workspace: Workspace, query: str = "", page: int = 1) -> PendingPage:
    """One page: the capped count, then the rows (with a search: their ids, then the rows). Two or three queries."""
    query = clean_query(query)
    matching = pending_matching(workspace=workspace, query=query)
    total = matching.order_by()[: COUNT_CAP + 1].count()
    last_page = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE)) if total <= COUNT_CAP else None
    number = max(1, page)
    if last_page is not None:
        number = min(number, last_page)
    rows = _page_rows(workspace=workspace, query=query, offset=(number - 1) * PAGE_SIZE)
    if not rows and number > 1:  # past the end of a capped count: the last rows there are
        number = 1
        rows = _page_rows(workspace=workspace, query=query, offset=0)
    return PendingPage(rows=rows, query=query, number=number, total=total)
