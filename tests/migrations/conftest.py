"""Fixtures for the migration and SQL-file tests: one isolated database per test on each backend.

``backend`` is parametrised over SQLite (a file and ``:memory:``), DuckDB, PostgreSQL through
psycopg and asyncpg, aiosqlite and MariaDB through asyncmy. ``make_config(**migration_config)``
builds and registers a config of the test's backend whose migrations live in
``tmp_path / "migrations"`` unless told otherwise. Async configs are used from sync code, through
the portal, as ``spec.migrations()`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from tests.backends import BACKENDS as MATRIX
from tests.backends import BackendInfo, Database, open_database
from tests.servers import MariaDBServer, PostgresServer

#: This suite's backend names (its test ids) and their backends in ``tests.backends``
#: (``sqlite_memory`` is SQLite on ``:memory:``).
NAMES = {
    "sqlite": "sqlite",
    "sqlite_memory": "sqlite",
    "duckdb": "duckdb",
    "psycopg": "psycopg",
    "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite",
    "asyncmy": "asyncmy",
    "psycopg_async": "psycopg_async",
}


def _params(*names: str) -> tuple[Any, ...]:
    return tuple(pytest.param(name, id=name, marks=MATRIX[NAMES[name]].marks) for name in names)


BACKENDS = _params(
    "sqlite", "sqlite_memory", "duckdb", "psycopg", "asyncpg", "aiosqlite", "asyncmy"
)
POSTGRES_BACKENDS = _params("psycopg", "asyncpg", "psycopg_async")


@dataclass
class Backend:
    """One adapter on a database of the test's own."""

    name: str
    tmp_path: Path
    postgres: PostgresServer | None = None
    schema: str | None = None
    mariadb: MariaDBServer | None = None

    @property
    def info(self) -> BackendInfo:
        return MATRIX[NAMES[self.name]]

    @property
    def transactional_ddl(self) -> bool:
        return self.info.transactional_ddl

    def pool_config(self) -> dict[str, Any]:
        if self.name == "sqlite":
            return {"database": str(self.tmp_path / "test.db")}
        if self.name == "sqlite_memory":
            return {"database": ":memory:"}
        if self.name == "aiosqlite":
            return {"database": str(self.tmp_path / "test.async.db")}
        settings = {"min_size": 0} if self.name in ("psycopg", "psycopg_async") else {}
        database = Database(self.info, self.tmp_path, self.postgres, self.schema, self.mariadb)
        return database.pool_config(**settings)

    def config(self, **kwargs: Any) -> Any:
        return self.info.config_class(pool_config=self.pool_config(), **kwargs)


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = str(request.param)
    with open_database(request, NAMES[name], tmp_path, "mig") as db:
        yield Backend(name, tmp_path, postgres=db.postgres, schema=db.schema, mariadb=db.mariadb)


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
