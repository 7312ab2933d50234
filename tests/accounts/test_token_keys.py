"""How session-token keys are read: ``CLERK_JWT_KEY`` in its accepted and refused forms, Clerk's JWKS with keys we
must skip, and tokens whose header names no usable key."""

from __future__ import annotations

import base64
import logging
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

from accounts import authentication
from accounts.authentication import InvalidSessionToken, verify_session_token


@pytest.fixture(autouse=True)
def _fresh_keys() -> Any:
    authentication.reset_caches()
    yield
    authentication.reset_caches()


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _rsa_jwk(kid: str, **extra: Any) -> dict[str, Any]:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": _b64(numbers.n), "e": _b64(numbers.e), **extra}


def test_an_ec_key_is_refused_as_clerk_jwt_key(settings: Any) -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.CLERK_JWT_KEY = ec_pem
    with pytest.raises(ImproperlyConfigured, match="must be an RSA public key"):
        verify_session_token("a.b.c")


def test_text_without_pem_armour_is_refused_as_clerk_jwt_key(settings: Any) -> None:
    settings.CLERK_JWT_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"  # the body alone, headers lost in a copy
    with pytest.raises(ImproperlyConfigured, match="not a PEM public key"):
        verify_session_token("a.b.c")


def test_only_usable_rs256_signing_keys_are_kept_from_the_jwks(caplog: pytest.LogCaptureFixture) -> None:
    good = _rsa_jwk("ins_good", use="sig", alg="RS256")
    jwks = {
        "keys": [
            "not-a-key",
            {"kty": "EC", "kid": "ins_ec", "crv": "P-256"},
            _rsa_jwk("ins_enc", use="enc"),
            _rsa_jwk("ins_rs512", alg="RS512"),
            {**_rsa_jwk("ignored"), "kid": 7},
            {"kty": "RSA", "kid": "ins_broken", "n": "!!", "e": "AQAB"},
            good,
        ]
    }
    with caplog.at_level(logging.WARNING, logger="accounts.authentication"):
        keys = authentication._parse_jwks(jwks)
    assert list(keys) == ["ins_good"]
    assert any("ins_broken" in record.getMessage() for record in caplog.records)
    assert authentication._parse_jwks({"keys": None}) == {}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("e30.e30.sig", id="header-without-kid"),
        pytest.param("!!!.e30.sig", id="header-not-base64-json"),
    ],
)
def test_a_token_whose_header_names_no_key_is_malformed(settings: Any, token: str) -> None:
    settings.CLERK_JWT_KEY = ""
    with pytest.raises(InvalidSessionToken) as refused:
        verify_session_token(token)
    assert refused.value.reason == "token_malformed"


def test_a_signed_token_without_a_kid_is_malformed(settings: Any) -> None:
    settings.CLERK_JWT_KEY = ""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"sub": "user_1", "exp": 2**31, "iat": 1}, private, algorithm="RS256")
    with pytest.raises(InvalidSessionToken) as refused:
        verify_session_token(token)
    assert refused.value.reason == "token_malformed"
