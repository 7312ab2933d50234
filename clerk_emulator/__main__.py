"""``python -m clerk_emulator --host 127.0.0.1 --port 8787 [--secret-key …] [--webhook-url … --webhook-secret …]``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import DEFAULT_SECRET_KEY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clerk_emulator", description="Run the in-memory Clerk emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--webhook-url", help="where to POST svix-signed webhooks")
    parser.add_argument("--webhook-secret", help="the whsec_… signing secret for --webhook-url")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    if args.webhook_secret and not args.webhook_secret.startswith("whsec_"):
        parser.error("--webhook-secret must start with whsec_")
    if not args.secret_key.startswith(("sk_test_", "sk_live_")):
        parser.error("--secret-key must start with sk_test_ or sk_live_")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        secret_key=args.secret_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    em = server.emulator
    print(f"Clerk emulator listening on {em.base_url}", flush=True)
    print(f"  CLERK_API_URL={em.backend_api_url}", flush=True)
    print(f"  CLERK_SECRET_KEY={em.secret_key}", flush=True)
    print(f"  CLERK_PUBLISHABLE_KEY={em.publishable_key}", flush=True)
    print(f"  CLERK_FRONTEND_API_URL={em.frontend_api_url}", flush=True)
    print(f"  Mailbox: {em.base_url}/__emulator/mail", flush=True)
    if em.webhook_url:
        print(f"  Webhooks to {em.webhook_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
