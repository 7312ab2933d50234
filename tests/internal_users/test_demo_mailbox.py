"""In the demo the app's own staff invitation email lands in the emulator's mailbox (config/settings/local.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clerk_emulator.server import EmulatorServer
from internal_users.emails import send_internal_invite_email


@pytest.fixture
def emulator_mailer(settings: Any, clerk_emulator_server: EmulatorServer) -> str:
    mailbox = f"{clerk_emulator_server.url}/__emulator/mail"
    settings.MAILERS = {
        "default": {"BACKEND": "clerk_emulator.django_mail.EmulatorMailboxBackend", "OPTIONS": {"mailbox_url": mailbox}}
    }
    return mailbox


def test_staff_invitation_email_arrives_whole_with_a_clickable_link(emulator_mailer: str) -> None:
    # Long enough that the console backend's quoted-printable output used to break it across lines.
    url = "http://127.0.0.1:8000/internal/accept-invite/?__clerk_ticket=" + "t" * 180 + "&invitation_id=12"
    send_internal_invite_email(email="new.staff@example.com", invite_url=url, role="admin", inviter_name="Ada")
    [message] = httpx.get(emulator_mailer + ".json", timeout=5).json()
    assert message["to"] == "new.staff@example.com"
    assert message["sender"] == "app"
    assert message["link"] == url
    assert url in message["body_plain"]
    assert url.replace("&", "&amp;") in message["body_html"]


def test_an_unreachable_mailbox_fails_the_send_like_smtp(settings: Any) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "clerk_emulator.django_mail.EmulatorMailboxBackend",
            "OPTIONS": {"mailbox_url": "http://127.0.0.1:9/__emulator/mail"},
        }
    }
    with pytest.raises(httpx.HTTPError):
        send_internal_invite_email(
            email="x@example.com", invite_url="http://127.0.0.1:8000/internal/accept-invite/?t=1", role="admin"
        )
