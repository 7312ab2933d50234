"""What a Clerk user or organization becomes in our columns: the one place that decides, per field, whether Clerk's
value is kept, cleaned, truncated or dropped. The upserts (accounts.services) store these values and clerk_sync
(accounts.sync) compares against them, so data we had to clean never shows up as drift.

Per field (docs/security.md, "Identities"):

- email: ``core.emails.normalize_email``; an address that cannot be normalised is stored as NULL (the user is
  mirrored without an email, like a phone-only user);
- first and last name, organization name: ``core.text.clean_text`` (control characters, bidi overrides and other
  invisible characters removed, whitespace collapsed) and truncated to the column;
- organization slug: kept when it fits and is a valid slug; otherwise the organization's Clerk id (lowercased),
  which is unique and always fits;
- image URL: kept when it is an http(s) URL that fits the column, otherwise empty;
- phone number: kept when it is ``+`` and digits and fits, otherwise empty;
- timestamps outside 1970..9999: read as 0 (see ``accounts.clerk_types``), so that data applies only where nothing
  newer is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accounts.clerk_types import ClerkOrganization, ClerkUser
from core.text import clean_text

NAME_LENGTH = 150
IMAGE_URL_LENGTH = 500
PHONE_LENGTH = 32
WORKSPACE_NAME_LENGTH = 256
SLUG_LENGTH = 256

_PHONE = re.compile(r"^\+[0-9]{1,31}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class UserFields:
    email: str | None
    first_name: str
    last_name: str
    image_url: str
    phone_number: str
    cleaned: tuple[str, ...]  # the fields whose Clerk value was changed or dropped


def user_fields(clerk_user: ClerkUser) -> UserFields:
    first_name = clean_text(clerk_user.first_name, max_length=NAME_LENGTH)
    last_name = clean_text(clerk_user.last_name, max_length=NAME_LENGTH)
    image_url = clerk_user.image_url
    if (
        len(image_url) > IMAGE_URL_LENGTH
        or not image_url.startswith(("https://", "http://"))
        or clean_text(image_url, max_length=IMAGE_URL_LENGTH) != image_url
    ):
        image_url = ""
    phone = clerk_user.phone_number if _PHONE.match(clerk_user.phone_number) else ""
    email = clerk_user.email or None
    cleaned = tuple(
        name
        for name, ours, theirs in (
            ("first_name", first_name, clerk_user.first_name),
            ("last_name", last_name, clerk_user.last_name),
            ("image_url", image_url, clerk_user.image_url),
            ("phone_number", phone, clerk_user.phone_number),
        )
        if ours != theirs
    )
    if clerk_user.raw_email and email is None:
        cleaned = ("email", *cleaned)  # Clerk holds an address we cannot use
    return UserFields(email, first_name, last_name, image_url, phone, cleaned + clerk_user.out_of_range)


@dataclass(frozen=True)
class WorkspaceFields:
    name: str
    slug: str
    cleaned: tuple[str, ...]


def workspace_fields(organization: ClerkOrganization) -> WorkspaceFields:
    slug = organization.slug
    if len(slug) > SLUG_LENGTH or not _SLUG.match(slug):
        slug = organization.id.lower()[:SLUG_LENGTH]
    name = clean_text(organization.name, max_length=WORKSPACE_NAME_LENGTH) or slug
    cleaned = tuple(
        field
        for field, ours, theirs in (("name", name, organization.name), ("slug", slug, organization.slug))
        if ours != theirs
    )
    return WorkspaceFields(name, slug, cleaned + organization.out_of_range)
