"""Flask per-request overhead: SQLSpecPlugin against the hand-written ``flask.g`` pattern.

Two Flask apps with the same routes, the same SQL and the same table (``users``, 10,000 rows):

* "raw": what a careful engineer writes by hand. SQLite: one long-lived ``sqlite3`` connection
  per thread (``threading.local``, ``check_same_thread`` left at its default), put on ``g`` at
  first use; PostgreSQL: a ``psycopg_pool.ConnectionPool``, ``getconn()`` onto ``g`` at first use
  and ``putconn()`` at teardown. Rows are built as dicts by hand; ``after_request`` commits when
  200 <= status < 300 and rolls back otherwise.
* "raw_tx" (scenario S1T only): the same hand-written code, but each request reads inside a
  transaction opened at first use (``BEGIN``), the guarantee sqlspec's session gives (one snapshot
  for all of a request's reads): the like-for-like baseline for S1.
* "ours": ``SQLSpecPlugin`` with ``SqliteConfig`` / ``PsycopgConfig`` in commit mode
  ``autocommit``; the views call ``plugin.get_session().execute(...)``.

Scenarios: (S1) GET one row by key on SQLite, (S2) POST one insert on SQLite (commit on 201),
(S3) a route that never touches the database, (S4) S1 on PostgreSQL; (S1T) S1 against "raw_tx".

Modes: Flask's test client, both apps in this process (always); with ``--gunicorn`` also each
app under its own gunicorn (``-k sync`` by default, ``--worker-class gthread`` optional), driven
by a loopback load generator in a separate process. Besides requests per second, the CPU time
per request of whatever serves the app is reported (less sensitive to other load).

Run ``python benchmarks/bench_flask.py --help`` for the options; the script always exits 0, the
PASS/MISS column is informational.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import itertools
import json
import os
import platform
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _shared import (  # benchmarks/ is on sys.path when run as a script
    git_state,
    package_version,
    start_postgres,
)
from flask import Flask, abort, g, request

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
USERS = 10_000
APP_ENV = "BENCH_FLASK_APP"  # JSON app description for gunicorn workers

SQL = {
    "sqlite": {
        "get": "SELECT id, email, name FROM users WHERE id = ?",
        "insert": "INSERT INTO users (email, name) VALUES (?, ?) RETURNING id",
    },
    "postgres": {
        "get": "SELECT id, email, name FROM users WHERE id = %s",
        "insert": "INSERT INTO users (email, name) VALUES (%s, %s) RETURNING id",
    },
}
# Both SQLite sides use the same connection settings (WAL, no fsync per commit).
SQLITE_PRAGMAS = {"foreign_keys": "on", "journal_mode": "wal", "synchronous": "normal"}


# ------------------------------------------------------------------------------ the two apps


def make_app(side: str, db: dict[str, Any]) -> Flask:
    """The "raw", "raw_tx" or "ours" app over the database described by ``db``."""
    if side == "ours":
        return make_ours_app(db)
    return make_raw_app(db, transaction=side == "raw_tx")


def make_raw_app(db: dict[str, Any], transaction: bool = False) -> Flask:
    app = Flask("bench_raw_tx" if transaction else "bench_raw")
    get_sql, insert_sql = SQL[db["kind"]]["get"], SQL[db["kind"]]["insert"]
    release: Callable[[Any], None] | None = None

    if db["kind"] == "sqlite":
        local = threading.local()
        path = db["database"]

        def get_db() -> Any:
            conn = g.get("db")
            if conn is None:
                conn = getattr(local, "conn", None)
                if conn is None:
                    conn = local.conn = sqlite3.connect(path)
                    for name, value in SQLITE_PRAGMAS.items():
                        conn.execute(f"PRAGMA {name} = {value}")
                if transaction:
                    conn.execute("BEGIN")
                g.db = conn
            return conn

    else:
        import psycopg_pool

        pool: Any = psycopg_pool.ConnectionPool(
            db["conninfo"], min_size=db["pool_size"], max_size=db["pool_size"], open=True
        )
        app.extensions["bench_close"] = pool.close

        def get_db() -> Any:
            conn = g.get("db")
            if conn is None:
                conn = g.db = pool.getconn()
            return conn

        release = pool.putconn

    @app.after_request
    def end_transaction(response: Any) -> Any:
        conn = g.get("db")
        if conn is not None:
            if 200 <= response.status_code < 300:
                conn.commit()
            else:
                conn.rollback()
        return response

    @app.teardown_appcontext
    def return_connection(exception: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None and release is not None:
            release(conn)

    @app.get("/users/<int:user_id>")
    def get_user(user_id: int) -> Any:
        cursor = get_db().execute(get_sql, (user_id,))
        row = cursor.fetchone()
        if row is None:
            abort(404)
        names = [column[0] for column in cursor.description]
        return {"user": dict(zip(names, row, strict=True))}

    @app.post("/users")
    def create_user() -> Any:
        data = request.get_json()
        cursor = get_db().execute(insert_sql, (data["email"], data["name"]))
        return {"id": cursor.fetchone()[0]}, 201

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app


def make_ours_app(db: dict[str, Any]) -> Flask:
    from sqlspec import SQLSpec
    from sqlspec.extensions.flask import SQLSpecPlugin

    app = Flask("bench_ours")
    get_sql, insert_sql = SQL[db["kind"]]["get"], SQL[db["kind"]]["insert"]
    flask_settings = {"flask": {"commit_mode": "autocommit"}}
    config: Any
    if db["kind"] == "sqlite":
        from sqlspec.adapters.sqlite import SqliteConfig

        config = SqliteConfig(
            pool_config={"database": db["database"], "max_size": db["pool_size"]},
            driver_features={"pragmas": SQLITE_PRAGMAS},
            extension_config=flask_settings,
        )
    else:
        from sqlspec.adapters.psycopg import PsycopgConfig

        config = PsycopgConfig(
            pool_config={
                "conninfo": db["conninfo"],
                "min_size": db["pool_size"],
                "max_size": db["pool_size"],
            },
            extension_config=flask_settings,
        )
    spec = SQLSpec()
    spec.add_config(config)
    plugin = SQLSpecPlugin(spec, app)
    app.extensions["bench_close"] = spec.close_all_pools

    @app.get("/users/<int:user_id>")
    def get_user(user_id: int) -> Any:
        user = plugin.get_session().execute(get_sql, user_id).one_or_none()
        if user is None:
            abort(404)
        return {"user": user}

    @app.post("/users")
    def create_user() -> Any:
        data = request.get_json()
        new_id = plugin.get_session().execute(insert_sql, data["email"], data["name"]).scalar()
        return {"id": new_id}, 201

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app


def gunicorn_app() -> Flask:
    """gunicorn entry point (``bench_flask:gunicorn_app()``), configured by ``$BENCH_FLASK_APP``."""
    described = json.loads(os.environ[APP_ENV])
    return make_app(described["side"], described["db"])


# ------------------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    backend: str  # "sqlite" | "postgres"
    route: str  # "get" | "post" | "ping"
    target: float  # minimum throughput ratio ours/raw
    raw_side: str = "raw"  # the hand-written app compared with


SCENARIOS = (
    Scenario("S1", "GET one row by key, SQLite", "sqlite", "get", 0.93),
    Scenario("S2", "POST one insert (commit on 201), SQLite", "sqlite", "post", 0.93),
    Scenario("S3", "route without database", "sqlite", "ping", 0.97),
    Scenario("S4", "GET one row by key, PostgreSQL", "postgres", "get", 0.95),
    Scenario("S1T", "S1 vs raw reading in a transaction", "sqlite", "get", 0.93, "raw_tx"),
)
EXPECTED_STATUS = {"get": 200, "post": 201, "ping": 200}


@dataclass(frozen=True)
class Sizes:
    requests: int  # test client: requests per side per round
    blocks: int  # test client: alternating blocks per round (requests // blocks each)
    rounds: int  # test client: rounds
    seconds: float  # gunicorn: measured seconds per run
    gunicorn_rounds: int


FULL = Sizes(requests=2_000, blocks=10, rounds=9, seconds=3.0, gunicorn_rounds=7)
QUICK = Sizes(requests=300, blocks=3, rounds=3, seconds=1.0, gunicorn_rounds=3)

_emails = itertools.count(1)


def user_id(n: int) -> int:
    """A spread-out walk over the ids 1..USERS."""
    return (n * 7919) % USERS + 1


def test_client_batch(app: Flask, route: str, count: int) -> Callable[[], None]:
    """A function sending ``count`` requests of ``route`` through the app's test client."""
    client = app.test_client()
    expected = EXPECTED_STATUS[route]
    tag = app.name
    walk = itertools.count()

    def run() -> None:
        for _ in range(count):
            n = next(walk)
            if route == "get":
                response = client.get(f"/users/{user_id(n)}")
            elif route == "post":
                email = f"{tag}-{next(_emails)}@bench.example"
                response = client.post("/users", json={"email": email, "name": "Bench"})
            else:
                response = client.get("/ping")
            if response.status_code != expected:
                raise AssertionError(f"{tag} {route}: {response.status_code} {response.data!r}")

    return run


