"""Clerk session tokens → our users: one verification shared by the page middleware and the DRF class.

Where the token comes from: ``Authorization: Bearer <token>`` first (API clients, scripts, cross-origin callers),
else the ``__session`` cookie ClerkJS sets on our origin (pages, same-origin fetches).

How it is verified, offline (no Clerk call per request):

- the key is ``CLERK_JWT_KEY`` (Clerk's PEM "JWKS public key") when set; otherwise the instance's JWKS, fetched once
  through the gateway (``GET /v1/jwks``), kept in this process and in Django's cache, and fetched again when a
  token names an unknown ``kid`` (a key rotation) — at most once per ``JWKS_REFRESH_INTERVAL_S`` per process, so
  a flood of forged ``kid`` values cannot turn into a flood of Clerk calls; the cache is optional (Redis down:
  this process's copy and Clerk are used, never a 500);
- RS256 only; ``exp``, ``nbf`` and ``iat`` checked with ``LEEWAY_S`` of clock skew; ``exp``, ``iat`` and ``sub``
  required;
- ``azp`` (the origin of the page that asked ClerkJS for the token) must be one of ``CLERK_AUTHORIZED_PARTIES``
  when the token has one. Tokens minted by the Backend API (``POST /v1/sessions/{id}/tokens``, what scripts and
  tests use) carry no ``azp``; they are accepted like Clerk's own SDKs accept them. An empty
  ``CLERK_AUTHORIZED_PARTIES`` turns the ``azp`` check off (again as Clerk's SDKs do).

Who it is: the token's ``sub`` is a Clerk user id. A user we already mirror is read from the database (so roles
and deactivation always come from the database, and a role change applies on the next request). A user we have not
seen yet — their ``user.created`` webhook may still be on its way — is fetched from the Backend API and upserted
right here (``accounts.services.user_get_or_fetch``); a request never waits for a webhook. Deactivated (banned)
users are refused.

Outcomes: API requests with a bad, expired, foreign or wrong-``azp`` token, or of a deactivated user, get 401
(``AuthenticationFailed`` → ``core.api.exception_handler``); pages just see an anonymous user (and redirect to
sign-in). When Clerk itself cannot be reached (the JWKS or a first-seen user cannot be fetched) the request fails
with ``ClerkUnavailable`` (503), not 401: nobody is signed out by an outage.

Cookie-authenticated unsafe API requests must pass Django's CSRF check (as DRF's ``SessionAuthentication``
enforces it); Bearer-authenticated ones need not (a browser never attaches that header by itself).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from accounts import clerk
from accounts.models import User
from accounts.services import ClerkDataStale, user_get_or_fetch
from core.exceptions import NotAuthenticated

logger = logging.getLogger(__name__)

SESSION_COOKIE = "__session"
LEEWAY_S = 5
JWKS_REFRESH_INTERVAL_S = 60.0
JWKS_RETRY_AFTER_FAILURE_S = 5.0
JWKS_CACHE_TIMEOUT_S = 24 * 3600
ALGORITHMS = ["RS256"]
_REQUEST_ATTR = "_clerk_authentication"

type TokenSource = Literal["header", "cookie"]
type AuthResult = tuple[User, dict[str, Any]]


class InvalidSessionToken(NotAuthenticated):
    """The request carries a session token we do not accept (API: 401; pages: anonymous)."""

    default_message = "The session token is not valid."

    def __init__(self, message: str | None = None, *, reason: str = "token_invalid") -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------- the token
def session_token(request: HttpRequest) -> tuple[str, TokenSource] | None:
    """The session token and where it came from; ``None`` when the request has none."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), "header"
    cookie = request.COOKIES.get(SESSION_COOKIE, "")
    if cookie:
        return cookie, "cookie"
    return None


# --------------------------------------------------------------------------- keys
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.+?)-----END \1-----", re.DOTALL)


@functools.lru_cache(maxsize=4)
def _pem_key(pem: str) -> RSAPublicKey:
    """``CLERK_JWT_KEY`` as a key; tolerates the one-line form (newlines stripped) the dashboard copy often has."""
    match = _PEM.search(pem)
    if match is not None:
        body = "\n".join(textwrap.wrap(re.sub(r"\s+", "", match[2]), 64))
        pem = f"-----BEGIN {match[1]}-----\n{body}\n-----END {match[1]}-----\n"
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ImproperlyConfigured("CLERK_JWT_KEY is not a PEM public key.") from exc
    if not isinstance(key, RSAPublicKey):
        raise ImproperlyConfigured("CLERK_JWT_KEY must be an RSA public key (Clerk signs session tokens with RS256).")
    return key


