"""DuckDB through the ``duckdb`` package.

DuckDB commits every statement on its own unless a transaction is open, so the session issues
``BEGIN`` before its first statement: ``rollback()`` really undoes writes. Pooled connections are
cursors of one database instance per config (DuckDB's way to share a database between threads),
so ``":memory:"`` is one database per config as well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlspec import exceptions as exc
from sqlspec._interrupting import InterruptedPastTimeout
from sqlspec._optional import driver_import
from sqlspec._timeouts import statement_timeout, watchdog
from sqlspec._values import UnbindableValue, locate, locate_in_rows, refuse
from sqlspec.config import SyncDatabaseConfig
from sqlspec.driver import Cursor, SessionConnection, SyncDriver
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import ConnectionPool
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import translate

with driver_import("duckdb", "duckdb"):
    import duckdb

__all__ = ("DuckDBConfig", "DuckDBDriver", "TimedDuckDBDriver")

_Connection = duckdb.DuckDBPyConnection


class _ChangedRows:
    """A DML result seen as a cursor: DuckDB reports changed rows as a one-row ``Count`` result."""

    __slots__ = ("rowcount",)
    description = None

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def fetchall(self) -> list[Any]:
        return []


@lru_cache(maxsize=1024)
def _reports_changed_rows(sql: str) -> bool:
    """True when a statement's ``Count`` result is DuckDB's changed-rows report, not user rows."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    if not statements or statements[-1].type == duckdb.StatementType.SELECT:
        return False
    keyword = duckdb.token_type.keyword
    return not any(
        kind == keyword and sql[position : position + 9].upper() == "RETURNING"
        for position, kind in duckdb.tokenize(sql)
    )


class DuckDBDriver(SyncDriver[_Connection]):
    """Session over a DuckDB connection."""

    parameter_style = ParamStyle.QMARK
    dialect = Dialect.DUCKDB
    driver_errors = (duckdb.Error,)
    __slots__ = ("_open_tx",)

    def _on_acquire(self) -> None:
        self._open_tx = False

    @property
    def connection(self) -> Any:
        # DuckDB cannot report whether a transaction is open, so commits must go through us.
        return SessionConnection(self, self._open_connection())

    def _begin_implicit(self, conn: _Connection) -> None:
        if not self._open_tx:
            conn.execute("BEGIN")
            self._open_tx = True

    def _run(self, conn: _Connection, sql: str, params: Sequence[Any]) -> Cursor:
        try:
            result = conn.execute(sql, params)
        except _BIND_ERRORS as error:
            refuse(error, _find_unbindable(conn, params))
        description = result.description
        if (
            description is not None
            and len(description) == 1
            and description[0][0] == "Count"
            and _reports_changed_rows(sql)
        ):
            row = result.fetchone()
            return _ChangedRows(int(row[0]) if row else -1)
        return result

    def _run_many(self, conn: _Connection, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        try:
            result = conn.executemany(sql, rows)
        except _BIND_ERRORS as error:
            refuse(error, _find_unbindable(conn, rows, rows=True))
        return _ChangedRows(result.rowcount)

    def _run_script(self, conn: _Connection, sql: str) -> None:
        conn.execute(sql)

    def _begin(self, conn: _Connection) -> None:
        conn.execute("BEGIN")
        self._open_tx = True

    def _commit(self, conn: _Connection) -> None:
        if self._open_tx:
            self._open_tx = False
            conn.commit()

    def _rollback(self, conn: _Connection) -> None:
        if self._open_tx:
            self._open_tx = False
            conn.rollback()

    def _in_transaction(self, conn: _Connection) -> bool:
        return self._open_tx

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, _error_class(error))


class TimedDuckDBDriver(InterruptedPastTimeout[_Connection], DuckDBDriver):
    """A session whose statements are interrupted once they run past the config's
    ``statement_timeout``; a script's limit covers the whole script."""

    __slots__ = ("_timer",)

    def _is_interrupt(self, error: BaseException) -> bool:
        return isinstance(error, duckdb.InterruptException)

    def _run_script(self, conn: _Connection, sql: str) -> None:
        timer = self._arm(conn)
        try:
            super()._run_script(conn, sql)
        finally:
            watchdog().disarm(timer)


