"""The pending list of a workspace: open invitations, searched by email, one page at a time.

The rows come from the ``(workspace, status, -created_at)`` index with LIMIT/OFFSET; the search is a substring of
the email, any case, answered by ``core.text_search.first_matches`` (the ``(workspace, -created_at, -id)`` index
walked for a common word, the trigram index of invitations/0003 for a rare one); the total is counted only up to
``core.capped_pages.COUNT_CAP`` ("1,000+"), because an exact count of a huge match is what grows with the table
(``core.capped_pages``, shared with the members list). bench/pending_list.py measures a page at 1,000 and 100,000
invitations.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Workspace
from core.capped_pages import CappedPage, read_page
from core.text_search import contains, first_matches
from invitations.models import WorkspaceInvitation

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 320


@dataclass(frozen=True)
class PendingPage(CappedPage[WorkspaceInvitation]):
    query: str = ""
    page_size: int = PAGE_SIZE


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


def _page_rows(*, workspace: Workspace, query: str, offset: int, limit: int) -> list[WorkspaceInvitation]:
    if not query:
        return list(pending_matching(workspace=workspace).select_related("inviter")[offset : offset + limit])
    everything = WorkspaceInvitation.objects.filter(workspace=workspace)
    ids = first_matches(
        everything.open(now=timezone.now()),
        match=lambda indexed: contains("email", query, indexed=indexed),
        key="created_at",
        descending=True,
        need=offset + limit,
        window_rows=everything,
    )[offset:]
    found = {row.pk: row for row in WorkspaceInvitation.objects.filter(pk__in=ids).select_related("inviter")}
    return [found[pk] for pk in ids if pk in found]


def pending_page(*, workspace: Workspace, query: str = "", page: int = 1) -> PendingPage:
    """One page: the capped count, then the rows (with a search: their ids, then the rows). Two or three queries."""
    query = clean_query(query)
    found = read_page(
        counted=pending_matching(workspace=workspace, query=query),
        fetch=lambda offset, limit: _page_rows(workspace=workspace, query=query, offset=offset, limit=limit),
        number=page,
        page_size=PAGE_SIZE,
    )
    return PendingPage(rows=found.rows, query=query, number=found.number, total=found.total, more=found.more)
