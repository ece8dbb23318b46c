"""Helpers shared by the Flask extension tests, sync and async.

:class:`Backend` is one backend of ``tests.backends`` (test ids are its names) on an isolated
test database of its own: a SQLite file in ``tmp_path`` (sqlite, aiosqlite), a fresh schema on
the throwaway PostgreSQL server (psycopg, asyncpg, psycopg async) or the emptied MariaDB test
database (asyncmy).
``backend.make(**flask)`` builds a config of that adapter with the given Flask settings. A test
module picks its backends with ``backend = backend_fixture(...)`` (the conftest's default is the
sync ones); the ``make_config`` fixture builds and registers configs on the test's backend.

The SQL helpers work on any config through ``provide_sync_session()`` (the session itself for a
sync config, the portal facade for an async one), outside any Flask context, so what they read
is committed data.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.config import DatabaseConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.backends import BACKENDS, Database, open_database, params
from tests.backends import empty_mariadb as empty_mariadb  # re-exported for the suite
from tests.backends import mariadb_query as mariadb_query

#: Every adapter the extension's suites run on: all of ``tests.backends`` with savepoints (the
#: plugin's ``isolated()`` needs them, so it refuses DuckDB).
ALL_BACKENDS = params(*(name for name, info in BACKENDS.items() if info.savepoints))
SYNC_BACKENDS = tuple(p for p in ALL_BACKENDS if not BACKENDS[p.values[0]].is_async)
ASYNC_BACKENDS = tuple(p for p in ALL_BACKENDS if BACKENDS[p.values[0]].is_async)
POSTGRES_ASYNC_BACKENDS = tuple(p for p in ASYNC_BACKENDS if BACKENDS[p.values[0]].is_postgres)

#: Name of the portal's loop thread (``sqlspec.portal.Portal`` default).
PORTAL_THREAD = "sqlspec-portal"

#: A table every backend accepts; ``tag`` identifies the request that wrote a row.
ITEMS_DDL = "CREATE TABLE items (tag VARCHAR(100) NOT NULL)"


# --------------------------------------------------------------------------- backends


@dataclasses.dataclass
class Backend(Database):
    """One ``tests.backends`` backend on an isolated database of the test's own, building
    configs with Flask settings."""

    @classmethod
    def local(cls, name: str, tmp_path: Path) -> Backend:
        """A backend that needs no server (a SQLite or DuckDB file in ``tmp_path``)."""
        assert BACKENDS[name].server is None, name
        return cls(BACKENDS[name], tmp_path)

    @property
    def is_async(self) -> bool:
        return self.info.is_async

    @property
    def is_postgres(self) -> bool:
        return self.info.is_postgres

    @property
    def serial(self) -> str:
        """An auto-generated integer primary key column type."""
        return self.info.serial

    @property
    def config_class(self) -> type[DatabaseConfig]:
        return self.info.config_class  # type: ignore[no-any-return]

    def pool_config(self, file: str = "main", **settings: Any) -> dict[str, Any]:
        """``pool_config`` of this backend's database, plus ``settings``.

        ``file`` picks the SQLite file (``<file>.db``, ``<file>.async.db``: a sync and an async
        config of one test do not share it) or the DuckDB one; the configs of one test share its
        PostgreSQL schema or the MariaDB database. Pools open connections only on demand, so
        none is still being connected in the background when a test reads ``pool_stats()``.
        """
        if self.info.family == "sqlite":
            suffix = ".async.db" if self.is_async else ".db"
            return {"database": str(self.tmp_path / f"{file}{suffix}"), **settings}
        return super().pool_config(file, **{**self.info.on_demand_pool, **settings})

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
        if self.info.family == "sqlite":  # faster, and a test's file need not survive a crash
            options["driver_features"] = {"pragmas": {"synchronous": "off"}}
        return self.config_class(
            pool_config=self.pool_config(name, **(pool or {})),
            extension_config={"flask": flask},
            **options,
        )


@contextmanager
def open_backend(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> Iterator[Backend]:
    """An isolated database for backend ``name`` of ``tests.backends`` (its server started on
    first use)."""
    with open_database(request, name, tmp_path, "flask") as database:
        fields = {
            field.name: getattr(database, field.name) for field in dataclasses.fields(database)
        }
        yield Backend(**fields)


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
