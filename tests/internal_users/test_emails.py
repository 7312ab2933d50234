"""The branded staff invitation email: both parts rendered, text unescaped, HTML escaped, one message per call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from core.exceptions import InvalidInput
from internal_users.emails import send_internal_invite_email

URL = "https://clerk.example.com/v1/tickets/accept?ticket=abc&x=1"
EXPIRES = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)


def _send(**overrides: object) -> EmailMultiAlternatives:
    kwargs: dict[str, object] = {
        "email": "new.staff@example.com",
        "invite_url": URL,
        "role": "pm",
        "inviter_name": "Ann & <Bob>",
        "expires_at": EXPIRES,
    }
    kwargs.update(overrides)
    send_internal_invite_email(**kwargs)  # type: ignore[arg-type]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    return message


def _html(message: EmailMultiAlternatives) -> str:
    assert len(message.alternatives) == 1
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert isinstance(content, str)
    return content


def test_sends_one_multipart_message_from_default_sender(settings):
    settings.DEFAULT_FROM_EMAIL = "Clerk Invitations <no-reply@example.com>"
    message = _send()
    assert message.to == ["new.staff@example.com"]
    assert message.from_email == "Clerk Invitations <no-reply@example.com>"
    assert message.subject.strip()
    assert message.body.strip()
    assert _html(message).strip()
    assert "\n" not in message.subject


def test_text_part_is_unescaped_and_keeps_the_exact_url():
    message = _send()
    assert "&amp;" not in message.body
    assert "&lt;" not in message.body
    assert URL in message.body
    assert "Ann & <Bob>" in message.body
    assert "Ann & <Bob>" in message.subject
    assert "&amp;" not in message.subject


def test_html_part_escapes_the_name_and_links_the_url():
    html = _html(_send())
    assert "Ann &amp; &lt;Bob&gt;" in html
    assert "<Bob>" not in html
    assert 'href="https://clerk.example.com/v1/tickets/accept?ticket=abc&amp;x=1"' in html
    assert "Accept invitation" in html


def test_role_label_and_expiry_appear_in_both_parts():
    message = _send(role="super_admin")
    html = _html(message)
    for part in (message.body, html):
        assert "Super admin" in part
        assert "14 March 2030" in part


def test_without_inviter_or_expiry():
    message = _send(inviter_name="", expires_at=None, role="admin")
    assert message.subject == "You're invited to join the Clerk Invitations staff"
    assert "You have been invited to join the Clerk Invitations staff as Admin." in message.body
    assert "expires" not in message.body


def test_layout_header_and_footer_in_both_parts():
    message = _send()
    html = _html(message)
    assert message.body.startswith("Clerk Invitations\n=")
    assert "You received this email because someone invited this address." in message.body
    assert "data-email-header>Clerk Invitations<" in html
    assert "data-email-footer" in html
    assert "You received this email because someone invited this address." in html
    assert html.lstrip().startswith("<!doctype html>")
    assert html.rstrip().endswith("</html>")


def test_one_message_per_call():
    send_internal_invite_email(email="a@example.com", invite_url=URL, role="pm")
    send_internal_invite_email(email="b@example.com", invite_url=URL, role="admin")
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]


def test_local_emulator_http_url_is_allowed():
    local = "http://127.0.0.1:8001/v1/tickets/accept?ticket=abc&x=1"
    assert local in _send(invite_url=local).body
    mail.outbox.clear()
    assert "http://localhost:8001/t?x=1" in _send(invite_url="http://localhost:8001/t?x=1").body


@pytest.mark.parametrize(
    ("inviter_name", "shown"),
    [
        ("Ann\nBcc: victim@example.com", "Ann Bcc: victim@example.com"),
        ("Ann\rX", "Ann X"),
        ("Ann\u2028X", "Ann X"),
        ("Ann\x00Lee", "AnnLee"),
        ("\u202eeiL nnA", "eiL nnA"),
    ],
)
def test_an_inviter_name_with_control_characters_is_cleaned_and_the_email_still_sent(
    inviter_name: str, shown: str
) -> None:
    # Before: CR/LF in an inviter's name failed every staff invitation email they sent (issue 13).
    message = _send(inviter_name=inviter_name)
    assert shown in message.subject
    assert "\n" not in message.subject
    assert "\r" not in message.subject
    assert shown in message.body
    assert "\u202e" not in message.body
    assert "\x00" not in message.body


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "new.staff@example.com\nBcc: victim@example.com"},
        {"email": "new.staff@example.com\r"},
        {"email": "not-an-email"},
        {"invite_url": "http://clerk.example.com/v1/tickets/accept?ticket=abc"},
        {"invite_url": "ftp://clerk.example.com/x"},
        {"invite_url": "/v1/tickets/accept?ticket=abc"},
        {"invite_url": "https://clerk.example.com/a\nb"},
        {"invite_url": "http://127.0.0.1.evil.example/x"},
        {"role": "member"},
        {"role": "owner"},
    ],
)
def test_refuses_bad_input_and_sends_nothing(overrides):
    kwargs: dict[str, object] = {
        "email": "new.staff@example.com",
        "invite_url": URL,
        "role": "pm",
        "inviter_name": "Ann",
    }
    kwargs.update(overrides)
    with pytest.raises(InvalidInput) as excinfo:
        send_internal_invite_email(**kwargs)  # type: ignore[arg-type]
    assert excinfo.value.message
    assert mail.outbox == []


def test_invite_url_is_never_logged(caplog):
    caplog.set_level("DEBUG")
    _send()
    assert "ticket=abc" not in caplog.text
