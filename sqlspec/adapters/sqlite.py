"""SQLite through the standard library's ``sqlite3``.

Connections run in SQLite's own autocommit mode and the session issues ``BEGIN`` before its first
statement, so every statement of a session (DDL included) is inside one transaction that
``commit()``/``rollback()`` end. Foreign keys are enforced (``PRAGMA foreign_keys = ON``) unless
``driver_features={"pragmas": {"foreign_keys": "off"}}`` says otherwise.

``database=":memory:"`` gives one in-memory database per config, shared by all of that config's
pooled connections and threads (SQLite's ``memdb`` VFS, which honours the busy timeout).
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from sqlspec._interrupting import InterruptedPastTimeout
from sqlspec._sqlite import (
    BIND_ERRORS,
    SqliteFacts,
    SqliteSettings,
    busy_retry_delays,
    find_unbindable,
    is_busy,
    split_script,
)
from sqlspec._timeouts import watchdog
from sqlspec._values import refuse
from sqlspec.config import SyncDatabaseConfig
from sqlspec.driver import Cursor, SyncDriver
from sqlspec.exceptions import ConnectionError, SQLSpecError
from sqlspec.pool import ConnectionPool
from sqlspec.translate import for_sqlite, translate

__all__ = ("SqliteConfig", "SqliteDriver", "TimedSqliteDriver")

_memory_names = itertools.count(1)


class SqliteDriver(SqliteFacts, SyncDriver[sqlite3.Connection]):
    """Session over a ``sqlite3`` connection."""

    __slots__ = ("_cursor",)

    def _on_acquire(self) -> None:
        conn = self._connection
        # Pooled connections carry one cursor for every session's statements, which saves
        # creating a cursor per statement; other connections get one per session.
        cursor = getattr(conn, "sqlspec_cursor", None)
        self._cursor: sqlite3.Cursor = cursor if cursor is not None else conn.cursor()  # type: ignore[union-attr]

    def _begin_implicit(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            self._begin(conn)

    def _run(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Cursor:
        try:
            return self._cursor.execute(sql, params)
        except BIND_ERRORS as error:
            refuse(error, find_unbindable(params))

    def _run_many(
        self, conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]
    ) -> Cursor:
        try:
            return conn.executemany(sql, rows)
        except BIND_ERRORS as error:
            refuse(error, find_unbindable(rows, rows=True))

    def _run_script(self, conn: sqlite3.Connection, sql: str) -> None:
        # sqlite3's executescript() would COMMIT the session's open transaction first.
        for statement in split_script(sql):
            conn.execute(statement)

    def _last_inserted_id(self, cursor: Any) -> Any:
        return cursor.lastrowid

    def _begin(self, conn: sqlite3.Connection) -> None:
        # executescript() runs the statement with one release of the GIL, where execute() on a
        # cached statement releases it four or five times (reset, bind, step, reset); with
        # threads waiting for the GIL each release is a thread switch. It commits first only
        # inside a transaction, and BEGIN is only sent outside one.
        self._cursor.executescript(self.config.begin_statement)  # type: ignore[attr-defined]

    def _in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, for_sqlite(error))


class TimedSqliteDriver(InterruptedPastTimeout[sqlite3.Connection], SqliteDriver):
    """A session whose statements are interrupted once they run past the config's
    ``statement_timeout``; each statement of a script has the full limit."""

    __slots__ = ("_timer",)

    def _is_interrupt(self, error: BaseException) -> bool:
        return _is_interrupt(error)

    def _run_script(self, conn: sqlite3.Connection, sql: str) -> None:
        for statement in split_script(sql):  # each statement has the full limit
            timer = self._arm(conn)
            try:
                conn.execute(statement)
            finally:
                watchdog().disarm(timer)


def _is_interrupt(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorname", None) == "SQLITE_INTERRUPT"


class _PooledConnection(sqlite3.Connection):
    """A pooled ``sqlite3`` connection with the cursor sessions run their statements on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sqlspec_cursor = self.cursor()


class SqliteConfig(
    SqliteSettings,
    SyncDatabaseConfig[sqlite3.Connection, ConnectionPool[sqlite3.Connection], SqliteDriver],
):
    """Configuration of a SQLite database.

    ``pool_config`` keys: ``database`` (path, ``":memory:"`` or a ``file:`` URI with
    ``uri=True``), ``timeout`` (seconds to wait on a locked database, default 5), ``detect_types``,
    ``check_same_thread`` (default False: pooled connections move between threads),
    ``cached_statements``, ``uri``; pool sizing ``min_size`` (0), ``max_size`` (10) and
    ``acquire_timeout`` (seconds to wait for a free connection, default 30).

    ``driver_features``: ``pragmas``, a dict applied to every new connection, e.g.
    ``{"journal_mode": "wal", "synchronous": "normal"}``; ``transaction_mode``, how sessions
    begin: ``"deferred"`` (default: locks are taken as statements need them), ``"immediate"``
    (take the write lock at once: a session that reads then writes never fails with
    ``SQLITE_BUSY`` because another connection wrote in between, at the price of serialising
    sessions) or ``"exclusive"``; ``statement_timeout``, seconds a statement may run before it is
    interrupted with :class:`~sqlspec.exceptions.StatementTimeoutError` (off by default).
    """

    driver_type = SqliteDriver
    connection_keys = frozenset(
        {"database", "timeout", "detect_types", "check_same_thread", "cached_statements", "uri"}
    )
    timed_driver = TimedSqliteDriver

    def _connect(self, database: str, uri: bool) -> sqlite3.Connection:
        kwargs = self._connect_kwargs()
        kwargs.update(database=database, uri=uri, isolation_level=None, factory=_PooledConnection)
        kwargs.setdefault("check_same_thread", False)
        kwargs.setdefault("timeout", 5.0)
        try:
            conn: sqlite3.Connection = sqlite3.connect(**kwargs)
            for pragma in self.pragmas:
                for delay in busy_retry_delays(float(kwargs["timeout"])):
                    try:
                        conn.execute(pragma)
                        break
                    except sqlite3.OperationalError as error:
                        if delay is None or not is_busy(error):
                            raise
                    time.sleep(delay)
        except sqlite3.Error as error:
            raise ConnectionError(f"{self.describe()}: {error}") from error
        return conn

    def _create_pool(self) -> ConnectionPool[sqlite3.Connection]:
        options = self._pool_options(_reset, sqlite3.Connection.close)
        if self.is_memory:
            name = f"file:/sqlspec-memory-{next(_memory_names)}?vfs=memdb"
            anchor = self._connect(name, True)
            return ConnectionPool(
                connect=lambda: self._connect(name, True), **options, on_drained=anchor.close
            )
        database = self.database_path
        uri = bool(self.pool_config.get("uri", False))
        return ConnectionPool(connect=lambda: self._connect(database, uri), **options)


def _reset(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()
