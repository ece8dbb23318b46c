"""An ``AsyncpgConfig`` app (``tests.load.async_wsgi``) under ``gunicorn --preload``, loaded.

gunicorn runs ``-k gthread --workers 2 --threads 4 --preload`` as a subprocess: the app, and with
it the portal thread (started by ``init_app``), is created in the master and forked into the
workers, where the portal must start afresh and the config build its own pool. In the
``warm-master`` variant the master has also used the database, so it holds a pool on its own
portal loop when it forks; the workers must leave it alone.

For a bounded time (``SQLSPEC_ASYNC_LOAD_SECONDS``, default 4 s) 8 client threads on loopback,
each over its own keep-alive ``http.client`` connection (reconnecting every few requests, so
both workers get connections), POST new users (re-POSTing some emails, expecting 409) and GET
created users, the count and ``/ping``.

Checked: no 5xx, no transport error, no unexpected status; every created user is readable at
once from either worker; both workers served async-backed requests (the ``pid`` in the JSON of
successful database responses); ``/health`` of each worker shows the portal thread running and
no connection in use after the load; the server never saw more of the app's connections than
two full pools (plus the master's, when warm); after gunicorn stops, the users table holds
exactly the rows answered 201; gunicorn exits 0 with no traceback in its log.
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
psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
WORKERS = 2
THREADS = 4
CLIENTS = 8
WRITERS = 4  # of the CLIENTS threads; the others read
DUPLICATE_EVERY = 8  # every 8th POST of a writer re-sends one of its created emails
LOAD_SECONDS = float(os.environ.get("SQLSPEC_ASYNC_LOAD_SECONDS", "") or 4.0)
MAX_REQUESTS_PER_CLIENT = 20_000
RECONNECT_EVERY = 10
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0
HEALTH_POLLS = 40
POOL_MAX = 4  # tests.load.async_wsgi.POOL_MAX (not imported: the module needs its environment)
APPLICATION_NAME = "sqlspec_async_wsgi"  # tests.load.async_wsgi.APPLICATION_NAME
PORTAL_THREAD = "sqlspec-portal"

USERS_DDL = (
    "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL)"
)

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
    """``gunicorn -k gthread --preload tests.load.async_wsgi:app``, started and stopped here."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.log = workdir / "gunicorn.log"
        # A settings file of this test's own: gunicorn >= 24 opens a control socket at a fixed
        # path in $HOME unless told not to (older versions ignore the unknown setting).
        self.conf = workdir / "gunicorn_conf.py"
        self.conf.write_text("control_socket_disable = True\n")
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
                "--preload",
                "--bind",
                f"{LOOPBACK}:{self.port}",
                "--chdir",
                str(REPO_ROOT),
                "-c",
                str(self.conf),
                "--graceful-timeout",
                "10",
                "--keep-alive",
                "10",
                "tests.load.async_wsgi:app",
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
    async_pids: Counter[int] = field(default_factory=Counter)  # successful database responses

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.created += other.created
        self.duplicates += other.duplicates
        self.problems += other.problems[: 40 - len(self.problems)]
        self.async_pids.update(other.async_pids)


class Client:
    """One keep-alive connection; a transport error is a problem (then it reconnects)."""

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
            self.conn.close()  # the next request connects again, maybe to the other worker
        self.tally.statuses[(kind, response.status)] += 1
        if response.status >= 500:
            self.tally.problem(f"{method} {path}: {response.status} {data[:200]!r}")
        if not response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, data
        decoded = json.loads(data)
        if 200 <= response.status < 300 and "pid" in decoded:
            self.tally.async_pids[int(decoded["pid"])] += 1
        return response.status, decoded

    def close(self) -> None:
        self.conn.close()


CREATED: list[tuple[int, str]] = []  # (id, email) of every 201 so far, shared by the readers


def writer(client: Client, tag: str, deadline: float) -> None:
    tally = client.tally
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        if tally.created and n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            _, email = random.choice(tally.created)
            status, _ = client.call("POST dup", "POST", "/users", {"email": email, "name": "d"})
            tally.duplicates += 1
            if status not in (0, 409):
                tally.problem(f"duplicate POST {email}: expected 409, got {status}")
            continue
        email = f"{tag}-{n}@example.com"
        status, body = client.call("POST", "POST", "/users", {"email": email, "name": tag})
        if status == 201:
            user = body["user"]
            if (user["email"], user["name"]) != (email, tag):
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
            status, body = client.call("GET user", "GET", f"/users/{user_id}")
            if status == 200 and body["user"]["email"] != email:
                tally.problem(f"GET user {user_id}: expected {email}, got {body!r}")
            elif status not in (0, 200):  # a 201 was answered, so the row must be visible
                tally.problem(f"GET user {user_id}: expected 200, got {status}")
        elif pick == 2:
            status, body = client.call("GET count", "GET", "/count")
            if status == 200 and not isinstance(body.get("users"), int):
                tally.problem(f"GET /count: {body!r}")
            elif status not in (0, 200):
                tally.problem(f"GET /count: expected 200, got {status}")
        else:
            status, body = client.call("GET ping", "GET", "/ping")
            if status not in (0, 200) or (status == 200 and body != b"pong"):
                tally.problem(f"GET /ping: {status} {body!r}")


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
            name=f"async-load-client-{i}",
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


