"""``{% clerk_js %}``: the ClerkJS script tag, as Clerk documents it, for pages that talk to Clerk."""

from __future__ import annotations

import logging

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.clerk_frontend import clerk_script

logger = logging.getLogger(__name__)
register = template.Library()


@register.simple_tag
def clerk_js() -> SafeString:
    """ClerkJS with ``data-clerk-publishable-key`` (and ``data-clerk-proxy-url`` when needed); a comment if unset.

    Page scripts wait for ``Clerk.load()`` through static/core/clerk.js (loaded by base.html); once loaded on a
    page, ClerkJS keeps the ``__session`` cookie fresh.
    """
    script = clerk_script()
    if script is None:
        logger.warning("ClerkJS is not configured: set CLERK_PUBLISHABLE_KEY")
        return mark_safe("<!-- ClerkJS is not configured (CLERK_PUBLISHABLE_KEY) -->")
    proxy = format_html(' data-clerk-proxy-url="{}"', script.proxy_url) if script.proxy_url else ""
    return format_html(
        '<script defer crossorigin="anonymous" data-clerk-publishable-key="{}"{} src="{}" '
        'type="text/javascript"></script>',
        script.publishable_key,
        proxy,
        script.src,
    )
