"""Helpers shared by the Flask extension tests, sync and async.

:class:`Backend` is one adapter on an isolated test database of its own: a SQLite file in
``tmp_path`` (sqlite, aiosqlite), a fresh schema on the throwaway PostgreSQL server (psycopg as
``postgres``, asyncpg, psycopg async) or the emptied MariaDB test database (asyncmy).
``backend.make(**flask)`` builds a config of that adapter with the given Flask settings. A test
module picks its backends with ``backend = backend_fixture(...)`` (the conftest's default is the
sync ones); the ``make_config`` fixture builds and registers configs on the test's backend.

The SQL helpers work on any config through ``provide_sync_session()`` (the session itself for a
sync config, the portal facade for an async one), outside any Flask context, so what they read
is committed data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.config import DatabaseConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.backends import (
    BACKENDS,
    BackendInfo,
    Database,
    open_database,
)
from tests.backends import empty_mariadb as empty_mariadb  # re-exported for the suite
from tests.backends import mariadb_query as mariadb_query
from tests.servers import MariaDBServer, PostgresServer

#: This suite's backend names (its test ids) and their backends in ``tests.backends``.
NAMES = {
    "sqlite": "sqlite",
    "postgres": "psycopg",
    "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite",
    "psycopg_async": "psycopg_async",
    "asyncmy": "asyncmy",
}


def _params(*names: str) -> tuple[Any, ...]:
    return tuple(pytest.param(name, id=name, marks=BACKENDS[NAMES[name]].marks) for name in names)


SYNC_BACKENDS = _params("sqlite", "postgres")
ASYNC_BACKENDS = _params("asyncpg", "aiosqlite", "psycopg_async", "asyncmy")
POSTGRES_ASYNC_BACKENDS = _params("asyncpg", "psycopg_async")
#: Every adapter the extension supports: the suites that hold for all of them run on these.
ALL_BACKENDS = SYNC_BACKENDS + ASYNC_BACKENDS

#: Name of the portal's loop thread (``sqlspec.portal.Portal`` default).
PORTAL_THREAD = "sqlspec-portal"

#: A table every backend accepts; ``tag`` identifies the request that wrote a row.
ITEMS_DDL = "CREATE TABLE items (tag VARCHAR(100) NOT NULL)"


# --------------------------------------------------------------------------- backends


@dataclass
class Backend:
    """One adapter on an isolated database of its own for the test."""

    name: str
    tmp_path: Path
    postgres: PostgresServer | None = None
    schema: str | None = None
    mariadb: MariaDBServer | None = None

    @property
    def info(self) -> BackendInfo:
        return BACKENDS[NAMES[self.name]]

    @property
    def is_async(self) -> bool:
        return self.info.is_async

    @property
    def is_postgres(self) -> bool:
        return self.postgres is not None

    @property
    def serial(self) -> str:
        """An auto-generated integer primary key column type."""
        return self.info.serial

    @property
    def config_class(self) -> type[DatabaseConfig]:
        return self.info.config_class  # type: ignore[no-any-return]

    def pool_config(self, name: str = "main", **settings: Any) -> dict[str, Any]:
        """``pool_config`` of this backend's database, plus ``settings``.

        ``name`` picks the SQLite file (``<name>.db``, ``<name>.async.db``); the configs of one
        test share its PostgreSQL schema or the MariaDB database.
        """
        if self.info.family == "sqlite":
            suffix = ".async.db" if self.is_async else ".db"
            return {"database": str(self.tmp_path / f"{name}{suffix}"), **settings}
        if self.name == "postgres":
            # min_size 0: the pool opens connections only on demand, so none is still being
            # connected in the background when a test reads pool_stats() (psycopg_pool
            # counts such a connection in its size; see test_observability's xfail).
            settings = {"min_size": 0, "max_size": 5, **settings}
        database = Database(self.info, self.tmp_path, self.postgres, self.schema, self.mariadb)
        return database.pool_config(**settings)

    def make(
        self,
        name: str = "main",
        *,
        pool: dict[str, Any] | None = None,
        portal_timeout: float = 30.0,
        **flask: Any,
    ) -> Any:
        """A config of this backend (not registered); keywords are its Flask settings.

        ``pool`` adds pool settings; ``portal_timeout`` applies to the async adapters only.
        """
        options: dict[str, Any] = {}
        if self.is_async:
            options["portal_timeout"] = portal_timeout
        if self.name == "sqlite":
            options["driver_features"] = {"pragmas": {"synchronous": "off"}}
        return self.config_class(
            pool_config=self.pool_config(name, **(pool or {})),
            extension_config={"flask": flask},
            **options,
        )


@contextmanager
def open_backend(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> Iterator[Backend]:
    """An isolated database for adapter ``name`` (its server started on first use)."""
    with open_database(request, NAMES[name], tmp_path, "flask") as db:
        yield Backend(name, tmp_path, postgres=db.postgres, schema=db.schema, mariadb=db.mariadb)


def backend_fixture(backends: tuple[Any, ...]) -> Any:
    """A ``backend`` fixture running its tests on each of ``backends``.

    Assign it in a test module (``backend = backend_fixture(ALL_BACKENDS)``) to choose the
    backends of that module's tests; a test narrows them with
    ``@pytest.mark.parametrize("backend", ..., indirect=True)``.
    """

    @pytest.fixture(name="backend", params=backends)
    def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
        with open_backend(request, str(request.param), tmp_path) as opened:
            yield opened

    return backend


# --------------------------------------------------------------------------- SQL helpers


def run_sql(config: Any, *statements: str) -> None:
    """Run statements in one committed transaction, outside any Flask context."""
    with config.provide_sync_session() as session:
        for statement in statements:
            session.execute(statement)
        session.commit()


def tags(config: Any, table: str = "items") -> list[str]:
    """The tags stored in ``table``, read through a fresh session (committed data only)."""
    with config.provide_sync_session() as session:
        return sorted(row["tag"] for row in session.select(f"SELECT tag FROM {table}"))


def count(config: Any, table: str) -> int:
    """The rows of ``table``, counted through a fresh session."""
    with config.provide_sync_session() as session:
        return int(session.select_value(f"SELECT COUNT(*) FROM {table}"))


def in_use(config: Any) -> int:
    return int(config.pool_stats().in_use)


def portal_threads() -> list[threading.Thread]:
    """The live threads named like the portal's loop thread."""
    return [t for t in threading.enumerate() if t.name == PORTAL_THREAD and t.is_alive()]


# --------------------------------------------------------------------------- apps


def new_app(spec: SQLSpec, *, testing: bool = True) -> tuple[Flask, SQLSpecPlugin]:
    """A Flask app with the plugin initialised on every config registered on ``spec``."""
    app = Flask("sqlspec_flask_tests")
    app.testing = testing
    plugin = SQLSpecPlugin(spec, app)
    return app, plugin


def add_write_route(app: Flask, plugin: SQLSpecPlugin, key: str | None = None) -> None:
    """``POST /write/<status>?tag=...``: insert the tag into ``items``, answer with ``status``."""
    from flask import request

    @app.post("/write/<int:status>")
    def write(status: int) -> tuple[str, int, dict[str, str]]:
        plugin.get_session(key).execute(
            "INSERT INTO items (tag) VALUES (?)", (request.args["tag"],)
        )
        return "", status, {"Location": "/elsewhere"}
