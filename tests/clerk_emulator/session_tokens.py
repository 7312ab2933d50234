"""Check an emulator-minted session token the way the product does: the official SDK, networkless, azp checked."""

from __future__ import annotations

from typing import Any

from clerk_backend_api.security import authenticate_request
from clerk_backend_api.security.types import AuthenticateRequestOptions

from clerk_emulator.state import Emulator


def verify(em: Emulator, token: str, origin: str) -> dict[str, Any]:
    class Req:
        headers = {"Authorization": f"Bearer {token}"}

    state = authenticate_request(
        Req(), AuthenticateRequestOptions(jwt_key=em.keys.public_pem, authorized_parties=[origin])
    )
    assert state.is_signed_in, state.reason
    assert state.payload is not None
    return dict(state.payload)
