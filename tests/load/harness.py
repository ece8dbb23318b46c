"""What the gunicorn load tests share: the server, the client threads, the samplers and checks.

A test starts a :class:`Gunicorn` (``-k gthread``, a WSGI target of ``tests/load``) and hammers
it with :func:`run_load`, whose :class:`Load` says which routes the app has and how many client
threads call them: writers POST new users (and re-POST some emails, expecting 409), readers GET
created users, a summary route and ``/ping``, each over its own keep-alive ``http.client``
connection. :func:`poll_health` then asks every worker for ``/health``; :class:`PgSampler`
counts server connections meanwhile. :func:`check_run` and :func:`check_rows` are the checks
every load test makes; each test module keeps its own.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
WORKERS = 2
CONF = Path(__file__).with_name("gunicorn_conf.py")
DUPLICATE_EVERY = 8  # every 8th POST of a writer re-sends one of its created emails
MAX_REQUESTS_PER_CLIENT = 20_000
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0

T = TypeVar("T")


# ------------------------------------------------------------------------------ gunicorn


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _gunicorn_command() -> list[str]:
    script = Path(sys.executable).parent / "gunicorn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def server_env(extra: Mapping[str, str], drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without ``drop``, plus ``extra`` and what every server needs."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        extra,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


class Gunicorn:
    """``gunicorn -k gthread --workers WORKERS --threads threads [--preload] app``, run here.

    ``app`` is a WSGI target such as ``tests.load.demo_wsgi:app``; ``conf`` the settings file
    (``-c``); the output of every start goes to ``log``.
    """

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        log: Path,
        *,
        threads: int,
        preload: bool,
        conf: Path = CONF,
    ) -> None:
        self.app = app
        self.env = env
        self.log = log
        self.threads = threads
        self.preload = preload
        self.conf = conf
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
                str(self.threads),
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
                *(["--preload"] if self.preload else []),
                self.app,
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
    """What one client thread saw (or, merged, all of them)."""

    requests: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    created: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    workers: Counter[str] = field(default_factory=Counter)  # by X-Worker-Pid ("?": none)
    json_pids: Counter[int] = field(default_factory=Counter)  # 2xx JSON answers with a "pid"

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
        self.json_pids.update(other.json_pids)

    def summary(self, elapsed: float) -> str:
        """``N requests in S s = R req/s  (C users created, D duplicates -> 409`` (unclosed)."""
        return (
            f"{self.requests:6d} requests in {elapsed:4.1f} s = "
            f"{self.requests / elapsed:6.0f} req/s  ({self.statuses[('POST', 201)]} users "
            f"created, {self.duplicates} duplicates -> 409"
        )


class Client:
    """One keep-alive connection; a transport error is a problem (then it reconnects)."""

    def __init__(self, port: int, tally: Tally, reconnect_every: int) -> None:
        self.port = port
        self.tally = tally
        self.reconnect_every = reconnect_every
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
        if self.tally.requests % self.reconnect_every == 0:
            self.conn.close()  # the next request connects again, maybe to the other worker
        self.tally.statuses[(kind, response.status)] += 1
        self.tally.workers[response.getheader("X-Worker-Pid", "?")] += 1
        if response.status >= 500:
            self.tally.problem(f"{method} {path}: {response.status} {data[:200]!r}")
        if not response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, data
        decoded = json.loads(data)
        if 200 <= response.status < 300 and isinstance(decoded, dict) and "pid" in decoded:
            self.tally.json_pids[int(decoded["pid"])] += 1
        return response.status, decoded

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Load:
    """How a load run calls an app, and from how many threads.

    ``users``: POST ``{"email", "name"}`` answers 201 ``{"user": {"id", "email", ...}}`` or 409
    for a known email; GET ``{users}/<id>`` answers 200 ``{"user": ...}``. ``summary``: GET
    answers 200 JSON with an int ``"users"``, counted as :attr:`summary_kind`. ``check_name``:
    a 201 must also echo the name sent. Each client opens a new connection after
    ``reconnect_every`` requests: a keep-alive connection stays with the worker that accepted
    it, and new ones spread the load over the workers.
    """

    users: str
    summary: str
    clients: int
    writers: int  # of the clients; the others read
    reconnect_every: int
    thread_name: str = "load-client"
    check_name: bool = False

    @property
    def summary_kind(self) -> str:
        """The summary GET's key in :attr:`Tally.statuses`: ``/api/dashboard``, "GET dashboard"."""
        return f"GET {self.summary.rsplit('/', 1)[-1]}"


def writer(
    client: Client, load: Load, shared: list[tuple[int, str]], tag: str, deadline: float
) -> None:
    """POST new users (every DUPLICATE_EVERY-th a known email) until ``deadline``."""
    tally = client.tally
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        if tally.created and n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
            _, email = random.choice(tally.created)
            status, _ = client.call("POST dup", "POST", load.users, {"email": email, "name": "d"})
            tally.duplicates += 1
            if status not in (0, 409):
                tally.problem(f"duplicate POST {email}: expected 409, got {status}")
            continue
        email = f"{tag}-{n}@example.com"
        status, body = client.call("POST", "POST", load.users, {"email": email, "name": tag})
        if status == 201:
            user = body["user"]
            if user["email"] != email or (load.check_name and user["name"] != tag):
                tally.problem(f"POST {email}: answered {user!r}")
            tally.created.append((int(user["id"]), email))
            shared.append((int(user["id"]), email))
        elif status != 0:
            tally.problem(f"POST {email}: expected 201, got {status}")


def reader(client: Client, load: Load, shared: list[tuple[int, str]], deadline: float) -> None:
    """GET users created so far (``shared``), the summary and ``/ping`` until ``deadline``."""
    tally = client.tally
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        pick = n % 4
        if pick < 2 and shared:
            user_id, email = random.choice(shared)
            status, body = client.call("GET user", "GET", f"{load.users}/{user_id}")
            if status == 200 and body["user"]["email"] != email:
                tally.problem(f"GET user {user_id}: expected {email}, got {body!r}")
            elif status not in (0, 200):  # a 201 was answered, so the row must be visible
                tally.problem(f"GET user {user_id}: expected 200, got {status}")
        elif pick == 2:
            status, body = client.call(load.summary_kind, "GET", load.summary)
            if status == 200 and not isinstance(body.get("users"), int):
                tally.problem(f"GET {load.summary}: {body!r}")
            elif status not in (0, 200):
                tally.problem(f"GET {load.summary}: expected 200, got {status}")
        else:
            status, body = client.call("GET ping", "GET", "/ping")
            if status not in (0, 200) or (status == 200 and body != b"pong"):
                tally.problem(f"GET /ping: {status} {body!r}")


def run_load(port: int, tag: str, seconds: float, load: Load) -> tuple[Tally, float]:
    """Hammer the server from ``load.clients`` threads for ``seconds``; (merged tally, s)."""
    shared: list[tuple[int, str]] = []  # (id, email) of every 201 so far, read by the readers
    clients = [Client(port, Tally(), load.reconnect_every) for _ in range(load.clients)]
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(
            target=writer if i < load.writers else reader,
            args=(client, load, shared, f"{tag}-w{i}", deadline)
            if i < load.writers
            else (client, load, shared, deadline),
            name=f"{load.thread_name}-{i}",
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


# ------------------------------------------------------------------------------ after the load


def header_pid(response: http.client.HTTPResponse, body: dict[str, Any]) -> str:
    """The worker that answered, by its ``X-Worker-Pid`` header."""
    return response.getheader("X-Worker-Pid", "?")


def body_pid(response: http.client.HTTPResponse, body: dict[str, Any]) -> int:
    """The worker that answered, by the ``pid`` in its JSON."""
    return int(body["pid"])


def poll_health(
    port: int,
    worker: Callable[[http.client.HTTPResponse, dict[str, Any]], T],
    polls: tuple[int, int],
) -> list[tuple[T, dict[str, Any]]]:
    """GET /health on fresh connections until every worker answered; (worker, JSON) each.

    ``worker`` tells who answered; ``polls`` is (at least, at most) rounds of WORKERS requests.
    """
    answers: list[tuple[T, dict[str, Any]]] = []
    low, high = polls
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
                answers.append((worker(response, body), body))
        finally:
            for conn in conns:
                conn.close()
    return answers


class PgSampler:
    """Samples a count (``query`` with ``args``) on the server every ``every`` s while in use.

    It stops by itself ``load_seconds`` + START_TIMEOUT + HTTP_TIMEOUT after it started.
    """

    def __init__(
        self,
        conninfo: str,
        query: str,
        *,
        load_seconds: float,
        args: tuple[Any, ...] = (),
        every: float = 0.1,
    ) -> None:
        self.conninfo = conninfo
        self.query = query
        self.args = args
        self.every = every
        self.load_seconds = load_seconds
        self.samples: list[int] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                deadline = time.monotonic() + self.load_seconds + START_TIMEOUT + HTTP_TIMEOUT
                while not self._stop.is_set() and time.monotonic() < deadline:
                    row = conn.execute(self.query, self.args or None).fetchone()
                    self.samples.append(int(row[0]) if row else 0)
                    self._stop.wait(self.every)
        except BaseException as error:
            self.error = error

    def __enter__(self) -> PgSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


_schemas = itertools.count(1)


@contextlib.contextmanager
def pg_schema(conninfo: str, prefix: str, *ddl: str) -> Iterator[str]:
    """A fresh schema ``{prefix}_{pid}_{n}``, with ``ddl`` run in it; dropped afterwards."""
    import psycopg

    schema = f"{prefix}_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        if ddl:
            conn.execute(f"SET search_path = {schema}")
        for statement in ddl:
            conn.execute(statement)
    try:
        yield schema
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


# ------------------------------------------------------------------------------ checks


def check_run(tally: Tally, server: Gunicorn, status: int | None) -> None:
    """Every load test's checks: no problem, no 5xx, users created, duplicates refused with
    409, no traceback in gunicorn's log and exit status 0."""
    context = f"--- gunicorn log tail ---\n{server.log_tail()}"
    log = server.log.read_text(errors="replace")
    assert not tally.problems, "\n".join(tally.problems) + "\n" + context
    assert not [key for key in tally.statuses if key[1] >= 500], tally.statuses
    assert tally.statuses[("POST", 201)] > 0, tally.statuses
    assert tally.statuses[("POST dup", 409)] == tally.duplicates > 0, tally.statuses
    assert "Traceback" not in log, context
    assert status == 0, f"gunicorn exit status {status}\n{context}"


def check_rows(tally: Tally, read_rows: Callable[[], list[tuple[int, str]]]) -> None:
    """Zero lost or duplicated rows: the table (``read_rows``: id, email by id) holds exactly the
    ids answered with 201."""
    created = tally.statuses[("POST", 201)]
    answered = [user_id for user_id, _ in tally.created]
    assert len(answered) == created
    assert len(set(answered)) == created, "an id was answered twice"
    rows = read_rows()
    assert len(rows) == created, f"{len(rows)} rows in users, {created} answered 201"
    assert sorted(tally.created) == rows
