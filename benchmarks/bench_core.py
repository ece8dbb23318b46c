"""Core overhead benchmark: a sqlspec session against hand-written driver code.

Both sides run in one process ON THE SAME CONNECTION: the raw code borrows the driver connection
from the session (``session.connection``), so pool, connection settings, server-side state and
transaction mode are identical and only the code path differs.

Benchmarks (each on SQLite and on PostgreSQL through psycopg):

(a) point queries: N x ``session.execute("SELECT * FROM users WHERE id = ?", (i,)).all()``
    against ``cursor.execute`` + ``fetchall`` + dict building with the native placeholder;
(b) one ``SELECT * FROM users`` of the whole table to dicts, time and peak memory growth;
(c) ``session.execute_many`` of an INSERT against ``cursor.executemany``, inside a transaction
    that is rolled back after each run.

Run ``python benchmarks/bench_core.py --help`` for the options; the script always exits 0, the
PASS/MISS column is informational.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _shared import (  # benchmarks/ is on sys.path when run as a script
    git_state,
    package_version,
    start_postgres,
)

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.driver import SessionConnection, SyncDriver

REPO_ROOT = Path(__file__).resolve().parent.parent

Session = SyncDriver[Any]
Row = tuple[Any, ...]

POINT_SQL = "SELECT * FROM users WHERE id = ?"
ALL_SQL = "SELECT * FROM users"
INSERT_SQL = "INSERT INTO items (a, b, c) VALUES (?, ?, ?)"
#: (a) is timed in blocks of this many queries, raw and ours alternating block by block.
POINT_BLOCK = 1_000


# ------------------------------------------------------------------------------ sizes, targets


@dataclass(frozen=True)
class Sizes:
    users: int  # rows in ``users``; (b) fetches all of them
    point_queries: int  # (a)
    insert_rows: int  # (c)
    rounds: int  # interleaved timing rounds per benchmark
    memory_runs: int  # fresh subprocesses per side for the RSS measurement of (b)


FULL = Sizes(users=100_000, point_queries=20_000, insert_rows=100_000, rounds=7, memory_runs=3)
QUICK = Sizes(users=10_000, point_queries=2_000, insert_rows=10_000, rounds=3, memory_runs=1)


@dataclass(frozen=True)
class Targets:
    point: float  # (a) minimum throughput ratio ours/raw
    fetch: float  # (b) minimum throughput ratio
    memory: float  # (b) maximum peak-growth ratio ours/raw
    insert: float  # (c) minimum throughput ratio


SQLITE_TARGETS = Targets(point=0.80, fetch=0.95, memory=1.15, insert=0.90)
POSTGRES_TARGETS = Targets(point=0.95, fetch=0.95, memory=1.15, insert=0.95)


# ------------------------------------------------------------------------------ the two sides
#
# The raw functions are what a careful user would write against the driver by hand; the ours
# functions are the one-line sqlspec equivalents. Each returns a row count so the two sides can
# be checked to have done the same work.


def raw_point_queries(conn: Any, sql: str, ids: Sequence[int]) -> int:
    total = 0
    for i in ids:
        cur = conn.cursor()
        cur.execute(sql, (i,))
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]  # noqa: B905 (as written by hand)
        total += len(rows)
    return total


def ours_point_queries(session: Session, sql: str, ids: Sequence[int]) -> int:
    total = 0
    for i in ids:
        total += len(session.execute(sql, (i,)).all())
    return total


def raw_fetch_all(conn: Any, sql: str) -> list[dict[str, Any]]:
    cur = conn.cursor()
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]  # noqa: B905 (as written by hand)


def ours_fetch_all(session: Session, sql: str) -> list[dict[str, Any]]:
    return session.execute(sql).all()


def raw_insert_many(conn: Any, sql: str, rows: list[Row], explicit_begin: bool) -> int:
    if explicit_begin:  # sqlite3 in autocommit mode: the transaction is ours to open
        conn.execute("BEGIN")
    cur = conn.cursor()
    cur.executemany(sql, rows)
    return len(rows)


def ours_insert_many(session: Session, sql: str, rows: list[Row]) -> int:
    session.execute_many(sql, rows)
    return len(rows)


# ------------------------------------------------------------------------------ backends


@dataclass
class Backend:
    """One database under test, and how a subprocess reaches the same database."""

    name: str
    mark: str  # the driver's native placeholder
    explicit_begin: bool  # raw code must send BEGIN itself
    targets: Targets
    spec: dict[str, str]  # JSON-able description, see make_backend()
    server_version: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.spec["kind"] == "postgres"

    def make_config(self) -> Any:
        if not self.is_postgres:
            return SqliteConfig(pool_config={"database": self.spec["database"], "max_size": 1})
        from sqlspec.adapters.psycopg import PsycopgSyncConfig

        return PsycopgSyncConfig(
            pool_config={"conninfo": self.spec["conninfo"], "min_size": 1, "max_size": 1}
        )

    def on_connect(self, session: Session) -> None:
        """Per-connection setup: the PostgreSQL tables live in a private schema."""
        if self.is_postgres:
            session.execute(f"SET search_path TO {self.spec['schema']}")
            session.commit()

    def native(self, sql: str) -> str:
        return sql.replace("?", self.mark)


def make_backend(spec: dict[str, str]) -> Backend:
    if spec["kind"] == "sqlite":
        return Backend("SQLite", "?", True, SQLITE_TARGETS, spec)
    return Backend("PostgreSQL", "%s", False, POSTGRES_TARGETS, spec)


def raw_connection(session: Session) -> Any:
    """The driver connection the session holds (unwrapped if the session wraps it)."""
    conn = session.connection
    return conn.raw if isinstance(conn, SessionConnection) else conn


def create_tables(backend: Backend, session: Session, users: int) -> None:
    """Create and fill ``users`` and create the empty ``items``; committed."""
    if not backend.is_postgres:
        session.execute_script(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,"
            " created_at TEXT NOT NULL, score INTEGER NOT NULL);"
            "CREATE TABLE items (a INTEGER, b TEXT, c REAL);"
        )
    else:
        schema = backend.spec["schema"]
        session.execute(f"CREATE SCHEMA {schema}")
        session.execute(f"SET search_path TO {schema}")
        session.execute_script(
            "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name text NOT NULL,"
            " created_at timestamp NOT NULL, score integer NOT NULL);"
            "CREATE TABLE items (a integer, b text, c double precision);"
        )
    start = datetime(2024, 1, 1)
    rows: list[Row] = []
    for i in range(1, users + 1):
        created: Any = start + timedelta(minutes=i)
        if not backend.is_postgres:
            created = created.isoformat(sep=" ")
        rows.append((i, f"user{i}@example.com", f"User {i}", created, i % 1000))
    session.execute_many("INSERT INTO users VALUES (?, ?, ?, ?, ?)", rows)
    session.commit()
    if backend.is_postgres:
        session.execute("ANALYZE users")
        session.commit()


def drop_tables(backend: Backend, session: Session) -> None:
    session.rollback()
    if backend.is_postgres:
        session.execute(f"DROP SCHEMA {backend.spec['schema']} CASCADE")
        session.commit()


# ------------------------------------------------------------------------------ measuring


@dataclass
class Timing:
    raw: list[float]
    ours: list[float]

    @property
    def ratios(self) -> list[float]:
        """Per round, throughput ours/raw = raw time / ours time (paired within the round)."""
        return [r / o for r, o in zip(self.raw, self.ours, strict=True)]


def interleaved(
    rounds: int,
    raw: Callable[[], object],
    ours: Callable[[], object],
    reset: Callable[[], None] = lambda: None,
) -> Timing:
    """Time ``raw`` and ``ours`` alternately, ``rounds`` times each after one untimed warm-up.

    The order flips every round (raw first, then ours first) so drift (CPU frequency, caches,
    server background work) hits both sides alike. ``reset`` runs untimed before every run.
    """
    return interleaved_blocks(rounds, [(raw, ours)], reset)


def interleaved_blocks(
    rounds: int,
    blocks: Sequence[tuple[Callable[[], object], Callable[[], object]]],
    reset: Callable[[], None] = lambda: None,
) -> Timing:
    """Like :func:`interleaved` for work split into ``blocks`` of (raw, ours) pairs.

    One round runs every block on both sides, the order flipping from block to block and from
    round to round; a side's round time is the sum over the blocks. Interleaving short blocks
    cancels load spikes lasting well under one round (other processes, server checkpoints).
    """
    for side in blocks[0]:  # warm-up: caches, prepared statements, imports
        reset()
        side()
    timing = Timing([], [])
    for round_no in range(rounds):
        totals = {"raw": 0.0, "ours": 0.0}
        for block_no, (raw, ours) in enumerate(blocks):
            sides = [("raw", raw), ("ours", ours)]
            if (round_no + block_no) % 2:
                sides.reverse()
            for name, fn in sides:
                reset()
                gc.collect()
                start = time.perf_counter()
                result = fn()
                totals[name] += time.perf_counter() - start
                del result  # freeing the result is not part of the timed work
        timing.raw.append(totals["raw"])
        timing.ours.append(totals["ours"])
    reset()
    return timing


def tracemalloc_growth(fn: Callable[[], object]) -> int:
    """Peak bytes allocated through Python's allocators while ``fn`` runs, over the baseline."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - baseline


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def memory_child(spec: dict[str, str]) -> None:
    """Entry point of a ``--mem-child`` process: run (b) once on one side, print the growth.

    Opens its own session to the same database, warms the side up on a small query, then
    measures peak RSS during the one full fetch minus the RSS just before it.
    """
    backend = make_backend(spec)
    registry = SQLSpec()
    config = registry.add_config(backend.make_config())
    with registry.provide_session(config) as session:
        backend.on_connect(session)
        conn = raw_connection(session)

        def run(sql: str) -> list[dict[str, Any]]:
            if spec["side"] == "raw":
                return raw_fetch_all(conn, backend.native(sql))
            return ours_fetch_all(session, sql)

        run(ALL_SQL + " WHERE id <= 100")  # warm-up
        gc.collect()
        hwm_reset = _reset_peak_rss()
        before = _proc_status_kib("VmRSS") or 0
        rows = run(ALL_SQL)
        peak = _proc_status_kib("VmHWM") if hwm_reset else None
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count = len(rows)
        del rows
    registry.close_all_pools()
    print(json.dumps({"growth_kib": peak - before, "rows": count, "hwm_reset": hwm_reset}))