class _JwksKeys:
    """This process's copy of the JWKS, and when it may next be fetched."""

    def __init__(self) -> None:
        self.keys: dict[str, RSAPublicKey] = {}
        self.next_fetch_at = 0.0
        self.lock = threading.Lock()


_jwks = _JwksKeys()


def _jwks_cache_key() -> str:
    # One entry per Clerk instance (API URL + secret key, hashed: the key itself never leaves settings).
    instance = f"{settings.CLERK_API_URL}|{settings.CLERK_SECRET_KEY}".encode()
    return f"accounts:clerk:jwks:{hashlib.sha256(instance).hexdigest()[:16]}"


# The shared copy is only a cache: when the cache backend is down (Redis unreachable), keys are fetched from Clerk
# and kept in this process as usual, and authentication goes on; it never turns into a 500.
def _shared_jwks_get() -> Any:
    try:
        return cache.get(_jwks_cache_key())
    except Exception as exc:
        logger.warning("shared JWKS copy unreadable (%s); using this process's copy", type(exc).__name__)
        return None


def _shared_jwks_set(jwks: dict[str, Any]) -> None:
    try:
        cache.set(_jwks_cache_key(), jwks, JWKS_CACHE_TIMEOUT_S)
    except Exception as exc:
        logger.warning("shared JWKS copy not stored (%s)", type(exc).__name__)


def _shared_jwks_delete() -> None:
    try:
        cache.delete(_jwks_cache_key())
    except Exception as exc:
        logger.warning("shared JWKS copy not deleted (%s)", type(exc).__name__)


def _parse_jwks(jwks: dict[str, Any]) -> dict[str, RSAPublicKey]:
    keys: dict[str, RSAPublicKey] = {}
    for jwk in jwks.get("keys") or []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", "RS256") != "RS256" or not isinstance(jwk.get("kid"), str):
            continue
        try:
            key = jwt.PyJWK(jwk, algorithm="RS256").key
        except jwt.PyJWTError:
            logger.warning("ignoring an unusable key in Clerk's JWKS (kid %s)", jwk.get("kid"))
            continue
        if isinstance(key, RSAPublicKey):
            keys[jwk["kid"]] = key
    return keys


def _jwks_key(kid: str) -> RSAPublicKey:
    key = _jwks.keys.get(kid)
    if key is not None:
        return key
    with _jwks.lock:  # one fetch at a time; the others find its result
        key = _jwks.keys.get(kid)
        if key is not None:
            return key
        shared = _shared_jwks_get()
        if isinstance(shared, dict):
            _jwks.keys = _parse_jwks(shared)
            key = _jwks.keys.get(kid)
            if key is not None:
                return key
        now = time.monotonic()
        if now < _jwks.next_fetch_at:
            if not _jwks.keys:
                raise clerk.ClerkUnavailable("Session keys are unavailable. Try again in a moment.")
            raise InvalidSessionToken("The session token is signed by an unknown key.", reason="unknown_kid")
        try:
            fetched = clerk.get_jwks()
        except clerk.ClerkError:
            _jwks.next_fetch_at = now + JWKS_RETRY_AFTER_FAILURE_S
            raise
        _jwks.next_fetch_at = now + JWKS_REFRESH_INTERVAL_S
        _shared_jwks_set(fetched)
        _jwks.keys = _parse_jwks(fetched)
        logger.info("fetched Clerk's JWKS (%d keys)", len(_jwks.keys))
    key = _jwks.keys.get(kid)
    if key is None:
        raise InvalidSessionToken("The session token is signed by an unknown key.", reason="unknown_kid")
    return key


def _signing_key(token: str) -> RSAPublicKey:
    pem: str = settings.CLERK_JWT_KEY
    if pem:
        return _pem_key(pem)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(reason="token_malformed") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidSessionToken(reason="token_malformed")
    return _jwks_key(kid)


def reset_caches() -> None:
    """Forget the keys (process and shared cache); the next token fetches them again. For tests and key changes."""
    global _jwks
    _jwks = _JwksKeys()
    _pem_key.cache_clear()
    _shared_jwks_delete()


@receiver(setting_changed)
def _clerk_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CLERK_JWT_KEY", "CLERK_API_URL", "CLERK_SECRET_KEY"):
        reset_caches()


# --------------------------------------------------------------------------- verification
def _authorized_parties() -> set[str]:
    parties: list[str] = settings.CLERK_AUTHORIZED_PARTIES
    return {party.rstrip("/") for party in parties if party}


