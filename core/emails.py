"""The one email normaliser: every address we store, compare or send to Clerk goes through ``normalize_email``.

An address is folded to one form so that two spellings of it are one key: Unicode NFC, then ``str.casefold`` on the
local part (NFC again after it), and the domain as its ASCII (IDNA 2008, UTS 46) form, lowercase, without a
trailing dot. Invitations, staff invitations and users hold this form and their unique constraints are on it.

Folding is for *our* keys only: Clerk may hold two users whose addresses fold together (the Kelvin sign ``K``
against ``K``, NFC against NFD). Matching such a user onto a stored row is decided in ``accounts.services``, never
by the fold alone.
"""

from __future__ import annotations

import re
import unicodedata

import idna

from core.exceptions import InvalidInput

MAX_LOCAL_PART = 64  # characters, after folding (RFC 5321 §4.5.3.1.1, counted in characters for UTF-8 addresses)
MAX_DOMAIN = 253
MAX_EMAIL = 320  # the email columns

# Characters never allowed in the local part (RFC 5322 specials and whitespace; quoted local parts are refused).
_LOCAL_FORBIDDEN = re.compile(r'[\s"(),:;<>@\[\\\]]')
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    default_message = "This is not a valid email address."


def _refuse(value: str, why: str) -> InvalidEmail:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return InvalidEmail(f"{shown!r} is not a valid email address: {why}.", extra={"reason": why})


_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~.")


def _local_char(char: str) -> bool:
    """RFC 5322 atext in ASCII; beyond ASCII only letters, marks and digits (no symbols, e.g. emoji)."""
    if char.isascii():
        return char.isalnum() or char in _ATEXT
    return unicodedata.category(char)[0] in "LMN"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for char in text)


def normalize_email(value: str) -> str:
    """The stored form of ``value``, or ``InvalidEmail`` (a 400 ``invalid_email``) saying why not."""
    if not isinstance(value, str):
        raise _refuse(repr(value), "not text")
    text = unicodedata.normalize("NFC", value.strip())
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise _refuse(text, "it needs one @ between a name and a domain")
    local = unicodedata.normalize("NFC", local.casefold())
    if _has_control(local) or _LOCAL_FORBIDDEN.search(local) or not all(_local_char(char) for char in local):
        raise _refuse(text, "the part before @ has characters addresses cannot have")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise _refuse(text, "the part before @ has a misplaced dot")
    if len(local) > MAX_LOCAL_PART:
        raise _refuse(text, f"the part before @ is longer than {MAX_LOCAL_PART} characters")
    domain = _ascii_domain(text, domain)
    email = f"{local}@{domain}"
    if len(email) > MAX_EMAIL:
        raise _refuse(text, f"it is longer than {MAX_EMAIL} characters")
    return email


def _ascii_domain(text: str, domain: str) -> str:
    domain = domain.removesuffix(".")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise _refuse(text, "the domain is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > MAX_DOMAIN or not all(_LABEL.match(label) for label in labels):
        raise _refuse(text, "the domain is not a valid domain name")
    return ascii_domain


def normalize_email_or_none(value: str | None) -> str | None:
    """``normalize_email``, with ``None`` for a missing or unusable address (data from Clerk, never user input)."""
    if not value:
        return None
    try:
        return normalize_email(value)
    except InvalidEmail:
        return None


def same_address(raw: str, stored: str | None) -> bool:
    """Whether Clerk's ``raw`` address is the ``stored`` one without any Unicode folding (ASCII case only).

    Clerk keeps addresses unique up to ASCII case, so only this match proves the stored row's Clerk user gave the
    address up; a match that needs folding may be another, living, person.
    """
    return stored is not None and _ascii_lower(raw.strip()) == stored


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
