"""The asyncpg sessions: error mapping, result reading, bad-value reporting (see the package
docstring)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from sqlspec import exceptions as exc
from sqlspec._optional import driver_import
from sqlspec._pooler import (
    statement_mode_transaction_error,
    with_pooler_hint,
)
from sqlspec._values import UnbindableValue, refuse
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.exceptions import SQLSpecError
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import connect_failure, for_sqlstate, translate

with driver_import("asyncpg", "asyncpg"):
    import asyncpg
    import asyncpg.exceptions as pg_errors

Connection = Any  # asyncpg.Connection, or the pool's PoolConnectionProxy (asyncpg is untyped)

_CLIENT_DATA_ERROR = pg_errors._base.DataError  # bad parameter value, found before sending
# How asyncpg names the value it could not encode (its own message, never localised).
_BAD_ARGUMENT = re.compile(
    r"invalid input for query argument \$(\d+)(?: in element #(\d+) of executemany\(\))?"
    r"[^:]*: (.*)",
    re.DOTALL,
)
# asyncpg reports a value it cannot encode as a DataError before anything is sent.
_BAD_VALUE_ERRORS = (asyncpg.DataError, _CLIENT_DATA_ERROR)
#: asyncpg refuses more arguments than this itself (the protocol would allow 65,535).
PARAMETER_LIMIT = 32767


def error_class(error: BaseException) -> type[SQLSpecError]:
    """The sqlspec class for an asyncpg error."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return for_sqlstate(sqlstate, str(error))
    if isinstance(error, asyncpg.InterfaceError) and "number of query arguments" in str(error):
        return exc.ParameterError  # a passthrough statement over asyncpg's limit
    if isinstance(error, _CLIENT_DATA_ERROR):
        return exc.DataError
    if isinstance(error, _BROKEN):
        return exc.ConnectionError
    if isinstance(error, asyncpg.InterfaceError):
        return exc.ProgrammingError
    return exc.SQLSpecError


#: Errors meaning the server ended the session (besides a connection asyncpg marks closed).
_DISCONNECTS = (
    pg_errors.ConnectionDoesNotExistError,
    pg_errors.AdminShutdownError,
    pg_errors.CrashShutdownError,
    pg_errors.CannotConnectNowError,
    OSError,
    # The protocol's state machine was left mid-operation (the server died under it: "cannot
    # switch to state N; another operation is in progress"); the connection cannot be reused.
    pg_errors.InternalClientError,
)
#: Errors that leave the connection unusable.
_BROKEN = (pg_errors.ConnectionDoesNotExistError, pg_errors.InternalClientError, OSError)


def connect_error(name: str, error: BaseException) -> exc.SQLSpecError:
    """The error for a failed connection attempt: unreachable server, timeout, or one refusing
    connections; otherwise (a bad password...) what the server said."""
    if isinstance(error, OSError | pg_errors.CannotConnectNowError | asyncio.TimeoutError):
        return connect_failure(name, error)
    return translate(error, error_class(error))


def _rows_affected(status: str | None) -> int:
    # "INSERT 0 3", "UPDATE 2", "DELETE 0", "SELECT 5", "CREATE TABLE" (no count).
    if not status:
        return -1
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else -1


class _Columns(tuple):  # type: ignore[type-arg]
    """Column names seen as a cursor description (``column[0]`` is the name)."""

    __slots__ = ()

    def __new__(cls, names: Any) -> _Columns:
        return super().__new__(cls, [(name,) for name in names])


