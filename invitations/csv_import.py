"""Reading an invite list from a CSV file: one address per row, optionally a workspace role beside it.

Accepted: UTF-8 (with or without a byte-order mark, as Excel writes it), ``,`` or ``;`` separated, an optional header
row naming the ``email`` and ``role`` columns (any order, other columns ignored). Without a header the first column
is the email and the second, when present, the role. The file is capped in bytes and in rows, with an error that
says which cap was hit. Nothing here decides whether an address may be invited: every row goes through the same
check as typed addresses (``invitations.invite_check``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from core.exceptions import InvalidInput
from invitations.services import MAX_EMAILS

MAX_CSV_BYTES = 64 * 1024
MAX_CSV_ROWS = MAX_EMAILS
_EMAIL_HEADERS = frozenset({"email", "e-mail", "email address", "e-mail address", "mail"})
_ROLE_HEADERS = frozenset({"role", "workspace role"})


class CsvRejected(InvalidInput):
    """The file as a whole cannot be read; ``extra.reason`` says why (``too_large``, ``too_many_rows``, ...)."""

    code = "invalid_csv"
    default_message = "The CSV file could not be read."


@dataclass(frozen=True)
class CsvEntry:
    line: int  # 1-based line in the file, for messages ("line 4")
    email: str  # as written (stripped)
    role: str  # as written, lowercased; "" when the row has no role


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRejected(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.", extra={"reason": "encoding"}
        ) from None


def _separator(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if first.count(";") > first.count(",") else ","


def _columns(header: list[str]) -> tuple[int, int | None] | None:
    """``(email column, role column)`` when the row is a header, else ``None``."""
    names = [cell.strip().lower() for cell in header]
    if any("@" in name for name in names):
        return None
    email_col = next((i for i, name in enumerate(names) if name in _EMAIL_HEADERS), None)
    if email_col is None:
        if names and names[0] and not any(name in _ROLE_HEADERS for name in names):
            return None  # no header words at all: a data row (with a bad address, reported as such)
        raise CsvRejected(
            "The header row has no “email” column.", extra={"reason": "no_email_column", "header": names[:10]}
        )
    role_col = next((i for i, name in enumerate(names) if name in _ROLE_HEADERS), None)
    return email_col, role_col


def parse_invite_csv(data: bytes) -> list[CsvEntry]:
    """The rows of an uploaded invite list; blank rows skipped. ``CsvRejected`` for a file that cannot be read."""
    if len(data) > MAX_CSV_BYTES:
        raise CsvRejected(
            f"The file is too large: at most {MAX_CSV_BYTES // 1024} KB.",
            extra={"reason": "too_large", "max_bytes": MAX_CSV_BYTES},
        )
    text = _decode(data)
    if "\x00" in text:
        raise CsvRejected("The file is not a CSV text file.", extra={"reason": "not_text"})
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text)))
    except csv.Error as exc:
        raise CsvRejected(f"The file is not valid CSV: {exc}.", extra={"reason": "malformed"}) from None
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise CsvRejected("The file has no addresses in it.", extra={"reason": "empty"})
    email_col: int = 0
    role_col: int | None = 1
    columns = _columns(numbered[0][1])
    if columns is not None:
        email_col, role_col = columns
        numbered = numbered[1:]
    if len(numbered) > MAX_CSV_ROWS:
        raise CsvRejected(
            f"The file has {len(numbered)} rows: invite up to {MAX_CSV_ROWS} people at a time.",
            extra={"reason": "too_many_rows", "rows": len(numbered), "max_rows": MAX_CSV_ROWS},
        )
    entries = []
    for number, row in numbered:
        email = row[email_col].strip() if email_col < len(row) else ""
        role = row[role_col].strip().lower() if role_col is not None and role_col < len(row) else ""
        entries.append(CsvEntry(line=number, email=email, role=role))
    return entries
