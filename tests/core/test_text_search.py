"""``core.text_search.first_matches``: the same rows, in the same order, as the plain search, whichever way it answers
(walking the list's index, or the trigram index), and the plans that make it cost the same at any table size."""

from __future__ import annotations

import pytest

from accounts.models import User, Workspace
from core.text_search import contains, first_matches, probe
from invitations.models import WorkspaceInvitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitations() -> Workspace:
    workspace = Workspace.objects.create(clerk_organization_id="org_ts", name="TS", slug="ts")
    inviter = User.objects.create(clerk_user_id="user_ts", email="admin@ts.test")
    WorkspaceInvitation.objects.bulk_create(
        WorkspaceInvitation(
            workspace=workspace,
            email=f"person{i:03d}@{'globex.test' if i % 4 == 0 else 'example.com'}",
            status="pending" if i % 2 else "revoked",
            inviter=inviter,
            expires_at="2099-01-01T00:00:00Z",
        )
        for i in range(120)
    )
    return workspace


def _plain(workspace: Workspace, text: str, need: int) -> list[int]:
    rows = WorkspaceInvitation.objects.filter(workspace=workspace, email__icontains=text).order_by("-created_at", "-id")
    return list(rows.values_list("pk", flat=True)[:need])


def _search(workspace: Workspace, text: str, need: int, window: int, common: frozenset[str] = frozenset()) -> list[int]:
    return first_matches(
        WorkspaceInvitation.objects.filter(workspace=workspace),
        match=lambda indexed: contains("email", text, indexed=indexed, common=common),
        key="created_at",
        descending=True,
        need=need,
        window=window,
    )


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("GLOBEX", 500),  # the window holds the whole list: walked
        ("globex", 40),  # 10 matches in the first 40 rows: a page of 5 is found by the walk
        ("person11", 40),  # 10 matches, none in the first 40 rows: the trigram branch answers
        ("person119", 3),  # one match, the newest row
        ("nobody", 40),
    ],
)
def test_the_first_matches_are_those_of_the_plain_search(invitations: Workspace, text: str, window: int) -> None:
    for need in (1, 5, 11, 200):
        assert _search(invitations, text, need, window) == _plain(invitations, text, need)


def test_ascending_keys_and_expressions_order_the_same_way(invitations: Workspace) -> None:
    rows = WorkspaceInvitation.objects.filter(workspace=invitations)
    found = first_matches(
        rows, match=lambda indexed: contains("email", "GLOBEX", indexed=indexed), key="email", descending=False, need=7
    )
    expected = rows.filter(email__icontains="globex").order_by("email", "pk").values_list("pk", flat=True)[:7]
    assert found == list(expected)


# Trigrams every row of the fixture has: its prefix and its two domains.
COMMON = frozenset({"per", "ers", "rso", "son", "glo", "lob", "obe", "bex", "tes", "est", "exa", "xam", "amp", "mpl"})


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("person11", 40),  # asks the index for "on11" (person110-119, person011 has "on01")
        ("son116@globex.test", 40),  # asks for "on116": person116 is at globex.test
        ("son117@globex.test", 40),  # asks for "on117": person117 is at example.com, so the re-test drops it
        ("globex.test", 40),  # every trigram common: the whole text is asked for
        ("son117@globex.test", 500),  # walked
    ],
)
def test_asking_the_index_for_the_rare_parts_finds_the_same_rows(
    invitations: Workspace, text: str, window: int
) -> None:
    for need in (1, 5, 200):
        assert _search(invitations, text, need, window, COMMON) == _plain(invitations, text, need)


def test_the_probe_keeps_the_runs_of_rare_trigrams() -> None:
    assert probe("Person117@Globex.test", COMMON) == ["on117"]
    assert probe("invitee0050000.lee@example.org", {"inv", "nvi", "vit", "ite", "tee", "ee0", "e00", "exa"}) == [
        "0050000",
        "lee",
        "xample",
        "org",
    ]
    assert probe("ada.lovelace", COMMON) == []  # nothing common: the whole text, as the index is asked anyway
    assert probe("globex.test", COMMON) == []  # nothing rare: the whole text
    assert probe("ab son", COMMON) == []  # words under 3 letters have no trigram