class AsyncpgDriver(AsyncDriver[Connection]):
    """Async session over an asyncpg connection."""

    parameter_style = ParamStyle.NUMERIC
    dialect = Dialect.POSTGRES
    driver_errors = (asyncpg.PostgresError, asyncpg.InterfaceError, pg_errors.InternalClientError)
    parameter_limit = PARAMETER_LIMIT
    __slots__ = ()

    async def _begin_implicit(self, conn: Connection) -> None:
        if not conn.is_in_transaction():
            await conn.execute("BEGIN")

    async def _run(self, conn: Connection, sql: str, params: Sequence[Any]) -> Fetched:
        # asyncpg's own execution path (its statement cache, its retry on stale statements,
        # its query loggers): Connection._execute's body, keeping the statement it ran and the
        # command status. Preparing the statement again to learn its columns would cost a round
        # trip with the cache off (pooler_mode) and a cache lookup with it on.
        try:
            with conn._stmt_exclusive_section:
                (rows, status, _), stmt = await conn._Connection__execute(
                    sql, params, 0, None, return_status=True
                )
        except _BAD_VALUE_ERRORS as error:
            refuse(error, _unbindable(error, params))
        if rows:
            return _Columns(rows[0].keys()), rows, len(rows), None
        # No rows: a query with an empty result, or a command. The statement knows.
        attributes = stmt._get_attributes()
        if attributes:
            return attributes, (), 0, None
        return None, (), _rows_affected(status.decode()), None

    async def _run_many(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        try:
            await conn.executemany(sql, rows)
        except _BAD_VALUE_ERRORS as error:
            refuse(error, _unbindable(error, rows, many=True))
        return -1  # asyncpg does not report the rows affected by executemany

    async def _run_script(self, conn: Connection, sql: str) -> None:
        await conn.execute(sql)  # no arguments: the simple protocol, several statements allowed

    async def _begin(self, conn: Connection) -> None:
        await conn.execute("BEGIN")

    async def _commit(self, conn: Connection) -> None:
        if conn.is_in_transaction():
            await conn.execute("COMMIT")

    async def _rollback(self, conn: Connection) -> None:
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")

    def _in_transaction(self, conn: Connection) -> bool:
        return bool(conn.is_in_transaction())

    async def _reset_interrupted(self, conn: Connection) -> bool:
        if conn.is_closed():
            return False
        # asyncpg has asked the server to cancel the interrupted query; the next command waits
        # for that to finish.
        await conn.execute("ROLLBACK")
        return True

    def _is_disconnect(self, error: BaseException, conn: Connection) -> bool:
        if isinstance(error, _DISCONNECTS):
            return True
        try:
            return bool(conn.is_closed())
        except asyncpg.InterfaceError:
            return True  # asyncpg's pool took back the connection when it closed

    def _translate(self, error: BaseException) -> SQLSpecError:
        return with_pooler_hint(translate(error, error_class(error)), error)


class AsyncpgStatementModeDriver(AsyncpgDriver):
    """The session of an ``AsyncpgConfig`` with ``pooler_mode="statement"``: every statement runs
    on its own (asyncpg's implicit transaction), as a statement-mode pooler requires;
    :meth:`begin` raises :class:`TransactionError`, ``commit()``/``rollback()`` have nothing to
    end."""

    __slots__ = ()

    async def _begin_implicit(self, conn: Connection) -> None:
        pass

    async def _begin(self, conn: Connection) -> None:
        raise statement_mode_transaction_error(self.config.describe())


def _unbindable(error: BaseException, values: Any, many: bool = False) -> UnbindableValue | None:
    """The value asyncpg could not encode, read from its message (``$n``, and the row of an
    ``executemany``); ``None`` when the message does not name one."""
    match = _BAD_ARGUMENT.match(str(error))
    if match is None:
        return None
    index = int(match.group(1)) - 1
    row = int(match.group(2) or 0) if many else None
    try:
        value = values[row][index] if row is not None else values[index]
    except (IndexError, KeyError, TypeError):
        return None
    reason = match.group(3).strip()
    if reason.startswith(repr(value)):  # asyncpg repeats the value itself first
        reason = reason[len(repr(value)) :].strip().removeprefix("(").removesuffix(")")
    return UnbindableValue(index, value, reason, row)


class TimedAsyncpgDriver(AsyncpgDriver):
    """A session whose transactions start with the config's ``statement_timeout``: ``BEGIN``
    and ``SET LOCAL statement_timeout`` in one round trip (so it holds behind PgBouncer in
    transaction mode too); PostgreSQL cancels a statement that runs past it."""

    __slots__ = ()

    async def _begin_implicit(self, conn: Connection) -> None:
        if not conn.is_in_transaction():
            await conn.execute(self.config.begin_statement)  # type: ignore[attr-defined]

    async def _begin(self, conn: Connection) -> None:
        await conn.execute(self.config.begin_statement)  # type: ignore[attr-defined]
