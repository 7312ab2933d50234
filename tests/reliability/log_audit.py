"""pytest plugin: no secret in any log record or captured output of the whole run (reliability.md (b)
``secrets_not_logged``; issue 6 item 4).

Enabled from ``tests/conftest.py``::

    pytest_plugins = ["clerk_emulator.testing", "tests.reliability.log_audit"]

What is scanned, for the whole session:

1. every log record that reaches the root logger, as it is emitted: a handler installed *first* among the root
   handlers formats each record (message and traceback) before any other handler runs — in particular before the
   console handler's ``core.logging.RedactingFilter`` rewrites it. A secret the filter would have caught still
   counts: a record must not carry it in the first place (any other handler — an error tracker, a log shipper —
   would see it as is). Such hits are labelled ``redacted on the console``;
2. each test phase's captured stdout and stderr (``report.sections``: what the code printed, and what the console
   log handler wrote).

Not scanned: test source, assertion messages and failure reports (tests may well compare against a token), and
pytest's "Captured log" sections (the same records as 1).

Looked for: Clerk secret keys (``sk_test_``/``sk_live_``, and the configured values), svix signing secrets
(``whsec_``), svix signatures (``v1,<base64>``), JWTs (session tokens, and tickets, which are JWTs too), tickets in
URLs (``__clerk_ticket=``, ``ticket=``), and invitation links (``/v1/tickets/accept?ticket=``). Values already
replaced by ``[redacted]`` do not count.

Under pytest-xdist each worker scans its own tests and hands its hits (and counts) to the controller through
``workeroutput`` when it finishes; the controller lists them all and sets the exit status, as a serial run does.

At the end of the session each hit is listed with where it came from (test id, logger or stream) and a masked
excerpt (the secret itself is never printed again), and the run's exit status becomes 1. A test that must log a
secret on purpose (say, to test redaction end to end) is marked ``@pytest.mark.log_audit_allow(reason)``: its hits
are listed as allowed and do not fail the run. Set ``LOG_AUDIT=0`` to switch the audit off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Generator
from dataclasses import asdict, dataclass
from typing import Any

import pytest

HANDLER_NAME = "log-audit"
WORKER_OUTPUT_KEY = "log_audit"
MAX_HITS_SHOWN = 50

# (name, pattern). Order matters only for the label of a hit.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("clerk secret key", re.compile(r"\bsk_(?:test|live)_[A-Za-z0-9_]{8,}")),
    ("svix signing secret", re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}")),
    ("invitation link", re.compile(r"/v1/tickets/accept\?(?:[^\s\"'<>]*&)?ticket=(?!\[redacted\])[^&\s\"'<>]+")),
    ("ticket in a URL", re.compile(r"(?:__clerk_ticket|\bticket)=(?!\[redacted\])[^&\s\"'<>]{8,}")),
    ("JWT (session token or ticket)", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    ("svix signature", re.compile(r"\bv1,[A-Za-z0-9+/]{40,}={0,2}")),
]
# Cheap pre-check: a text containing none of these cannot match any pattern.
_HINTS = ("sk_", "whsec_", "ticket", "eyJ", "v1,")


@dataclass(frozen=True)
class Hit:
    kind: str
    source: str  # "log <logger> <LEVEL>" or "captured stdout/stderr (<phase>)"
    test: str  # the test id, or "(session)"
    excerpt: str  # masked
    redacted_on_console: bool = False
    allowed: str = ""  # the reason given by log_audit_allow, when the test allows it


def _cut(secret: str) -> str:
    return f"{secret[: min(6, max(3, len(secret) // 8))]}[…{len(secret)} chars]"


def _secret_spans(text: str, exact: list[str]) -> list[tuple[int, int]]:
    spans = [match.span() for _, pattern in PATTERNS for match in pattern.finditer(text)]
    for value in exact:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    return sorted(spans)


def _mask(text: str, start: int, end: int, exact: list[str]) -> str:
    """Some context around a match, with that secret and any other in sight cut down to their first characters
    (a secret that starts before the window is cut entirely)."""
    low, high = max(0, start - 60), min(len(text), end + 40)
    parts: list[str] = []
    position = low
    for span_start, span_end in _secret_spans(text, exact):
        if span_end <= position or span_start >= high:
            continue
        if span_start > position:
            parts.append(text[position:span_start])
        parts.append(_cut(text[span_start:span_end]) if span_start >= low else "[…]")
        position = span_end
    if position < high:
        parts.append(text[position:high])
    return "…" + "".join(parts).replace("\n", " ") + "…"


class _Audit:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: list[Hit] = []
        self.exact: list[str] = []  # configured secret values, looked for verbatim as well
        self.records = 0
        self.captures = 0
        self.current_test = "(session)"
        self.allowed_reason = ""

    def scan(self, text: str, *, source: str, redacted_on_console: bool = False) -> None:
        if not text or not (any(hint in text for hint in _HINTS) or any(value in text for value in self.exact)):
            return
        found: list[Hit] = []
        spans: list[tuple[int, int]] = []  # one hit per secret: an invitation link is not also "a ticket in a URL"

        def add(kind: str, start: int, end: int) -> None:
            if all(end <= seen_start or start >= seen_end for seen_start, seen_end in spans):
                spans.append((start, end))
                found.append(self._hit(kind, source, text, start, end, redacted_on_console))

        for kind, pattern in PATTERNS:
            for match in pattern.finditer(text):
                add(kind, match.start(), match.end())
        for value in self.exact:
            start = text.find(value)
            if start >= 0:
                add("configured secret value", start, start + len(value))
        if found:
            with self.lock:
                self.hits.extend(found)

    def _hit(self, kind: str, source: str, text: str, start: int, end: int, redacted: bool = False) -> Hit:
        excerpt = _mask(text, start, end, self.exact)
        return Hit(kind, source, self.current_test, excerpt, redacted, self.allowed_reason)


_audit = _Audit()


def _redacted_on_console(text: str) -> bool:
    """Whether the console handler's filter would have hidden every hit in ``text``."""
    try:
        from core.logging import redact
    except Exception:  # the project is not importable: assume not
        return False
    cleaned = redact(text)
    return not any(pattern.search(cleaned) for _, pattern in PATTERNS)


