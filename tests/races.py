"""Races with Clerk in the middle: a change made by another connection while one Clerk call is held."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections

from clerk_emulator.state import Emulator, Fault


@contextmanager
def meanwhile(em: Emulator, fault: Fault, change: Callable[[], object]) -> Iterator[None]:
    """While Clerk holds the call ``fault`` delays, ``change`` runs in another thread (another connection)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            deadline = time.monotonic() + 10
            while fault.hits == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            change()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    em.faults.append(fault)
    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=15)
    assert fault.hits == 1
    assert errors == []
