"""Pages: sign-in (and its "Forgot password?"), sign-out, the dashboard and the account page.

Credentials never reach Django. On ``/sign-in/`` ClerkJS sends the email and password to Clerk, makes the new session
active and sets the ``__session`` cookie (a session token that lives 60 s and that ClerkJS keeps refreshing on every
page that loads it). ``accounts.authentication.ClerkSessionMiddleware`` verifies that cookie on each request and sets
``request.user``. These views only validate input, read through selectors and render.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.roles import Role
from accounts.selectors import workspace_memberships_for_user
from core.exceptions import NotAuthenticated, PermissionDenied
from core.middleware import sign_in_url
from core.redirects import safe_redirect

SESSION_COOKIE_PREFIX = "__session"  # ClerkJS sets `__session`, and newer versions also `__session_<suffix>`


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in, active user; ``NotAuthenticated`` (→ redirect to sign-in) otherwise."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_active:
        raise NotAuthenticated()
    return user


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` when it stays on this site and is not an auth page itself; the dashboard otherwise."""
    return safe_redirect(
        request, candidate, default=reverse("dashboard"), exclude=(reverse("sign-in"), reverse("sign-out"))
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    """Auth pages: never cached (``never_cache`` adds the rest), and no referrer with ``next`` in it leaves the site."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.GET.get("next") or request.POST.get("next"))
    user = getattr(request, "user", None)
    if request.method != "POST" and isinstance(user, User) and user.is_active:
        return HttpResponseRedirect(next_url)
    context: dict[str, Any] = {"next_url": next_url, "email": ""}
    status = 200
    if request.method == "POST":
        # The form only posts when its script did not run: the password goes to Clerk from the browser, never here.
        context["error"] = "Signing in needs JavaScript. Turn it on for this site and try again."
        context["email"] = request.POST.get("email", "")[:320]
        status = 400
    return _no_store(render(request, "accounts/sign_in.html", context, status=status))


@never_cache
@require_GET
def sign_in_forgot(request: HttpRequest) -> HttpResponse:
    """Clerk's ``reset_password_email_code`` flow, run by ClerkJS (static/accounts/auth.js): code by email, new
    password, signed in."""
    next_url = safe_next(request, request.GET.get("next"))
    return _no_store(render(request, "accounts/sign_in_forgot.html", {"next_url": next_url}))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; POST (CSRF-checked) clears our cookie and lets ClerkJS end the Clerk session."""
    if request.method != "POST":
        return _no_store(render(request, "accounts/sign_out.html", {"confirm": True}))
    response = render(request, "accounts/sign_out.html", {"confirm": False, "sign_in_url": sign_in_url()})
    for name in request.COOKIES:
        if name.startswith(SESSION_COOKIE_PREFIX):
            response.delete_cookie(name, path="/", samesite="Lax")
    response.delete_cookie(SESSION_COOKIE_PREFIX, path="/", samesite="Lax")
    return _no_store(response)


@never_cache
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    memberships = list(workspace_memberships_for_user(user=user))
    if not memberships and user.role == Role.SUPER_ADMIN:
        # A super admin in no workspace would find only an empty list here: they land on the internal dashboard.
        return HttpResponseRedirect(reverse("internal_users:dashboard"))
    context = {"account": user, "memberships": memberships}
    return render(request, "accounts/dashboard.html", context)


@never_cache
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    """Name, password and phone number, changed in Clerk by ClerkJS's user resource (static/accounts/account.js)."""
    user = signed_in_user(request)
    return render(request, "accounts/account.html", {"account": user})


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """Replaces Django admin's login form: Django holds no passwords, so people sign in through Clerk.

    An active super admin goes on to ``next``; anyone else who is signed in gets the 403 page (redirecting them to
    sign-in again would loop, since they already are signed in).
    """
    next_url = safe_redirect(request, request.GET.get("next"), default=reverse("admin:index"))
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_active:
        if user.is_staff:
            return HttpResponseRedirect(next_url)
        raise PermissionDenied("The Django admin is only for super admins.")
    return HttpResponseRedirect(sign_in_url(next_url))
