"""Migrations under concurrency (several processes upgrading at once) and outside transactions
(``-- migrate:up transaction:false``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import MigrationError
from tests.backends import Database
from tests.migrations.conftest import POSTGRES_BACKENDS, MakeConfig, write

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import importlib, json, sys, time
from sqlspec import SQLSpec

(module, name), pool, location, start = json.loads(sys.argv[1])
spec = SQLSpec()
cls = getattr(importlib.import_module(module), name)
config = spec.add_config(cls(pool_config=pool, migration_config={"script_location": location}))
time.sleep(max(0.0, start - time.time()))
print(json.dumps(spec.migrations(config).upgrade()))
spec.close_all_pools()
"""

PROCESSES = 4
VERSIONS = ["0001", "0002", "0003", "0004", "0005", "0006"]


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("psycopg", id="psycopg", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
def test_processes_upgrading_at_once_apply_each_migration_exactly_once(
    spec: SQLSpec, make_config: MakeConfig, folder: Path, backend: Database, tmp_path: Path
) -> None:
    # Every migration logs its own run in a table without constraints, and takes a moment, so
    # overlapping runs would show as duplicate rows (or fail on the version table's key).
    pause = (
        "SELECT pg_sleep(0.05)"
        if backend.info.is_postgres
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
        "SELECT count(*) FROM c"
    )
    write(
        folder,
        "0001_runs.sql",
        "CREATE TABLE runs (version VARCHAR(10) NOT NULL);\nINSERT INTO runs VALUES ('0001');",
    )
    for version in VERSIONS[1:]:
        write(folder, f"{version}_step.sql", f"{pause};\nINSERT INTO runs VALUES ('{version}');")
    config = make_config()
    argument = json.dumps(
        [
            [backend.info.config_class.__module__, backend.info.config_class.__name__],
            {k: v for k, v in backend.pool_config().items() if k != "min_size"},
            str(folder),
            time.time() + 3.0,  # all start together, after their imports
        ]
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, argument],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0] * PROCESSES, outputs
    applied = [version for out, _ in outputs for version in json.loads(out)]
    assert sorted(applied) == VERSIONS  # each applied by exactly one process
    with spec.provide_sync_session(config) as db:
        rows = db.select(
            "SELECT version, COUNT(*) AS n FROM runs GROUP BY version ORDER BY version"
        )
    assert rows == [{"version": v, "n": 1} for v in VERSIONS]
    assert spec.migrations(config).current() == "0006"


CONCURRENT_INDEX = (
    "-- migrate:up transaction:false\n"
    "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"
    "-- migrate:down transaction:false\n"
    "DROP INDEX CONCURRENTLY users_email;\n"
)


def _indexes(spec: SQLSpec, config: object) -> list[str]:
    with spec.provide_sync_session(config) as db:
        rows = db.select(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'users' ORDER BY indexname"
        )
    return [row["indexname"] for row in rows]


@pytest.mark.parametrize("backend", POSTGRES_BACKENDS, indirect=True)
def test_transaction_false_runs_create_index_concurrently(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")
    (folder / "0002_email_index.sql").write_text(CONCURRENT_INDEX)
    migrations = spec.migrations(config)

    assert migrations.upgrade() == ["0001", "0002"]
    assert "users_email" in _indexes(spec, config)
    assert migrations.downgrade(to="1") == ["0002"]
    assert "users_email" not in _indexes(spec, config)
    assert migrations.current() == "0001"

    # The same statement in a migration's transaction is refused by PostgreSQL.
    (folder / "0002_email_index.sql").write_text(CONCURRENT_INDEX.replace(" transaction:false", ""))
    with pytest.raises(MigrationError, match="cannot run inside a transaction block"):
        migrations.upgrade()
    assert migrations.current() == "0001"


@pytest.mark.parametrize("backend", POSTGRES_BACKENDS, indirect=True)
def test_a_failing_transaction_false_migration_is_not_recorded(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")
    write(
        folder,
        "0002_bad_index.sql",
        "CREATE INDEX CONCURRENTLY ix ON nowhere (x);",
        up_options="transaction:false",
    )
    migrations = spec.migrations(config)

    with pytest.raises(MigrationError, match="outside a transaction") as caught:
        migrations.upgrade()
    assert "nowhere" in str(caught.value)
    assert migrations.current() == "0001"


@pytest.mark.parametrize("backend", [pytest.param("sqlite", id="sqlite")], indirect=True)
def test_transaction_false_on_sqlite_runs_vacuum(
    spec: SQLSpec, make_config: MakeConfig, folder: Path
) -> None:
    config = make_config()
    write(folder, "0001_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);")
    write(folder, "0002_vacuum.sql", "VACUUM;", up_options="transaction:false")
    assert spec.migrations(config).upgrade() == ["0001", "0002"]
    write(folder, "0003_vacuum_again.sql", "VACUUM;")  # inside a transaction: refused
    with pytest.raises(MigrationError, match="VACUUM"):
        spec.migrations(config).upgrade()


def test_sqlite_waits_for_another_writer_beyond_its_busy_timeout(
    spec: SQLSpec, folder: Path, tmp_path: Path
) -> None:
    import sqlite3
    import threading

    from sqlspec.adapters.sqlite import SqliteConfig

    database = tmp_path / "busy.db"
    config = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(database), "timeout": 0.1},
            migration_config={"script_location": str(folder)},
        )
    )
    write(folder, "0001_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);")
    spec.migrations(config).status()  # the database file exists
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's long migration, say
    release = threading.Timer(1.0, holder.execute, ("COMMIT",))
    release.start()
    started = time.monotonic()
    try:
        assert spec.migrations(config).upgrade() == ["0001"]
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("asyncpg", id="asyncpg", marks=pytest.mark.postgres),
        pytest.param("aiosqlite", id="aiosqlite"),
    ],
    indirect=True,
)
def test_async_migrations_are_not_cut_off_by_the_portal_timeout(
    spec: SQLSpec, backend: Database, folder: Path
) -> None:
    config = spec.add_config(
        backend.config(migration_config={"script_location": str(folder)}, portal_timeout=0.2)
    )
    slow = (
        "SELECT pg_sleep(0.6)"
        if backend.info.is_postgres
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT count(*) FROM c"
    )
    write(folder, "0001_slow.sql", f"{slow};\nCREATE TABLE done (id INTEGER);")
    started = time.monotonic()
    assert spec.migrations(config).upgrade() == ["0001"]
    assert time.monotonic() - started > 0.2  # longer than the portal timeout
