"""The demo app under multi-worker gunicorn, hammered from 16 client threads over loopback.

For users on SQLite (a temp file, WAL) and on PostgreSQL (the throwaway server), with and
without ``--preload``, gunicorn runs ``-k gthread --workers 2 --threads 8`` as a subprocess;
events live in one in-memory DuckDB per worker (a DuckDB file can be opened by one process
only). For a bounded time (``SQLSPEC_LOAD_SECONDS``, default 5 s) writer threads POST new users
(and re-POST some already created emails, expecting 409) while reader threads GET created users,
the dashboard and ``/ping``, each over its own keep-alive ``http.client`` connection.

Checked: no 5xx and no unexpected status; every created user is readable at once (from either
worker); after gunicorn stops, the users table holds exactly the ids answered with 201, each
once; ``/health`` shows no connection still in use once the load is over (polled until both
workers answered); on PostgreSQL the server never sees more connections to the database than
two full pools plus the checker.

The schema is created once before gunicorn starts (``create_app`` in this process), so the
database can be checked and sized before the load; the workers' own start-up race on a fresh
PostgreSQL database is covered by ``test_startup_race.py``.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import PostgresServer

pytest.importorskip("gunicorn")

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
WORKERS = 2
THREADS = 8
CLIENTS = 16
WRITERS = 6  # of the CLIENTS threads; the others read
DUPLICATE_EVERY = 8  # every 8th POST of a writer re-sends one of its created emails
LOAD_SECONDS = float(os.environ.get("SQLSPEC_LOAD_SECONDS", "") or 5.0)
MAX_REQUESTS_PER_CLIENT = 20_000
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0
# Each client opens a new connection after this many requests: a keep-alive connection stays
# with the worker that accepted it, and new ones spread the load over both workers.
RECONNECT_EVERY = 25
HEALTH_POLLS = (8, 60)  # at least, at most

_schemas = itertools.count(1)


# ------------------------------------------------------------------------------ gunicorn


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _gunicorn_command() -> list[str]:
    script = Path(sys.executable).parent / "gunicorn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


class Gunicorn:
    """The demo under ``gunicorn -k gthread``, started and stopped by this test."""

    def __init__(self, env: dict[str, str], preload: bool, log: Path) -> None:
        self.env = env
        self.preload = preload
        self.log = log
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"<no log: {error}>"

    def start(self) -> None:
        for attempt in range(3):  # the free port may be taken before gunicorn binds it
            self.port = _free_port()
            cmd = [
                *_gunicorn_command(),
                "-k",
                "gthread",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--bind",
                f"{LOOPBACK}:{self.port}",
                "--chdir",
                str(REPO_ROOT),
                "-c",
                str(Path(__file__).with_name("gunicorn_conf.py")),
                "--graceful-timeout",
                "10",
                "--keep-alive",
                "10",
                *(["--preload"] if self.preload else []),
                "tests.load.demo_wsgi:app",
            ]
            with self.log.open("ab") as out:
                out.write(f"\n$ {' '.join(cmd)}\n".encode())
                out.flush()
                self.process = subprocess.Popen(
                    cmd,
                    cwd=REPO_ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            problem = self._wait_ready()
            if problem is None:
                return
            self.stop()
            if "Address already in use" not in self.log_tail() or attempt == 2:
                pytest.fail(f"gunicorn: {problem}\n--- log ---\n{self.log_tail()}", pytrace=False)

    def _wait_ready(self) -> str | None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"exited with status {self.process.returncode} during start-up"
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
                try:
                    conn.request("GET", "/ping")
                    response = conn.getresponse()
                    if response.status == 200 and response.read() == b"pong":
                        return None
                finally:
                    conn.close()
            time.sleep(0.1)
        return f"/ping did not answer within {START_TIMEOUT:g} s"

    def stop(self) -> int | None:
        """SIGTERM, wait, SIGKILL (the whole process group) on timeout; the exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
                pytest.fail(f"gunicorn did not stop within {STOP_TIMEOUT:g} s after SIGTERM")
        return process.returncode


# ------------------------------------------------------------------------------ load


@dataclass
class Tally:
    """What one client thread saw."""

    requests: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    created: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    workers: Counter[str] = field(default_factory=Counter)

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.created += other.created
        self.duplicates += other.duplicates
        self.problems += other.problems[: 40 - len(self.problems)]
        self.workers.update(other.workers)


