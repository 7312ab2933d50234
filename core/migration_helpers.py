"""Data-migration helpers shared by the ``*_normalize_emails`` migrations of accounts, invitations, internal_users."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from core.emails import normalize_email_or_none
from core.text import clean_text

logger = logging.getLogger(__name__)


def normalize_rows(
    model: Any,
    *,
    email_field: str = "email",
    key: Callable[[Any, str], object] = lambda row, email: email,
    empty_to_null: bool = False,
    names: dict[str, int] | None = None,
) -> None:
    """Rewrite every row's email to ``core.emails.normalize_email`` form, and clean ``names`` (field → length).

    A row whose normalised address would collide with another's (``key``: what the unique constraint covers) keeps
    its address and is logged; an address that cannot be normalised is kept as it is (or NULL with ``empty_to_null``
    when it is empty). Rows are visited by primary key, so earlier rows win a collision.
    """
    rows = model.objects.order_by("pk")
    taken = {key(row, getattr(row, email_field)) for row in rows if getattr(row, email_field)}
    for row in rows.iterator():
        changed: list[str] = []
        current = getattr(row, email_field)
        if empty_to_null and current == "":
            setattr(row, email_field, None)
            changed.append(email_field)
        normalized = normalize_email_or_none(current) if current else None
        if normalized is not None and normalized != current:
            if key(row, normalized) in taken:
                logger.warning(
                    "%s %s: %r folds onto another row's address; left as it is", model.__name__, row.pk, current
                )
            else:
                taken.discard(key(row, current))
                taken.add(key(row, normalized))
                setattr(row, email_field, normalized)
                changed.append(email_field)
        for name, length in (names or {}).items():
            cleaned = clean_text(getattr(row, name), max_length=length)
            if cleaned != getattr(row, name):
                setattr(row, name, cleaned)
                changed.append(name)
        if changed:
            model.objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in changed})
