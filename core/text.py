"""Cleaning text that came from outside (Clerk profiles, organization names) before we store or show it.

``clean_text`` removes what must never reach a page, a log line or an email header: NUL and other control
characters (CR/LF included), bidirectional overrides and isolates (which reorder what a reader sees), other
invisible format characters, unpaired surrogates and unassigned code points; it collapses runs of whitespace
to one space, normalises to NFC and truncates to the column's length.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Cc: controls (NUL, CR, LF, DEL, C1); Cf: format (bidi embeddings, overrides and isolates U+202A-E, U+2066-9,
# marks U+200E/F, U+061C, zero-width characters); Cs: surrogates; Cn: unassigned; Zl/Zp: line and paragraph
# separators.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


def _kept(char: str) -> bool:
    return unicodedata.category(char) not in _DROPPED


def clean_text(value: object, *, max_length: int) -> str:
    """One line of plain, visible text of at most ``max_length`` characters ("" for anything not a string)."""
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFC", value)
    # Whitespace controls (tab, CR, LF) separate words: they become spaces; every other dropped character goes.
    kept = "".join(" " if char.isspace() else char for char in text if char.isspace() or _kept(char))
    return " ".join(kept.split())[:max_length].rstrip()


def is_clean(value: str, *, max_length: int) -> bool:
    return clean_text(value, max_length=max_length) == value


def without_nul(value: Any) -> Any:
    """``value`` (parsed JSON) with U+0000 removed from every string and key: PostgreSQL text and jsonb refuse it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value