#: What duckdb raises for a Python value it cannot convert (also raised for other bad input,
#: which the search for a bad value then does not find).
_BIND_ERRORS = (duckdb.NotImplementedException, duckdb.InvalidInputException)


def _find_unbindable(conn: _Connection, values: Any, rows: bool = False) -> UnbindableValue | None:
    """The first value duckdb refuses to convert, found by binding each value alone on the same
    connection (conversion failures leave its transaction intact). Error path only."""

    def check(value: object) -> str | None:
        try:
            conn.execute("SELECT ?", [value])
        except _BIND_ERRORS as error:
            return str(error)
        return None

    return locate_in_rows(values, check) if rows else locate(values, check)


def _error_class(error: BaseException) -> type[SQLSpecError]:
    if isinstance(error, duckdb.ConstraintException):
        message = str(error)
        if "Duplicate key" in message or "unique constraint" in message.lower():
            return exc.UniqueViolationError
        if "foreign key" in message.lower():
            return exc.ForeignKeyViolationError
        if "NOT NULL" in message:
            return exc.NotNullViolationError
        if "CHECK constraint" in message:
            return exc.CheckViolationError
        return exc.IntegrityError
    if isinstance(error, duckdb.TransactionException):
        if "Conflict" in str(error):
            # Optimistic concurrency: a write-write conflict aborts the transaction; only
            # running it again can succeed.
            return exc.SerializationError
        return exc.TransactionError
    if isinstance(error, duckdb.InvalidInputException | duckdb.DataError):
        return exc.DataError
    if isinstance(error, duckdb.ProgrammingError):
        return exc.ProgrammingError
    if isinstance(error, duckdb.IOException | duckdb.OperationalError | duckdb.InterruptException):
        return exc.OperationalError
    return exc.SQLSpecError


def _reset(conn: _Connection) -> None:
    with contextlib.suppress(duckdb.TransactionException):  # no transaction was open
        conn.rollback()


class DuckDBConfig(SyncDatabaseConfig[_Connection, ConnectionPool[_Connection], DuckDBDriver]):
    """Configuration of a DuckDB database.

    ``pool_config`` keys: ``database`` (file path or ``":memory:"``, the default), ``read_only``,
    ``config`` (DuckDB settings, e.g. ``{"threads": 4}``); pool sizing ``min_size`` (0),
    ``max_size`` (10), ``acquire_timeout`` (30 s).

    ``driver_features``: ``statement_timeout``, seconds a statement may run before it is
    interrupted with :class:`~sqlspec.exceptions.StatementTimeoutError` (off by default).
    """

    driver_type = DuckDBDriver
    file_database = True
    connection_keys = frozenset({"database", "read_only", "config"})
    pool_keys = frozenset({"min_size", "max_size", "acquire_timeout"})
    feature_keys = frozenset({"statement_timeout"})

    def _validate(self) -> None:
        self.pool_config.setdefault("database", ":memory:")
        if self.max_pool_size() < 1:
            raise ImproperConfigurationError("DuckDBConfig: max_size must be at least 1")
        #: Seconds a statement may run (``None``: no limit).
        self.statement_timeout = statement_timeout(self)
        if self.statement_timeout is not None:
            # Only sessions of a config with a limit pay for arming it.
            self.driver_type = TimedDuckDBDriver  # type: ignore[misc]

    def _create_pool(self) -> ConnectionPool[_Connection]:
        kwargs = self._connect_kwargs()
        kwargs["database"] = self.database_path
        try:
            database = duckdb.connect(**kwargs)
        except duckdb.Error as error:
            raise exc.ConnectionError(f"{self.describe()}: {error}") from error
        # Pooled cursors of one database instance, closed once the pool is closed and drained.
        return ConnectionPool(
            connect=database.cursor,
            on_drained=database.close,
            max_size=self.max_pool_size(),
            min_size=int(self._setting("min_size", 0)),
            timeout=float(self._setting("acquire_timeout", 30.0)),
            reset=_reset,
            close=_Connection.close,
            name=self.describe(),
        )
