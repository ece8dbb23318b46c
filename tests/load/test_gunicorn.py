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
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.load.harness import (
    WORKERS,
    Gunicorn,
    Load,
    PgSampler,
    check_rows,
    check_run,
    header_pid,
    pg_schema,
    poll_health,
    run_load,
    server_env,
)
from tests.servers import PostgresServer

pytest.importorskip("gunicorn")

pytestmark = pytest.mark.slow

THREADS = 8
LOAD = Load("/api/users", "/api/dashboard", clients=16, writers=6, reconnect_every=25)
LOAD_SECONDS = float(os.environ.get("SQLSPEC_LOAD_SECONDS", "") or 5.0)
HEALTH_POLLS = (8, 60)  # at least, at most
CONNECTIONS_SQL = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    data_dir = tmp_path / "data"
    env = server_env(
        {"DEMO_DATA_DIR": str(data_dir), "EVENTS_DATABASE": ":memory:"},
        drop=("USERS_POSTGRES_DSN",),
    )
    settings: dict[str, Any] = {"DATA_DIR": str(data_dir), "EVENTS_DATABASE": ":memory:"}
    if request.param == "sqlite":
        yield Target("sqlite", env, settings, sqlite_path=data_dir / "users.db")
        return

    server: PostgresServer = request.getfixturevalue("postgres_server")
    with pg_schema(server.conninfo, "load") as schema:
        conninfo = f"{server.conninfo} options=-csearch_path={schema}"
        env["USERS_POSTGRES_DSN"] = conninfo
        settings["USERS_POSTGRES_DSN"] = conninfo
        yield Target("postgres", env, settings, pg_conninfo=conninfo)


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
    server = Gunicorn(
        "tests.load.demo_wsgi:app",
        target.env,
        tmp_path / "gunicorn.log",
        threads=THREADS,
        preload=preload,
    )
    tag = f"{target.backend}-{'preload' if preload else 'fork'}-{os.getpid()}"
    sampler = (
        PgSampler(target.pg_conninfo, CONNECTIONS_SQL, load_seconds=LOAD_SECONDS)
        if target.pg_conninfo
        else None
    )
    server.start()
    try:
        with sampler or contextlib.nullcontext():
            tally, elapsed = run_load(server.port, tag, LOAD_SECONDS, LOAD)
        health = [
            (pid, body["pools"]) for pid, body in poll_health(server.port, header_pid, HEALTH_POLLS)
        ]
    finally:
        status = server.stop()

    load_report.append(
        f"{target.backend:8} {'--preload' if preload else 'no preload':10}  "
        f"{tally.summary(elapsed)}, "
        f"per worker {sorted(tally.workers.values(), reverse=True)}"
        + (f", max {max(sampler.samples)} PG connections" if sampler and sampler.samples else "")
        + ")"
    )

    check_run(tally, server, status)

    assert len(tally.workers) == WORKERS, f"not every worker served requests: {tally.workers}"

    # No leaked connection: every /health answer after the load shows nothing in use.
    assert {pid for pid, _ in health} >= set(tally.workers) - {"?"}, (health, tally.workers)
    assert len({pid for pid, _ in health}) == WORKERS, health
    for pid, pools in health:
        for key, stats in pools.items():
            assert stats["in_use"] == 0, f"worker {pid}: {key} {stats}"
            assert stats["waiting"] == 0, f"worker {pid}: {key} {stats}"

    check_rows(tally, target.read_users)

    if sampler is not None:
        assert sampler.error is None, repr(sampler.error)
        assert sampler.samples, "no pg_stat_activity sample was taken"
        bound = WORKERS * pool_max + 1
        assert max(sampler.samples) <= bound, (max(sampler.samples), bound)
