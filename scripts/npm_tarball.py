"""Download one npm package tarball from registry.npmjs.org and verify its ``sha512`` integrity (Python only)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass

REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 60


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
