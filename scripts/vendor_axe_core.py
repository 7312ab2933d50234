"""Vendor axe-core's browser build from npm into ``clerk_emulator/vendor/axe-core/`` (``make vendor-axe``).

Copies ``axe.min.js`` with its licences (``LICENSE``, ``LICENSE-3RD-PARTY.txt``) and writes ``manifest.json``
(version, the tarball's sha512 integrity, each file's sha256), as ``vendor_clerk_js.py`` does for ClerkJS. The
browser tests inject it into each page they check (``tests/browser.py``'s ``axe_violations``); nothing is
downloaded at run time.

    python scripts/vendor_axe_core.py [--version 4.14.1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
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
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in FILES:
        (target / name).write_bytes(members[name])
    files = {name: hashlib.sha256(members[name]).hexdigest() for name in sorted(FILES)}
    manifest = {"package": PACKAGE, "version": version, "tarball_integrity": tarball.integrity, "files": files}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help=f"exact version (default {DEFAULT_VERSION})")
    args = parser.parse_args(argv)
    files = vendor(args.version)
    print(f"Vendored {PACKAGE}@{args.version} ({len(files)} files) into {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