def check_same_answers(raw: Flask, ours: Flask) -> None:
    """Both apps answer the same GETs identically (the comparison is of equal work)."""
    raw_client, ours_client = raw.test_client(), ours.test_client()
    for n in range(20):
        path = f"/users/{user_id(n)}"
        a, b = raw_client.get(path), ours_client.get(path)
        if (a.status_code, a.get_json()) != (b.status_code, b.get_json()):
            raise AssertionError(f"{path}: raw {a.data!r} != ours {b.data!r}")
    for path in ("/users/0", "/ping"):
        a, b = raw_client.get(path), ours_client.get(path)
        if (a.status_code, a.data) != (b.status_code, b.data):
            raise AssertionError(f"{path}: raw {a.status_code} != ours {b.status_code}")


# ------------------------------------------------------------------------------ measuring


@dataclass
class Rates:
    """Per round and side: requests per second (wall clock) and CPU µs per request."""

    raw: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    raw_cpu: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """Throughput ours/raw per round."""
        return [o / r for r, o in zip(self.raw, self.ours, strict=True)]

    @property
    def cpu_ratios(self) -> list[float]:
        """CPU-bound throughput ours/raw per round: raw CPU per request / ours CPU per request."""
        return [r / o for r, o in zip(self.raw_cpu, self.ours_cpu, strict=True)]


