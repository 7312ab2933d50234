"""A Django email backend for the demo: the app's own emails land in the Clerk emulator's mailbox.

Clerk's emails (workspace invitations, codes) already appear at ``/__emulator/mail``; the staff invitation is
branded and sent by the app (docs/internal-user-invitations.md, "The email"), and with Django's console backend its
links came out quoted-printable, broken across lines. This backend posts each message's plain text (and HTML
alternative) to the emulator's ``POST /__emulator/mail`` so a person opening the demo finds every email in one inbox
with clickable links.

Configured by config/settings/local.py when the emulator is embedded; never in production. A failure to reach the
emulator raises, as an SMTP failure would, so the app's own failure handling is what the demo shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

TIMEOUT_S = 5.0


class EmulatorMailboxBackend(BaseEmailBackend):
    def __init__(self, *args: Any, mailbox_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mailbox_url = mailbox_url

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            message.message()  # header validation, as every backend does
            body_html = ""
            if isinstance(message, EmailMultiAlternatives):
                body_html = next(
                    (str(content) for content, mimetype in message.alternatives if mimetype == "text/html"), ""
                )
            for recipient in message.recipients():
                response = httpx.post(
                    self.mailbox_url,
                    json={
                        "to": recipient,
                        "subject": message.subject,
                        "body_plain": str(message.body),
                        "body_html": body_html,
                    },
                    timeout=TIMEOUT_S,
                )
                response.raise_for_status()
            sent += 1
        return sent
