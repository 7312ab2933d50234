"""core/redirects.py: the one safe-redirect guard."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.redirects import safe_redirect

DEFAULT = "/dashboard/"


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/settings/?workspace=1", "/settings/?workspace=1"),
        ("http://testserver/settings/", "http://testserver/settings/"),
        ("https://evil.example/", DEFAULT),
        ("//evil.example/", DEFAULT),
        ("/\\evil.example/", DEFAULT),
        ("javascript:alert(1)", DEFAULT),
        ("", DEFAULT),
        (None, DEFAULT),
        ("/sign-in/?next=/x/", DEFAULT),
    ],
)
def test_only_this_site_and_not_the_excluded_pages(candidate: str | None, expected: str) -> None:
    request = RequestFactory().get("/")
    assert safe_redirect(request, candidate, default=DEFAULT, exclude=("/sign-in/",)) == expected


def test_within_keeps_only_targets_under_the_prefix() -> None:
    request = RequestFactory().get("/")
    base = "/internal/users/"
    assert safe_redirect(request, "/internal/users/?q=a", default=base, within=base) == "/internal/users/?q=a"
    assert safe_redirect(request, "/settings/", default=base, within=base) == base
