"""Several processes starting the demo at once on a fresh PostgreSQL database.

Without ``--preload`` every gunicorn worker runs ``create_app``, whose ``CREATE TABLE IF NOT
EXISTS users (id BIGSERIAL ...)`` is not safe against a concurrent twin on PostgreSQL: one of
them fails with ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``
(or ``relation "users" already exists``), that worker exits with status 3 and gunicorn shuts the
whole server down ("Worker failed to boot"). Threads calling ``create_app`` reproduce it
reliably in well under a second; gunicorn itself hits it in about a third of its starts on a
fresh schema.

The demo serialises its schema creation with ``pg_advisory_xact_lock``; without it this test
fails (``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``).
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from tests.servers import PostgresServer

ROUNDS = 5
STARTERS = 4

_schemas = itertools.count(1)


@pytest.mark.postgres
def test_concurrent_create_app_on_fresh_postgres(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    import psycopg

    from examples.demo.app import create_app

    failures: list[str] = []
    for round_no in range(ROUNDS):
        schema = f"startup_{os.getpid()}_{next(_schemas)}"
        with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        settings = {
            "USERS_POSTGRES_DSN": f"{postgres_server.conninfo} options=-csearch_path={schema}",
            "EVENTS_DATABASE": ":memory:",
            "DATA_DIR": str(tmp_path / str(round_no)),
        }
        barrier = threading.Barrier(STARTERS)

        def start(
            settings: dict[str, str] = settings, barrier: threading.Barrier = barrier
        ) -> None:
            barrier.wait(timeout=30)
            try:
                app = create_app(dict(settings))
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}".splitlines()[0])
            else:
                app.extensions["sqlspec_spec"].close_all_pools()

        threads = [threading.Thread(target=start) for _ in range(STARTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with psycopg.connect(postgres_server.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        if failures:
            break
    assert not failures, f"create_app failed when started {STARTERS} times at once: {failures}"
