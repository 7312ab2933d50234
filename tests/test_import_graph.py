"""The import graph between the project's packages, from each module's top-level imports (an ast walk, no import).

Two rules: only ``accounts/clerk.py`` imports the Clerk SDK (``clerk_backend_api``; ruff's banned-api rule says the
same for the linter), and every import between apps is either allowed (``ALLOWED``: the feature apps build on
accounts and core, accounts on core, config wires everything) or one of ``KNOWN_VIOLATIONS``, the ones issue 15
wants gone (the feature apps reaching into each other, core into accounts). The violations are checked exactly: a
new one fails, and so does one that was removed while its line stays here. Imports inside functions are not counted
(they are how a cycle is broken today). ``pytest -rA tests/test_import_graph.py -s`` prints which app imports which.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "core", "invitations", "internal_users", "clerk_emulator", "config")
SDK = "clerk_backend_api"
SDK_GATEWAY = "accounts/clerk.py"

# (importing app, imported app)
ALLOWED: set[tuple[str, str]] = {
    ("accounts", "core"),
    ("invitations", "accounts"),
    ("invitations", "core"),
    ("internal_users", "accounts"),
    ("internal_users", "core"),
    ("accounts", "clerk_emulator"),  # manage.py rundemo starts the emulator for a local run
    *(("config", app) for app in APPS if app != "config"),
}
KNOWN_VIOLATIONS: set[tuple[str, str]] = {
    ("core", "accounts"),  # core/audit.py's actor
}


def _modules() -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def _top_level_imports(path: Path) -> Iterator[str]:
    """Modules imported by statements outside functions and classes (inside ``if``/``try`` at module level too)."""
    pending: list[ast.stmt] = list(ast.parse(path.read_text(), filename=str(path)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif isinstance(node, ast.If | ast.Try):
            pending += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            pending += [statement for handler in getattr(node, "handlers", []) for statement in handler.body]


def _graph() -> tuple[set[tuple[str, str]], dict[tuple[str, str], list[str]], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    sdk_users: list[str] = []
    for app, path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        for module in _top_level_imports(path):
            top = module.split(".")[0]
            if top == SDK:
                sdk_users.append(relative)
            elif top in APPS and top != app:
                edges.setdefault((app, top), []).append(relative)
    return set(edges), edges, sdk_users


def test_only_the_gateway_imports_the_clerk_sdk() -> None:
    _, _, sdk_users = _graph()
    assert sorted(set(sdk_users)) == [SDK_GATEWAY]


def test_imports_between_apps_are_allowed_or_known_violations() -> None:
    found, where, _ = _graph()
    report = "\n".join(f"  {a} -> {b}: {', '.join(sorted(set(files)))}" for (a, b), files in sorted(where.items()))
    print(f"imports between apps:\n{report}")
    violations = found - ALLOWED
    assert not violations - KNOWN_VIOLATIONS, f"new: {sorted(violations - KNOWN_VIOLATIONS)}\n{report}"
    gone = KNOWN_VIOLATIONS - violations
    assert not gone, f"no longer imported (take them out of KNOWN_VIOLATIONS): {sorted(gone)}"