def rss_growth(backend: Backend, side: str) -> int:
    """Run (b) for one side in a fresh interpreter; its peak RSS growth in KiB."""
    # The spec (conninfo included) goes through stdin, not the command line `ps` shows.
    done = subprocess.run(
        [sys.executable, __file__, "--mem-child"],
        input=json.dumps({**backend.spec, "side": side}),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if not report["hwm_reset"]:
        print("  (could not reset VmHWM; using ru_maxrss, which includes start-up peaks)")
    return int(report["growth_kib"])


# ------------------------------------------------------------------------------ reporting


@dataclass
class Result:
    bench: str
    backend: str
    raw: str
    ours: str
    ratio: float
    spread: str
    target: str
    ok: bool
    noisy: bool = False


#: A throughput row whose best and worst round ratios differ by more than this factor is flagged.
NOISY_SPREAD = 1.25


def throughput_result(bench: str, backend: str, timing: Timing, minimum: float) -> Result:
    ratios = timing.ratios
    ratio = statistics.median(ratios)
    return Result(
        bench,
        backend,
        f"{statistics.median(timing.raw) * 1000:.1f} ms",
        f"{statistics.median(timing.ours) * 1000:.1f} ms",
        ratio,
        f"{min(ratios):.2f}-{max(ratios):.2f}",
        f">= {minimum:.2f}",
        ratio >= minimum,
        max(ratios) / min(ratios) > NOISY_SPREAD,
    )


def memory_result(
    bench: str, backend: str, raw_kib: float, ours_kib: float, maximum: float
) -> Result:
    ratio = ours_kib / raw_kib if raw_kib > 0 else float("inf")
    return Result(
        bench,
        backend,
        f"{raw_kib / 1024:.1f} MiB",
        f"{ours_kib / 1024:.1f} MiB",
        ratio,
        "",
        f"<= {maximum:.2f}",
        ratio <= maximum,
    )


def print_table(results: list[Result]) -> None:
    header = ("benchmark", "backend", "raw", "ours", "ours/raw", "range", "target", "result")
    rows = [header] + [
        (
            r.bench,
            r.backend,
            r.raw,
            r.ours,
            f"{r.ratio:.3f}",
            r.spread,
            r.target,
            ("PASS" if r.ok else "MISS") + (" *" if r.noisy else ""),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {2, 3, 4}
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if any(r.noisy for r in results):
        print(
            f"* noisy: the best and worst round differ by more than {NOISY_SPREAD:.2f}x; "
            "rerun on a quieter machine or with more --rounds"
        )


# ------------------------------------------------------------------------------ running


def run_backend(backend: Backend, sizes: Sizes) -> list[Result]:
    registry = SQLSpec()
    config = registry.add_config(backend.make_config())
    results: list[Result] = []
    t = backend.targets
    name = backend.name
    with registry.provide_session(config) as session:
        conn = raw_connection(session)
        if backend.is_postgres:
            backend.server_version = str(conn.info.server_version)
        print(f"\n[{name}] loading {sizes.users:,} users ...", flush=True)
        create_tables(backend, session, sizes.users)
        try:
            # (a) and (b) run inside one read transaction, opened once, shared by both sides.
            session.begin()

            ids = [(i * 7919) % sizes.users + 1 for i in range(sizes.point_queries)]
            point_native = backend.native(POINT_SQL)
            print(f"[{name}] (a) {sizes.point_queries:,} point queries ...", flush=True)
            chunks = [ids[k : k + POINT_BLOCK] for k in range(0, len(ids), POINT_BLOCK)]
            timing = interleaved_blocks(
                sizes.rounds,
                [
                    (
                        partial(raw_point_queries, conn, point_native, chunk),
                        partial(ours_point_queries, session, POINT_SQL, chunk),
                    )
                    for chunk in chunks
                ],
            )
            check_same(
                raw_point_queries(conn, point_native, ids[:50]),
                ours_point_queries(session, POINT_SQL, ids[:50]),
            )
            label = f"(a) {sizes.point_queries:,} x SELECT by id -> dicts"
            results.append(throughput_result(label, name, timing, t.point))

            all_native = backend.native(ALL_SQL)
            print(f"[{name}] (b) fetch {sizes.users:,} rows ...", flush=True)
            timing = interleaved(
                sizes.rounds,
                lambda: raw_fetch_all(conn, all_native),
                lambda: ours_fetch_all(session, ALL_SQL),
            )
            check_same(raw_fetch_all(conn, all_native), ours_fetch_all(session, ALL_SQL))
            label = f"(b) SELECT * ({sizes.users:,} rows) -> dicts"
            results.append(throughput_result(label, name, timing, t.fetch))

            raw_tm = tracemalloc_growth(lambda: raw_fetch_all(conn, all_native))
            ours_tm = tracemalloc_growth(lambda: ours_fetch_all(session, ALL_SQL))
            results.append(
                memory_result(
                    "(b)   peak heap growth, tracemalloc",
                    name,
                    raw_tm / 1024,
                    ours_tm / 1024,
                    t.memory,
                )
            )
            session.rollback()

            print(f"[{name}] (b) peak RSS in fresh subprocesses ...", flush=True)
            raw_rss: list[int] = []
            ours_rss: list[int] = []
            for run_no in range(sizes.memory_runs):
                order = [("raw", raw_rss), ("ours", ours_rss)]
                if run_no % 2:
                    order.reverse()
                for side, values in order:
                    values.append(rss_growth(backend, side))
            results.append(
                memory_result(
                    "(b)   peak RSS growth, fresh process",
                    name,
                    statistics.median(raw_rss),
                    statistics.median(ours_rss),
                    t.memory,
                )
            )

            items = [(i, f"item {i}", i * 0.5) for i in range(sizes.insert_rows)]
            insert_native = backend.native(INSERT_SQL)
            print(f"[{name}] (c) execute_many {sizes.insert_rows:,} rows ...", flush=True)
            timing = interleaved(
                sizes.rounds,
                lambda: raw_insert_many(conn, insert_native, items, backend.explicit_begin),
                lambda: ours_insert_many(session, INSERT_SQL, items),
                reset=lambda: reset_items(backend, session),
            )
            label = f"(c) execute_many INSERT ({sizes.insert_rows:,} rows)"
            results.append(throughput_result(label, name, timing, t.insert))
        finally:
            drop_tables(backend, session)
    registry.close_all_pools()
    return results


def reset_items(backend: Backend, session: Session) -> None:
    """Undo the previous (c) run: roll back; on PostgreSQL also TRUNCATE so every run inserts
    into a fresh, empty heap instead of behind the dead rows of the rolled-back runs."""
    session.rollback()
    if backend.is_postgres:
        session.execute("TRUNCATE items")
        session.commit()


def check_same(raw: object, ours: object) -> None:
    if raw != ours:
        raise AssertionError(f"raw and ours disagree: {raw!r:.200} != {ours!r:.200}")


# ------------------------------------------------------------------------------ main


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _hide_passwords(text: str) -> str:
    """Mask ``password=...`` and ``scheme://user:password@`` in a printed conninfo."""
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def print_environment(sizes: Sizes) -> None:
    import sqlspec

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print("command: " + _hide_passwords(command))
    print(
        f"python:  {sys.version.split()[0]} ({platform.python_implementation()}) on "
        f"{platform.platform()}, {os.cpu_count()} CPUs"
    )
    print(
        f"sqlspec: {sqlspec.__version__} from {Path(sqlspec.__file__).parent} (git {git_state()})"
    )
    print(f"sqlite:  {sqlite3.sqlite_version} (python sqlite3 module)")
    try:
        import psycopg

        libpq = psycopg.pq.version()
        print(
            f"psycopg: {psycopg.__version__} ({psycopg.pq.__impl__} implementation, libpq "
            f"{libpq // 10000}.{libpq % 10000}), psycopg_pool {package_version('psycopg-pool')}"
        )
    except ImportError:
        print("psycopg: not installed")
    print(f"duckdb:  {package_version('duckdb')} (not benchmarked here)")
    print(f"load:    {_load()} (1/5/15 min averages at start)")
    print(
        f"sizes:   users={sizes.users:,} point_queries={sizes.point_queries:,} "
        f"insert_rows={sizes.insert_rows:,} rounds={sizes.rounds} "
        f"memory_runs={sizes.memory_runs}"
    )


METHOD = f"""\
method:
  Both sides run in this process on the SAME driver connection (borrowed from the session), in
  the same transaction mode. Each benchmark runs once per side untimed (warm-up), then `rounds`
  interleaved rounds; the order flips each round (raw,ours / ours,raw) and gc.collect() runs
  before every timed run. (a) is further split into blocks of {POINT_BLOCK:,} queries, raw and
  ours alternating block by block (order flipping per block); a round's time is the sum of its
  blocks. ours/raw for timings = throughput ratio = raw time / ours time of the same round,
  median over rounds (1.00 = parity, higher is better); `range` is min-max over rounds; the
  raw/ours columns are median wall-clock times per round.
  (a)/(b) run inside one open transaction shared by both sides. (c) times BEGIN + executemany
  (sqlspec: its implicit BEGIN; sqlite3: an explicit BEGIN; psycopg: its implicit BEGIN), then
  ROLLBACK untimed (PostgreSQL also TRUNCATEs items untimed).
  (b) memory, two ways (ours/raw, lower is better):
    tracemalloc: peak bytes allocated through Python's allocators during one call, over the
      baseline just before it (in this process; exact and repeatable, but blind to memory the
      driver mallocs directly, e.g. libpq's result buffer);
    fresh process: each side runs in its own new interpreter (`--mem-child`), warms up on a
      100-row query, then peak RSS (VmHWM, reset via /proc/self/clear_refs) during the one full
      fetch minus RSS just before it; median over `memory_runs` processes per side. This counts
      everything the process really touched (driver buffers, allocator overhead).
  Timings are wall-clock: other load on the machine adds noise (see the load averages)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~10x smaller sizes (smoke run)")
    parser.add_argument(
        "--pg",
        metavar="CONNINFO",
        help="PostgreSQL conninfo/URL (default: $SQLSPEC_PG_DSN, else a throwaway server)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="run one backend only")
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="interleaved timing rounds (default 7, quick 3)"
    )
    parser.add_argument("--mem-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.mem_child:
        memory_child(json.loads(sys.stdin.read()))
        return 0

    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=max(1, args.rounds))
    print_environment(sizes)
    print(METHOD)
    results: list[Result] = []

    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="sqlspec-bench-") as tmp:
            backend = make_backend({"kind": "sqlite", "database": str(Path(tmp) / "bench.db")})
            results += run_backend(backend, sizes)

    if args.only in (None, "postgres"):
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
                schema = f"sqlspec_bench_{os.getpid()}"
                backend = make_backend({"kind": "postgres", "conninfo": conninfo, "schema": schema})
                results += run_backend(backend, sizes)
                print(f"PostgreSQL server version: {backend.server_version}")
            finally:
                stop()

    print(f"\nload average at end: {_load()}\n")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
