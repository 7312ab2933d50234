"""Module docstrings and docs/ cite only files and modules that exist in this repository (issue 15, item 6).

A citation is a path whose first part is one of the repository's top-level folders (``accounts/services.py``,
``docs/security.md``, ``bench/history_list.py``), the outside ``reference/`` folder, an upper-case root document
(``README.md``, ``CONTRIBUTING.md``), a relative Markdown link in docs/, or, in a module docstring, a dotted module of
ours (``accounts.identity``). Paths with wildcards or braces, URLs and npm package paths are not citations.
``KNOWN`` lists the citations that stay until their module is rewritten; it is checked exactly, like
tests/test_import_graph.py's known violations: a new dead citation fails, and so does a fixed one left listed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "core", "invitations", "internal_users", "clerk_emulator", "config", "bench", "scripts")
TOP = {path.name for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith(".")} | {"reference"}
_EXT = r"(?:py|md|js|html|css|toml|ya?ml|json|txt|sh|cfg|ini|lock)"
_PATH = re.compile(r"(?<![\w/.:@{*<-])([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*\." + _EXT + r")(?![\w/{*-])")
_DOTTED = re.compile(r"(?<![\w./-])(" + "|".join(PACKAGES) + r")\.([a-z_][a-z0-9_]*)\b(?!\.md)")
_LINK = re.compile(r"\]\(([^)#\s]+)")

# (citing file, cited file): dead citations in modules another change rewrites (issue 15, item 3's split).
KNOWN: set[tuple[str, str]] = set()


def cited_paths(text: str) -> Iterator[str]:
    for match in _PATH.finditer(text):
        ref = match[1]
        if ("/" in ref and ref.split("/")[0] in TOP) or re.fullmatch(r"[A-Z_]+\.md", ref):
            yield ref


def cited_modules(text: str) -> Iterator[str]:
    for match in _DOTTED.finditer(text):
        yield f"{match[1]}/{match[2]}"


def _module_exists(ref: str) -> bool:
    return (ROOT / f"{ref}.py").exists() or (ROOT / ref).is_dir()


def _sources() -> Iterator[tuple[Path, str, bool]]:
    """(file, text, is a module docstring) for every module docstring and every page of docs/."""
    for package in (*PACKAGES, "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
            if docstring:
                yield path, docstring, True
    for path in sorted((ROOT / "docs").rglob("*.md")):
        yield path, path.read_text(), False


def dead_citations() -> set[tuple[str, str]]:
    dead: set[tuple[str, str]] = set()
    for path, text, is_docstring in _sources():
        name = str(path.relative_to(ROOT))
        dead |= {(name, ref) for ref in cited_paths(text) if not (ROOT / ref).exists()}
        if is_docstring:
            dead |= {(name, ref.replace("/", ".")) for ref in cited_modules(text) if not _module_exists(ref)}
        else:
            links = (match[1] for match in _LINK.finditer(text))
            dead |= {
                (name, ref)
                for ref in links
                if "://" not in ref and not ref.startswith("mailto:") and not (path.parent / ref).exists()
            }
    return dead


def test_what_counts_as_a_citation() -> None:
    text = (
        "see accounts/services.py, docs/nope.md and DESIGN.md; not https://x.org/a/b.py, "
        "clerk-js@6/dist/clerk.browser.js, tests/**/test_*.py, invitations/{a,b}.py or issue 15"
    )
    assert list(cited_paths(text)) == ["accounts/services.py", "docs/nope.md", "DESIGN.md"]
    modules = "accounts.identity, core.nowhere.thing, docs/internal-user-invitations.md, clerk.get_user"
    assert list(cited_modules(modules)) == ["accounts/identity", "core/nowhere"]
    assert not _module_exists("core/nowhere")
    assert _module_exists("accounts/identity")


def test_docstrings_and_docs_cite_only_what_exists() -> None:
    dead = dead_citations()
    assert dead - KNOWN == set(), "cited but not in the repository"
    assert KNOWN - dead == set(), "fixed: remove these from KNOWN"
