"""The branded staff invitation email (issue 5, item 3).

Built with django-templated-mail 1.1.1, minding its two known bugs (docs/internal-user-invitations.md, "The email"):
the template keeps its ``subject``/``text_body``/``html_body`` blocks at the top level (``{% extends %}`` renders
empty), so the shared layout lives in ``templates/email/`` and is pulled in with ``{% include %}``; the subject and
text part turn autoescape off; the absolute https URL is passed in the context (templated-mail defaults to http
without a request); callers in tasks pass plain values, never the message object (it holds ``request`` and cannot be
pickled).
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from templated_mail.mail import BaseEmailMessage

from accounts.roles import INTERNAL_ROLES, Role
from core.emails import InvalidEmail, normalize_email
from core.exceptions import InvalidInput
from core.text import clean_text

logger = logging.getLogger(__name__)
INVITER_NAME_LENGTH = 300  # InternalInvitation.inviter_name

INVITATION_TEMPLATE = "internal_users/email/invitation.html"

# Characters that end a header line somewhere (RFC 5322 parsers, Python's str.splitlines): refusing them all
# closes header injection and Django 6's "Header values may not contain linefeed" ValueError.
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def _has_line_break(value: str) -> bool:
    return any(char in _LINE_BREAKS for char in value)


def _check_email(email: str) -> str:
    if _has_line_break(email):
        raise InvalidInput("The email address must not contain line breaks.", extra={"field": "email"})
    try:
        return normalize_email(email)
    except InvalidEmail:
        raise InvalidInput("Enter a valid email address.", extra={"field": "email"}) from None


def _check_invite_url(invite_url: str) -> str:
    if _has_line_break(invite_url) or any(char.isspace() for char in invite_url):
        raise InvalidInput("The invitation link must not contain whitespace.", extra={"field": "invite_url"})
    try:
        parts = urlsplit(invite_url)
        hostname = parts.hostname
    except ValueError:
        raise InvalidInput("The invitation link is not a valid URL.", extra={"field": "invite_url"}) from None
    if not hostname:
        raise InvalidInput("The invitation link must be an absolute URL.", extra={"field": "invite_url"})
    if parts.scheme == "https" or (parts.scheme == "http" and hostname in _LOCAL_HOSTS):
        return invite_url
    raise InvalidInput(
        "The invitation link must use https (http is only allowed for 127.0.0.1 or localhost).",
        extra={"field": "invite_url"},
    )


def _role_label(role: str) -> str:
    if role not in Role.values or role not in INTERNAL_ROLES:
        raise InvalidInput("Unknown staff role.", extra={"field": "role"})
    return str(Role(role).label)


def send_internal_invite_email(
    *,
    email: str,
    invite_url: str,
    role: str,
    inviter_name: str = "",
    expires_at: datetime | None = None,
) -> None:
    """Send one multipart (text + HTML) staff invitation to ``email`` from ``DEFAULT_FROM_EMAIL``.

    ``invite_url`` is the absolute Clerk ticket URL and is sent unchanged. Raises ``InvalidInput`` for an email
    address with line breaks, a non-https link (except 127.0.0.1/localhost), or an unknown role.
    The invite URL is never logged: it carries a sign-up ticket.
    """
    address = _check_email(email)
    url = _check_invite_url(invite_url)
    role_label = _role_label(role)
    # A display name from Clerk may carry CR/LF, NUL or bidi overrides: cleaned, never a reason to fail the email.
    inviter_name = clean_text(inviter_name, max_length=INVITER_NAME_LENGTH)

    message = BaseEmailMessage(
        template_name=INVITATION_TEMPLATE,
        context={
            "invite_url": url,
            "role_label": role_label,
            "inviter_name": inviter_name,
            "expires_at": expires_at,
            "protocol": "https",
        },
    )
    message.send(to=[address], from_email=settings.DEFAULT_FROM_EMAIL)
    logger.info("internal invitation email sent (role=%s)", role)
