"""Staff webhook handlers. ``user.created``/``user.updated``/``user.deleted`` are handled by accounts (the upsert
there asks ``internal_users.services._accept_claim`` before granting a staff role from metadata, and marks the
invitation accepted); here: ``email.created`` for Clerk's application-invitation template.

Imported by ``InternalUsersConfig.ready()``.
"""

from __future__ import annotations

from accounts.webhook_registry import webhook_handler
from core.models import WebhookEvent
from internal_users.services import email_created_from_clerk


@webhook_handler("email.created")
def email_created(event: WebhookEvent) -> str | None:
    return email_created_from_clerk(data=event.data)
