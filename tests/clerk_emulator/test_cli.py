"""``python -m clerk_emulator``: prints its URL and keys, serves the Backend API with that key, stops on SIGTERM."""

from __future__ import annotations

import base64
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from clerk_emulator.__main__ import main
from tests.clerk_emulator.receiver import SECRET, Receiver

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "sk_test_cli_0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Emulator:
    """The CLI in a subprocess; ``lines`` collects what it printed, read on a thread so nothing blocks."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "clerk_emulator", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def banner(self, timeout: float = 20.0) -> dict[str, str]:
        """The ``NAME=value`` lines printed at start-up, up to the mailbox line."""
        printed: dict[str, str] = {}
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the emulator printed no banner; so far {printed}") from None
            if line.startswith("Clerk emulator listening on "):
                printed["listening"] = line.removeprefix("Clerk emulator listening on ")
            elif "=" in line and line.strip().startswith("CLERK_"):
                name, value = line.strip().split("=", 1)
                printed[name] = value
            elif line.strip().startswith("Mailbox: "):
                printed["mailbox"] = line.strip().removeprefix("Mailbox: ")
                return printed

    def stop(self) -> tuple[int, str]:
        self.process.terminate()
        code = self.process.wait(timeout=10)
        rest: list[str] = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "\n".join(rest)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def cli(port: int) -> Iterator[Emulator]:
    emulator = Emulator("--host", "127.0.0.1", "--port", str(port), "--secret-key", SECRET_KEY)
    try:
        yield emulator
    finally:
        if emulator.process.poll() is None:
            emulator.process.kill()
            emulator.process.wait(timeout=10)


@pytest.mark.subprocess
def test_prints_its_keys_and_serves_the_backend_api_with_them(cli: Emulator, port: int) -> None:
    printed = cli.banner()
    base = f"http://127.0.0.1:{port}"
    assert printed["listening"] == base
    assert printed["CLERK_API_URL"] == f"{base}/v1"
    assert printed["CLERK_SECRET_KEY"] == SECRET_KEY
    assert printed["CLERK_FRONTEND_API_URL"] == base
    assert printed["mailbox"] == f"{base}/__emulator/mail"
    publishable = printed["CLERK_PUBLISHABLE_KEY"]
    assert publishable.startswith("pk_test_")
    payload = publishable.removeprefix("pk_test_")
    # A development instance's Frontend API host; pages reach the emulator itself through the proxy URL.
    assert base64.b64decode(payload + "=" * (-len(payload) % 4)).decode() == "emulator.clerk.accounts.dev$"
    assert printed["CLERK_PROXY_URL"] == base

    api = printed["CLERK_API_URL"]
    with httpx.Client(base_url=api, timeout=5) as http:
        created = http.post(
            "/users", json={"email_address": ["cli@example.com"]}, headers={"Authorization": f"Bearer {SECRET_KEY}"}
        )
        assert created.status_code == 200
        assert created.json()["object"] == "user"
        listed = http.get("/users", headers={"Authorization": f"Bearer {SECRET_KEY}"})
        assert [u["id"] for u in listed.json()] == [created.json()["id"]]

        wrong = http.get("/users", headers={"Authorization": "Bearer sk_test_wrong"})
        assert wrong.status_code == 401
        assert wrong.json()["errors"][0]["code"] == "clerk_key_invalid"
        assert http.get("/users").status_code == 401
    assert httpx.get(f"{base}/__emulator/keys", timeout=5).json()["publishable_key"] == publishable

    code, rest = cli.stop()
    assert code == 0, rest
    assert "Clerk emulator stopped." in rest


@pytest.mark.subprocess
def test_webhook_flags_deliver_signed_events(port: int) -> None:
    with Receiver() as receiver:
        emulator = Emulator(
            "--port", str(port), "--webhook-url", receiver.url, "--webhook-secret", SECRET, "--secret-key", SECRET_KEY
        )
        try:
            api = emulator.banner()["CLERK_API_URL"]
            httpx.post(
                f"{api}/users",
                json={"email_address": ["hook@example.com"]},
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=5,
            ).raise_for_status()
            [request] = receiver.wait_for(1)
        finally:
            code, rest = emulator.stop()
    assert request.verified
    assert request.event["type"] == "user.created"
    assert request.event["data"]["email_addresses"][0]["email_address"] == "hook@example.com"
    assert code == 0, rest


@pytest.mark.parametrize(
    "args",
    [
        ["--webhook-url", "http://127.0.0.1:8000/webhooks/clerk/"],
        ["--webhook-secret", SECRET],
        ["--webhook-url", "http://127.0.0.1:8000/hook", "--webhook-secret", "not-a-whsec"],
        ["--webhook-url", "http://127.0.0.1:8000/hook", "--webhook-secret", "whsec_***"],
        ["--webhook-url", "127.0.0.1:8000/hook", "--webhook-secret", SECRET],
        ["--secret-key", "pk_test_abc"],
        ["--port", "70000"],
        ["--port", "http"],
    ],
)
def test_bad_arguments_are_refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_busy_port_is_reported_without_a_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "clerk_emulator", "--port", str(busy.getsockname()[1])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
