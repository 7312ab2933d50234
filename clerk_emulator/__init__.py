"""An in-memory Clerk (Backend API, the Frontend API our pages use, webhooks, mailbox) for demos and tests."""

from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator

__all__ = ["Emulator", "EmulatorServer"]
