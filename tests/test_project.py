"""Project-wide checks: the system check passes and no model change lacks a migration."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_system_check_passes() -> None:
    call_command("check", fail_level="WARNING")


def test_no_missing_migrations() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"Missing migrations:\n{out.getvalue()}", pytrace=False)


def test_djangos_own_server_sends_without_waiting_for_delayed_acks() -> None:
    """runserver, rundemo and the tests' live server answer with TCP_NODELAY (core.apps: Nagle cost 40 ms a request)."""
    import socket

    from django.core.servers.basehttp import WSGIRequestHandler

    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
            handler.request = accepted  # type: ignore[assignment]  # socketserver sets the socket here
            handler.setup()  # socketserver.StreamRequestHandler's: the socket options, then the files
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
