"""Vendor ClerkJS's browser build from npm into ``clerk_emulator/vendor/clerk-js/`` (``make vendor-clerk-js``).

Copies ``dist/clerk.browser.js``, every chunk it loads (``*_clerk.browser_<hash>_<version>.js``) and the licence, and
writes ``manifest.json`` (version, the tarball's sha512 integrity, each file's sha256). The emulator serves these
files at Clerk's script paths; nothing is downloaded at run time.

    python scripts/vendor_clerk_js.py [--version 6.40.0]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import npm_tarball

PACKAGE = "@clerk/clerk-js"
DEFAULT_VERSION = "6.40.0"
TARGET = Path(__file__).resolve().parent.parent / "clerk_emulator" / "vendor" / "clerk-js"


def browser_files(files: dict[str, bytes], version: str) -> dict[str, bytes]:
    chunk = re.compile(rf"^dist/[A-Za-z0-9_-]+_clerk\.browser_[0-9a-f]+_{re.escape(version)}\.js$")
    picked = {path: data for path, data in files.items() if path == "dist/clerk.browser.js" or chunk.match(path)}
    if "dist/clerk.browser.js" not in picked:
        raise ValueError(f"{PACKAGE}@{version} has no dist/clerk.browser.js")
    picked["LICENSE"] = files["LICENSE"]
    return picked


def vendor(version: str, target: Path = TARGET) -> dict[str, str]:
    """Replace ``target`` with the browser build of ``version``; returns the manifest's file list."""
    tarball = npm_tarball.fetch(PACKAGE, version)
    return npm_tarball.write_vendored(tarball, browser_files(tarball.members(), version), target)


def main(argv: list[str] | None = None) -> int:
    return npm_tarball.vendor_main(
        argv, doc=__doc__ or PACKAGE, package=PACKAGE, default_version=DEFAULT_VERSION, target=TARGET, vendor=vendor
    )


if __name__ == "__main__":
    sys.exit(main())
