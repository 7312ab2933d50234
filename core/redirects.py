"""The one safe-redirect guard: every ``next=``, ``back=`` and return path on a page goes through here.

A target is kept only when it stays on this site (a path, or an absolute URL to this host; https only on https,
Django's ``url_has_allowed_host_and_scheme``), optionally only under one prefix and never under excluded ones;
otherwise the caller's default is used. See docs/security.md ("Hostile input", open redirects).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_redirect(request: HttpRequest, url: str | None) -> bool:
    """A redirect target on this site: a path, or an absolute URL to this host (https only on https)."""
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_redirect(
    request: HttpRequest, candidate: str | None, *, default: str, within: str = "", exclude: Iterable[str] = ()
) -> str:
    """``candidate`` when it is safe, starts with ``within`` and with none of ``exclude``; ``default`` otherwise."""
    if not candidate or not is_safe_redirect(request, candidate) or not candidate.startswith(within):
        return default
    return default if any(candidate.startswith(prefix) for prefix in exclude) else candidate
