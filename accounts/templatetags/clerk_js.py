"""``{% clerk_js %}``: the ClerkJS script tag, as Clerk documents it, for pages that talk to Clerk."""

from __future__ import annotations

import logging

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.clerk_frontend import clerk_js_url

logger = logging.getLogger(__name__)
register = template.Library()


@register.simple_tag
def clerk_js() -> SafeString:
    """``<script defer crossorigin data-clerk-publishable-key src=…/clerk.browser.js>``; a comment if unconfigured.

    Pages then call ``Clerk.load()`` (static/accounts/auth.js), which keeps the ``__session`` cookie fresh.
    """
    src = clerk_js_url()
    if not src:
        logger.warning("ClerkJS is not configured: set CLERK_PUBLISHABLE_KEY (or CLERK_FRONTEND_API_URL)")
        return mark_safe("<!-- ClerkJS is not configured (CLERK_PUBLISHABLE_KEY) -->")
    return format_html(
        '<script defer crossorigin="anonymous" data-clerk-publishable-key="{}" src="{}" '
        'type="text/javascript"></script>',
        settings.CLERK_PUBLISHABLE_KEY,
        src,
    )
