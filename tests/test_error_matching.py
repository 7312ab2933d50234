"""Views and page helpers match error classes, never code strings (issue 15, item 6).

A code is the API's contract with clients; inside the server a refusal is known by its class (``core.exceptions``
and the apps' ``errors.py``), so renaming a code or raising a subclass cannot silently change what a page shows.
This scans the entry points (views, API views, middleware, page helpers, bulk actions) for comparisons of an
error's ``code`` and fails on any it finds.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = [
    *sorted(ROOT.glob("*/views*.py")),
    *sorted(ROOT.glob("*/*_views.py")),
    *sorted(ROOT.glob("*/api/*.py")),
    *sorted(ROOT.glob("*/middleware.py")),
    ROOT / "core" / "pages.py",
    ROOT / "invitations" / "bulk.py",
]


def _code_checks(source: str) -> list[int]:
    """Lines that compare ``<something>.code`` (==, !=, in, not in) or call ``.code.startswith``/``endswith``."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Attribute) and o.attr == "code" for o in operands):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"startswith", "endswith"}
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "code"
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_code_comparisons() -> None:
    sample = 'a = exc.code == "x"\nb = exc.code in {"y"}\nc = exc.code.startswith("z")\nd = exc.message == "m"\n'
    assert _code_checks(sample) == [1, 2, 3]


def test_entry_points_match_error_classes_not_codes() -> None:
    assert len(ENTRY_POINTS) > 10  # the globs still find the views
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in ENTRY_POINTS
        if path.exists()
        for line in _code_checks(path.read_text())
    }
    assert not found, f"match the error's class instead of its code: {sorted(found)}"
