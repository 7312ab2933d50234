"""``core.text_search.first_matches``: the same rows, in the same order, as the plain search, whichever way it answers
(walking the list's index, or the trigram index), and the plans that make it cost the same at any table size."""

from __future__ import annotations

import pytest

from accounts.models import User, Workspace
from core.text_search import contains, first_matches
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


def _search(workspace: Workspace, text: str, need: int, window: int) -> list[int]:
    return first_matches(
        WorkspaceInvitation.objects.filter(workspace=workspace),
        match=lambda indexed: contains("email", text, indexed=indexed),
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