class Client:
    """One keep-alive connection; reconnects after a transport error (counted as a problem)."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=HTTP_TIMEOUT)

    def call(self, kind: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        payload = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.tally.problem(f"{method} {path}: transport error {error!r}")
            self.conn.close()
            self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=HTTP_TIMEOUT)
            return 0, None
        self.tally.requests += 1
        if self.tally.requests % RECONNECT_EVERY == 0:
            self.conn.close()  # the next request connects again
        self.tally.statuses[(kind, response.status)] += 1
        self.tally.workers[response.getheader("X-Worker-Pid", "?")] += 1
        if response.status >= 500:
            self.tally.problem(f"{method} {path}: {response.status} {data[:200]!r}")
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else data

    def close(self) -> None:
        self.conn.close()


def writer(client: Client, tag: str, deadline: float) -> None:
    tally = client.tally
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        if tally.created and n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            _, email = random.choice(tally.created)
            status, _ = client.call("POST dup", "POST", "/api/users", {"email": email, "name": "d"})
            tally.duplicates += 1
            if status not in (0, 409):
                tally.problem(f"duplicate POST {email}: expected 409, got {status}")
            continue
        email = f"{tag}-{n}@example.com"
        status, body = client.call("POST", "POST", "/api/users", {"email": email, "name": tag})
        if status == 201:
            user = body["user"]
            if user["email"] != email:
                tally.problem(f"POST {email}: answered {user!r}")
            tally.created.append((int(user["id"]), email))
            CREATED.append((int(user["id"]), email))
        elif status != 0:
            tally.problem(f"POST {email}: expected 201, got {status}")


def reader(client: Client, deadline: float) -> None:
    tally = client.tally
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        pick = n % 4
        if pick < 2 and CREATED:
            user_id, email = random.choice(CREATED)
            status, body = client.call("GET user", "GET", f"/api/users/{user_id}")
            if status == 200 and body["user"]["email"] != email:
                tally.problem(f"GET user {user_id}: expected {email}, got {body!r}")
            elif status not in (0, 200):  # a 201 was answered, so the row must be visible
                tally.problem(f"GET user {user_id}: expected 200, got {status}")
        elif pick == 2:
            status, body = client.call("GET dashboard", "GET", "/api/dashboard")
            if status == 200 and not isinstance(body.get("users"), int):
                tally.problem(f"GET /api/dashboard: {body!r}")
            elif status not in (0, 200):
                tally.problem(f"GET /api/dashboard: expected 200, got {status}")
        else:
            status, body = client.call("GET ping", "GET", "/ping")
            if status not in (0, 200) or (status == 200 and body != b"pong"):
                tally.problem(f"GET /ping: {status} {body!r}")


CREATED: list[tuple[int, str]] = []  # (id, email) of every 201 so far, shared by the readers


def run_load(port: int, tag: str, seconds: float) -> tuple[Tally, float]:
    """Hammer the server from CLIENTS threads for ``seconds``; (merged tally, elapsed s)."""
    CREATED.clear()
    clients = [Client(port, Tally()) for _ in range(CLIENTS)]
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(
            target=writer if i < WRITERS else reader,
            args=(client, f"{tag}-w{i}", deadline) if i < WRITERS else (client, deadline),
            name=f"load-client-{i}",
            daemon=True,
        )
        for i, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + HTTP_TIMEOUT + 10)
    elapsed = time.monotonic() - start
    stuck = [thread.name for thread in threads if thread.is_alive()]
    total = Tally()
    for client in clients:
        client.close()
        total.merge(client.tally)
    if stuck:
        total.problem(f"client threads still running after the load: {stuck}")
    return total, elapsed


def poll_health(port: int) -> list[tuple[str, dict[str, Any]]]:
    """GET /health on fresh connections until both workers answered (bounded); (pid, pools)."""
    answers: list[tuple[str, dict[str, Any]]] = []
    low, high = HEALTH_POLLS
    for n in range(high):
        if n >= low and len({pid for pid, _ in answers}) >= WORKERS:
            break
        # A few connections at once, so that both workers' accept loops get one.
        conns = [http.client.HTTPConnection(LOOPBACK, port, timeout=10) for _ in range(WORKERS)]
        try:
            for conn in conns:
                conn.request("GET", "/health", headers={"Connection": "close"})
            for conn in conns:
                response = conn.getresponse()
                body = json.loads(response.read())
                assert response.status == 200, body
                answers.append((response.getheader("X-Worker-Pid", "?"), body["pools"]))
        finally:
            for conn in conns:
                conn.close()
    return answers


class PgSampler:
    """Samples the number of server connections to the database while the load runs."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.samples: list[int] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        import psycopg

        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                deadline = time.monotonic() + LOAD_SECONDS + START_TIMEOUT + HTTP_TIMEOUT
                while not self._stop.is_set() and time.monotonic() < deadline:
                    row = conn.execute(sql).fetchone()
                    self.samples.append(int(row[0]) if row else 0)
                    self._stop.wait(0.1)
        except BaseException as error:
            self.error = error

    def __enter__(self) -> PgSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# ------------------------------------------------------------------------------ databases


