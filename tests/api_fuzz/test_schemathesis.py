"""Schemathesis against the live API: every operation in /api/schema/, positive and negative data, every default
check, every phase ``st run`` has (examples, coverage, fuzzing, stateful). See docs/api-fuzzing.md.

A failure prints schemathesis' report for each failing case: the check, the response, and a curl command that
reproduces it against a server started the same way. Below the run, the cases it found, pinned as plain tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from rest_framework.test import APIClient

from accounts.models import Workspace
from accounts.roles import Role
from tests.api_fuzz.conftest import FUZZ_GROUPS, FuzzTarget, max_examples, run_schemathesis
from tests.conftest import SignedInClient

# The default budget (50 examples per operation) takes a few minutes on two cores; FUZZ_MAX_EXAMPLES scales it.
TIMEOUT_S = max(600, 12 * max_examples())


# Untraced by coverage (pytest-cov's no_cover): under its tracer the fuzzer's own data generation ran 2.4 times slower,
# and the fuzzer is here to find wrong answers, not to count lines; every line it reaches has a direct test.
@pytest.mark.no_cover
@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize("group", FUZZ_GROUPS)
def test_every_operation_passes_every_check(fuzz_target: FuzzTarget, group: str) -> None:
    run = run_schemathesis(fuzz_target, path_regex=FUZZ_GROUPS[group])

    assert run.operations, "no operation was tested"
    report = run.failure_report()
    if report:
        pytest.fail(f"schemathesis found problems:\n\n{report}", pytrace=False)


def test_every_operation_is_fuzzed_in_exactly_one_group() -> None:
    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    assert paths
    for path in paths:
        groups = [name for name, regex in FUZZ_GROUPS.items() if re.search(regex, path)]
        assert len(groups) == 1, f"{path} is fuzzed by {groups or 'no group'}"


# --------------------------------------------------------------------------- what the fuzzer found, pinned
@pytest.fixture
def super_admin_and_workspace(
    db: None, signed_in: Callable[..., SignedInClient], clerk_workspace: Callable[..., Workspace]
) -> tuple[SignedInClient, Workspace]:
    return signed_in(Role.SUPER_ADMIN), clerk_workspace("Acme")


@pytest.mark.parametrize("endpoint", ["invitations", "members"])
@pytest.mark.parametrize(
    ("query", "status"),
    [
        # ST201: DRF ignored a malformed page_size and answered 200 with the default page.
        ("page_size=null&page_size=null", 400),
        ("page_size=abc", 400),
        ("page_size=0", 400),
        ("page_size=101", 400),  # DRF cut it to 100 quietly; the schema now says `maximum: 100`
        ("page_size=5&page_size=x", 400),  # every value of a repeated parameter is checked
        ("page=last", 400),  # DRF's alias, not an integer
        ("page=0", 400),
        ("page=", 400),
        ("page=1&page_size=100", 200),
        ("page=2", 404),  # well-formed, past the end
        (f"page={'9' * 5000}", 404),  # past any end (and past what int() would parse)
    ],
)
def test_pagination_answers_what_the_schema_says(
    super_admin_and_workspace: tuple[SignedInClient, Workspace], endpoint: str, query: str, status: int
) -> None:
    client, workspace = super_admin_and_workspace
    response = client.get(f"/api/workspaces/{workspace.pk}/{endpoint}/?{query}")
    assert response.status_code == status, response.content
    if status == 400:
        body = response.json()
        assert body["code"] == "invalid"
        assert set(body["extra"]["fields"]) <= {"page", "page_size"}


@pytest.mark.django_db
def test_the_invite_schema_refuses_what_the_server_refuses(
    super_admin_and_workspace: tuple[SignedInClient, Workspace],
) -> None:
    """ST202: ``{"emails": [""]}`` matched the schema but got 400; so did a list of nothing but spaces."""
    client, workspace = super_admin_and_workspace
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    request_schema: dict[str, Any] = {
        **schema["components"]["schemas"]["InviteRequest"],
        "components": schema["components"],  # for its $refs
    }
    url = f"/api/workspaces/{workspace.pk}/invitations/"

    for emails, status in [([""], 400), ([" ", "\u3000"], 400), (["", "ann@example.com"], 400)]:
        body = {"emails": emails, "role": "member"}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, request_schema)
        assert client.post(url, body, format="json").status_code == status
    for emails in (["bob@example.com", "  "], ["\ufeff"]):  # spaces are skipped; U+FEFF is not a space to Python
        body = {"emails": emails, "role": "member"}
        jsonschema.validate(body, request_schema)
        assert client.post(url, body, format="json").status_code == 200
