"""The backend matrix: the seven adapters the tests run on, defined once.

:data:`BACKENDS` lists each adapter with its config class, the server it needs and the dialect
facts tests branch on. :func:`open_database` gives a test a database of its own on one backend (a
temp file, a fresh PostgreSQL schema or the emptied MariaDB test database); the servers are
started on first use by the session fixtures of :mod:`tests.servers` (a missing server skips the
test, or fails it when ``CI`` is set).

Registered as a plugin by ``tests/conftest.py``, this module provides the fixtures:

- ``backend``: a :class:`Database`, parametrized over all seven backends;
- ``spec``: a fresh registry whose pools are closed at teardown;
- ``matrix``: a :class:`Matrix`, parametrized over every backend reached every way: the three
  sync ones directly, the four async ones through the portal facade ``PortalSession`` (as the
  Flask extension uses them) and through their own async API (:class:`NativeSession`);
- ``config`` / ``session``: the default config of the ``matrix`` backend and an open session
  with the sync API on it;
- ``async_backend`` / ``async_config``: the same on the four async backends only, for
  ``async def`` tests (which run on a fresh event loop each, see :func:`pytest_pyfunc_call`).

A new adapter is added here, in :data:`BACKENDS` and :meth:`Database.pool_config`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import asyncmy
import asyncmy.errors
import asyncpg
import duckdb
import psycopg
import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.portal import get_portal
from tests.servers import MariaDBServer, PostgresServer

T = TypeVar("T")


@dataclass(frozen=True)
class BackendInfo:
    """One adapter and what differs about it in the tests."""

    name: str
    config_class: type[Any]
    #: ``"postgres"``, ``"mariadb"`` or ``None`` (a local file).
    server: str | None
    #: ``"sqlite"``, ``"duckdb"``, ``"postgres"`` or ``"mysql"``: the SQL the database speaks.
    family: str
    #: The base class of the driver's own exceptions.
    driver_error: type[BaseException]
    #: The driver's native placeholder style (``sqlspec.statement.ParamStyle`` value name).
    placeholder: str
    #: Pool settings under which the pool opens connections only on demand (psycopg_pool opens
    #: ``min_size`` connections in the background, which a test reading pool stats would race).
    on_demand_pool: dict[str, Any] = field(default_factory=dict, hash=False)
    #: ``INSERT ... RETURNING`` (MariaDB: 10.5+) and ``UPDATE/DELETE ... RETURNING`` (not MariaDB).
    insert_returning: bool = True
    update_returning: bool = True
    #: Whether ``execute_many`` reports the rows it affected (asyncpg's ``executemany`` does not).
    many_rowcount: bool = True
    #: Whether DDL is rolled back with the transaction it ran in.
    transactional_ddl: bool = True
    #: The most parameters one statement may have (``None``: no limit; SQLite: see
    #: :attr:`parameter_limit`).
    max_parameters: int | None = 65535
    #: Whether parameter values travel apart from the SQL (asyncmy interpolates them into the
    #: statement text on the client, so the server's placeholder limit never applies).
    binds_on_server: bool = True
    #: Whether the driver would send an object it has no conversion for as ``str(value)``
    #: (asyncmy): the adapter refuses such values itself, with no driver error to chain.
    stringifies_unknown_values: bool = False
    #: The pool setting for how long a borrower waits for a connection (psycopg_pool's own name).
    acquire_timeout_key: str = "acquire_timeout"
    #: Whether a text value can be bound to a placeholder the SQL casts (``?::integer``): not on
    #: asyncpg, which binds each value as the type the server infers for its placeholder.
    casts_bound_text: bool = True

    @property
    def is_async(self) -> bool:
        return bool(self.config_class.is_async)

    @property
    def is_postgres(self) -> bool:
        return self.family == "postgres"

    @property
    def is_mysql(self) -> bool:
        return self.family == "mysql"

    @property
    def savepoints(self) -> bool:
        """Whether the database has savepoints (DuckDB has none, so ``isolated()`` refuses it)."""
        return self.family != "duckdb"

    @property
    def tables_query(self) -> str:
        """A query of the user tables of the test's database, one row (column ``t``) each."""
        if self.family == "sqlite":
            return "SELECT name AS t FROM sqlite_master WHERE type = 'table'"
        if self.family == "duckdb":
            return "SELECT table_name AS t FROM information_schema.tables"
        current = "DATABASE()" if self.is_mysql else "current_schema()"
        return (
            f"SELECT table_name AS t FROM information_schema.tables WHERE table_schema = {current}"
        )

    @property
    def marks(self) -> tuple[pytest.MarkDecorator, ...]:
        return {"postgres": (pytest.mark.postgres,), "mariadb": (pytest.mark.mariadb,)}.get(
            self.server or "", ()
        )

    @property
    def serial(self) -> str:
        """An auto-generated integer primary key column type (DuckDB has none: use
        :meth:`serial_table`)."""
        if self.family == "sqlite":
            return "INTEGER PRIMARY KEY"
        if self.is_mysql:
            return "INTEGER AUTO_INCREMENT PRIMARY KEY"
        return "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def serial_table(self, session: Any, table: str, columns: str) -> None:
        """``CREATE TABLE table (id <auto-generated integer primary key>, columns)``."""
        if self.family == "duckdb":
            session.execute(f"CREATE SEQUENCE {table}_id_seq")
            session.execute(
                f"CREATE TABLE {table} "
                f"(id INTEGER PRIMARY KEY DEFAULT nextval('{table}_id_seq'), {columns})"
            )
        else:
            session.execute(f"CREATE TABLE {table} (id {self.serial}, {columns})")

    @property
    def null_safe_equal(self) -> str:
        """The operator comparing NULL to NULL as equal."""
        return "<=>" if self.is_mysql else "IS NOT DISTINCT FROM"

    def concat(self, left: str, right: str) -> str:
        """SQL joining two strings (``||`` is a logical OR on MySQL/MariaDB)."""
        return f"CONCAT({left}, {right})" if self.is_mysql else f"{left} || {right}"

    @property
    def sleep_5(self) -> str:
        """A statement that takes five seconds (or forever) on the server."""
        if self.family in ("sqlite", "duckdb"):
            return (
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT count(*) FROM c"
            )
        if self.is_mysql:
            return "SELECT SLEEP(5)"
        return "SELECT pg_sleep(5)"

    def sleep(self, seconds: float) -> str | None:
        """A statement that waits ``seconds`` on the server (``None``: the SQL has no sleep)."""
        if self.is_postgres:
            return f"SELECT pg_sleep({seconds})"
        if self.is_mysql:
            return f"SELECT SLEEP({seconds})"
        return None

    @property
    def parameter_limit(self) -> int | None:
        """The most parameters one statement may have (``None``: no limit)."""
        if self.family == "sqlite":
            probe = sqlite3.connect(":memory:")
            try:
                return int(probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
            finally:
                probe.close()
        return self.max_parameters

    @property
    def detects_deadlocks(self) -> bool:
        """Whether two transactions can wait on each other's row locks until the database
        rolls one back (SQLite locks the whole database, DuckDB fails the second writer)."""
        return self.family in ("postgres", "mysql")

    @property
    def concurrent_writers(self) -> dict[str, Any]:
        """Config settings (for :meth:`Matrix.config`) letting sixteen sessions write at once:
        SQLite's writers take turns on the database lock, in WAL mode, waiting for it."""
        if self.family == "sqlite":
            return {"timeout": 30.0, "driver_features": {"pragmas": {"journal_mode": "wal"}}}
        return {}

    @property
    def double_colon_casts(self) -> bool:
        """Whether ``value::type`` casts and ``$tag$...$tag$`` strings exist (PostgreSQL,
        DuckDB)."""
        return self.family in ("postgres", "duckdb")

    @property
    def plpgsql(self) -> bool:
        """Whether functions with PL/pgSQL bodies, triggers calling them and ``E'...'`` escape
        strings exist (PostgreSQL)."""
        return self.is_postgres

    @property
    def sqlite_syntax(self) -> bool:
        """SQLite's own syntax: ``[identifiers]``, ``rowid`` ids and ``BEGIN ... END`` trigger
        bodies."""
        return self.family == "sqlite"

    @property
    def stale_read_statements(self) -> tuple[str, ...]:
        """Statements that make a session's transaction refuse a write based on a read that a
        concurrent commit made stale (DuckDB always does; SQLite does in WAL mode)."""
        if self.is_postgres:
            return ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",)
        if self.is_mysql:
            return (
                "SET SESSION innodb_snapshot_isolation = ON",
                "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            )
        return ()

    def param(self, test_id: str | None = None) -> Any:
        """This backend as a ``pytest.param`` (value: its name) with its server mark."""
        return pytest.param(self.name, id=test_id or self.name, marks=self.marks)


_ALL = (
    BackendInfo("sqlite", SqliteConfig, None, "sqlite", sqlite3.Error, "QMARK"),
    BackendInfo("duckdb", DuckDBConfig, None, "duckdb", duckdb.Error, "QMARK", max_parameters=None),
    *(
        # Both psycopg adapters: the same driver facts and psycopg_pool's settings.
        BackendInfo(
            name,
            config_class,
            "postgres",
            "postgres",
            psycopg.Error,
            "FORMAT",
            acquire_timeout_key="timeout",
            on_demand_pool={"min_size": 0},
        )
        for name, config_class in (
            ("psycopg", PsycopgConfig),
            ("psycopg_async", PsycopgAsyncConfig),
        )
    ),
    BackendInfo(
        "asyncpg",
        AsyncpgConfig,
        "postgres",
        "postgres",
        asyncpg.PostgresError,
        "NUMERIC",
        many_rowcount=False,
        max_parameters=32767,
        casts_bound_text=False,
    ),
    BackendInfo("aiosqlite", AiosqliteConfig, None, "sqlite", sqlite3.Error, "QMARK"),
    BackendInfo(
        "asyncmy",
        AsyncmyConfig,
        "mariadb",
        "mysql",
        asyncmy.errors.Error,
        "FORMAT",
        update_returning=False,
        transactional_ddl=False,
        binds_on_server=False,
        stringifies_unknown_values=True,
    ),
)
#: Every backend by name.
BACKENDS: dict[str, BackendInfo] = {info.name: info for info in _ALL}
SYNC_NAMES = tuple(name for name, info in BACKENDS.items() if not info.is_async)
ASYNC_NAMES = tuple(name for name, info in BACKENDS.items() if info.is_async)


def params(*names: str, ids: dict[str, str] | None = None) -> tuple[Any, ...]:
    """``pytest.param`` values for the named backends (all seven if none are named).

    ``ids`` renames some (e.g. ``asyncpg`` as ``asyncpg-portal`` where the id says how it is
    reached).
    """
    chosen = names or tuple(BACKENDS)
    return tuple(BACKENDS[name].param((ids or {}).get(name)) for name in chosen)


_numbers = itertools.count(1)


@dataclass
class Database:
    """One backend on a database of the test's own."""

    info: BackendInfo
    tmp_path: Path
    postgres: PostgresServer | None = None
    schema: str | None = None
    mariadb: MariaDBServer | None = None
    #: SQLite or DuckDB on ``:memory:`` instead of a file.
    in_memory: bool = False
    #: Pool settings every config of this database starts from.
    pool_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    def pool_config(self, file: str = "test", **settings: Any) -> dict[str, Any]:
        """How to reach this database, plus ``settings``; ``file`` names the SQLite/DuckDB file
        (``tmp_path / f"{file}.sqlite"`` etc.)."""
        settings = {**self.pool_settings, **settings}
        family = self.info.family
        if self.in_memory and family in ("sqlite", "duckdb"):
            return {"database": ":memory:", **settings}
        if family == "sqlite":
            return {"database": str(self.tmp_path / f"{file}.sqlite"), **settings}
        if family == "duckdb":
            return {"database": str(self.tmp_path / f"{file}.duckdb"), **settings}
        if self.name == "asyncpg":
            assert self.postgres is not None
            return {
                "dsn": self.postgres.dsn,
                "server_settings": {"search_path": str(self.schema)},
                **settings,
            }
        if family == "postgres":
            assert self.postgres is not None
            return {
                "conninfo": self.postgres.conninfo,
                "options": f"-c search_path={self.schema}",
                **settings,
            }
        assert self.mariadb is not None
        server = self.mariadb
        return {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "database": server.database,
            **settings,
        }

    def config(self, pool: dict[str, Any] | None = None, **options: Any) -> Any:
        """A config of this backend (not registered); ``options`` go to the config class."""
        return self.info.config_class(pool_config=self.pool_config(**(pool or {})), **options)

    def unreachable_pool_config(self) -> dict[str, Any]:
        """Settings naming a database that cannot be opened: a file in a missing directory, or
        a server port nothing listens on (connection attempts limited to a second)."""
        family = self.info.family
        if family in ("sqlite", "duckdb"):
            return {"database": str(self.tmp_path / "missing-dir" / f"x.{family}")}
        port = closed_port()
        if self.name == "asyncpg":
            return {"dsn": f"postgresql://nobody@127.0.0.1:{port}/nothing", "timeout": 1}
        if family == "postgres":
            return {
                "conninfo": f"host=127.0.0.1 port={port} user=nobody dbname=nothing",
                "timeout": 1,
                "connect_timeout": 1,
            }
        return {"host": "127.0.0.1", "port": port, "connect_timeout": 1}


def closed_port() -> int:
    """A local TCP port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_pg_schema(server: PostgresServer, prefix: str = "t") -> str:
    name = f"{prefix}_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name


def drop_pg_schema(server: PostgresServer, name: str) -> None:
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        # A session a failed test left open must not hang the teardown.
        conn.execute("SET lock_timeout = '5s'")
        with contextlib.suppress(psycopg.errors.LockNotAvailable):  # left in the throwaway db
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def _mariadb(server: MariaDBServer, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on a connection of its own (autocommit); the last one's rows."""
    conn = await asyncmy.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.database,
        autocommit=True,
    )
    try:
        rows: list[tuple[Any, ...]] = []
        cursor = conn.cursor()
        for statement in statements:
            await cursor.execute(statement)
            rows = list(await cursor.fetchall() or ())
        return rows
    finally:
        await conn.ensure_closed()


def mariadb_query(server: MariaDBServer, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements on MariaDB outside sqlspec (from a thread without a running loop)."""
    return asyncio.run(_mariadb(server, *statements))


def empty_mariadb(server: MariaDBServer) -> None:
    """Drop every table of the MariaDB test database."""
    tables = [row[0] for row in mariadb_query(server, "SHOW TABLES")]
    if tables:
        mariadb_query(
            server,
            "SET FOREIGN_KEY_CHECKS = 0",
            "DROP TABLE " + ", ".join(f"`{table}`" for table in tables),
        )


@contextlib.contextmanager
def open_database(
    request: pytest.FixtureRequest, name: str, tmp_path: Path, prefix: str = "t", **options: Any
) -> Iterator[Database]:
    """An isolated database on backend ``name`` (its server started on first use); ``options``
    are the :class:`Database`'s (``in_memory``, ``pool_settings``)."""
    info = BACKENDS[name]
    if info.server == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        schema = create_pg_schema(server, prefix)
        try:
            yield Database(info, tmp_path, postgres=server, schema=schema, **options)
        finally:
            drop_pg_schema(server, schema)
    elif info.server == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        empty_mariadb(mariadb)
        yield Database(info, tmp_path, mariadb=mariadb, **options)
    else:
        yield Database(info, tmp_path, **options)


# --------------------------------------------------------------------------- fixtures


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh event loop; close the pools made on it before it ends."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}

    async def main() -> None:
        try:
            await function(**kwargs)
        finally:
            spec = pyfuncitem.funcargs.get("spec")
            if isinstance(spec, SQLSpec):
                await spec.close_all_pools_async()

    asyncio.run(main())
    return True


@pytest.fixture(params=params())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each of the seven backends, on a database of the test's own."""
    with open_database(request, str(request.param), tmp_path, "m") as opened:
        yield opened


@pytest.fixture(params=params(*ASYNC_NAMES))
def async_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each of the four async backends, on a database of the test's own."""
    with open_database(request, str(request.param), tmp_path, "m") as opened:
        yield opened


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    """A fresh registry; pools are closed at teardown (those on an ``async def`` test's own loop
    by :func:`pytest_pyfunc_call`)."""
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@pytest.fixture
def async_config(async_backend: Database, spec: SQLSpec) -> Any:
    """The default config of the test's async backend, registered on ``spec``; open sessions
    with ``async with async_config.provide_session() as session`` in an ``async def`` test."""
    return spec.add_config(async_backend.config())


# --------------------------------------------------------------------------- one API on all


class NativeSession:
    """An async session (or its connection view) driven from sync test code: every awaitable
    it returns is run to completion on the test's own event loop.

    Unlike the portal facade this goes through the async API itself (``async with``, ``await
    session.commit()``), so a contract test written once covers both ways of using an async
    adapter. From the test's thread the loop is run until the call completes; from a worker
    thread of :meth:`Matrix.in_threads` (while the loop runs) the call is submitted to it.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def _run(self, awaitable: Any) -> Any:
        if not self._loop.is_running():
            return self._loop.run_until_complete(awaitable)

        async def wait() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self._loop).result()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "connection":
            return NativeSession(value, self._loop)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if inspect.isawaitable(result):
                return self._run(result)
            return result

        return call

    def __enter__(self) -> NativeSession:
        self._run(self._target.__aenter__())
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self._run(self._target.__aexit__(*exc_info))


#: How a contract test reaches each backend: the sync ones directly, the async ones through the
#: portal facade (as the Flask extension does) and through their own async API.
MODES = {"sync": SYNC_NAMES, "portal": ASYNC_NAMES, "native": ASYNC_NAMES}


def _mode_params() -> tuple[Any, ...]:
    out = []
    for mode, names in MODES.items():
        for name in names:
            test_id = name if mode == "sync" else f"{name}-{mode}"
            out.append(pytest.param((name, mode), id=test_id, marks=BACKENDS[name].marks))
    return tuple(out)


@dataclass
class Matrix:
    """One backend reached one way (``mode``), on a database of the test's own.

    ``config(**pool_settings)`` builds and registers a config; ``open(config)`` opens a session
    with the sync API on it, whichever the mode.
    """

    database: Database
    spec: SQLSpec
    mode: str
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def info(self) -> BackendInfo:
        return self.database.info

    def config(self, *, driver_features: dict[str, Any] | None = None, **settings: Any) -> Any:
        """A registered config of this backend with pool ``settings`` (and ``driver_features``)."""
        options = {} if driver_features is None else {"driver_features": driver_features}
        return self.spec.add_config(self.database.config(settings, **options))

    def open(self, config: Any) -> Any:
        """A session with the sync API (not yet entered: use it in a ``with`` block)."""
        if self.mode == "native":
            assert self.loop is not None
            return NativeSession(config.provide_session(), self.loop)
        return config.provide_sync_session()

    def in_threads(self, *work: Callable[[], Any], timeout: float = 30) -> list[Any]:
        """Run each function in a thread of its own, all at once; what each returned or raised.

        In the native mode the test's loop runs meanwhile, so the sessions the functions open
        (with :meth:`open`) all run on it, as concurrent tasks of one async application would.
        """

        async def on_the_loop() -> list[Any]:
            calls = (asyncio.to_thread(function) for function in work)
            return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout)

        if self.mode == "native":
            assert self.loop is not None
            return self.loop.run_until_complete(on_the_loop())
        with concurrent.futures.ThreadPoolExecutor(len(work)) as pool:
            futures = [pool.submit(function) for function in work]
            return [future.exception(timeout) or future.result() for future in futures]

    def unit_of_work(self, decorator: Callable[[Any], Any], work: Callable[[], T]) -> T:
        """Call ``work`` decorated with ``decorator`` (e.g. ``retry_on_conflict(...)``) the way
        this mode's application would: the sync function itself, or in the native mode an
        ``async def`` awaiting it (its sessions run on the test's loop, see :meth:`in_threads`).
        """
        if self.mode != "native":
            return cast("T", decorator(work)())
        assert self.loop is not None

        async def unit() -> T:
            return await asyncio.to_thread(work)

        return cast("T", self.loop.run_until_complete(decorator(unit)()))

    @property
    def raw_connections(self) -> bool:
        """Whether the test's code can use a borrowed driver connection (the portal facade has
        no sync form of an async driver's connection)."""
        return self.mode != "portal"

    def connection(self, config: Any) -> Any:
        """``config.provide_connection()`` as a sync context manager (see
        :attr:`raw_connections`); the connection is the driver's own."""
        if self.mode != "native":
            return config.provide_connection()
        loop = self.loop
        assert loop is not None

        @contextlib.contextmanager
        def borrowed() -> Iterator[Any]:
            manager = config.provide_connection()
            conn = loop.run_until_complete(manager.__aenter__())
            try:
                yield conn
            finally:
                loop.run_until_complete(manager.__aexit__(None, None, None))

        return borrowed()

    def create_pool(self, config: Any) -> None:
        """``config.create_pool()`` on the loop this mode's sessions use."""
        if self.mode == "sync":
            config.create_pool()
        elif self.mode == "native":
            assert self.loop is not None
            self.loop.run_until_complete(config.create_pool())
        else:
            get_portal().call(config.create_pool(), config.portal_timeout)

    def close_pool(self, config: Any) -> None:
        """Close ``config``'s pool as this mode's application would."""
        if self.mode == "native":
            assert self.loop is not None
            self.loop.run_until_complete(config.close_pool_async())
        else:
            config.close_pool()

    def close_all_pools(self) -> None:
        """``spec.close_all_pools()`` (``await spec.close_all_pools_async()`` in the native
        mode), as an application shutting down."""
        if self.mode == "native":
            assert self.loop is not None
            self.loop.run_until_complete(self.spec.close_all_pools_async())
        else:
            self.spec.close_all_pools()

    def count(self, config: Any, table: str) -> int:
        """Rows of ``table`` seen from a new session (committed data only)."""
        with self.open(config) as other:
            return int(other.select_value(f"SELECT count(*) FROM {table}"))


@pytest.fixture(params=_mode_params())
def matrix(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Matrix]:
    """Each backend reached each way: the sync three directly, the async four through the
    portal facade and through their own API (``-portal`` / ``-native`` test ids)."""
    name, mode = request.param
    with open_database(request, name, tmp_path, "c") as database:
        spec = SQLSpec()
        loop = asyncio.new_event_loop() if mode == "native" else None
        try:
            yield Matrix(database, spec, mode, loop)
        finally:
            if loop is not None:
                loop.run_until_complete(spec.close_all_pools_async())
                loop.close()
            else:
                spec.close_all_pools()


@pytest.fixture
def config(matrix: Matrix) -> Any:
    """The default config of the test's backend (``matrix``), registered."""
    return matrix.config()


@pytest.fixture
def session(matrix: Matrix, config: Any) -> Iterator[Any]:
    """An open session with the sync API on the test's backend, reached the test's way (closed,
    so rolled back, at teardown)."""
    with matrix.open(config) as opened:
        yield opened
