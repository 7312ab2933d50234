"""Clerk's own ClerkJS browser build (vendored from npm), served at Clerk's script paths.

Pages load ``/npm/@clerk/clerk-js@6/dist/clerk.browser.js``; the bundle then loads its chunks from
``/npm/@clerk/clerk-js@<exact version>/dist/`` (it rewrites the major tag in its own URL to the exact version).
``scripts/vendor_clerk_js.py`` refreshes the files; ``manifest.json`` lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypedDict

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clerk_emulator.state import Emulator

VENDOR_DIR = Path(__file__).resolve().parent / "vendor" / "clerk-js"

Handler = Callable[..., Response]
ROUTES: dict[str, Handler] = {}
RULES: list[Rule] = [Rule("/npm/@clerk/clerk-js@<version>/dist/<filename>", endpoint="clerk_js.dist", methods=["GET"])]


class Manifest(TypedDict):
    package: str
    version: str
    tarball_integrity: str
    files: dict[str, str]  # path under the package -> sha256


@cache
def manifest() -> Manifest:
    data: Manifest = json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))
    return data


def version() -> str:
    return manifest()["version"]


def served_versions() -> tuple[str, ...]:
    """The tags a script URL may carry: the major (what pages ask for), major.minor, and the exact version."""
    exact = version()
    major, minor, _ = exact.split(".", 2)
    return (major, f"{major}.{minor}", exact)


@cache
def dist_file(filename: str) -> bytes | None:
    if f"dist/{filename}" not in manifest()["files"]:  # listed files only: no path tricks, no other builds
        return None
    return (VENDOR_DIR / "dist" / filename).read_bytes()


def dist(em: Emulator, request: Request, version: str, filename: str) -> Response:
    data = dist_file(filename) if version in served_versions() else None
    if data is None:
        response = Response("Not found", status=404, content_type="text/plain; charset=utf-8")
    else:
        response = Response(data, content_type="application/javascript; charset=utf-8")
        exact = version == served_versions()[-1]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if exact else "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


ROUTES["clerk_js.dist"] = dist
