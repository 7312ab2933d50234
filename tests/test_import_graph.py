"""The import graph between the project's packages, from every import statement of each module (an ast walk, no import).

Two rules: only ``accounts/clerk.py`` imports the Clerk SDK (``clerk_backend_api``; ruff's banned-api rule says the
same for the linter), and every import between apps is allowed (``ALLOWED``): the feature apps build on accounts and
core, accounts on core, config wires everything. Neither feature app imports the other and core imports no app, in
functions and under ``TYPE_CHECKING`` too (issue 15). ``pytest -rA tests/test_import_graph.py -s`` prints which app
imports which.
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


def _modules() -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports by an absolute import, wherever the statement is (functions, ``TYPE_CHECKING``)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def _graph() -> tuple[set[tuple[str, str]], dict[tuple[str, str], list[str]], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    sdk_users: list[str] = []
    for app, path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        for module in _imports(path):
            top = module.split(".")[0]
            if top == SDK:
                sdk_users.append(relative)
            elif top in APPS and top != app:
                edges.setdefault((app, top), []).append(relative)
    return set(edges), edges, sdk_users


def test_only_the_gateway_imports_the_clerk_sdk() -> None:
    _, _, sdk_users = _graph()
    assert sorted(set(sdk_users)) == [SDK_GATEWAY]


def test_imports_between_apps_are_allowed() -> None:
    found, where, _ = _graph()
    report = "\n".join(f"  {a} -> {b}: {', '.join(sorted(set(files)))}" for (a, b), files in sorted(where.items()))
    print(f"imports between apps:\n{report}")
    assert not found - ALLOWED, f"not allowed: {sorted(found - ALLOWED)}\n{report}"