def interleaved(
    rounds: int, blocks: int, block_requests: int, raw: Callable[[], None], ours: Callable[[], None]
) -> Rates:
    """Time ``raw`` and ``ours`` (each sends ``block_requests`` requests per call) alternately.

    One untimed warm-up call per side, then ``rounds`` rounds; a round alternates the two sides
    ``blocks`` times each, flipping which side goes first every block, so a burst of load on
    the machine hits both sides alike. Per side and round: the request rate (wall clock) and
    this thread's CPU time per request (gc.collect() before each round; collections during the
    blocks are part of the measured work).
    """
    for fn in (raw, ours):
        fn()
    rates = Rates()
    for _round in range(rounds):
        wall = {"raw": 0.0, "ours": 0.0}
        cpu = {"raw": 0.0, "ours": 0.0}
        gc.collect()
        for block in range(blocks):
            sides = [("raw", raw), ("ours", ours)]
            if block % 2:
                sides.reverse()
            for side, fn in sides:
                start, start_cpu = time.perf_counter(), time.thread_time()
                fn()
                cpu[side] += time.thread_time() - start_cpu
                wall[side] += time.perf_counter() - start
        total = blocks * block_requests
        rates.raw.append(total / wall["raw"])
        rates.ours.append(total / wall["ours"])
        rates.raw_cpu.append(cpu["raw"] / total * 1e6)
        rates.ours_cpu.append(cpu["ours"] / total * 1e6)
    return rates


