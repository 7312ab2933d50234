"""Download one npm package tarball from registry.npmjs.org and verify its ``sha512`` integrity (Python only)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 60
type VendorFn = Callable[[str, Path], dict[str, str]]


@dataclass(frozen=True)
class Tarball:
    name: str
    version: str
    integrity: str  # "sha512-<base64>", as the registry publishes it
    data: bytes

    def members(self) -> dict[str, bytes]:
        """Regular files of the tarball, keyed by path without npm's leading ``package/``."""
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(self.data), mode="r:gz") as archive:
            for member in archive.getmembers():
                if not member.isfile():
                    continue
                extracted = archive.extractfile(member)
                if extracted is None:
                    continue
                path = member.name.split("/", 1)[1] if "/" in member.name else member.name
                files[path] = extracted.read()
        return files


def _get(url: str) -> bytes:
    if not url.startswith(f"{REGISTRY}/"):
        raise ValueError(f"not a registry URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - checked above
        data: bytes = response.read()
        return data


def sha512_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch(name: str, version: str) -> Tarball:
    """The tarball of ``name@version``; raises ``ValueError`` when its bytes do not match the published integrity."""
    manifest = json.loads(_get(f"{REGISTRY}/{urllib.parse.quote(name, safe='@')}/{version}"))
    dist = manifest["dist"]
    integrity = dist["integrity"]
    if not integrity.startswith("sha512-"):
        raise ValueError(f"{name}@{version}: unsupported integrity {integrity!r}")
    tarball_url = dist["tarball"]
    if not tarball_url.startswith(f"{REGISTRY}/"):
        raise ValueError(f"{name}@{version}: tarball outside the registry: {tarball_url}")
    data = _get(tarball_url)
    actual = sha512_integrity(data)
    if actual != integrity:
        raise ValueError(f"{name}@{version}: integrity mismatch (published {integrity}, downloaded {actual})")
    return Tarball(name, version, integrity, data)


def write_vendored(tarball: Tarball, picked: dict[str, bytes], target: Path) -> dict[str, str]:
    """Replace ``target`` with ``picked`` (path → bytes) and its ``manifest.json``; returns path → sha256."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path, data in picked.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(data)
    files = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(picked.items())}
    manifest = {
        "package": tarball.name,
        "version": tarball.version,
        "tarball_integrity": tarball.integrity,
        "files": files,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files


def vendor_main(
    argv: list[str] | None, *, doc: str, package: str, default_version: str, target: Path, vendor: VendorFn
) -> int:
    """The command line both vendoring scripts share: ``--version``, then one line saying what was written."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--version", default=default_version, help=f"exact version (default {default_version})")
    args = parser.parse_args(argv)
    files = vendor(args.version, target)
    print(f"Vendored {package}@{args.version} ({len(files)} files) into {target}")
    return 0