@dataclass
class Target:
    """Where the users live for one run, and how to read them back directly."""

    backend: str
    env: dict[str, str]  # for gunicorn
    settings: dict[str, Any]  # the same, as create_app settings (schema creation)
    pg_conninfo: str = ""
    sqlite_path: Path | None = None

    def read_users(self) -> list[tuple[int, str]]:
        sql = "SELECT id, email FROM users ORDER BY id"
        if self.sqlite_path is not None:
            with contextlib.closing(sqlite3.connect(self.sqlite_path)) as conn:
                return [(int(i), str(e)) for i, e in conn.execute(sql).fetchall()]
        import psycopg

        with psycopg.connect(self.pg_conninfo) as conn:
            return [(int(i), str(e)) for i, e in conn.execute(sql).fetchall()]


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("USERS_POSTGRES_DSN",)}
    env.update(
        DEMO_DATA_DIR=str(data_dir),
        EVENTS_DATABASE=":memory:",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    data_dir = tmp_path / "data"
    env = _base_env(data_dir)
    settings: dict[str, Any] = {"DATA_DIR": str(data_dir), "EVENTS_DATABASE": ":memory:"}
    if request.param == "sqlite":
        yield Target("sqlite", env, settings, sqlite_path=data_dir / "users.db")
        return

    import psycopg

    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = f"load_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    conninfo = f"{server.conninfo} options=-csearch_path={schema}"
    env["USERS_POSTGRES_DSN"] = conninfo
    settings["USERS_POSTGRES_DSN"] = conninfo
    try:
        yield Target("postgres", env, settings, pg_conninfo=conninfo)
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def create_schema(target: Target) -> int:
    """Run ``create_app`` once here (it creates the schema); the users pool's max_size."""
    from examples.demo.app import create_app

    app = create_app(dict(target.settings))
    try:
        return int(app.extensions["sqlspec"].state("users_db").config.max_pool_size())
    finally:
        app.extensions["sqlspec_spec"].close_all_pools()


# ------------------------------------------------------------------------------ the test


@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_demo_under_gunicorn(
    target: Target, preload: bool, tmp_path: Path, load_report: list[str]
) -> None:
    pool_max = create_schema(target)
    server = Gunicorn(target.env, preload, tmp_path / "gunicorn.log")
    tag = f"{target.backend}-{'preload' if preload else 'fork'}-{os.getpid()}"
    sampler = PgSampler(target.pg_conninfo) if target.pg_conninfo else None
    server.start()
    try:
        with sampler or contextlib.nullcontext():
            tally, elapsed = run_load(server.port, tag, LOAD_SECONDS)
        health = poll_health(server.port)
    finally:
        status = server.stop()
    log = server.log.read_text(errors="replace")

    rps = tally.requests / elapsed
    created = tally.statuses[("POST", 201)]
    load_report.append(
        f"{target.backend:8} {'--preload' if preload else 'no preload':10}  "
        f"{tally.requests:6d} requests in {elapsed:4.1f} s = {rps:6.0f} req/s  "
        f"({created} users created, {tally.duplicates} duplicates -> 409, "
        f"per worker {sorted(tally.workers.values(), reverse=True)}"
        + (f", max {max(sampler.samples)} PG connections" if sampler and sampler.samples else "")
        + ")"
    )

    context = f"--- gunicorn log tail ---\n{server.log_tail()}"
    assert not tally.problems, "\n".join(tally.problems) + "\n" + context
    assert not [key for key in tally.statuses if key[1] >= 500], tally.statuses
    assert created > 0, tally.statuses
    assert tally.statuses[("POST dup", 409)] == tally.duplicates > 0, tally.statuses
    assert "Traceback" not in log, context
    assert status == 0, f"gunicorn exit status {status}\n{context}"

    assert len(tally.workers) == WORKERS, f"not every worker served requests: {tally.workers}"

    # No leaked connection: every /health answer after the load shows nothing in use.
    assert {pid for pid, _ in health} >= set(tally.workers) - {"?"}, (health, tally.workers)
    assert len({pid for pid, _ in health}) == WORKERS, health
    for pid, pools in health:
        for key, stats in pools.items():
            assert stats["in_use"] == 0, f"worker {pid}: {key} {stats}"
            assert stats["waiting"] == 0, f"worker {pid}: {key} {stats}"

    # Zero lost or duplicated rows: the table holds exactly the ids answered with 201.
    answered = [user_id for user_id, _ in tally.created]
    assert len(answered) == created
    assert len(set(answered)) == created, "an id was answered twice"
    rows = target.read_users()
    assert len(rows) == created, f"{len(rows)} rows in users, {created} answered 201"
    assert sorted(tally.created) == rows

    if sampler is not None:
        assert sampler.error is None, repr(sampler.error)
        assert sampler.samples, "no pg_stat_activity sample was taken"
        bound = WORKERS * pool_max + 1
        assert max(sampler.samples) <= bound, (max(sampler.samples), bound)
