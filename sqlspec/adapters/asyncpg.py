"""PostgreSQL through ``asyncpg``, pooled by asyncpg's own pool.

asyncpg runs every statement on its own unless a transaction is open, so the session sends
``BEGIN`` before its first statement (``conn.is_in_transaction()`` tells whether one is open):
``rollback()`` really undoes writes. Statements run as prepared statements from asyncpg's
per-connection statement cache; whether one returns rows is read from its result columns, and
``rows_affected`` from its command status (``"UPDATE 2"``). Errors are translated by SQLSTATE.

With ``driver_features={"pooler_mode": "transaction"}`` (or ``"statement"``) the statement cache
is off: asyncpg then prepares every statement unnamed (``_get_statement`` names a statement only
when it goes into the cache), and sqlspec's own path below reads a result's columns from the
statement it just ran instead of preparing it again, so no named statement is ever created.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from typing import Any

from sqlspec import exceptions as exc
from sqlspec._optional import driver_import
from sqlspec._pooler import (
    check_no_prepared_statements,
    pooler_mode,
    refuse_timeout_in_statement_mode,
    statement_mode_transaction_error,
    with_pooler_hint,
)
from sqlspec._timeouts import statement_timeout
from sqlspec._values import UnbindableValue, refuse
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import DEFAULT_CONNECT_TIMEOUT, AsyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import PoolStats
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import connect_failure, for_sqlstate, translate

with driver_import("asyncpg", "asyncpg"):
    import asyncpg
    import asyncpg.exceptions as pg_errors

__all__ = ("AsyncpgConfig", "AsyncpgDriver", "AsyncpgStatementModeDriver", "TimedAsyncpgDriver")

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
    if isinstance(error, pg_errors.ConnectionDoesNotExistError | OSError):
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
)


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
    driver_errors = (asyncpg.PostgresError, asyncpg.InterfaceError)
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


class _Pool:
    """``asyncpg.Pool`` seen through the core's async pool protocol."""

    def __init__(self, pool: asyncpg.Pool, name: str, timeout: float) -> None:
        self._pool = pool
        self._name = name
        self._timeout = timeout
        self._waiting = 0

    async def acquire(self) -> Connection:
        self._waiting += 1
        try:
            return await self._pool.acquire(timeout=self._timeout)
        except asyncio.TimeoutError as error:
            if self._pool.get_size() - self._pool.get_idle_size() < self._pool.get_max_size():
                # Not every connection is in use: it was the connection attempt that timed out.
                raise connect_error(self._name, error) from error
            raise exc.PoolTimeoutError(
                f"{self._name}: the pool is exhausted: no connection became free within "
                f"{self._timeout:g} s "
                f"(all {self._pool.get_max_size()} in use); raise the pool's max_size or its "
                "acquire_timeout, or release sessions sooner"
            ) from error
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise connect_error(self._name, error) from error
        finally:
            self._waiting -= 1

    async def release(self, conn: Connection) -> None:
        if conn._con is None:
            return  # closed: asyncpg's pool took it back already
        # asyncpg's reset would roll back too, but report the open transaction as an error.
        if not conn.is_closed() and conn.is_in_transaction():
            try:
                await conn.execute("ROLLBACK")
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                conn.terminate()  # the pool replaces closed connections
        await self._pool.release(conn)

    async def discard(self, conn: Connection) -> None:
        if conn._con is None:
            return  # closed: asyncpg's pool took it back already
        conn.terminate()
        await self._pool.release(conn)

    async def discard_dead(self, conn: Connection) -> None:
        await self.discard(conn)
        # The other connections most likely died too: each is replaced at its next use.
        await self._pool.expire_connections()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), 10.0)
        except asyncio.TimeoutError:
            self._pool.terminate()

    def stats(self) -> PoolStats:
        size = self._pool.get_size()
        idle = self._pool.get_idle_size()
        return PoolStats(
            size=size,
            in_use=size - idle,
            idle=idle,
            waiting=self._waiting,
            max_size=self._pool.get_max_size(),
        )


