"""Debian's Chromium for browser tests, driven by Playwright (which cannot download its own browsers here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, without the background traffic Chromium would send to hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip when Chromium is missing, except in CI, where a browser test may never be skipped."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (make chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; browser tests may not be skipped in CI")
    pytest.skip(message)


def launch(playwright: Any) -> Browser:
    browser: Browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    return browser


def allow_app_origin(emulator: Any, origin: str) -> None:
    """Let ClerkJS on ``origin`` (the live server) call the emulator's Frontend API with credentialed CORS."""
    if origin not in emulator.allowed_origins:
        emulator.allowed_origins.append(origin)


AXE_DIR = Path(__file__).resolve().parent.parent / "clerk_emulator" / "vendor" / "axe-core"
AXE_BLOCKING = ("serious", "critical")


def axe_violations(page: Any, label: str) -> list[str]:
    """Run the vendored axe-core (``make vendor-axe``) on ``page`` as it is now; one line per serious or critical
    violation, naming the page (``label``), the rule and the offending elements."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=(AXE_DIR / "axe.min.js").read_text(encoding="utf-8"))
    results = page.evaluate("() => window.axe.run(document, { resultTypes: ['violations'] })")
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in AXE_BLOCKING:
            continue
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        found.append(f"{label}: {violation['impact']} {violation['id']} ({violation['help']}) at {targets}")
    return found
