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

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.load.harness import (
    WORKERS,
    Gunicorn,
    Load,
    PgSampler,
    body_pid,
    check_rows,
    check_run,
    pg_schema,
    poll_health,
    run_load,
    server_env,
)
from tests.servers import PostgresServer

pytest.importorskip("gunicorn")
psycopg = pytest.importorskip("psycopg")

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

THREADS = 4
LOAD = Load(
    users="/users",
    summary="/count",
    clients=8,
    writers=4,
    reconnect_every=10,
    thread_name="async-load-client",
    check_name=True,
)
LOAD_SECONDS = float(os.environ.get("SQLSPEC_ASYNC_LOAD_SECONDS", "") or 4.0)
HEALTH_POLLS = (0, 40)  # at least, at most
POOL_MAX = 4  # tests.load.async_wsgi.POOL_MAX (not imported: the module needs its environment)
APPLICATION_NAME = "sqlspec_async_wsgi"  # tests.load.async_wsgi.APPLICATION_NAME
CONNECTIONS_SQL = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
PORTAL_THREAD = "sqlspec-portal"

USERS_DDL = (
    "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL)"
)


# ------------------------------------------------------------------------------ database


@dataclass
class Database:
    server: PostgresServer
    schema: str

    def env(self, warm: bool) -> dict[str, str]:
        return server_env(
            {
                "ASYNC_WSGI_DSN": self.server.dsn,
                "ASYNC_WSGI_SCHEMA": self.schema,
                "ASYNC_WSGI_WARM": "1" if warm else "0",
            }
        )

    def users(self) -> list[tuple[int, str]]:
        with psycopg.connect(self.server.conninfo) as conn:
            rows = conn.execute(f"SELECT id, email FROM {self.schema}.users ORDER BY id")
            return [(int(i), str(e)) for i, e in rows.fetchall()]


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[Database]:
    """A fresh schema holding an empty ``users`` table (created before gunicorn starts)."""
    with pg_schema(postgres_server.conninfo, "load_async", USERS_DDL) as schema:
        yield Database(postgres_server, schema)


# ------------------------------------------------------------------------------ the test


@pytest.mark.parametrize("warm", [False, True], ids=["cold-master", "warm-master"])
def test_asyncpg_app_under_gunicorn_preload(
    database: Database, warm: bool, tmp_path: Path, load_report: list[str]
) -> None:
    # A settings file of this test's own: gunicorn >= 24 opens a control socket at a fixed path
    # in $HOME unless told not to (older versions ignore the unknown setting).
    conf = tmp_path / "gunicorn_conf.py"
    conf.write_text("control_socket_disable = True\n")
    server = Gunicorn(
        "tests.load.async_wsgi:app",
        database.env(warm),
        tmp_path / "gunicorn.log",
        threads=THREADS,
        preload=True,
        conf=conf,
    )
    tag = f"async-{'warm' if warm else 'cold'}-{os.getpid()}"
    sampler = PgSampler(
        database.server.conninfo,
        CONNECTIONS_SQL,
        args=(APPLICATION_NAME,),
        every=0.05,
        load_seconds=LOAD_SECONDS,
    )
    server.start()
    try:
        with sampler:
            tally, elapsed = run_load(server.port, tag, LOAD_SECONDS, LOAD)
        health = dict(poll_health(server.port, body_pid, HEALTH_POLLS))
    finally:
        status = server.stop()

    load_report.append(
        f"asyncpg  --preload {'warm' if warm else 'cold'}  {tally.summary(elapsed)}, "
        f"async-backed per worker {sorted(tally.json_pids.values(), reverse=True)}, "
        f"max {max(sampler.samples, default=0)} app connections)"
    )

    check_run(tally, server, status)

    # Both workers served requests that went through their own portal to asyncpg.
    assert len(tally.json_pids) == WORKERS, f"async-backed responses by pid: {tally.json_pids}"
    assert set(health) == set(tally.json_pids), (sorted(health), tally.json_pids)
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

    check_rows(tally, database.users)