class AuditHandler(logging.Handler):
    """Formats every record it gets (message, traceback, stack) and scans it. Never fails the logging call."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.name = HANDLER_NAME

    def emit(self, record: logging.LogRecord) -> None:
        try:
            try:
                text = record.getMessage()
            except Exception:  # bad arguments: what would be printed is the message template and the arguments
                text = f"{record.msg} {record.args}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            elif record.exc_text:
                text += "\n" + record.exc_text
            if record.stack_info:
                text += "\n" + record.stack_info
            _audit.records += 1
            if any(hint in text for hint in _HINTS) or any(value in text for value in _audit.exact):
                _audit.scan(
                    text,
                    source=f"log {record.name} {record.levelname}",
                    redacted_on_console=_redacted_on_console(text),
                )
        except Exception:  # never let the audit break the code under test
            self.handleError(record)


_handler = AuditHandler()


def _install() -> None:
    """Put the handler first among the root handlers (again, if a test reconfigured logging)."""
    root = logging.getLogger()
    if root.handlers[:1] != [_handler]:
        if _handler in root.handlers:
            root.removeHandler(_handler)
        root.handlers.insert(0, _handler)


def _enabled(config: pytest.Config) -> bool:
    return os.environ.get("LOG_AUDIT", "1") != "0"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# --------------------------------------------------------------------------- hooks
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "log_audit_allow(reason): this test logs or prints a secret on purpose (tests/reliability/log_audit.py)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _enabled(session.config):
        return
    exact: set[str] = set()
    with contextlib.suppress(Exception):  # Django not configured: the patterns still apply
        from django.conf import settings

        for name in ("CLERK_SECRET_KEY", "CLERK_WEBHOOK_SIGNING_SECRET"):
            value = getattr(settings, name, "")
            if isinstance(value, str) and len(value) >= 12:
                exact.add(value)
    with contextlib.suppress(Exception):
        from clerk_emulator.state import DEFAULT_SECRET_KEY

        exact.add(DEFAULT_SECRET_KEY)
    _audit.exact = sorted(exact)
    _install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    if _enabled(item.config):
        _install()
        _audit.current_test = item.nodeid
        marker = item.get_closest_marker("log_audit_allow")
        _audit.allowed_reason = (
            str(marker.args[0] if marker.args else marker.kwargs.get("reason", "allowed")) if marker else ""
        )
    yield
    _audit.current_test = "(session)"
    _audit.allowed_reason = ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any]:
    outcome = yield
    if not _enabled(item.config):
        return
    report: pytest.TestReport = outcome.get_result()
    # Sections accumulate over setup, call and teardown: scan only this phase's own.
    for name, content in report.sections:
        for stream in ("stdout", "stderr"):
            if name == f"Captured {stream} {report.when}":
                _audit.captures += 1
                _audit.scan(content, source=f"captured {stream} ({report.when})")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _enabled(session.config):
        return
    logging.getLogger().removeHandler(_handler)
    if _is_worker(session.config):
        # The controller reports for the whole run (pytest_testnodedown below).
        session.config.workeroutput[WORKER_OUTPUT_KEY] = {  # type: ignore[attr-defined]
            "hits": [asdict(hit) for hit in _audit.hits],
            "records": _audit.records,
            "captures": _audit.captures,
        }
        return
    if any(not hit.allowed for hit in _audit.hits) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist, on the controller: take over what a finished worker found."""
    output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if not output:
        return
    with _audit.lock:
        _audit.hits.extend(Hit(**hit) for hit in output["hits"])
        _audit.records += output["records"]
        _audit.captures += output["captures"]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _enabled(config) or _is_worker(config):
        return
    failing = [hit for hit in _audit.hits if not hit.allowed]
    allowed = [hit for hit in _audit.hits if hit.allowed]
    summary = (
        f"log audit: {len(failing)} secret(s) in {_audit.records} log records and {_audit.captures} captured outputs"
        + (f" ({len(allowed)} allowed by log_audit_allow)" if allowed else "")
    )
    if not _audit.hits:
        terminalreporter.write_line(summary)
        return
    terminalreporter.section("secrets in logs (tests/reliability/log_audit.py)", sep="=", red=bool(failing))
    for hit in (failing + allowed)[:MAX_HITS_SHOWN]:
        flags = []
        if hit.redacted_on_console:
            flags.append("redacted on the console")
        if hit.allowed:
            flags.append(f"allowed: {hit.allowed}")
        note = f" [{'; '.join(flags)}]" if flags else ""
        terminalreporter.write_line(f"{hit.kind}{note}\n    in {hit.source} during {hit.test}\n    {hit.excerpt}")
    if len(_audit.hits) > MAX_HITS_SHOWN:
        terminalreporter.write_line(f"... and {len(_audit.hits) - MAX_HITS_SHOWN} more")
    terminalreporter.write_line(summary, red=bool(failing), bold=True)
