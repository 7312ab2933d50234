"""``python -m clerk_emulator --host 127.0.0.1 --port 8787 [--secret-key …] [--webhook-url … --webhook-secret …]
[--allowed-origin ORIGIN …] [--production]``.

Prints the Backend API URL and the keys to point an app at, then serves until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from clerk_emulator import clerk_js
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import DEFAULT_ALLOWED_ORIGINS, DEFAULT_SECRET_KEY
from clerk_emulator.webhooks import check_webhook_secret, check_webhook_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clerk_emulator",
        description="Run the in-memory Clerk emulator (Backend API, session tokens, webhooks, mailbox).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on; 0 picks a free one (default 8787)")
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="the sk_test_… key the Backend API accepts")
    parser.add_argument("--webhook-url", help="where to POST svix-signed webhooks")
    parser.add_argument("--webhook-secret", help="the whsec_… signing secret for --webhook-url")
    parser.add_argument(
        "--allowed-origin",
        action="append",
        dest="allowed_origins",
        metavar="ORIGIN",
        help="an app origin whose pages call the Frontend API (repeatable; default http://127.0.0.1:8000 and "
        "http://localhost:8000)",
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="act as a production instance (pk_live_ key, __client cookie) instead of a development one",
    )
    return parser


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    try:
        if args.webhook_url:
            check_webhook_url(args.webhook_url)
            check_webhook_secret(args.webhook_secret)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.secret_key.startswith(("sk_test_", "sk_live_")) or len(args.secret_key) <= len("sk_test_"):
        parser.error("--secret-key must start with sk_test_ or sk_live_")
    if not 0 <= args.port <= 65_535:
        parser.error("--port must be between 0 and 65535")
    for origin in args.allowed_origins or []:
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            parser.error(f"--allowed-origin {origin!r} is not an origin (scheme://host[:port], no path)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        server = EmulatorServer(
            host=args.host,
            port=args.port,
            secret_key=args.secret_key,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            production=args.production,
            allowed_origins=args.allowed_origins or DEFAULT_ALLOWED_ORIGINS,
        )
    except OSError as exc:  # a busy port or an address this machine does not have
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    em = server.emulator
    print(f"Clerk emulator listening on {em.base_url}", flush=True)
    print(f"  CLERK_API_URL={em.backend_api_url}", flush=True)
    print(f"  CLERK_SECRET_KEY={em.secret_key}", flush=True)
    print(f"  CLERK_PUBLISHABLE_KEY={em.publishable_key}", flush=True)
    print(f"  CLERK_FRONTEND_API_URL={em.frontend_api_url}", flush=True)
    print(f"  CLERK_PROXY_URL={em.proxy_url}", flush=True)
    kind = "production (__client cookie)" if em.production else "development (dev browser)"
    print(f"  Instance: {kind}; ClerkJS {clerk_js.version()}; app origins: {', '.join(em.allowed_origins)}", flush=True)
    print(f"  Keys and PEM public key: {em.base_url}/__emulator/keys", flush=True)
    print(f"  Mailbox: {em.base_url}/__emulator/mail", flush=True)
    if em.webhook_url:
        print(f"  Webhooks to {em.webhook_url}", flush=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("Clerk emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
