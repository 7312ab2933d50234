"""The emulator's state: one Clerk instance held in memory, guarded by one lock."""

from __future__ import annotations

import base64
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clerk_emulator import records
from clerk_emulator.errors import rate_limited
from clerk_emulator.tokens import SigningKeys

if TYPE_CHECKING:
    from clerk_emulator.webhooks import WebhookDispatcher

DEFAULT_SECRET_KEY = "sk_test_emulator_0000000000000000000000000000"
_ALPHABET = string.ascii_letters + string.digits

# Clerk's hourly creation caps per instance (reference/clerk.md §9): route key -> requests per hour.
HOURLY_CAPS: dict[str, int] = {
    "invitations.create": 100,
    "invitations.bulk_create": 25,
    "organization_invitations.create": 250,
    "organization_invitations.bulk_create": 50,
}

DEFAULT_TEMPLATES = [
    ("email", "invitation", "Invitation"),
    ("email", "organization_invitation", "Organization invitation"),
    ("email", "verification_code", "Verification code"),
    ("sms", "verification_code", "Verification code"),
]


# The Frontend API host the publishable key names. ClerkJS treats a host ending in ``.accounts.dev`` as a development
# instance (development-browser token); any other host is a production instance (``__client`` cookie). Pages reach
# the emulator itself through ``data-clerk-proxy-url``, so these hosts are never resolved.
DEVELOPMENT_FRONTEND_HOST = "emulator.clerk.accounts.dev"
PRODUCTION_FRONTEND_HOST = "clerk.emulator.example"
DEFAULT_ALLOWED_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")


def encode_publishable_key(frontend_host: str, *, live: bool = False) -> str:
    """``pk_test_`` (``pk_live_``) + unpadded base64 of ``"<host>$"``, which ClerkJS decodes to find its FAPI."""
    encoded = base64.b64encode(f"{frontend_host}$".encode()).decode().rstrip("=")
    return f"pk_{'live' if live else 'test'}_{encoded}"


@dataclass
class InstanceSettings:
    """What the instance's dashboard would configure, as far as the Frontend API shows it.

    The defaults are the instance docs/deployment.md describes: email + password, sign-up restricted to
    invitations, names and phone number collected at sign-up, the phone not verified there (the app's own
    onboarding verifies it).
    """

    phone_verify_at_sign_up: bool = False
    phone_required: bool = False
    names_required: bool = False
    session_token_lifetime_s: int = 60


@dataclass
class Fault:
    """Answer the next ``remaining`` calls matching ``method`` and ``path`` (a prefix, ``*`` for any) differently."""

    method: str
    path: str
    remaining: int
    status: int | None = None
    delay_s: float = 0.0
    retry_after: int | None = None
    code: str | None = None
    message: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


@dataclass
class CapWindow:
    limit: int
    hits: list[int] = field(default_factory=list)


class Emulator:
    """All state of one emulated Clerk instance. Every mutation happens under ``self.lock``."""

    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        production: bool = False,
        allowed_origins: tuple[str, ...] | list[str] = DEFAULT_ALLOWED_ORIGINS,
    ) -> None:
        self.secret_key = secret_key
        self.production = production
        # Origins whose pages may call the Frontend API with credentials (CORS echoes only these).
        self.allowed_origins: list[str] = list(allowed_origins)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.base_url = "http://127.0.0.1"  # set by the server once it is bound
        self.instance_id = "ins_" + self._random(27)
        self.keys = SigningKeys()
        self.lock = threading.RLock()
        self.dispatcher: WebhookDispatcher | None = None
        self.clock_offset_ms = 0
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, records.User] = {}
            self.organizations: dict[str, records.Organization] = {}
            self.memberships: dict[str, records.Membership] = {}
            self.organization_invitations: dict[str, records.OrganizationInvitation] = {}
            self.invitations: dict[str, records.Invitation] = {}
            self.sessions: dict[str, records.Session] = {}
            self.clients: dict[str, records.Client] = {}
            self.dev_browsers: dict[str, records.DevBrowser] = {}
            self.sign_ins: dict[str, records.SignIn] = {}
            self.sign_ups: dict[str, records.SignUp] = {}
            self.settings = InstanceSettings()
            self.templates: dict[tuple[str, str], records.Template] = {}
            self.messages: list[records.Message] = []
            self.events: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.caps_enabled = False
            self.caps: dict[str, CapWindow] = {key: CapWindow(limit) for key, limit in HOURLY_CAPS.items()}
            self.used_tickets: set[str] = set()
            self.request_log: list[tuple[str, str, int]] = []
            self.clock_offset_ms = 0
            now = self.now_ms()
            for template_type, slug, name in DEFAULT_TEMPLATES:
                self.templates[(template_type, slug)] = records.Template(
                    slug=slug, template_type=template_type, name=name, created_at=now, updated_at=now
                )
            if self.dispatcher is not None:
                self.dispatcher.clear()  # undelivered webhooks of the old state are dropped with it

    # -- configuration ---------------------------------------------------------------------------------------
    @property
    def frontend_api_url(self) -> str:
        return self.base_url

    @property
    def backend_api_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def frontend_api_host(self) -> str:
        return PRODUCTION_FRONTEND_HOST if self.production else DEVELOPMENT_FRONTEND_HOST

    @property
    def proxy_url(self) -> str:
        """Where pages reach this Frontend API (``data-clerk-proxy-url``): the emulator's own plain-http URL."""
        return self.base_url

    @property
    def publishable_key(self) -> str:
        return encode_publishable_key(self.frontend_api_host, live=self.production)

    # -- time and ids ----------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def now_s(self) -> int:
        return self.now_ms() // 1000

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset_ms += int(seconds * 1000)

    @staticmethod
    def _random(length: int) -> str:
        return "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._random(27)}"

    # -- caps and faults -------------------------------------------------------------------------------------
    def check_cap(self, key: str) -> None:
        """Clerk's hourly creation caps; a 429 carries ``Retry-After`` = seconds until a slot frees up."""
        if not self.caps_enabled or key not in self.caps:
            return
        window = self.caps[key]
        now = self.now_ms()
        window.hits = [hit for hit in window.hits if hit > now - 3_600_000]
        if len(window.hits) >= window.limit:
            retry_after = max(1, (window.hits[0] + 3_600_000 - now + 999) // 1000)
            raise rate_limited(int(retry_after))
        window.hits.append(now)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
            self.faults = [fault for fault in self.faults if fault.remaining > 0]
        return None

    # -- side channels: webhooks and messages ----------------------------------------------------------------
    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record a webhook event and hand it to the dispatcher (delivery never blocks the caller)."""
        event = {
            "data": data,
            "object": "event",
            "type": event_type,
            "timestamp": self.now_ms(),
            "instance_id": self.instance_id,
            "event_attributes": {"http_request": {"client_ip": "127.0.0.1", "user_agent": "clerk-emulator"}},
        }
        self.events.append(event)
        if self.dispatcher is not None:
            self.dispatcher.enqueue(event)

    def add_message(self, message: records.Message) -> None:
        self.messages.append(message)
