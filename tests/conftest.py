"""Shared fixtures. The Clerk emulator runs in-thread for the whole session (see clerk_emulator/testing.py)."""

pytest_plugins = ["clerk_emulator.testing"]
