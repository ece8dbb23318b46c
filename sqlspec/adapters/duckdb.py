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
from sqlspec._optional import driver_import
from sqlspec.config import SyncDatabaseConfig
from sqlspec.driver import Cursor, SessionConnection, SyncDriver
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import ConnectionPool
from sqlspec.statement import ParamStyle
from sqlspec.translate import translate

with driver_import("duckdb", "duckdb"):
    import duckdb

__all__ = ("DuckDBConfig", "DuckDBDriver")

Connection = duckdb.DuckDBPyConnection


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


class DuckDBDriver(SyncDriver[Connection]):
    """Session over a DuckDB connection."""

    parameter_style = ParamStyle.QMARK
    driver_errors = (duckdb.Error,)
    __slots__ = ("_open_tx",)

    def _on_acquire(self) -> None:
        self._open_tx = False

    @property
    def connection(self) -> Any:
        # DuckDB cannot report whether a transaction is open, so commits must go through us.
        return SessionConnection(self, self._open_connection())

    def _begin_implicit(self, conn: Connection) -> None:
        if not self._open_tx:
            conn.execute("BEGIN")
            self._open_tx = True

    def _run(self, conn: Connection, sql: str, params: Sequence[Any]) -> Cursor:
        result = conn.execute(sql, params)
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

    def _run_many(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        result = conn.executemany(sql, rows)
        return _ChangedRows(result.rowcount)

    def _run_script(self, conn: Connection, sql: str) -> None:
        conn.execute(sql)

    def _begin(self, conn: Connection) -> None:
        conn.execute("BEGIN")
        self._open_tx = True

    def _commit(self, conn: Connection) -> None:
        if self._open_tx:
            self._open_tx = False
            conn.commit()

    def _rollback(self, conn: Connection) -> None:
        if self._open_tx:
            self._open_tx = False
            conn.rollback()

    def _in_transaction(self, conn: Connection) -> bool:
        return self._open_tx

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, _error_class(error))


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
        return exc.TransactionError
    if isinstance(error, duckdb.InvalidInputException | duckdb.DataError):
        return exc.DataError
    if isinstance(error, duckdb.ProgrammingError):
        return exc.ProgrammingError
    if isinstance(error, duckdb.IOException | duckdb.OperationalError):
        return exc.OperationalError
    return exc.SQLSpecError


class _DatabasePool(ConnectionPool[Connection]):
    """Pooled cursors of one database instance, closed once the pool is closed and drained."""

    def __init__(self, database: Connection, **kwargs: Any) -> None:
        super().__init__(connect=database.cursor, **kwargs)
        self._database = database

    def _drained(self) -> None:
        self._database.close()


def _reset(conn: Connection) -> None:
    with contextlib.suppress(duckdb.TransactionException):  # no transaction was open
        conn.rollback()


class DuckDBConfig(SyncDatabaseConfig[Connection, ConnectionPool[Connection], DuckDBDriver]):
    """Configuration of a DuckDB database.

    ``pool_config`` keys: ``database`` (file path or ``":memory:"``, the default), ``read_only``,
    ``config`` (DuckDB settings, e.g. ``{"threads": 4}``); pool sizing ``min_size`` (0),
    ``max_size`` (10), ``acquire_timeout`` (30 s).
    """

    driver_type = DuckDBDriver
    file_database = True
    connection_keys = frozenset({"database", "read_only", "config"})
    pool_keys = frozenset({"min_size", "max_size", "acquire_timeout"})

    def _validate(self) -> None:
        self.pool_config.setdefault("database", ":memory:")
        if self.max_pool_size() < 1:
            raise ImproperConfigurationError("DuckDBConfig: max_size must be at least 1")

    def max_pool_size(self) -> int:
        return int(self._setting("max_size", 10))

    def _create_pool(self) -> ConnectionPool[Connection]:
        kwargs = self._connect_kwargs()
        kwargs["database"] = self.database_path
        try:
            database = duckdb.connect(**kwargs)
        except duckdb.Error as error:
            raise exc.ConnectionError(f"{self.describe()}: {error}") from error
        return _DatabasePool(
            database,
            max_size=self.max_pool_size(),
            min_size=int(self._setting("min_size", 0)),
            timeout=float(self._setting("acquire_timeout", 30.0)),
            reset=_reset,
            close=Connection.close,
            name=self.describe(),
        )
