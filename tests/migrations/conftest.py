"""Fixtures for the migration and SQL-file tests: one isolated database per test on each backend.

``backend`` is parametrised over SQLite (a file and ``:memory:``), DuckDB, PostgreSQL through
psycopg and asyncpg, aiosqlite and MariaDB through asyncmy. ``make_config(**migration_config)``
builds and registers a config of the test's backend whose migrations live in
``tmp_path / "migrations"`` unless told otherwise. Async configs are used from sync code, through
the portal, as ``spec.migrations()`` does.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncmy
import psycopg
import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from tests.servers import MariaDBServer, PostgresServer

BACKENDS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("sqlite_memory", id="sqlite_memory"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("psycopg", id="psycopg", marks=pytest.mark.postgres),
    pytest.param("asyncpg", id="asyncpg", marks=pytest.mark.postgres),
    pytest.param("aiosqlite", id="aiosqlite"),
    pytest.param("asyncmy", id="asyncmy", marks=pytest.mark.mariadb),
)
POSTGRES_BACKENDS = (
    pytest.param("psycopg", id="psycopg", marks=pytest.mark.postgres),
    pytest.param("asyncpg", id="asyncpg", marks=pytest.mark.postgres),
    pytest.param("psycopg_async", id="psycopg_async", marks=pytest.mark.postgres),
)

_numbers = itertools.count(1)


@dataclass
class Backend:
    """One adapter on a database of the test's own."""

    name: str
    tmp_path: Path
    postgres: PostgresServer | None = None
    schema: str | None = None
    mariadb: MariaDBServer | None = None

    @property
    def transactional_ddl(self) -> bool:
        return self.name != "asyncmy"

    def pool_config(self) -> dict[str, Any]:
        if self.name == "sqlite":
            return {"database": str(self.tmp_path / "test.db")}
        if self.name == "sqlite_memory":
            return {"database": ":memory:"}
        if self.name == "duckdb":
            return {"database": str(self.tmp_path / "test.duckdb")}
        if self.name == "aiosqlite":
            return {"database": str(self.tmp_path / "test.async.db")}
        if self.name in ("psycopg", "psycopg_async"):
            assert self.postgres is not None
            return {
                "conninfo": self.postgres.conninfo,
                "options": f"-c search_path={self.schema}",
                "min_size": 0,
            }
        if self.name == "asyncpg":
            assert self.postgres is not None
            return {"dsn": self.postgres.dsn, "server_settings": {"search_path": str(self.schema)}}
        assert self.mariadb is not None
        server = self.mariadb
        return {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "database": server.database,
        }

    def config(self, **kwargs: Any) -> Any:
        classes: dict[str, type[Any]] = {
            "sqlite": SqliteConfig,
            "sqlite_memory": SqliteConfig,
            "duckdb": DuckDBConfig,
            "psycopg": PsycopgConfig,
            "psycopg_async": PsycopgAsyncConfig,
            "asyncpg": AsyncpgConfig,
            "aiosqlite": AiosqliteConfig,
            "asyncmy": AsyncmyConfig,
        }
        return classes[self.name](pool_config=self.pool_config(), **kwargs)


async def _empty_mariadb(server: MariaDBServer) -> None:
    conn = await asyncmy.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.database,
        autocommit=True,
    )
    try:
        cursor = conn.cursor()
        await cursor.execute("SHOW TABLES")
        tables = [row[0] for row in await cursor.fetchall()]
        if tables:
            await cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            await cursor.execute("DROP TABLE " + ", ".join(f"`{t}`" for t in tables))
    finally:
        await conn.ensure_closed()


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = str(request.param)
    if name in ("psycopg", "psycopg_async", "asyncpg"):
        server: PostgresServer = request.getfixturevalue("postgres_server")
        schema = f"mig_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        yield Backend(name, tmp_path, postgres=server, schema=schema)
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        return
    if name == "asyncmy":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        asyncio.run(_empty_mariadb(mariadb))
        yield Backend(name, tmp_path, mariadb=mariadb)
        return
    yield Backend(name, tmp_path)


MakeConfig = Callable[..., Any]


@pytest.fixture
def make_config(backend: Backend, spec: SQLSpec, tmp_path: Path) -> MakeConfig:
    """Build and register a config of the test's backend; keywords are its migration_config
    (``script_location`` defaults to ``tmp_path / "migrations"``)."""

    def make(**migration_config: Any) -> Any:
        migration_config.setdefault("script_location", str(tmp_path / "migrations"))
        return spec.add_config(backend.config(migration_config=migration_config))

    return make


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    path.mkdir()
    return path


def write(folder: Path, name: str, up: str, down: str | None = None, up_options: str = "") -> Path:
    """Write a migration file ``name`` with the given sections."""
    text = f"-- migrate:up{' ' + up_options if up_options else ''}\n{up}\n"
    if down is not None:
        text += f"\n-- migrate:down\n{down}\n"
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def tables(spec: SQLSpec, config: Any) -> set[str]:
    """The user tables of the test's database (the version table included)."""
    name = type(config).__name__
    with spec.provide_sync_session(config) as db:
        if name in ("SqliteConfig", "AiosqliteConfig"):
            rows = db.select("SELECT name AS t FROM sqlite_master WHERE type = 'table'")
        elif name == "DuckDBConfig":
            rows = db.select("SELECT table_name AS t FROM information_schema.tables")
        elif name == "AsyncmyConfig":
            rows = db.select(
                "SELECT table_name AS t FROM information_schema.tables "
                "WHERE table_schema = DATABASE()"
            )
        else:
            rows = db.select(
                "SELECT table_name AS t FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
    return {str(row["t"]).lower() for row in rows}
