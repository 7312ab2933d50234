"""Views shared by every app: the rate-limit answer for pages, and the API docs page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from drf_spectacular.views import SpectacularSwaggerView

from core.api import DEFAULT_RETRY_AFTER_S, error_body


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``RATELIMIT_VIEW``: 429 with ``Retry-After`` (django-ratelimit would otherwise answer 403)."""
    response: HttpResponse
    if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
        body = error_body("rate_limited", "Too many requests. Try again later.", {"retry_after": DEFAULT_RETRY_AFTER_S})
        response = JsonResponse(body, status=429)
    else:
        html = render_to_string("429.html", {"retry_after": DEFAULT_RETRY_AFTER_S}, request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(DEFAULT_RETRY_AFTER_S)
    return response


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI from drf-spectacular-sidecar's files, with ClerkJS loaded like on every other page: it keeps the
    60-second ``__session`` cookie fresh, so "Try it out" keeps working for a signed-in person."""

    template_name = "core/api_docs.html"
