"""Vendor axe-core's browser build from npm into ``clerk_emulator/vendor/axe-core/`` (``make vendor-axe``).

Copies ``axe.min.js`` with its licences (``LICENSE``, ``LICENSE-3RD-PARTY.txt``) and writes ``manifest.json``
(version, the tarball's sha512 integrity, each file's sha256), as ``vendor_clerk_js.py`` does for ClerkJS. The
browser tests inject it into each page they check (``tests/browser.py``'s ``axe_violations``); nothing is
downloaded at run time.

    python scripts/vendor_axe_core.py [--version 4.14.1]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import npm_tarball

PACKAGE = "axe-core"
DEFAULT_VERSION = "4.14.1"
FILES = ("axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt")
TARGET = Path(__file__).resolve().parent.parent / "clerk_emulator" / "vendor" / "axe-core"


def vendor(version: str, target: Path = TARGET) -> dict[str, str]:
    """Replace ``target`` with axe-core ``version``; returns the manifest's file list."""
    tarball = npm_tarball.fetch(PACKAGE, version)
    members = tarball.members()
    missing = [name for name in FILES if name not in members]
    if missing:
        raise ValueError(f"{PACKAGE}@{version} has no {', '.join(missing)}")
    return npm_tarball.write_vendored(tarball, {name: members[name] for name in FILES}, target)


def main(argv: list[str] | None = None) -> int:
    return npm_tarball.vendor_main(
        argv, doc=__doc__ or PACKAGE, package=PACKAGE, default_version=DEFAULT_VERSION, target=TARGET, vendor=vendor
    )


if __name__ == "__main__":
    sys.exit(main())
