"""Clerk's Frontend API (FAPI), as the real ClerkJS browser bundle speaks it. See ``routing`` for the wire rules.

One module per resource: ``environment``, ``dev_browser``, ``client``, ``sign_ins``, ``sign_ups``, ``sessions``,
``me``, ``tickets``; ``wire`` holds the JSON shapes, ``codes`` the one-time codes.
"""

from __future__ import annotations

from clerk_emulator.fapi import client, dev_browser, environment, me, sessions, sign_ins, sign_ups, tickets
from clerk_emulator.fapi.routing import ROUTES, RULES, add_cors, preflight, tunnelled_method

__all__ = [
    "ROUTES",
    "RULES",
    "add_cors",
    "client",
    "dev_browser",
    "environment",
    "me",
    "preflight",
    "sessions",
    "sign_ins",
    "sign_ups",
    "tickets",
    "tunnelled_method",
]
