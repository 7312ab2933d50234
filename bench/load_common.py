"""The load benches' shared harness: a throwaway PostgreSQL database, production settings filled in for loopback,
gunicorn, the Clerk emulator in a thread, and a bounded, threaded HTTP client that records every answer.

Everything here listens on and talks to 127.0.0.1 only, and everything stops itself: the database is dropped, the
gunicorn master (the one process a bench starts) is sent SIGTERM and then SIGKILL, and a load phase ends at its
request count or its deadline, whichever comes first.

Settings: ``bench.bench_settings``, i.e. ``config.settings.production`` (DEBUG off, PostgreSQL, Redis cache, the
django-tasks-db task backend, JSON logs, HTTPS-only security settings) plus ``bench.bench_urls`` (the product's URLs
and two views that exist only in the benches). The production settings' required environment is filled in for
loopback by ``production_env``; requests carry ``X-Forwarded-Proto: https`` as a TLS-terminating load balancer
would set it, so ``SECURE_SSL_REDIRECT`` stays on.

Environment: ``BENCH_DATABASE_URL`` (else ``DATABASE_URL`` when it is PostgreSQL, else
``postgres://postgres@127.0.0.1:5432/postgres``) names the server and credentials; each run creates and drops its
own database there. ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clerk_emulator.server import EmulatorServer  # noqa: E402

HOST = "127.0.0.1"
SETTINGS_MODULE = "bench.bench_settings"
# Every request a bench makes goes through the TLS-terminating proxy in production; say so, as the proxy would.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The bench's own webhook signing secret (svix `whsec_` + base64), never used outside the benches.
BENCH_WEBHOOK_SECRET = "whsec_YmVuY2gtb25seS13ZWJob29rLXNpZ25pbmctc2VjcmV0"  # noqa: S105


# --------------------------------------------------------------------------- output
def say(message: str = "") -> None:
    print(message, flush=True)


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- PostgreSQL and Redis
def postgres_server_url() -> str:
    """The PostgreSQL server (and credentials) the bench creates its database on."""
    explicit = os.environ.get("BENCH_DATABASE_URL", "")
    if explicit:
        return explicit
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://", "pgsql://")):
        return configured
    return DEFAULT_POSTGRES_URL


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    scheme = "postgres" if parts.scheme in ("pgsql", "postgresql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


def _libpq_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


@contextlib.contextmanager
def throwaway_database(label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this run (its ``DATABASE_URL``), dropped at the end whatever happens."""
    server = postgres_server_url()
    name = f"bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin_url = _libpq_url(_with_database(server, "postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def services_available() -> str | None:
    """``None`` when PostgreSQL and Redis answer on loopback, else why not (for ``--quick`` runs in CI to skip)."""
    try:
        with psycopg.connect(_libpq_url(_with_database(postgres_server_url(), "postgres")), connect_timeout=3):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable: {exc}"
    parts = urlsplit(redis_url())
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return "Redis did not answer PING"
    except OSError as exc:
        return f"Redis is not reachable: {exc}"
    return None


# --------------------------------------------------------------------------- settings
def production_env(
    *, database_url: str, emulator: EmulatorServer, jwt_key: str = "", webhook_secret: str = BENCH_WEBHOOK_SECRET
) -> dict[str, str]:
    """The environment ``config.settings.production`` requires, filled in for loopback and the emulator."""
    return {
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
        "APP_BASE_URL": "https://app.bench.invalid",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url(),
        "EMAIL_URL": "consolemail://",
        "DEFAULT_FROM_EMAIL": "bench@example.com",
        "CLERK_API_URL": emulator.api_url,
        "CLERK_SECRET_KEY": emulator.emulator.secret_key,
        "CLERK_PUBLISHABLE_KEY": emulator.emulator.publishable_key,
        "CLERK_FRONTEND_API_URL": emulator.url,
        "CLERK_JWT_KEY": jwt_key,
        "CLERK_WEBHOOK_SIGNING_SECRET": webhook_secret,
    }


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process exactly as the server is configured (same settings, same database)."""
    os.environ.update(env)
    if not env.get("CLERK_JWT_KEY"):
        os.environ.pop("CLERK_JWT_KEY", None)
    import django

    django.setup()


def migrate(env: dict[str, str], *, timeout_s: float = 300) -> float:
    """``manage.py migrate`` on the bench database, in a subprocess; returns the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=_child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def _child_env(env: dict[str, str]) -> dict[str, str]:
    child = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    if not env.get("CLERK_JWT_KEY"):
        child.pop("CLERK_JWT_KEY", None)
    return child


