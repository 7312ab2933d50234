"""The registry of Clerk webhook handlers every app adds to.

Apps register handlers in their ``AppConfig.ready()`` by importing a module that uses ``@webhook_handler(...)``
(or calls ``register``). Handlers of one type run in registration order, i.e. ``INSTALLED_APPS`` order, so the
accounts handlers (users, workspaces, memberships) run before those of invitations and internal_users. A handler
runs in a worker (``accounts.webhook_apply``), inside the transaction that marks its event applied; it must be
idempotent and tolerate any delivery order; it parses ``event.data`` and calls a service; slow work (email) is
enqueued with ``transaction.on_commit``. It may return a short note (why it skipped something), stored on the event.
"""

from __future__ import annotations

from collections.abc import Callable

from core.models import WebhookEvent

type WebhookHandler = Callable[[WebhookEvent], str | None]

_handlers: dict[str, list[WebhookHandler]] = {}


def register[H: WebhookHandler](event_type: str, handler: H) -> H:
    """Run ``handler`` for every stored event of ``event_type`` (registering the same function twice is a no-op)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister(event_type: str, handler: WebhookHandler) -> None:
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def webhook_handler(*event_types: str) -> Callable[[WebhookHandler], WebhookHandler]:
    """Decorator form of ``register``: ``@webhook_handler("user.created", "user.updated")``."""

    def decorator(handler: WebhookHandler) -> WebhookHandler:
        for event_type in event_types:
            register(event_type, handler)
        return handler

    return decorator


def handlers_for(event_type: str) -> tuple[WebhookHandler, ...]:
    return tuple(_handlers.get(event_type, ()))
