"""The vendored ClerkJS bundle: intact against its manifest, and served at Clerk's script paths."""

from __future__ import annotations

import hashlib
import re

import pytest

from clerk_emulator import clerk_js
from tests.clerk_emulator.fapi_support import Browser

VERSION = "6.40.0"


def test_manifest_pins_one_exact_version_and_every_file_matches_it() -> None:
    manifest = clerk_js.manifest()
    assert manifest["package"] == "@clerk/clerk-js"
    assert manifest["version"] == VERSION
    assert str(manifest["tarball_integrity"]).startswith("sha512-")
    files = manifest["files"]
    assert {"LICENSE", "dist/clerk.browser.js"} <= set(files)
    for path, digest in files.items():
        assert hashlib.sha256((clerk_js.VENDOR_DIR / path).read_bytes()).hexdigest() == digest, path
    on_disk = {p.relative_to(clerk_js.VENDOR_DIR).as_posix() for p in clerk_js.VENDOR_DIR.rglob("*") if p.is_file()}
    assert on_disk == set(files) | {"manifest.json"}


def test_every_chunk_the_bundle_names_is_vendored() -> None:
    """The webpack runtime builds chunk names from a table of ids; each must be a file the emulator serves."""
    bundle = (clerk_js.VENDOR_DIR / "dist" / "clerk.browser.js").read_text(encoding="utf-8")
    table = re.search(r's\.u=e=>""\+\(\(\{(.*?)\}\)\[e\]\|\|e\)\+"_clerk\.browser_"', bundle)
    assert table is not None, "the chunk-name table moved; update this test with the bundle"
    names = re.findall(r'\d+:"([^"]+)"', table.group(1))
    digest = re.search(r's\.h=\(\)=>"([0-9a-f]+)"', bundle)
    assert digest is not None
    files = clerk_js.manifest()["files"]
    for name in names:
        assert f"dist/{name}_clerk.browser_{digest.group(1)[:6]}_{VERSION}.js" in files, name


@pytest.mark.parametrize("version", ["6", "6.40", VERSION])
def test_bundle_is_served_at_clerks_script_paths(browser: Browser, version: str) -> None:
    response = browser.call("GET", f"/npm/@clerk/clerk-js@{version}/dist/clerk.browser.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.content == (clerk_js.VENDOR_DIR / "dist" / "clerk.browser.js").read_bytes()
    # The exact version never changes; the major tag moves with a refresh of the bundle.
    immutable = "immutable" in response.headers["Cache-Control"]
    assert immutable == (version == VERSION)


def test_chunks_are_served_under_the_exact_version(browser: Browser) -> None:
    chunk = f"vendors_clerk.browser_a68c22_{VERSION}.js"
    response = browser.call("GET", f"/npm/@clerk/clerk-js@{VERSION}/dist/{chunk}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.content == (clerk_js.VENDOR_DIR / "dist" / chunk).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/npm/@clerk/clerk-js@6.29.0/dist/clerk.browser.js",  # another version than the vendored one
        "/npm/@clerk/clerk-js@latest/dist/clerk.browser.js",
        "/npm/@clerk/clerk-js@6/dist/clerk.js",  # a build that is not vendored
        "/npm/@clerk/clerk-js@6/dist/manifest.json",
        "/npm/@clerk/clerk-js@6/dist/..%2Fmanifest.json",
    ],
)
def test_anything_else_under_npm_is_not_found(browser: Browser, path: str) -> None:
    assert browser.call("GET", path).status_code == 404
