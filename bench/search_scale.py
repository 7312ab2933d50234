"""Text search on the staff list and the pending lists at 1,000 and 100,000 rows (issue 13 item 5).

Seeds one throwaway PostgreSQL database with two schemas (bench/two_sizes.py): at each size N staff users and N
staff invitations (``bench/staff_list.py``'s seeding) and one workspace with N invitations (40% pending; one address
in 10 at ``globex.test``), then times a page of 50 of each search through the product's selectors
(``internal_users.selectors.staff_list``, ``invitations.pending.pending_page``), sizes alternating call by call,
and prints queries, rows, medians and the ratio large/small. Then ``EXPLAIN ANALYZE`` of each at the large size,
with the indexes the plans use: the trigram indexes of internal_users/0003 and invitations/0003 must be among them,
and the search windows' covering indexes (internal_users/0004) must be read index-only. Exit status 1 when a page's
query count differs between the sizes, one of those indexes is not used so, or a plan reads a searched table with a
sequential scan.

Searches: a staff user's full email (one match), a common first name (``hana``, one staff user in 14), a last name
also in invitation addresses (``lee``, one in 10 of both); staff pending invitations by one address and by ``lee``;
the workspace's pending list by one address and by a domain (``globex``, one pending invitation in 8).

    python3 -m uv run python bench/search_scale.py           # 1,000 vs 100,000 (seeding takes most of it)
    python3 -m uv run python bench/search_scale.py --quick   # 1,000 vs 10,000, 10 runs: CI
    python3 -m uv run python bench/search_scale.py --seed realistic   # varied names, local parts and domains

``--seed synthetic`` (the default) is ``bench/staff_list.py``'s: every invitation address is
``invitee<7 digits>.<name>@example.org``, so nearly every trigram of an address is in nearly every row. ``--seed
realistic`` makes addresses as staff lists have them (deterministic, ``random.Random(13)``): first and last names
from longer lists (``Hana`` still one first name in 14, ``Lee`` one last name and one invitation address in 10), local
parts in six shapes (``ada.lovelace``, ``alovelace``, ``ada_lovelace2``, ...), one company domain for three staff
users in four and a spread of others, invitations to varied domains.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import two_sizes  # noqa: E402
from bench.load_common import say, throwaway_database  # noqa: E402

PAGE = 50
TRIGRAM_INDEXES = {
    "internal_users_inv_email_trgm",
    "accounts_user_staff_email_trgm",
    "accounts_user_staff_first_trgm",
    "invitations_email_trgm",
}


FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia", "Omar", "Priya"]
FIRST += ["Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Xavi", "Yara", "Zoe", "Amir", "Bea", "Carlos"]
FIRST += ["Dana", "Emeka", "Farah", "Goran", "Ines", "Jonas", "Keiko", "Luis", "Maya", "Noor", "Olga", "Pavel"]
LAST = ["Ng", "Diaz", "Okafor", "Smith", "Kowal", "Haddad", "Ito", "Moreau", "Rossi", "Garcia", "Müller", "Silva"]
LAST += ["Novak", "Khan", "Tanaka", "Dubois", "Jensen", "Papadopoulos", "Nguyen", "Fischer", "Costa", "Ivanova"]
LAST += ["Mensah", "Kim", "Larsen", "Oliveira", "Petrov", "Sato", "Walsh", "Zhang", "Bianchi", "Andersson"]
DOMAINS = ["acme-corp.com", "gmail.com", "outlook.com", "contractors.acme-corp.com", "proton.me", "yahoo.co.uk"]
DOMAINS += ["fastmail.fm", "globex.io", "initech.de", "umbrella.fr", "hooli.xyz", "wayne-ent.com", "stark.industries"]


def _ascii(name: str) -> str:
    return name.lower().replace("ü", "ue")


def _address(rng: random.Random, first: str, last: str, domain: str, taken: set[str]) -> str:
    f, la = _ascii(first), _ascii(last)
    shapes = [f"{f}.{la}", f"{f[0]}{la}", f"{f}{la[0]}", f"{f}_{la}", f"{la}.{f}", f"{f}"]
    local = rng.choice(shapes)
    address, n = f"{local}@{domain}", 1
    while address in taken:  # as real lists do: ada.lovelace2, ada.lovelace3, ...
        n += 1
        address = f"{local}{n}@{domain}"
    taken.add(address)
    return address


def _seed_realistic(rows: int) -> None:
    """``rows`` staff users and ``rows`` staff invitations with varied addresses, the states and times of
    ``bench/staff_list.py``'s seed (same shares of roles, inactive users and invitation states)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from internal_users.models import InternalInvitation

    rng = random.Random(13)  # noqa: S311 - a deterministic seed, not a secret
    now = timezone.now()
    taken: set[str] = set()
    users = []
    for i in range(rows):
        first = "Hana" if i % 14 == 7 else rng.choice(FIRST)
        last = "Lee" if (i // 7) % 10 == 0 else rng.choice(LAST)
        domain = "acme-corp.com" if rng.random() < 0.75 else rng.choice(DOMAINS)
        users.append(
            User(
                clerk_user_id=f"user_real{i:07d}",
                email=_address(rng, first, last, domain, taken),
                first_name=first,
                last_name=last,
                role="super_admin" if i % 100 == 0 else "admin" if i % 3 == 1 else "pm",
                is_internal=True,
                disabled_at=now if i % 10 == 9 else None,
                phone_verification_required=False,
                password="!bench-unusable",  # noqa: S106
            )
        )
    User.objects.bulk_create(users, batch_size=5_000)
    inviter = User.objects.order_by("pk").first()
    statuses = ["pending"] * 12 + ["failed"] + ["revoked"] * 3 + ["accepted"] * 3 + ["expired"]
    invitations = []
    for i in range(rows):
        status = statuses[i % len(statuses)]
        last = "Lee" if i % 10 == 0 else rng.choice(LAST)
        invitations.append(
            InternalInvitation(
                email=_address(rng, rng.choice(FIRST), last, rng.choice(DOMAINS), taken),
                role="admin" if i % 3 == 0 else "pm",
                status=status,
                clerk_invitation_id=None if status == "failed" else f"inv_real{i:07d}",
                inviter=inviter,
                inviter_email=(inviter.email or "") if inviter else "",
                expires_at=now,
                send_count=1,
            )
        )
    InternalInvitation.objects.bulk_create(invitations, batch_size=5_000)
    with connection.cursor() as cursor:  # times as bench/staff_list.py spreads them
        cursor.execute(
            """
            UPDATE internal_users_internalinvitation SET created_at = %s - make_interval(secs =>
                CASE WHEN status = 'pending' AND id %% 20 <> 0 THEN (id::bigint * 2654435761) %% 518400
                     ELSE 691200 + (id::bigint * 2654435761) %% 7084800 END
                + (id %% 1000) / 1000.0)
            """,
            [now],
        )
        cursor.execute("UPDATE internal_users_internalinvitation SET expires_at = created_at + interval '7 days'")
    two_sizes.analyze("accounts_user", "internal_users_internalinvitation")


def _seed(rows: int, kind: str) -> Any:
    from bench import staff_list

    if kind == "realistic":
        _seed_realistic(rows)
    else:
        staff_list._seed(rows, rows)
    return two_sizes.seed_workspace_invitations(rows)


def _pages(workspace: Any) -> two_sizes.Pages:
    from django.db.models.functions import Lower

    from accounts.models import User
    from internal_users.models import InternalInvitation
    from internal_users.selectors import staff_filters, staff_list
    from invitations.models import WorkspaceInvitation
    from invitations.pending import pending_page

    staff = User.objects.filter(is_internal=True).order_by(Lower("email"))
    one_user = staff[staff.count() // 2].email or ""
    invitations = InternalInvitation.objects.filter(status="pending").order_by("id")
    one_invitation = invitations[invitations.count() // 2].email
    open_rows = WorkspaceInvitation.objects.filter(workspace=workspace, status="pending").order_by("id")
    one_pending = open_rows[open_rows.count() // 3].email.split("@")[0].upper()

    def staff_search(search: str, status: str | None = None) -> Any:
        filters = staff_filters(search=search, status=status)
        return lambda: staff_list(filters=filters, limit=PAGE)

    def pending_search(query: str) -> Any:
        return lambda: pending_page(workspace=workspace, query=query)

    return {
        "staff, one email": staff_search(one_user),
        "staff, first name (1 in 14)": staff_search("hana"),
        "staff, 'lee' (1 in 10)": staff_search("lee"),
        "staff pending, one address": staff_search(one_invitation, "pending"),
        "staff pending, 'lee'": staff_search("lee", "pending"),
        "pending, one address": pending_search(one_pending),
        "pending, 'globex' (1 in 8)": pending_search("globex"),
    }


# The search windows' indexes, which carry what the walk tests (internal_users/0004): read index-only.
COVERING_INDEXES = ("accounts_user_staff_email_id", "internal_users_inv_created_id")
INDEX_ONLY = r"Index Only Scan (?:Backward )?using {} "

SEARCHED_TABLES = ("internal_users_internalinvitation", "accounts_user", "invitations_workspaceinvitation")


def _sequential_scans(figures: dict[str, two_sizes.Figures]) -> list[str]:
    """The pages whose statements read a searched table whole (``EXPLAIN ANALYZE`` on the current schema)."""
    found = []
    for name, page in figures.items():
        for sql in page.sql:
            text = two_sizes.plan(sql)
            found += [f"{name} ({table})" for table in SEARCHED_TABLES if f"Seq Scan on {table} " in text + " "]
    return sorted(set(found))


def _read_index_only(figures: dict[str, two_sizes.Figures]) -> set[str]:
    """The covering indexes that some statement reads with an index-only scan."""
    found = set()
    for page in figures.values():
        for sql in page.sql:
            text = two_sizes.plan(sql)
            found |= {name for name in COVERING_INDEXES if re.search(INDEX_ONLY.format(name), text)}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000 rows, 10 runs (CI)")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=None, help="rows at the large size (100,000)")
    parser.add_argument("--runs", type=int, default=None, help="timed calls per page (30)")
    parser.add_argument("--plans", action="store_true", help="print the full EXPLAIN ANALYZE plans")
    parser.add_argument("--seed", choices=("synthetic", "realistic"), default="synthetic", help="the staff addresses")
    args = parser.parse_args()
    large = args.large or (10_000 if args.quick else 100_000)
    runs = args.runs or (10 if args.quick else 30)
    with throwaway_database("search_scale") as database_url:
        two_sizes.setup(database_url)
        sizes = {}
        for schema, rows in (("small", args.small), ("large", large)):
            two_sizes.create_schema(schema)
            sizes[schema] = _pages(_seed(rows, args.seed))
            say(
                f"seeded ({args.seed}) {rows:,} staff users, {rows:,} staff invitations, {rows:,} workspace invitations"
            )
        figures = two_sizes.measure(sizes, runs)
        ok = two_sizes.report(f"search, page of {PAGE}", figures, args.small, large, runs)
        say(f"\nplans at {large:,} rows:")
        two_sizes.use("large")
        used = two_sizes.print_plans(figures["large"], full=args.plans)
        for index in sorted(TRIGRAM_INDEXES):
            found = index in used
            ok = ok and found
            say(f"trigram index {index}: {'used' if found else 'NOT USED'}")
        index_only = _read_index_only(figures["large"])
        for index in COVERING_INDEXES:
            ok = ok and index in index_only
            say(f"window index {index}: {'read index-only' if index in index_only else 'NOT READ INDEX-ONLY'}")
        scanned = _sequential_scans(figures["large"])
        ok = ok and not scanned
        say(f"sequential scans of the searched tables: {', '.join(scanned) or 'none'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
