"""``manage.py webhook_inbox list|replay|drain``: the webhook inbox for operators without the admin.

webhook_inbox list [--state parked] [--type user.updated] [--limit 50]   counts per state, then the newest events
webhook_inbox replay msg_… [msg_…]        reopen and apply these events (parked, or already applied / ignored)
webhook_inbox replay --parked [--type T]  every parked event (of type T), oldest first
webhook_inbox drain                       enqueue every open event again (after a worker was killed)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.webhook_inbox import NotReplayable, drain_open_events, events_in_state, replay_event, state_counts
from core.models import WebhookEvent


class Command(BaseCommand):
    help = "List the stored Clerk webhook events by state, replay parked ones, or re-enqueue the open ones."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        listing = commands.add_parser("list", help="counts per state and the newest events")
        listing.add_argument("--state", choices=WebhookEvent.Status.values)
        listing.add_argument("--type", dest="event_type")
        listing.add_argument("--limit", type=int, default=50)
        replay = commands.add_parser("replay", help="reopen and apply events")
        replay.add_argument("svix_ids", nargs="*", metavar="SVIX_ID")
        replay.add_argument("--parked", action="store_true", help="every parked event")
        replay.add_argument("--type", dest="event_type", help="with --parked: only this event type")
        commands.add_parser("drain", help="enqueue every received or retrying event again")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self._list(options["state"], options["event_type"], options["limit"])
        elif action == "replay":
            self._replay(options["svix_ids"], parked=options["parked"], event_type=options["event_type"])
        else:
            self.stdout.write(f"Enqueued the open events of {drain_open_events()} object(s).")

    def _list(self, state: str | None, event_type: str | None, limit: int) -> None:
        self.stdout.write("  ".join(f"{status}={count}" for status, count in state_counts().items()))
        events = events_in_state(state)
        if event_type:
            events = events.filter(type=event_type)
        for event in events[: max(limit, 0)]:
            error = event.last_error.splitlines()[-1][:100] if event.last_error else ""
            self.stdout.write(
                f"{event.received_at:%Y-%m-%d %H:%M:%S}  {event.status:<8}  {event.attempts:>2}  {event.type:<32}  "
                f"{event.svix_id}  {event.object_id}  {error}".rstrip()
            )

    def _replay(self, svix_ids: list[str], *, parked: bool, event_type: str | None) -> None:
        if bool(svix_ids) == parked:
            raise CommandError("Give svix ids or --parked (not both).")
        if parked:
            events = events_in_state(WebhookEvent.Status.PARKED).order_by("clerk_timestamp", "id")
            targets = list(events.filter(type=event_type) if event_type else events)
        else:
            found = {event.svix_id: event for event in WebhookEvent.objects.filter(svix_id__in=svix_ids)}
            missing = [svix_id for svix_id in svix_ids if svix_id not in found]
            if missing:
                raise CommandError(f"No stored event with svix id {', '.join(missing)}.")
            targets = [found[svix_id] for svix_id in svix_ids]
        failures = 0
        for event in targets:
            try:
                replayed = replay_event(event=event, via="manage.py webhook_inbox")
            except NotReplayable as exc:
                raise CommandError(str(exc)) from exc
            failures += replayed.status in (WebhookEvent.Status.PARKED, WebhookEvent.Status.RETRYING)
            self.stdout.write(f"{replayed.svix_id} {replayed.type}: {replayed.status}")
        self.stdout.write(f"Replayed {len(targets)} event(s); {failures} still failing.")
        if failures:
            raise CommandError(f"{failures} replayed event(s) failed again; see `webhook_inbox list --state parked`.")
