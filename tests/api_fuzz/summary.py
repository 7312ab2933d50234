"""pytest plugin: one API fuzzing summary for the whole run, serial or under pytest-xdist.

``tests/api_fuzz/conftest.py`` hands each finished schemathesis run's summary lines to :func:`record`. In a serial
run they are printed at the end and written to ``FUZZ_SUMMARY_PATH`` (``/tmp/fuzz-summary.txt``). Under xdist the
controller never loads ``tests/api_fuzz/conftest.py`` and runs no test, so each worker passes its lines on through
``workeroutput`` when it finishes and the controller, which loads this plugin from ``tests/conftest.py``, prints
and writes them once (as ``tests/reliability/log_audit.py`` does with its hits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

WORKER_OUTPUT_KEY = "api_fuzz_summary"
SUMMARY_PATH = Path(os.environ.get("FUZZ_SUMMARY_PATH", "/tmp/fuzz-summary.txt"))  # noqa: S108

_lines: list[str] = []


def record(lines: list[str]) -> None:
    """Add one schemathesis run's summary lines to this process's report."""
    _lines.extend(lines)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_worker(session.config) and _lines:
        session.config.workeroutput[WORKER_OUTPUT_KEY] = list(_lines)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist, on the controller: take over the summary lines of a finished worker."""
    _lines.extend(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, ()))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config) or not _lines:
        return
    terminalreporter.write_sep("-", "API fuzzing (schemathesis)")
    for line in _lines:
        terminalreporter.write_line(line)
    SUMMARY_PATH.write_text("\n".join(_lines) + "\n")
