"""SQLite through ``aiosqlite`` (each connection runs ``sqlite3`` on its own worker thread).

The same model as :mod:`sqlspec.adapters.sqlite`: connections run in SQLite's autocommit mode and
the session issues ``BEGIN`` before its first statement; foreign keys are enforced unless
``driver_features={"pragmas": {"foreign_keys": "off"}}``; ``database=":memory:"`` is one
in-memory database per config, shared by all of its pooled connections (the ``memdb`` VFS).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlspec import _sqlite
from sqlspec._optional import driver_import
from sqlspec._values import refuse
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import AsyncDatabaseConfig
from sqlspec.exceptions import ConnectionError, SQLSpecError, StatementTimeoutError
from sqlspec.pool import AsyncConnectionPool
from sqlspec.translate import for_sqlite, translate

with driver_import("aiosqlite", "aiosqlite"):
    import aiosqlite

__all__ = ("AiosqliteConfig", "AiosqliteDriver", "TimedAiosqliteDriver")

_Connection = aiosqlite.Connection

_memory_names = itertools.count(1)


class AiosqliteDriver(_sqlite.SqliteFacts, AsyncDriver[_Connection]):
    """Async session over an ``aiosqlite`` connection."""

    __slots__ = ()

    async def _begin_implicit(self, conn: _Connection) -> None:
        if not conn.in_transaction:
            await conn.execute(self.config.begin_statement)  # type: ignore[attr-defined]

    async def _run(self, conn: _Connection, sql: str, params: Sequence[Any]) -> Fetched:
        try:
            cursor = await conn.execute(sql, params)
        except _sqlite.BIND_ERRORS as error:
            refuse(error, _sqlite.find_unbindable(params))
        description = cursor.description
        if not description:
            return None, (), cursor.rowcount, cursor.lastrowid
        rows = await cursor.fetchall()
        return description, rows, cursor.rowcount, None  # type: ignore[return-value]

    async def _run_many(self, conn: _Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        try:
            cursor = await conn.executemany(sql, rows)
        except _sqlite.BIND_ERRORS as error:
            refuse(error, _sqlite.find_unbindable(rows, rows=True))
        return cursor.rowcount

    async def _run_script(self, conn: _Connection, sql: str) -> None:
        # executescript() would COMMIT the session's open transaction first.
        for statement in _sqlite.split_script(sql):
            await conn.execute(statement)

    async def _begin(self, conn: _Connection) -> None:
        await conn.execute(self.config.begin_statement)  # type: ignore[attr-defined]

    def _in_transaction(self, conn: _Connection) -> bool:
        return bool(conn.in_transaction)

    async def _reset_interrupted(self, conn: _Connection) -> bool:
        # The statement keeps running on the worker thread after its task was cancelled:
        # interrupt it, then roll back (queued behind it).
        await conn.interrupt()
        await conn.rollback()
        return True

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, for_sqlite(error))


class _Limit:
    """One statement's time limit: an event-loop timer that interrupts the connection."""

    __slots__ = ("fired", "handle", "seconds", "task")

    def __init__(self, conn: _Connection, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self.task: asyncio.Task[None] | None = None
        self.handle = asyncio.get_running_loop().call_later(seconds, self._fire, conn)

    def _fire(self, conn: _Connection) -> None:
        self.fired = True
        self.task = asyncio.get_running_loop().create_task(conn.interrupt())

    def cancel(self) -> None:
        self.handle.cancel()
        if self.task is not None:
            # Not run yet: the statement ended first, so the next one must not be interrupted.
            self.task.cancel()


class TimedAiosqliteDriver(AiosqliteDriver):
    """A session whose statements are interrupted once they run past the config's
    ``statement_timeout`` (a timer on the event loop calls ``interrupt()``; no thread)."""

    __slots__ = ("_limit",)

    def _on_acquire(self) -> None:
        self._limit: _Limit | None = None

    def _arm(self, conn: _Connection) -> _Limit:
        limit = self._limit = _Limit(conn, self.config.statement_timeout)  # type: ignore[attr-defined]
        return limit

    async def _run(self, conn: _Connection, sql: str, params: Sequence[Any]) -> Fetched:
        limit = self._arm(conn)
        try:
            return await super()._run(conn, sql, params)
        finally:
            limit.cancel()

    async def _run_many(self, conn: _Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        limit = self._arm(conn)
        try:
            return await super()._run_many(conn, sql, rows)
        finally:
            limit.cancel()

    async def _run_script(self, conn: _Connection, sql: str) -> None:
        for statement in _sqlite.split_script(sql):  # each statement has the full limit
            limit = self._arm(conn)
            try:
                await conn.execute(statement)
            finally:
                limit.cancel()

    def _translate(self, error: BaseException) -> SQLSpecError:
        limit, self._limit = self._limit, None
        if (
            limit is not None
            and limit.fired
            and getattr(error, "sqlite_errorname", None) == "SQLITE_INTERRUPT"
        ):
            return StatementTimeoutError(
                f"{self.config.describe()}: the statement ran past statement_timeout "
                f"({limit.seconds:g} s) and was interrupted; the transaction is rolled back"
            )
        return super()._translate(error)


class AiosqliteConfig(
    _sqlite.SqliteSettings,
    AsyncDatabaseConfig[_Connection, AsyncConnectionPool[_Connection], AiosqliteDriver],
):
    """Configuration of a SQLite database used through ``aiosqlite``.

    ``pool_config`` keys: ``database`` (path, ``":memory:"`` or a ``file:`` URI with
    ``uri=True``), ``timeout`` (seconds to wait on a locked database, default 5),
    ``detect_types``, ``cached_statements``, ``uri``, ``iter_chunk_size``; pool sizing
    ``min_size`` (0), ``max_size`` (10) and ``acquire_timeout`` (seconds to wait for a free
    connection, default 30).

    ``driver_features``: ``pragmas``, a dict applied to every new connection, e.g.
    ``{"journal_mode": "wal", "synchronous": "normal"}``; ``transaction_mode``, how sessions
    begin: ``"deferred"`` (default), ``"immediate"`` (take the write lock at once, so a session
    that reads then writes never fails with ``SQLITE_BUSY``) or ``"exclusive"``, as in
    :class:`~sqlspec.adapters.sqlite.SqliteConfig`; ``statement_timeout``, seconds a statement
    may run before it is interrupted with :class:`~sqlspec.exceptions.StatementTimeoutError`
    (off by default).

    aiosqlite runs each connection on a thread of its own; sqlspec makes these daemon threads, so
    a pool left open never keeps the interpreter from exiting.
    """

    driver_type = AiosqliteDriver
    connection_keys = frozenset(
        {"database", "timeout", "detect_types", "cached_statements", "uri", "iter_chunk_size"}
    )
    timed_driver = TimedAiosqliteDriver

    async def _connect(self, database: str, uri: bool) -> _Connection:
        kwargs = self._connect_kwargs()
        kwargs.update(database=database, uri=uri, isolation_level=None)
        kwargs.setdefault("timeout", 5.0)
        conn = aiosqlite.connect(**kwargs)
        _make_daemon(conn)
        try:
            await conn
        except sqlite3.Error as error:
            await _worker_stopped(conn)
            raise ConnectionError(f"{self.describe()}: {error}") from error
        try:
            for pragma in self.pragmas:
                for delay in _sqlite.busy_retry_delays(float(kwargs["timeout"])):
                    try:
                        await conn.execute(pragma)
                        break
                    except sqlite3.OperationalError as error:
                        if delay is None or not _sqlite.is_busy(error):
                            raise
                    await asyncio.sleep(delay)
        except BaseException as error:
            await conn.close()
            if isinstance(error, sqlite3.Error):
                raise ConnectionError(f"{self.describe()}: {error}") from error
            raise
        return conn

    async def _create_pool(self) -> AsyncConnectionPool[_Connection]:
        options = self._pool_options(_reset, _Connection.close)
        pool: AsyncConnectionPool[_Connection]
        if self.is_memory:
            name = f"file:/sqlspec-aiosqlite-memory-{next(_memory_names)}?vfs=memdb"
            anchor = sqlite3.connect(name, uri=True, check_same_thread=False)
            pool = AsyncConnectionPool(
                connect=lambda: self._connect(name, True), **options, on_drained=anchor.close
            )
        else:
            database = self.database_path
            uri = bool(self.pool_config.get("uri", False))
            pool = AsyncConnectionPool(connect=lambda: self._connect(database, uri), **options)
        await pool.open()
        return pool


def _make_daemon(conn: _Connection) -> None:
    # aiosqlite runs each connection on a non-daemon thread, which would keep the interpreter from
    # exiting while a pool is left open (e.g. after asyncio.run() returned). sqlite3 is
    # transactional, so ending these threads with the process loses nothing committed.
    thread = getattr(conn, "_thread", conn)
    if isinstance(thread, threading.Thread) and not thread.is_alive():
        thread.daemon = True


async def _worker_stopped(conn: _Connection, limit: float = 1.0) -> None:
    # After a failed connect aiosqlite stops its worker thread without waiting for it; let it
    # finish while this loop still runs (it reports back to the loop).
    thread = getattr(conn, "_thread", None)
    deadline = asyncio.get_running_loop().time() + limit
    while isinstance(thread, threading.Thread) and thread.is_alive():
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.001)


async def _reset(conn: _Connection) -> None:
    if conn.in_transaction:
        await conn.rollback()
