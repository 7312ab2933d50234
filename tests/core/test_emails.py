"""core.emails.normalize_email: properties (hypothesis) of the one normaliser, and that accounts, workspace
invitations and staff invitations apply it the same way, their database constraints included."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User, Workspace
from core.emails import MAX_LOCAL_PART, InvalidEmail, normalize_email, normalize_email_or_none
from internal_users.models import InternalInvitation
from internal_users.services import normalize_email as staff_normalize
from invitations.models import WorkspaceInvitation
from invitations.services import _is_valid_email, _normalize

LOCAL_CHARS = st.characters(
    codec="utf-8", categories=("L", "N"), include_characters="._+-!#$%&'*/=?^`{|}~\u212a\u0301ß"
)
locals_ = st.text(LOCAL_CHARS, min_size=1, max_size=80)
domains = st.sampled_from(["example.com", "EXAMPLE.com", "bücher.example", "xn--bcher-kva.example", "sub.Example.ORG."])


ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def spellings(email: str) -> list[str]:
    """Ways to write the same address: ASCII upper case, NFD, surrounding blanks (Unicode case mappings such as
    dotless i (U+0131) → I make another address, so they are not spellings of this one)."""
    return [email, email.translate(ASCII_UPPER), unicodedata.normalize("NFD", email), f"  {email}\t"]


@given(local=locals_, domain=domains)
@settings(max_examples=300, deadline=None)
def test_normalising_is_idempotent_and_the_result_is_within_limits(local: str, domain: str) -> None:
    try:
        email = normalize_email(f"{local}@{domain}")
    except InvalidEmail:
        return
    assert normalize_email(email) == email
    stored_local, _, stored_domain = email.rpartition("@")
    assert len(stored_local) <= MAX_LOCAL_PART
    assert stored_domain.isascii()
    assert stored_domain == stored_domain.lower()
    assert unicodedata.is_normalized("NFC", email)
    assert email == email.strip()


@given(local=locals_, domain=domains)
@settings(max_examples=300, deadline=None)
def test_every_spelling_of_an_address_has_one_key(local: str, domain: str) -> None:
    email = normalize_email_or_none(f"{local}@{domain}")
    if email is None:
        return
    for spelling in spellings(f"{local}@{domain}"):
        assert normalize_email_or_none(spelling) == email
    assert normalize_email_or_none(unicodedata.normalize("NFD", f"{local}@{domain}")) == email


@given(local=locals_, domain=domains)
@settings(max_examples=200, deadline=None)
def test_the_invitation_and_staff_paths_apply_the_same_normaliser(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    email = normalize_email_or_none(raw)
    assert _is_valid_email(_normalize(raw)) == (email is not None)
    if email is None:
        with pytest.raises(InvalidEmail.__mro__[1]):  # InvalidInput, with the staff module's own message
            staff_normalize(raw)
        return
    assert _normalize(raw) == email
    assert staff_normalize(raw) == email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("\u212aate@example.com", "kate@example.com"),  # Kelvin sign → K → k
        ("jose\u0301@example.com", "jos\u00e9@example.com"),  # NFD → NFC
        ("STRASSE@example.com", "strasse@example.com"),
        ("straße@example.com", "strasse@example.com"),
        ("ann@Bücher.Example.", "ann@xn--bcher-kva.example"),
    ],
)
def test_known_foldings(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "@example.com",
        "ann@",
        "a" * 65 + "@example.com",
        "ann\r\n@example.com",
        "a\x00@example.com",
        "ann@exa mple.com",
        "ann@localhost",
        "ann..lee@example.com",
        ".ann@example.com",
        "ann@-bad-.example",
        "ann@" + "a" * 64 + ".com",
        '"quoted"@example.com',
        "ann\u202e@example.com",
    ],
)
def test_refused_addresses(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


# --------------------------------------------------------------------------- the three models and their constraints
@pytest.mark.django_db
@given(local=locals_, domain=domains)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_two_spellings_of_one_address_are_one_row_in_every_model(local: str, domain: str) -> None:
    email = normalize_email_or_none(f"{local}@{domain}")
    if email is None:
        return
    spelling = unicodedata.normalize("NFD", f"{local}@{domain}".translate(ASCII_UPPER))
    twin = normalize_email(spelling)
    assert twin == email
    with transaction.atomic():
        User.objects.create_user(email, clerk_user_id="user_a")
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user(spelling, clerk_user_id="user_b")  # the manager normalises
        workspace = Workspace.objects.create(clerk_organization_id="org_a", name="A", slug="a")
        expires = timezone.now() + timedelta(days=7)
        WorkspaceInvitation.objects.create(workspace=workspace, email=email, expires_at=expires, status="pending")
        with pytest.raises(IntegrityError), transaction.atomic():
            WorkspaceInvitation.objects.create(
                workspace=workspace, email=_normalize(spelling), expires_at=expires, status="pending"
            )
        InternalInvitation.objects.create(email=email, role="pm", expires_at=expires)
        with pytest.raises(IntegrityError), transaction.atomic():
            InternalInvitation.objects.create(email=staff_normalize(spelling), role="pm", expires_at=expires)
        transaction.set_rollback(True)