def poll_health(port: int) -> dict[int, dict[str, Any]]:
    """GET /health on fresh connections until both workers answered (bounded); by pid."""
    answers: dict[int, dict[str, Any]] = {}
    for _ in range(HEALTH_POLLS):
        if len(answers) >= WORKERS:
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
                answers[int(body["pid"])] = body
        finally:
            for conn in conns:
                conn.close()
    return answers


class PgSampler:
    """Samples how many connections the app holds on the server while the load runs."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.samples: list[int] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                deadline = time.monotonic() + LOAD_SECONDS + START_TIMEOUT + HTTP_TIMEOUT
                while not self._stop.is_set() and time.monotonic() < deadline:
                    row = conn.execute(sql, (APPLICATION_NAME,)).fetchone()
                    self.samples.append(int(row[0]) if row else 0)
                    self._stop.wait(0.05)
        except BaseException as error:
            self.error = error

    def __enter__(self) -> PgSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# ------------------------------------------------------------------------------ database


@dataclass
class Database:
    server: PostgresServer
    schema: str

    def env(self, warm: bool) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ASYNC_WSGI_DSN=self.server.dsn,
            ASYNC_WSGI_SCHEMA=self.schema,
            ASYNC_WSGI_WARM="1" if warm else "0",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
        )
        return env

    def users(self) -> list[tuple[int, str]]:
        with psycopg.connect(self.server.conninfo) as conn:
            rows = conn.execute(f"SELECT id, email FROM {self.schema}.users ORDER BY id")
            return [(int(i), str(e)) for i, e in rows.fetchall()]


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[Database]:
    """A fresh schema holding an empty ``users`` table (created before gunicorn starts)."""
    schema = f"load_async_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path = {schema}")
        conn.execute(USERS_DDL)
    try:
        yield Database(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


# ------------------------------------------------------------------------------ the test


@pytest.mark.parametrize("warm", [False, True], ids=["cold-master", "warm-master"])
def test_asyncpg_app_under_gunicorn_preload(
    database: Database, warm: bool, tmp_path: Path, load_report: list[str]
) -> None:
    server = Gunicorn(database.env(warm), tmp_path)
    tag = f"async-{'warm' if warm else 'cold'}-{os.getpid()}"
    server.start()
    try:
        with PgSampler(database.server.conninfo) as sampler:
            tally, elapsed = run_load(server.port, tag, LOAD_SECONDS)
        health = poll_health(server.port)
    finally:
        status = server.stop()
    log = server.log.read_text(errors="replace")

    created = tally.statuses[("POST", 201)]
    load_report.append(
        f"asyncpg  --preload {'warm' if warm else 'cold'}  {tally.requests:6d} requests in "
        f"{elapsed:4.1f} s = {tally.requests / elapsed:6.0f} req/s  ({created} users created, "
        f"{tally.duplicates} duplicates -> 409, async-backed per worker "
        f"{sorted(tally.async_pids.values(), reverse=True)}, "
        f"max {max(sampler.samples, default=0)} app connections)"
    )

    context = f"--- gunicorn log tail ---\n{server.log_tail()}"
    assert not tally.problems, "\n".join(tally.problems) + "\n" + context
    assert not [key for key in tally.statuses if key[1] >= 500], tally.statuses
    assert created > 0, tally.statuses
    assert tally.statuses[("POST dup", 409)] == tally.duplicates > 0, tally.statuses
    assert "Traceback" not in log, context
    assert status == 0, f"gunicorn exit status {status}\n{context}"

    # Both workers served requests that went through their own portal to asyncpg.
    assert len(tally.async_pids) == WORKERS, f"async-backed responses by pid: {tally.async_pids}"
    assert set(health) == set(tally.async_pids), (sorted(health), tally.async_pids)
    for pid, answer in health.items():
        assert answer["threads"].count(PORTAL_THREAD) == 1, (pid, answer["threads"])
        stats = answer["pools"]["db"]
        assert (stats["in_use"], stats["waiting"]) == (0, 0), f"worker {pid}: {stats}"
        assert 1 <= stats["size"] <= POOL_MAX, f"worker {pid}: {stats}"

    # Never more server connections than two full pools (and the master's, when it used one).
    assert sampler.error is None, repr(sampler.error)
    assert sampler.samples, "no pg_stat_activity sample was taken"
    bound = WORKERS * POOL_MAX + (1 if warm else 0)
    assert max(sampler.samples) <= bound, (max(sampler.samples), bound)

    # Zero lost or duplicated rows: the table holds exactly the ids answered with 201.
    answered = [user_id for user_id, _ in tally.created]
    assert len(answered) == len(set(answered)) == created
    assert database.users() == sorted(tally.created)