def run_task_workers(env: dict[str, str], *, count: int, timeout_s: float) -> tuple[float, list[int], str]:
    """``count`` django-tasks-db workers (``manage.py db_worker``, as production runs them) in batch mode: each
    takes tasks until none is ready, then exits. Returns the seconds until the last one exited, their exit
    statuses (a worker still running at ``timeout_s`` is killed and counted as -9) and the end of their log."""
    command = [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--batch", "--no-startup-delay"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        workers = [
            subprocess.Popen(command, cwd=ROOT, env=_child_env(env), stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            for _ in range(count)
        ]
        statuses = []
        for worker in workers:
            try:
                statuses.append(worker.wait(timeout=max(0.0, timeout_s - (time.perf_counter() - started))))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
                statuses.append(-9)
        elapsed = time.perf_counter() - started
        log.seek(0)
        tail = log.read().decode(errors="replace")[-3000:]
    return elapsed, statuses, tail


# --------------------------------------------------------------------------- the Clerk emulator
def start_emulator() -> EmulatorServer:
    """The Clerk emulator on a free loopback port, in a thread of this process (no webhook target)."""
    return EmulatorServer(host=HOST, port=0).start()


def clerk_calls(server: EmulatorServer, since: int = 0) -> Counter[str]:
    """Backend API calls the emulator answered since ``since`` (an index into its request log), by method + path
    pattern (ids replaced by ``{id}``)."""
    calls: Counter[str] = Counter()
    for method, path, _ in server.emulator.request_log[since:]:
        if path.startswith("/v1/"):
            pattern = "/".join("{id}" if "_" in part else part for part in path.split("/"))
            calls[f"{method} {pattern}"] += 1
    return calls


# --------------------------------------------------------------------------- gunicorn
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Gunicorn:
    """gunicorn serving ``config.wsgi`` on loopback with ``env``; a context manager that always stops it."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, worker_class: str = "sync", threads: int = 1) -> None:
        self.env = env
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def description(self) -> str:
        threads = f", {self.threads} threads each" if self.worker_class == "gthread" else ""
        return f"gunicorn, {self.workers} {self.worker_class} workers{threads}"

    def start(self, *, ready_timeout_s: float = 30) -> Gunicorn:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--chdir",
            str(ROOT),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=_child_env(self.env), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = request_once(self.port, "GET", "/bench/ping/")
            except OSError:
                status = 0
            if status == 200:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {ready_timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def server_errors_logged(self) -> int:
        """Lines of the server log at ERROR or above (tracebacks of 500s, worker timeouts)."""
        self.log.flush()
        count = 0
        for line in Path(self.log.name).read_text(errors="replace").splitlines():
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or "[CRITICAL]" in line:
                count += 1
        return count

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


# --------------------------------------------------------------------------- the HTTP client
@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Sample:
    index: int
    label: str
    status: int  # 0: no answer (connection error, timeout)
    latency_s: float
    body: bytes
    error: str = ""


@dataclass
class LoadRun:
    samples: list[Sample]
    elapsed_s: float
    planned: int
    concurrency: int

    @property
    def completed(self) -> int:
        return len(self.samples)

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def statuses(self) -> Counter[int]:
        return Counter(sample.status for sample in self.samples)

    @property
    def errors(self) -> int:
        return sum(1 for sample in self.samples if not 200 <= sample.status < 300)

    def latencies_ms(self, label: str | None = None) -> list[float]:
        return sorted(s.latency_s * 1000 for s in self.samples if label is None or s.label == label)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (``nan`` when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(sorted_ms: Sequence[float]) -> str:
    return (
        f"p50 {percentile(sorted_ms, 50):7.1f} ms  p95 {percentile(sorted_ms, 95):7.1f} ms  "
        f"p99 {percentile(sorted_ms, 99):7.1f} ms  max {sorted_ms[-1] if sorted_ms else math.nan:7.1f} ms"
    )


def request_once(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers={**PROXY_HEADERS, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def run_load(
    port: int,
    make_request: Callable[[int], Request],
    *,
    count: int,
    concurrency: int,
    deadline_s: float,
    keep_body: Callable[[Request, int], bool] = lambda request, status: False,
    timeout_s: float = 30,
) -> LoadRun:
    """Send ``make_request(i)`` for i in 0..count-1 from ``concurrency`` threads, each on its own connection
    (reused while the server keeps it alive). Stops early at ``deadline_s`` seconds. ``make_request`` runs in the
    sending thread just before the request, outside the timed part (e.g. to sign it with the current time)."""
    indexes = itertools.count()
    lock = threading.Lock()
    samples: list[Sample] = []
    stop_at = time.monotonic() + deadline_s

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        local: list[Sample] = []
        while time.monotonic() < stop_at:
            with lock:
                index = next(indexes)
            if index >= count:
                break
            request = make_request(index)
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
            started = time.perf_counter()
            try:
                conn.request(
                    request.method,
                    request.path,
                    body=request.body or None,
                    headers={**PROXY_HEADERS, **request.headers},
                )
                response = conn.getresponse()
                body = response.read()
                latency = time.perf_counter() - started
                if response.will_close:
                    conn.close()
                    conn = None
                keep = keep_body(request, response.status)
                local.append(Sample(index, request.label, response.status, latency, body if keep else b""))
            except (OSError, http.client.HTTPException) as exc:
                latency = time.perf_counter() - started
                if conn is not None:
                    conn.close()
                conn = None
                local.append(Sample(index, request.label, 0, latency, b"", f"{type(exc).__name__}: {exc}"))
        if conn is not None:
            conn.close()
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker, name=f"bench-client-{i}", daemon=True) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline_s + timeout_s + 5)
    elapsed = time.perf_counter() - started
    with lock:
        done = sorted(samples, key=lambda sample: sample.index)
    return LoadRun(done, elapsed, count, concurrency)


def json_body(sample: Sample) -> dict[str, Any]:
    try:
        data = json.loads(sample.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (client, server, PostgreSQL and Redis share them)"