def verify_session_token(token: str) -> dict[str, Any]:
    """The claims of a valid session token; ``InvalidSessionToken`` otherwise (the reason is on the error)."""
    if token.count(".") != 2:
        raise InvalidSessionToken(reason="token_malformed")
    key = _signing_key(token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=ALGORITHMS, leeway=LEEWAY_S, options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidSessionToken("The session token has expired.", reason="token_expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidSessionToken("The session token is not valid yet.", reason="token_not_active_yet") from exc
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(reason="token_invalid") from exc
    azp = claims.get("azp")
    parties = _authorized_parties()
    if azp is not None and parties and (not isinstance(azp, str) or azp.rstrip("/") not in parties):
        raise InvalidSessionToken("The session token was not issued for this site.", reason="token_invalid_azp")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise InvalidSessionToken(reason="token_invalid")
    return claims


def _user(clerk_user_id: str) -> User:
    """The token's user: read from the database, or (first seen) fetched from Clerk and upserted."""
    try:
        return user_get_or_fetch(clerk_user_id=clerk_user_id)
    except clerk.ClerkNotFound as exc:
        raise InvalidSessionToken("This account no longer exists.", reason="user_not_found") from exc
    except ClerkDataStale as exc:
        raise InvalidSessionToken("This account is not available.", reason="user_stale") from exc


def _verify(token: str) -> AuthResult:
    claims = verify_session_token(token)
    user = _user(claims["sub"])
    if not user.is_active:
        raise InvalidSessionToken("This account is deactivated.", reason="user_disabled")
    return user, claims


def authenticate_request(request: HttpRequest) -> AuthResult | None:
    """``(user, claims)`` for the request's session token, ``None`` when it has none.

    Raises ``InvalidSessionToken`` (a ``NotAuthenticated``) for a token we refuse and ``clerk.ClerkUnavailable``
    when Clerk is needed and cannot be reached. Computed once per request (pages and API share the result).
    """
    memo: tuple[AuthResult | None, Exception | None] | None = getattr(request, _REQUEST_ATTR, None)
    if memo is None:
        found = session_token(request)
        try:
            memo = (_verify(found[0]) if found is not None else None, None)
        except (InvalidSessionToken, clerk.ClerkError) as exc:
            log = logger.debug if getattr(exc, "reason", "") == "token_expired" else logger.info
            log("session token refused: %s", getattr(exc, "reason", exc.code))
            memo = (None, exc)
        setattr(request, _REQUEST_ATTR, memo)
    result, error = memo
    if error is not None:
        raise error
    return result


# --------------------------------------------------------------------------- pages
def _page_identity(request: HttpRequest) -> tuple[User | AnonymousUser, dict[str, Any]]:
    try:
        result = authenticate_request(request)
    except InvalidSessionToken:
        result = None
    return result if result is not None else (AnonymousUser(), {})


class ClerkSessionMiddleware:
    """Sets ``request.user`` (our ``User`` or ``AnonymousUser``) and ``request.auth_claims`` (``{}`` if anonymous).

    Without a token this costs nothing. With one, both are lazy: verification runs the first time a view reads
    them, so the webhook endpoint and other views that never look are untouched, and a Clerk outage surfaces
    inside the view (as a 503 page) rather than in the middleware chain. An invalid token on a page means
    "anonymous"; the page's own guard redirects to sign-in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if session_token(request) is None:
            request.user = AnonymousUser()
            request.auth_claims = {}  # type: ignore[attr-defined]
        else:
            request.user = cast(User, SimpleLazyObject(lambda: _page_identity(request)[0]))
            request.auth_claims = SimpleLazyObject(lambda: _page_identity(request)[1])  # type: ignore[attr-defined]
        return self.get_response(request)


# --------------------------------------------------------------------------- API
class ClerkSessionAuthentication(BaseAuthentication):
    """DRF: ``(user, claims)`` from the session token, ``None`` without one, 401 for a token we refuse."""

    def authenticate(self, request: Request) -> AuthResult | None:
        django_request = request._request
        try:
            result = authenticate_request(django_request)
        except InvalidSessionToken as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        if result is not None:
            found = session_token(django_request)
            if found is not None and found[1] == "cookie":
                self.enforce_csrf(django_request)
        return result

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def enforce_csrf(request: HttpRequest) -> None:
        """Django's CSRF check, as DRF's ``SessionAuthentication`` runs it for cookie-authenticated requests."""

        def no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
            raise AssertionError

        check = CSRFCheck(no_response)
        check.process_request(request)  # populates request.META["CSRF_COOKIE"]
        reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class ClerkSessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How drf-spectacular documents ``ClerkSessionAuthentication``."""

    target_class = "accounts.authentication.ClerkSessionAuthentication"
    name = "clerkSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Clerk session token, as `Authorization: Bearer <token>` or the `__session` cookie.",
        }