@dataclass
class Result:
    scenario: Scenario
    mode: str
    rates: Rates

    @property
    def ratio(self) -> float:
        return statistics.median(self.rates.ratios)


def print_table(results: list[Result]) -> None:
    header = (
        "scenario",
        "mode",
        "raw req/s",
        "ours req/s",
        "ours/raw",
        "range",
        "target",
        "result",
        "raw CPU/req",
        "ours CPU/req",
        "CPU ratio",
    )
    rows = [header]
    for r in results:
        ratios = r.rates.ratios
        rows.append(
            (
                f"{r.scenario.key} {r.scenario.title}",
                r.mode,
                f"{statistics.median(r.rates.raw):,.0f}",
                f"{statistics.median(r.rates.ours):,.0f}",
                f"{r.ratio:.3f}",
                f"{min(ratios):.2f}-{max(ratios):.2f}",
                f">= {r.scenario.target:.2f}",
                "PASS" if r.ratio >= r.scenario.target else "MISS",
                f"{statistics.median(r.rates.raw_cpu):.1f} us",
                f"{statistics.median(r.rates.ours_cpu):.1f} us",
                f"{statistics.median(r.rates.cpu_ratios):.3f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {2, 3, 4, 8, 9, 10}
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


# ------------------------------------------------------------------------------ databases


def create_sqlite(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
            "name TEXT NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO users (email, name) VALUES (?, ?)",
            ((f"user{i}@example.com", f"User {i}") for i in range(1, USERS + 1)),
        )
        conn.commit()
    return {"kind": "sqlite", "database": str(path)}


def create_postgres(server_conninfo: str) -> tuple[dict[str, Any], Callable[[], None]]:
    """A private schema with the filled table; (db description, drop function)."""
    import psycopg

    schema = f"sqlspec_bench_flask_{os.getpid()}"
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(
            f"CREATE TABLE {schema}.users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, "
            "name text NOT NULL)"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {schema}.users (email, name) VALUES (%s, %s)",
                [(f"user{i}@example.com", f"User {i}") for i in range(1, USERS + 1)],
            )
        conn.execute(f"ANALYZE {schema}.users")

    def drop() -> None:
        with psycopg.connect(server_conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    conninfo = f"{server_conninfo} options=-csearch_path={schema}"
    return {"kind": "postgres", "conninfo": conninfo}, drop


# ------------------------------------------------------------------------------ test client


def run_test_client(
    db: dict[str, Any], scenarios: Sequence[Scenario], sizes: Sizes
) -> list[Result]:
    db = {**db, "pool_size": 2}
    raws = {side: make_app(side, db) for side in sorted({s.raw_side for s in scenarios})}
    ours = make_ours_app(db)
    results: list[Result] = []
    try:
        for raw in raws.values():
            check_same_answers(raw, ours)
        for scenario in scenarios:
            print(f"[test client] {scenario.key} {scenario.title} ...", flush=True)
            block = sizes.requests // sizes.blocks
            rates = interleaved(
                sizes.rounds,
                sizes.blocks,
                block,
                test_client_batch(raws[scenario.raw_side], scenario.route, block),
                test_client_batch(ours, scenario.route, block),
            )
            results.append(Result(scenario, "test client", rates))
    finally:
        for app in (*raws.values(), ours):
            app.extensions["bench_close"]() if "bench_close" in app.extensions else None
    return results


# ------------------------------------------------------------------------------ gunicorn


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class GunicornServer:
    """One app under ``gunicorn -k gthread``, started and stopped by this script."""

    def __init__(
        self, side: str, db: dict[str, Any], worker_class: str, workers: int, threads: int
    ) -> None:
        self.side = side
        self.worker_class = worker_class
        self.db = db
        self.workers = workers
        self.threads = threads
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"bench-flask-{side}-", suffix=".log")[1])

    def start(self) -> None:
        import gunicorn.config

        script = Path(sys.executable).parent / "gunicorn"
        base = [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]
        extra = ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env[APP_ENV] = json.dumps({"side": self.side, "db": self.db})
        for _attempt in range(3):
            self.port = _free_port()
            cmd = [
                *base,
                "-k",
                self.worker_class,
                "--workers",
                str(self.workers),
                # gunicorn silently turns `-k sync --threads N` (N > 1) into gthread
                *(["--threads", str(self.threads)] if self.worker_class == "gthread" else []),
                "--bind",
                f"{LOOPBACK}:{self.port}",
                "--pythonpath",
                str(BENCH_DIR),
                "--keep-alive",
                "30",
                "--graceful-timeout",
                "5",
                *extra,
                "bench_flask:gunicorn_app()",
            ]
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    cmd,
                    env=env,
                    cwd=REPO_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready():
                return
            self.stop()
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"gunicorn ({self.side}) did not start:\n{tail}")

    def _wait_ready(self, timeout: float = 30.0) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((LOOPBACK, self.port), timeout=2) as sock,
            ):
                sock.sendall(b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return True
            time.sleep(0.1)
        return False

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its workers (Linux /proc)."""
        assert self.process is not None
        master = self.process.pid
        ticks = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(entry) == master or int(fields[1]) == master:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=20)


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[int, bytes, bool]:
    """Read one HTTP/1.1 response with a Content-Length; (status, bytes left over, whether the
    server closes the connection after it)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    closes = False
    for line in head.split(b"\r\n")[1:]:
        name = line[:15].lower()
        if name == b"content-length:":
            length = int(line[15:])
        elif name.startswith(b"connection:") and b"close" in line.lower():
            closes = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    return int(head[9:12]), rest[length:], closes


def load_child(job: dict[str, Any]) -> None:
    """Entry point of a ``--load-child`` process: drive one server, print the counts as JSON.

    ``connections`` threads, each with one keep-alive connection, send requests back to back;
    responses completed within the measured window (after ``warmup`` seconds) are counted.
    """
    port, route = int(job["port"]), job["route"]
    start_at = time.monotonic() + float(job["warmup"])
    end_at = start_at + float(job["seconds"])
    counted: list[int] = []
    answered: list[int] = []  # every response, warm-up included
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        prefix = f"{job['tag']}-{os.getpid()}-{number}"
        done = total = 0
        seen: Counter[int] = Counter()
        sock: socket.socket | None = None
        try:
            buffer = b""
            for n in itertools.count():
                if sock is None:  # the sync worker closes the connection after each response
                    sock = socket.create_connection((LOOPBACK, port), timeout=30)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buffer = b""
                if route == "get":
                    message = f"GET /users/{user_id(n * 31 + number)} HTTP/1.1\r\n"
                    message += "Host: bench\r\n\r\n"
                    data = message.encode()
                elif route == "post":
                    body = f'{{"email": "{prefix}-{n}@bench.example", "name": "Bench"}}'
                    data = (
                        "POST /users HTTP/1.1\r\nHost: bench\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n{body}"
                    ).encode()
                else:
                    data = b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n"
                sock.sendall(data)
                status, buffer, closes = _read_response(sock, buffer)
                if closes:
                    sock.close()
                    sock = None
                total += 1
                now = time.monotonic()
                if now >= end_at:
                    break
                if now >= start_at:
                    done += 1
                    seen[status] += 1
        except Exception as error:
            with lock:
                errors.append(repr(error))
        if sock is not None:
            sock.close()
        with lock:
            counted.append(done)
            answered.append(total)
            statuses.update(seen)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(int(job["connections"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=float(job["warmup"]) + float(job["seconds"]) + 60)
    report = {
        "requests": sum(counted),
        "answered": sum(answered),
        "seconds": float(job["seconds"]),
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors[:5],
    }
    print(json.dumps(report))


def drive(
    server: GunicornServer, route: str, sizes: Sizes, connections: int, tag: str
) -> tuple[float, float]:
    """Run a load-generator process against ``server``; (requests per second, server CPU µs
    per request)."""
    job = {
        "port": server.port,
        "route": route,
        "seconds": sizes.seconds,
        "warmup": 0.5,
        "connections": connections,
        "tag": tag,
    }
    cmd = [sys.executable, __file__, "--load-child", json.dumps(job)]
    cpu_before = server.cpu_seconds()
    done = subprocess.run(
        cmd, capture_output=True, text=True, check=False, timeout=sizes.seconds + 120
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr}")
    cpu = server.cpu_seconds() - cpu_before
    report = json.loads(done.stdout.strip().splitlines()[-1])
    expected = str(EXPECTED_STATUS[route])
    bad = {k: v for k, v in report["statuses"].items() if k != expected}
    if report["errors"] or bad or not report["requests"]:
        raise RuntimeError(f"load generator ({tag} {route}): {report}")
    rate = float(report["requests"]) / float(report["seconds"])
    return rate, cpu / int(report["answered"]) * 1e6


def run_gunicorn(
    db: dict[str, Any],
    scenarios: Sequence[Scenario],
    sizes: Sizes,
    worker_class: str,
    workers: int,
    threads: int,
    connections: int,
) -> list[Result]:
    db = {**db, "pool_size": threads if worker_class == "gthread" else 1}
    sides = [*sorted({s.raw_side for s in scenarios}), "ours"]
    servers = {side: GunicornServer(side, db, worker_class, workers, threads) for side in sides}
    results: list[Result] = []
    try:
        for server in servers.values():
            server.start()
        for scenario in scenarios:
            print(f"[gunicorn] {scenario.key} {scenario.title} ...", flush=True)
            # warm-up: imports, pools, statement caches of every worker
            for side in (scenario.raw_side, "ours"):
                drive(servers[side], scenario.route, QUICK, connections, f"warm-{side}")
            rates = Rates()
            for round_no in range(sizes.gunicorn_rounds):
                order = [
                    (scenario.raw_side, rates.raw, rates.raw_cpu),
                    ("ours", rates.ours, rates.ours_cpu),
                ]
                if round_no % 2:
                    order.reverse()
                for side, values, cpu_values in order:
                    rate, cpu = drive(servers[side], scenario.route, sizes, connections, side)
                    values.append(rate)
                    cpu_values.append(cpu)
            shape = f"{workers}x{threads}" if worker_class == "gthread" else str(workers)
            results.append(Result(scenario, f"gunicorn {worker_class} {shape}", rates))
    finally:
        for server in servers.values():
            server.stop()
            with contextlib.suppress(OSError):
                server.log.unlink()
    return results


# ------------------------------------------------------------------------------ main


def print_environment(args: argparse.Namespace, sizes: Sizes) -> None:
    import sqlspec

    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(
        f"python:  {sys.version.split()[0]} ({platform.python_implementation()}) on "
        f"{platform.platform()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"sqlspec: {sqlspec.__version__} from {Path(sqlspec.__file__).parent} (git {git_state()})"
    )
    print(
        f"flask:   {package_version('flask')}, werkzeug {package_version('werkzeug')}, "
        f"gunicorn {package_version('gunicorn')}"
    )
    print(f"sqlite:  {sqlite3.sqlite_version} (python sqlite3 module)")
    print(f"psycopg: {package_version('psycopg')}, psycopg_pool {package_version('psycopg-pool')}")
    print(
        f"sizes:   users={USERS:,}; test client: {sizes.requests:,} requests x {sizes.rounds} "
        f"rounds per side"
        + (
            f"; gunicorn: {sizes.gunicorn_rounds} rounds x {sizes.seconds:g} s per side, "
            f"-k {args.worker_class} --workers {args.workers}"
            + (f" --threads {args.threads}" if args.worker_class == "gthread" else "")
            + f", {args.connections} client connections"
            if args.gunicorn
            else ""
        )
    )


METHOD = """\
method:
  Same routes, SQL, table and Flask in both apps; ratio = ours req/s / raw req/s of the same
  round (1.00 = parity, higher is better), median over rounds; `range` is min-max over rounds;
  the req/s columns are medians. One untimed warm-up per side first. CPU/req: CPU time per
  request of the process(es) serving the app (test client: this thread; gunicorn: master +
  workers from /proc, warm-up requests included); CPU ratio = raw CPU/req / ours CPU/req
  (the throughput ratio when CPU-bound, and much less sensitive to other load on the
  machine than wall-clock rates).
  test client: both apps in this process, app.test_client(), requests sent back to back
    (pools: 2 connections; SQLite raw: one connection for the thread); each round alternates
    blocks of requests between the sides (the first side flips every block).
  gunicorn: each app under its own gunicorn (default `-k sync --workers 1`: one request at a
    time, a new connection per request); a separate load-generator process keeps N
    connections busy (raw sockets, one request in flight per connection, keep-alive when the
    worker offers it) and counts the responses completed in a window after 0.5 s of warm-up;
    one run per side per round, the first side flips every round."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests/rounds (smoke run)")
    parser.add_argument("--gunicorn", action="store_true", help="also measure under gunicorn")
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn worker class (sync: one request at a time per worker, a new connection "
        "per request; gthread: threads and keep-alive)",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (1)")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads (4)")
    parser.add_argument("--connections", type=int, default=8, help="load-generator connections (8)")
    parser.add_argument(
        "--pg",
        metavar="CONNINFO",
        help="PostgreSQL conninfo (default: $SQLSPEC_PG_DSN, else a throwaway server)",
    )
    parser.add_argument("--only", nargs="+", choices=[s.key for s in SCENARIOS], help="scenarios")
    parser.add_argument("--rounds", type=int, help="rounds per scenario and mode (full: 9 / 7)")
    parser.add_argument("--load-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.load_child:
        load_child(json.loads(args.load_child))
        return 0

    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = dataclasses.replace(sizes, rounds=args.rounds, gunicorn_rounds=args.rounds)
    chosen = [s for s in SCENARIOS if not args.only or s.key in args.only]
    print_environment(args, sizes)
    print(METHOD)
    results: list[Result] = []

    def run_backend(db: dict[str, Any], scenarios: list[Scenario]) -> None:
        results.extend(run_test_client(db, scenarios, sizes))
        if args.gunicorn:
            results.extend(
                run_gunicorn(
                    db,
                    scenarios,
                    sizes,
                    args.worker_class,
                    args.workers,
                    args.threads,
                    args.connections,
                )
            )

    sqlite_scenarios = [s for s in chosen if s.backend == "sqlite"]
    if sqlite_scenarios:
        with tempfile.TemporaryDirectory(prefix="sqlspec-bench-flask-") as tmp:
            run_backend(create_sqlite(Path(tmp) / "bench.db"), sqlite_scenarios)

    pg_scenarios = [s for s in chosen if s.backend == "postgres"]
    if pg_scenarios:
        conninfo = args.pg or os.environ.get("SQLSPEC_PG_DSN", "").strip()
        stop: Callable[[], None] = lambda: None  # noqa: E731
        if not conninfo:
            started = start_postgres()
            if started is not None:
                server, stop = started
                conninfo = server.conninfo
                print(f"PostgreSQL: throwaway server at {conninfo}")
        if conninfo:
            try:
                db, drop = create_postgres(conninfo)
                try:
                    run_backend(db, pg_scenarios)
                finally:
                    drop()
            finally:
                stop()

    print()
    results.sort(key=lambda r: (r.scenario.key, r.mode != "test client"))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
