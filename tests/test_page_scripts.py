"""Page scripts call only what Clerk's real ClerkJS defines.

Every member name a Clerk page script uses (``x.name``, camelCase) must be either a browser or JavaScript built-in
(the short list below), one of our own small modules' exports (``window.AppClerk``, ``window.SignUpPhone``), a form
field (``form.elements.<name>``), or defined somewhere in the vendored ClerkJS bundle (a class field or assignment
``name=``, an object key ``name:``, or a method ``name(…){``). A misspelt or invented Clerk call fails here before
it fails in a browser, and so does a call to something a newer or older ClerkJS renamed.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
BUNDLE_DIR = ROOT / "clerk_emulator" / "vendor" / "clerk-js" / "dist"

# Browser and JavaScript names the page scripts use that ClerkJS happens not to define itself.
BUILT_INS = frozenset(
    {
        "activeElement", "all", "assign", "classList", "closest", "contains", "getAttribute", "getElementById",
        "hasAttribute", "hidden", "indexOf", "isArray", "now", "querySelector", "querySelectorAll", "readyState",
        "removeAttribute", "replace", "sessionStorage", "setAttribute", "submit", "test", "toLowerCase", "trim",
        "json", "map", "scrollIntoView", "toggle",
    }
)  # fmt: skip
MEMBER = re.compile(r"\.\s*([A-Za-z_$][\w$]*)")
FORM_FIELD_OWNER = re.compile(r"(?<![\w$])elements\s*$")
# Our own JSON answers read by page scripts (invitations' /accept-invite/joined/).
OUR_JSON = frozenset({"joined"})
EXPORTS = re.compile(r"window\.(\w+)\s*=\s*\{([^}]*)\}", re.S)


def strip_comments_and_strings(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r"(?m)^\s*//.*$", "", source)
    source = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', source)
    return re.sub(r"'(?:\\.|[^'\\\n])*'", "''", source)


def clerk_page_scripts() -> list[Path]:
    scripts = sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.relative_to(STATIC).parts)
    return [p for p in scripts if "AppClerk" in p.read_text() or "window.Clerk" in p.read_text()]


def own_exports() -> set[str]:
    names: set[str] = set()
    for script in clerk_page_scripts():
        for module, body in EXPORTS.findall(strip_comments_and_strings(script.read_text())):
            names.add(module)
            names.update(re.findall(r"([A-Za-z_$][\w$]*)\s*:", body))
    return names


def members(source: str) -> set[str]:
    """Member names used in a script, leaving out form fields (``elements.<name>``, and the snake_case field names
    our scripts key their error objects by: ClerkJS's resource API is camelCase)."""
    code = strip_comments_and_strings(source)
    return {
        m.group(1)
        for m in MEMBER.finditer(code)
        if "_" not in m.group(1) and not FORM_FIELD_OWNER.search(code[: m.start()])
    }


@cache
def bundle_text() -> str:
    return "".join(path.read_text(encoding="utf-8") for path in sorted(BUNDLE_DIR.glob("*.js")))


def defined_by_clerk_js(name: str) -> bool:
    e = re.escape(name)
    pattern = (
        rf"(?<![\w$]){e}\s*=(?!=)|(?<![\w$]){e}\s*:|(?:^|[{{}};,\s])(?:async\s+|get\s+|static\s+)?{e}\s*\([^)]*\)\s*\{{"
    )
    return re.search(pattern, bundle_text()) is not None


def undefined_names(source: str) -> set[str]:
    allowed = BUILT_INS | OUR_JSON | own_exports()
    return {name for name in members(source) if name not in allowed and not defined_by_clerk_js(name)}


def test_the_vendored_bundle_is_there_and_the_stand_in_is_gone() -> None:
    assert (BUNDLE_DIR / "clerk.browser.js").stat().st_size > 100_000
    assert not (ROOT / "clerk_emulator" / "static" / "clerk.browser.js").exists()


def test_every_page_that_talks_to_clerk_is_checked() -> None:
    names = {p.relative_to(STATIC).as_posix() for p in clerk_page_scripts()}
    assert names >= {
        "core/clerk.js",
        "accounts/auth.js",
        "accounts/account.js",
        "accounts/sign_up_phone.js",
        "invitations/accept.js",
        "internal_users/accept.js",
        "internal_users/onboarding.js",
    }


@pytest.mark.parametrize("script", clerk_page_scripts(), ids=lambda p: p.relative_to(STATIC).as_posix())
def test_a_page_script_calls_only_what_clerk_js_defines(script: Path) -> None:
    assert undefined_names(script.read_text()) == set()


@pytest.mark.parametrize("script", clerk_page_scripts(), ids=lambda p: p.relative_to(STATIC).as_posix())
def test_calls_take_the_arguments_clerk_js_takes(script: Path) -> None:
    source = strip_comments_and_strings(script.read_text())
    # phoneNumber.prepareVerification() takes none (ClerkJS always sends a phone_code).
    assert re.findall(r"\.prepareVerification\(\s*[^)\s]", source) == []
    # Clerk.signOut() without a callback navigates to afterSignOutUrl: only AppClerk.signOut calls it, with one.
    for call in re.findall(r"(?<!AC)\.signOut\(([^)]*)\)", source):
        assert call.strip().startswith("function"), f"{script.name}: signOut({call}) leaves our flow"


def test_the_check_fails_for_a_call_clerk_js_does_not_define() -> None:
    invented = "AC.ready().then(function (clerk) { return clerk.user.updateProfilePassword({}); });"
    assert undefined_names(invented) == {"updateProfilePassword"}
    assert undefined_names("clerk.client.signIn.create({}).then(function (s) { return s.createdSessionId; });") == set()


def test_the_argument_check_fails_for_the_old_calls() -> None:
    source = 'phone.prepareVerification({ strategy: "phone_code" }); clerk.signOut();'
    assert re.findall(r"\.prepareVerification\(\s*[^)\s]", strip_comments_and_strings(source))
    assert re.findall(r"(?<!AC)\.signOut\(([^)]*)\)", source) == [""]
