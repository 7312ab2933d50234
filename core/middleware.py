"""Page errors: what a browser gets when a page view raises one of our ``core.exceptions``.

Services and page guards raise the same errors the API renders as JSON (``core.api.exception_handler``). For HTML
pages this middleware turns them into what a person expects: ``NotAuthenticated`` becomes a redirect to the
sign-in page (with a ``next`` that cannot point off-site), ``PermissionDenied`` the styled 403 page, ``RateLimited``
the 429 page with ``Retry-After``, and any other ``ApplicationError`` a styled page with its status and message.
The API (``/api/``, where DRF renders errors itself) and the webhook endpoint are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from core.api import error_body
from core.exceptions import ApplicationError, NotAuthenticated, PermissionDenied, RateLimited
from core.redirects import is_safe_redirect

MACHINE_PATH_PREFIXES = ("/api/", "/webhooks/")


def sign_in_url(next_url: str | None = None) -> str:
    url = reverse("sign-in")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _return_path(request: HttpRequest) -> str | None:
    """Where to come back after signing in: this page for a GET, the page the form was on for anything else."""
    if request.method in ("GET", "HEAD"):
        candidate: str | None = request.get_full_path()
    else:
        referer = request.headers.get("Referer", "")
        parts = urlsplit(referer)
        candidate = parts.path + (f"?{parts.query}" if parts.query else "") if referer else None
        if candidate and not is_safe_redirect(request, referer):
            candidate = None
    return candidate if is_safe_redirect(request, candidate) else None


def redirect_to_sign_in(request: HttpRequest) -> HttpResponse:
    url = sign_in_url(_return_path(request))
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class PageErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError) or request.path.startswith(MACHINE_PATH_PREFIXES):
            return None
        if isinstance(exception, NotAuthenticated):
            return redirect_to_sign_in(request)
        context = {"error": exception, "message": exception.message, "status": exception.http_status}
        if isinstance(exception, PermissionDenied):
            return render(request, "403.html", context, status=403)
        if isinstance(exception, RateLimited):
            response = render(request, "429.html", {**context, "retry_after": exception.retry_after}, status=429)
            response["Retry-After"] = str(exception.retry_after)
            return response
        return render(request, "error.html", context, status=exception.http_status)


class ApiServerErrorMiddleware:
    """Every 5xx under ``/api/`` leaves as the JSON error shape, whatever produced it.

    DRF renders our errors itself; this catches the rest: an exception our handler does not know (Django turns it
    into its HTML 500 page, or the debug page when ``DEBUG`` is on) and failures in the middleware below this one.
    It sits near the top of ``MIDDLEWARE`` so that it sees the response those produce.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 500
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return server_error_response(response.status_code)
        return response


def server_error_response(status: int = 500) -> HttpResponse:
    messages = {
        502: "An upstream service returned an error.",
        503: "The service is unavailable. Try again in a moment.",
        504: "An upstream service did not answer in time.",
    }
    body = error_body("server_error", messages.get(status, "Something went wrong on our side. Try again later."))
    return JsonResponse(body, status=status)


# Django's technical 404 and 500 pages (shown when DEBUG is on) carry this robots tag; ours never do.
_TECHNICAL_PAGE_MARK = b'content="NONE,NOARCHIVE"'


class ProductErrorPagesMiddleware:
    """With ``DEBUG`` on (the demo, ``make run``), people still see the product's own 404 and 500 pages.

    Django shows its technical pages whenever ``DEBUG`` is on; ``PRODUCT_ERROR_PAGES_IN_DEBUG`` (on in
    ``config/settings/local.py``) replaces them for pages with ``templates/404.html`` and ``500.html``. The
    traceback is still logged (``django.request``) and the API keeps its JSON errors. Set it to ``False`` to see
    Django's pages while debugging.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code in (404, 500)
            and settings.DEBUG
            and getattr(settings, "PRODUCT_ERROR_PAGES_IN_DEBUG", False)
            and not request.path.startswith(MACHINE_PATH_PREFIXES)
            and not response.streaming
            and _TECHNICAL_PAGE_MARK in response.content
        ):
            if response.status_code == 404:
                return render(request, "404.html", status=404)
            # As Django's own server_error view: no request context, so a failing database cannot fail it again.
            return HttpResponse(loader.get_template("500.html").render(), status=500)
        return response
