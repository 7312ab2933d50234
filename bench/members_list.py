"""The workspace members list at 1,000 and 100,000 members (issue 12): what ``GET /api/workspaces/{id}/members/``
reads for a page of 50 (``invitations.selectors.workspace_members`` through ``core.capped_pages``'s paginator, the
API's: a count up to 1,001, then the page and one row more), and the settings page's members card
(``invitations.views.members_context``: the same two, and whether there are two admins).

One workspace with N members (bulk-created users and memberships, 1 in 20 admins) at each size, each in its own
schema of a throwaway PostgreSQL database; sizes alternate call by call; queries, rows, medians and the ratio
large/small. Exit status 1 when a page's query count differs between the sizes.

    python3 -m uv run python bench/members_list.py           # 1,000 vs 100,000
    python3 -m uv run python bench/members_list.py --quick   # 1,000 vs 10,000, 10 runs: CI
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import two_sizes  # noqa: E402
from bench.load_common import say, throwaway_database  # noqa: E402

PAGE = 50


def _seed(count: int) -> Any:
    from accounts.models import User, Workspace, WorkspaceMembership

    workspace = Workspace.objects.create(clerk_organization_id="org_members", name="Members", slug="members")
    batch = 5_000
    for start in range(0, count, batch):
        users = User.objects.bulk_create(
            User(
                clerk_user_id=f"user_m{i:07d}",
                email=f"{format((i * 2_654_435_761) % 4_294_967_296, '08x')}.{i}@example.com",
                first_name="Member",
                last_name=str(i),
                password="!bench",  # noqa: S106
            )
            for i in range(start, min(count, start + batch))
        )
        WorkspaceMembership.objects.bulk_create(
            WorkspaceMembership(
                workspace=workspace,
                user=user,
                role="admin" if (start + n) % 20 == 0 else "member",
                clerk_membership_id=f"orgmem_{start + n:07d}",
            )
            for n, user in enumerate(users)
        )
    two_sizes.analyze("accounts_user", "accounts_workspacemembership")
    return workspace


def _pages(workspace: Any) -> two_sizes.Pages:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from core.capped_pages import CappedPageNumberPagination
    from invitations.selectors import workspace_members
    from invitations.views import members_context

    def api_page(number: int) -> Any:
        request = Request(APIRequestFactory().get("/", {"page": number, "page_size": PAGE}))

        def call() -> list[Any]:
            paginator = CappedPageNumberPagination()
            rows = paginator.paginate_queryset(workspace_members(workspace=workspace), request)
            paginator.get_paginated_response([])
            return rows

        return call

    def settings_card(number: int) -> Any:
        return lambda: members_context(workspace, str(number))["members"]

    return {
        "API, first page": api_page(1),
        "API, page 10": api_page(10),
        "settings card, first page": settings_card(1),
        "settings card, page 10": settings_card(10),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000 members, 10 runs (CI)")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=None, help="members at the large size (100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per page (30)")
    args = parser.parse_args()
    large = args.large or (10_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 30)
    with throwaway_database("members_list") as database_url:
        two_sizes.setup(database_url)
        sizes = {}
        for schema, rows in (("small", args.small), ("large", large)):
            two_sizes.create_schema(schema)
            sizes[schema] = _pages(_seed(rows))
            say(f"seeded {rows:,} members")
        figures = two_sizes.measure(sizes, runs)
        ok = two_sizes.report(f"members list, page of {PAGE}", figures, args.small, large, runs)
        two_sizes.use("large")
        say(f"\nplans at {large:,} members:")
        two_sizes.print_plans(figures["large"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