class AsyncpgConfig(AsyncDatabaseConfig[Connection, asyncpg.Pool, AsyncpgDriver]):
    """Configuration of a PostgreSQL database through asyncpg.

    ``pool_config`` keys: ``dsn`` (a ``postgresql://`` URL) and/or ``host``, ``port``, ``user``,
    ``password``, ``passfile``, ``database``, ``ssl``, ``direct_tls``, ``server_settings``,
    ``target_session_attrs``, ``krbsrvname``, ``gsslib``, ``service``, ``servicefile``;
    ``timeout`` (seconds to connect, 5), ``command_timeout`` (default per-statement limit),
    ``statement_cache_size`` (100; 0 behind pgbouncer in transaction mode),
    ``max_cached_statement_lifetime``, ``max_cacheable_statement_size``, ``record_class``,
    ``connection_class``.

    Pool keys: ``min_size`` (1), ``max_size`` (10), ``max_queries`` (50000),
    ``max_inactive_connection_lifetime`` (300 s), ``acquire_timeout`` (seconds to wait for a
    free connection, 30), ``init`` and ``setup`` (coroutine functions, as in asyncpg).

    ``driver_features={"pooler_mode": "transaction"}`` (or ``"statement"``) for a server behind
    PgBouncer (or another pooler) in that pool mode: the statement cache is off
    (``statement_cache_size=0``) and sqlspec prepares no named statement, so nothing outlives a
    transaction (at the price of one more round trip per statement: asyncpg describes each
    statement before running it). In ``"statement"`` mode every statement also runs on its own
    (no ``BEGIN``; ``begin()`` raises :class:`TransactionError`). A ``statement_cache_size``
    other than 0 in those modes, or an unknown mode, raises :class:`ImproperConfigurationError`.
    ``driver_features``: ``statement_timeout``, seconds a statement may run before PostgreSQL
    cancels it with :class:`~sqlspec.exceptions.StatementTimeoutError` (off by default; unlike
    asyncpg's client-side ``command_timeout`` it is enforced by the server).
    """

    driver_type = AsyncpgDriver
    feature_keys = frozenset({"pooler_mode", "statement_timeout"})
    connection_keys = frozenset(
        {
            "dsn", "host", "port", "user", "password", "passfile", "database", "timeout",
            "command_timeout", "statement_cache_size", "max_cached_statement_lifetime",
            "max_cacheable_statement_size", "ssl", "direct_tls", "server_settings",
            "target_session_attrs", "krbsrvname", "gsslib", "service", "servicefile",
            "record_class", "connection_class",
        }
    )  # fmt: skip
    pool_keys = frozenset(
        {
            "min_size", "max_size", "max_queries", "max_inactive_connection_lifetime",
            "acquire_timeout", "init", "setup",
        }
    )  # fmt: skip

    def _validate(self) -> None:
        if self.max_pool_size() < int(self._setting("min_size", 1)):
            raise ImproperConfigurationError("AsyncpgConfig: max_size must be at least min_size")
        mode = pooler_mode(type(self).__name__, self.driver_features)
        if "statement_cache_size" in self.pool_config:
            value = self.pool_config["statement_cache_size"]
            check_no_prepared_statements(
                type(self).__name__, mode, "statement_cache_size", value, 0
            )
        if mode == "statement":
            # Chosen once here, so the implicit-BEGIN hook of every other session stays as is.
            self.driver_type = AsyncpgStatementModeDriver  # type: ignore[misc]
        #: Seconds a statement may run (``None``: no limit), and how transactions begin then.
        self.statement_timeout = statement_timeout(self)
        if self.statement_timeout is not None:
            refuse_timeout_in_statement_mode(self)
            milliseconds = max(1, math.ceil(self.statement_timeout * 1000))
            self.begin_statement = f"BEGIN; SET LOCAL statement_timeout = {milliseconds}"
            # Only sessions of a config with a limit pay for setting it.
            self.driver_type = TimedAsyncpgDriver  # type: ignore[misc]

    async def _create_pool(self) -> _Pool:
        settings = self.pool_config
        options = {k: v for k, v in settings.items() if k in self.pool_keys}
        timeout = float(options.pop("acquire_timeout", 30.0))
        options.setdefault("min_size", 1)
        options["max_size"] = self.max_pool_size()
        connect = self._connect_kwargs()
        if self.driver_features.get("pooler_mode", "session") != "session":
            connect["statement_cache_size"] = 0  # unnamed statements only
        connect.setdefault("timeout", DEFAULT_CONNECT_TIMEOUT)
        try:
            pool = await asyncpg.create_pool(**connect, **options)
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            OSError,
            asyncio.TimeoutError,
        ) as error:
            raise connect_error(self.describe(), error) from error
        return _Pool(pool, self.describe(), timeout)

    def describe(self) -> str:
        dsn = self.pool_config.get("dsn")
        if dsn:
            return f"{type(self).__name__}({_hide_password(str(dsn))!r})"
        return super().describe()


def _hide_password(dsn: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        url = urlsplit(dsn)
    except ValueError:
        return "<unparsable dsn>"
    if url.password is None:
        return dsn
    netloc = url.netloc.replace(f":{url.password}@", ":***@", 1)
    return urlunsplit(url._replace(netloc=netloc))
