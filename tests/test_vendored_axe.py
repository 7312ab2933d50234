"""The vendored axe-core (``make vendor-axe``): one pinned version, its licences, every file intact against the
manifest, and nothing else in the folder."""

from __future__ import annotations

import hashlib
import json

from tests.browser import AXE_DIR


def test_manifest_pins_one_version_and_every_file_matches_it() -> None:
    manifest = json.loads((AXE_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["package"] == "axe-core"
    assert manifest["version"].count(".") == 2
    assert str(manifest["tarball_integrity"]).startswith("sha512-")
    files = manifest["files"]
    assert set(files) == {"axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt"}
    for name, digest in files.items():
        assert hashlib.sha256((AXE_DIR / name).read_bytes()).hexdigest() == digest, name
    on_disk = {p.name for p in AXE_DIR.iterdir() if p.is_file()}
    assert on_disk == set(files) | {"manifest.json"}
    assert f"axe v{manifest['version']}" in (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")[:300]
