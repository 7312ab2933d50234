"""RSA signing keys, session tokens (Clerk's v2 claims), JWKS and invitation tickets."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SESSION_TOKEN_LIFETIME_S = 60


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKeys:
    """One RS256 instance key, as each Clerk instance has; the public half is served as JWKS and as PEM."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = "ins_" + hashlib.sha256(public_der).hexdigest()[:27]
        self.private_pem = self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            self._private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        numbers = self._private.public_key().public_numbers()
        return {
            "keys": [
                {
                    "use": "sig",
                    "kty": "RSA",
                    "kid": self.kid,
                    "alg": "RS256",
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def sign(self, claims: dict[str, Any]) -> str:
        # The key object, not the PEM: parsing the PEM again costs ~30 ms on every token and ticket.
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def decode(self, token: str, *, verify_exp: bool = True) -> dict[str, Any]:
        public_key = self._private.public_key()
        return jwt.decode(
            token, public_key, algorithms=["RS256"], options={"verify_exp": verify_exp, "verify_aud": False}
        )


def session_claims(
    *,
    user_id: str,
    session_id: str,
    issuer: str,
    now_s: int,
    lifetime_s: int = SESSION_TOKEN_LIFETIME_S,
    azp: str | None = None,
    organization: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Clerk's v2 session token claims (reference/clerk.md §8.2)."""
    claims: dict[str, Any] = {
        "sub": user_id,
        "sid": session_id,
        "iat": now_s,
        "nbf": now_s - 10,
        "exp": now_s + lifetime_s,
        "iss": issuer,
        "jti": secrets.token_hex(10),
        "v": 2,
        "fva": [0, -1],
    }
    if azp:
        claims["azp"] = azp
    if organization:
        claims["o"] = organization
    return claims
