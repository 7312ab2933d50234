"""The workspace pending list (``invitations.pending.pending_page``) at 1,000 and 100,000 invitations (issue 12).

One workspace with N invitations (bench/two_sizes.py: 40% pending, one address in 10 at ``globex.test``) at each
size, each in its own schema of a throwaway PostgreSQL database; a page of 50 timed through the product's
selector, sizes alternating call by call; queries, rows, medians and the ratio large/small. Exit status 1 when a
page's query count differs between the sizes.

Pages: the first, the 5th (OFFSET 200), a search for one address (the trigram index), a search for a domain one
pending invitation in 8 has (``globex``: the walk of ``(workspace, -created_at, -id)``).

    python3 -m uv run python bench/pending_list.py           # 1,000 vs 100,000
    python3 -m uv run python bench/pending_list.py --quick   # 1,000 vs 10,000, 10 runs: CI
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


def _pages(workspace: Any) -> two_sizes.Pages:
    from invitations.models import WorkspaceInvitation
    from invitations.pending import pending_page

    open_rows = WorkspaceInvitation.objects.filter(workspace=workspace, status="pending").order_by("id")
    one = open_rows[open_rows.count() // 3].email.split("@")[0].upper()
    return {
        "first": lambda: pending_page(workspace=workspace),
        "page 5": lambda: pending_page(workspace=workspace, page=5),
        "search, one address": lambda: pending_page(workspace=workspace, query=one),
        "search, 'globex' (1 in 8)": lambda: pending_page(workspace=workspace, query="globex"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000 invitations, 10 runs (CI)")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=None, help="invitations at the large size (100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per page (30)")
    args = parser.parse_args()
    large = args.large or (10_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 30)
    with throwaway_database("pending_list") as database_url:
        two_sizes.setup(database_url)
        sizes = {}
        for schema, rows in (("small", args.small), ("large", large)):
            two_sizes.create_schema(schema)
            sizes[schema] = _pages(two_sizes.seed_workspace_invitations(rows))
            say(f"seeded {rows:,} invitations")
        figures = two_sizes.measure(sizes, runs)
        ok = two_sizes.report("pending list, page of 50", figures, args.small, large, runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
