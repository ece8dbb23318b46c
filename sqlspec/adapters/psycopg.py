"""PostgreSQL through psycopg 3, pooled by ``psycopg_pool``.

Connections are in psycopg's autocommit mode and the session opens its transactions itself: the
``BEGIN`` (with ``SET LOCAL statement_timeout`` when a limit is set) goes in one pipeline with the
transaction's first statement, so a read request costs two round trips (statement, ``COMMIT``)
where psycopg's own implicit transactions cost three. The adapter also adds SQLSTATE-based error
translation and a pool wrapper that rolls back whatever a borrower left open, fails a borrow
fast with the driver's reason when the server is down, and does not wait out ``psycopg_pool``'s
reconnect backoff once it is back (see :class:`_Pool`). Behind a pooler (``pooler_mode``) the
``BEGIN`` is a round trip of its own.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

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
from sqlspec._values import UnbindableValue, locate, locate_in_rows, refuse
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import (
    DEFAULT_CONNECT_TIMEOUT,
    AsyncDatabaseConfig,
    DatabaseConfig,
    SyncDatabaseConfig,
)
from sqlspec.driver import Cursor, SyncDriver
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import PoolStats
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import connect_failure, for_sqlstate, translate

with driver_import("psycopg", "psycopg", "psycopg_pool"):
    import psycopg
    import psycopg_pool
    from psycopg import sql as pg_sql
    from psycopg.pq import TransactionStatus

__all__ = (
    "PsycopgAsyncConfig",
    "PsycopgAsyncDriver",
    "PsycopgConfig",
    "PsycopgSyncConfig",
    "PsycopgSyncDriver",
)

_IDLE = TransactionStatus.IDLE

#: The PostgreSQL protocol's limit on parameters per statement (a 16-bit count).
PARAMETER_LIMIT = 65535

#: libpq connection parameters accepted as ``pool_config`` keys besides ``conninfo``/``dsn``.
LIBPQ_KEYS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding",
        "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "sslmode", "sslcert", "sslkey", "sslrootcert",
        "sslcrl", "sslpassword", "sslcompression", "requiressl", "gssencmode", "krbsrvname",
        "target_session_attrs", "load_balance_hosts", "service",
    }
)  # fmt: skip


def error_class(error: BaseException) -> type[SQLSpecError]:
    """The sqlspec class for a psycopg error."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return for_sqlstate(sqlstate, str(error))
    if isinstance(error, psycopg.OperationalError) and "number of parameters" in str(error):
        return exc.ParameterError  # libpq refused more than 65,535 (a passthrough statement)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return exc.ConnectionError
    if isinstance(error, psycopg.DataError):
        return exc.DataError
    if isinstance(error, psycopg.ProgrammingError):
        return exc.ProgrammingError
    return exc.SQLSpecError


def is_disconnect(error: BaseException, conn: Any) -> bool:
    """True when a psycopg error left the connection dead (psycopg marks it closed when libpq
    reports it broken: the server ended it, restarted, or cannot be reached)."""
    return bool(conn.closed) or getattr(error, "sqlstate", None) in _DEAD_CONNECTION_STATES


#: admin_shutdown, crash_shutdown, cannot_connect_now: the server ended the session.
_DEAD_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})


def result_column_names(cursor: Any, encoding: str) -> tuple[str, ...] | None:
    """Column names read from the query result itself: ``cursor.description`` would build one
    ``Column`` object per column on every statement."""
    result = cursor.pgresult
    if result is None or result.status not in _ROW_STATUSES:
        return None
    names = []
    for index in range(result.nfields):
        name = result.fname(index)
        names.append(name.decode(encoding) if name is not None else f"column_{index + 1}")
    return tuple(names)


#: What psycopg raises, before sending anything, for a value it cannot adapt or encode.
_BIND_ERRORS = (psycopg.ProgrammingError, psycopg.DataError, UnicodeEncodeError, OverflowError)


def _find_unbindable(conn: Any, values: Any, rows: bool = False) -> UnbindableValue | None:
    """The first value psycopg cannot adapt with ``conn``'s adapters (each value dumped alone,
    on the client). Error path only."""

    def check(value: object) -> str | None:
        try:
            pg_sql.Literal(value).as_string(conn)
        except (psycopg.Error, UnicodeError, OverflowError, TypeError, ValueError) as error:
            return str(error).partition(" using placeholder")[0]  # the probe's, not the user's
        return None

    return locate_in_rows(values, check) if rows else locate(values, check)


def _refuse(error: BaseException, conn: Any, values: Any, rows: bool = False) -> NoReturn:
    """Re-raise a driver error from a statement; a client-side refusal of a value (no SQLSTATE)
    names the value."""
    if getattr(error, "sqlstate", None):
        raise error
    refuse(error, _find_unbindable(conn, values, rows))


def timeout_setting(config: Any) -> bytes:
    """How a config's ``statement_timeout`` is set: for each transaction only (``SET LOCAL``,
    sent with its ``BEGIN`` in the same round trip), so it holds behind a transaction-mode
    pooler (PgBouncer) too."""
    milliseconds = max(1, math.ceil(config.statement_timeout * 1000))
    return f"SET LOCAL statement_timeout = {milliseconds}".encode()


def _script_in_transaction(
    config: PsycopgSyncConfig | PsycopgAsyncConfig, conn: Any, sql: str
) -> bytes:
    """A script's text, after the transaction's opening commands when none is open yet."""
    if conn.pgconn.transaction_status == _IDLE and config.begin_commands:
        return config.begin_statement + b";\n" + sql.encode()
    return sql.encode()


_ROW_STATUSES = frozenset(
    status
    for status in (
        getattr(psycopg.pq.ExecStatus, name, None)
        for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    )
    if status is not None
)


class PsycopgSyncDriver(SyncDriver[psycopg.Connection[Any]]):
    """Session over a psycopg connection."""

    parameter_style = ParamStyle.FORMAT
    dialect = Dialect.POSTGRES
    driver_errors = (psycopg.Error,)
    parameter_limit = PARAMETER_LIMIT
    __slots__ = ("_encoding",)
    config: PsycopgSyncConfig

    def _on_acquire(self) -> None:
        self._encoding = self._connection.info.encoding if self._connection else "utf-8"

    def _column_names(self, cursor: Any) -> tuple[str, ...] | None:
        return result_column_names(cursor, self._encoding)

    def _run(self, conn: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Cursor:
        try:
            if conn.pgconn.transaction_status == _IDLE and self.config.begin_commands:
                if self.config.pipelined_begin:
                    # The transaction's first statement: its BEGIN goes in the same flight
                    # (one pipeline, one Sync), so it costs no round trip of its own.
                    with conn.pipeline():
                        for command in self.config.begin_commands:
                            conn.execute(command, prepare=False)
                        return conn.execute(sql, params)
                conn.execute(self.config.begin_statement)
            return conn.execute(sql, params)
        except _BIND_ERRORS as error:
            _refuse(error, conn, params)

    def _run_many(
        self, conn: psycopg.Connection[Any], sql: str, rows: Sequence[Sequence[Any]]
    ) -> Cursor:
        cursor = conn.cursor()
        try:
            if conn.pgconn.transaction_status == _IDLE and self.config.begin_commands:
                conn.execute(self.config.begin_statement)
            cursor.executemany(sql, rows)
        except _BIND_ERRORS as error:
            _refuse(error, conn, rows, rows=True)
        return cursor

    def _run_script(self, conn: psycopg.Connection[Any], sql: str) -> None:
        # No parameters: psycopg sends the text as-is with the simple protocol (several
        # statements allowed, no % processing), the BEGIN in the same message.
        conn.execute(_script_in_transaction(self.config, conn, sql))

    def _run_outside_transaction(self, conn: psycopg.Connection[Any], sql: str) -> None:
        conn.execute(sql.encode())  # connections are in autocommit mode between transactions

    def _begin(self, conn: psycopg.Connection[Any]) -> None:
        if self.config.driver_features.get("pooler_mode") == "statement":
            raise statement_mode_transaction_error(self.config.describe())
        conn.execute(self.config.begin_statement)

    def _in_transaction(self, conn: psycopg.Connection[Any]) -> bool:
        return conn.pgconn.transaction_status != _IDLE

    def _is_disconnect(self, error: BaseException, conn: psycopg.Connection[Any]) -> bool:
        return is_disconnect(error, conn)

    def _translate(self, error: BaseException) -> SQLSpecError:
        return with_pooler_hint(translate(error, error_class(error)), error)


def pool_timeout_message(name: str, pool: Any, in_use: int) -> str:
    """Why no connection came from a psycopg pool in time, and what to do about it."""
    if in_use >= pool.max_size:
        return (
            f"{name}: the pool is exhausted: all {pool.max_size} connections stayed in use for "
            f"{pool.timeout:g} s; raise max_size or timeout, or release sessions sooner"
        )
    return (
        f"{name}: no connection came from the pool within {pool.timeout:g} s although only "
        f"{in_use} of {pool.max_size} are in use; the server accepts connections but opening "
        "one took too long (the psycopg.pool logger has details); raise timeout"
    )


#: Seconds a borrower waits for a pooled connection before it checks, with a connection attempt
#: of its own, why none came. psycopg_pool opens connections in the background and retries
#: failed attempts with exponential backoff, telling waiting borrowers nothing: without this a
#: borrow would hang for the whole pool timeout while the server is down, and keep waiting out
#: the backoff once it is back.
_STALL = 0.25


class _Pool:
    """``psycopg_pool.ConnectionPool`` seen through the core's pool protocol.

    A borrower that gets no connection within :data:`_STALL` seconds while some are not in use
    tries to connect itself: when that fails, it raises the driver's reason at once instead of
    waiting for the pool timeout; when it works but the pool has failed to connect (it is
    waiting out its reconnect backoff after an outage), the pool is replaced by a new one,
    which connects right away.
    """

    def __init__(
        self,
        make_pool: Callable[[], psycopg_pool.ConnectionPool[Any]],
        connect: Callable[[], psycopg.Connection[Any]],
        name: str,
    ) -> None:
        self._make_pool = make_pool
        self._connect = connect
        self._pool = make_pool()
        self._first_wait = min(_STALL, self._pool.timeout)
        self._name = name
        self._lock = threading.Lock()
        # psycopg_pool's own size counts connections still being opened in the background, and
        # its waiting count keeps borrowers that already timed out, so both are tracked here
        # (dict and set updates are atomic: no lock on the hot path). Each borrowed connection
        # maps to the pool it came from (the pool may have been replaced since).
        self._borrowed: dict[psycopg.Connection[Any], psycopg_pool.ConnectionPool[Any]] = {}
        self._borrowing: set[int] = set()

    def acquire(self) -> psycopg.Connection[Any]:
        pool = self._pool
        thread = threading.get_ident()
        self._borrowing.add(thread)
        try:
            try:
                conn: psycopg.Connection[Any] = pool.getconn(self._first_wait)
            except psycopg_pool.PoolTimeout:
                pool = self._unstalled(pool)
                remaining = max(pool.timeout - _STALL, 0.001)
                try:
                    conn = pool.getconn(remaining)
                except psycopg_pool.PoolTimeout as error:
                    message = pool_timeout_message(self._name, pool, len(self._borrowed))
                    raise exc.PoolTimeoutError(message) from error
        except psycopg.Error as error:
            raise exc.ConnectionError(f"{self._name}: {error}") from error
        finally:
            self._borrowing.discard(thread)
        self._borrowed[conn] = pool
        return conn

    def _unstalled(
        self, pool: psycopg_pool.ConnectionPool[Any]
    ) -> psycopg_pool.ConnectionPool[Any]:
        """The pool to keep waiting on, after no connection came within :data:`_STALL` s."""
        if len(self._borrowed) >= pool.max_size:
            return pool  # every connection is in use: wait for one to come back
        try:
            self._connect().close()
        except psycopg.Error as error:
            raise connect_failure(self._name, error) from error
        if not pool.get_stats().get("connections_errors", 0):
            return pool  # the server answers and the pool has not failed: it is just slow
        with self._lock:
            if self._pool is not pool:
                return self._pool  # another borrower replaced it already
            self._pool = fresh = self._make_pool()
        pool.close(timeout=1.0)  # borrowed connections are closed when they come back
        return fresh

    def release(self, conn: psycopg.Connection[Any]) -> None:
        if not conn.closed and conn.pgconn.transaction_status != _IDLE:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.close()  # the pool replaces closed connections
        self._put_back(conn)

    def discard(self, conn: psycopg.Connection[Any]) -> None:
        conn.close()
        self._put_back(conn)

    def discard_dead(self, conn: psycopg.Connection[Any]) -> None:
        self.discard(conn)
        # The other idle connections most likely died too: replace them all now, and those in
        # use when they come back, so the next borrower gets a fresh connection.
        self._pool.drain()

    def _put_back(self, conn: psycopg.Connection[Any]) -> None:
        pool = self._borrowed.pop(conn, self._pool)
        pool.putconn(conn)

    def close(self) -> None:
        self._pool.close()

    def stats(self) -> PoolStats:
        stats = self._pool.get_stats()
        idle = stats.get("pool_available", 0)
        in_use = len(self._borrowed)
        waiting = min(stats.get("requests_waiting", 0), len(self._borrowing))
        return PoolStats(
            size=idle + in_use,
            in_use=in_use,
            idle=idle,
            waiting=waiting,
            max_size=self._pool.max_size,
        )


class PsycopgSyncConfig(
    SyncDatabaseConfig[psycopg.Connection[Any], psycopg_pool.ConnectionPool[Any], PsycopgSyncDriver]
):
    """Configuration of a PostgreSQL database through psycopg 3 (sync).

    ``pool_config`` keys: ``conninfo`` (or ``dsn``: a URL or libpq keyword string) and/or libpq
    parameters (``host``, ``port``, ``dbname``, ``user``, ``password``, ``connect_timeout``
    (seconds, 5 unless given here or in the conninfo), ...); pool settings as in
    ``psycopg_pool.ConnectionPool``: ``min_size`` (default 1), ``max_size`` (default 10),
    ``timeout`` (seconds to wait for a connection, 30), ``max_waiting``, ``max_lifetime``,
    ``max_idle``, ``reconnect_timeout``, ``num_workers``, ``name``.

    ``driver_features={"pooler_mode": "transaction"}`` (or ``"statement"``) for a server behind
    PgBouncer (or another pooler) in that pool mode: connections never prepare statements
    (``prepare_threshold=None``), and in ``"statement"`` mode every statement commits as it runs
    (``begin()`` raises :class:`TransactionError`). The default ``"session"`` keeps psycopg's
    prepared statements, which a transaction-mode pooler hands to other clients. A
    ``prepare_threshold`` that contradicts the mode, or an unknown mode, raises
    :class:`ImproperConfigurationError`.

    ``driver_features``: ``statement_timeout``, seconds a statement may run before PostgreSQL
    cancels it with :class:`~sqlspec.exceptions.StatementTimeoutError` (off by default; set with
    ``SET LOCAL`` in each transaction's ``BEGIN`` round trip, so it also holds behind PgBouncer
    in transaction mode).
    """

    driver_type = PsycopgSyncDriver
    feature_keys = frozenset({"pooler_mode", "statement_timeout"})
    #: Seconds a statement may run (``None``: no limit), set from ``driver_features``.
    statement_timeout: float | None
    #: What a session opens its transactions with, sent in one flight with the transaction's
    #: first statement (empty in statement mode: no transactions), and the same as one text.
    begin_commands: tuple[bytes, ...]
    begin_statement: bytes
    #: Whether those are pipelined with the first statement (not behind a pooler).
    pipelined_begin: bool
    connection_keys = LIBPQ_KEYS | {"conninfo", "dsn", "prepare_threshold"}
    pool_keys = frozenset(
        {
            "min_size", "max_size", "timeout", "max_waiting", "max_lifetime", "max_idle",
            "reconnect_timeout", "num_workers", "name",
        }
    )  # fmt: skip

    def _validate(self) -> None:
        settings = self.pool_config
        if "conninfo" in settings and "dsn" in settings:
            raise ImproperConfigurationError(
                "PsycopgSyncConfig: give conninfo or dsn (the same thing), not both"
            )
        _check_pooler_mode(self)
        if self.max_pool_size() < int(settings.get("min_size", 1)):
            raise ImproperConfigurationError(
                "PsycopgSyncConfig: max_size must be at least min_size"
            )
        _timeout_settings(self)

    def max_pool_size(self) -> int:
        return int(self._setting("max_size", 10))

    def _pool_arguments(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(conninfo, connection kwargs, pool kwargs) for ``psycopg_pool``."""
        settings = self.pool_config
        conninfo = str(settings.get("conninfo", settings.get("dsn", "")))
        kwargs = {k: v for k, v in settings.items() if k in LIBPQ_KEYS}
        if "connect_timeout" not in kwargs and "connect_timeout" not in _conninfo_keys(conninfo):
            kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
        if "prepare_threshold" in settings:
            kwargs["prepare_threshold"] = settings["prepare_threshold"]
        # Sessions open their transactions themselves, BEGIN pipelined with the first statement.
        kwargs["autocommit"] = True
        mode = self.driver_features.get("pooler_mode", "session")
        if mode != "session":
            kwargs["prepare_threshold"] = None  # unnamed statements only: nothing outlives a Sync
        options = {k: v for k, v in settings.items() if k in self.pool_keys}
        options.setdefault("min_size", 1)
        options["max_size"] = self.max_pool_size()
        options.setdefault("name", self.describe())
        return conninfo, kwargs, options

    def _create_pool(self) -> _Pool:
        conninfo, kwargs, options = self._pool_arguments()

        def make_pool() -> psycopg_pool.ConnectionPool[Any]:
            return psycopg_pool.ConnectionPool(conninfo, kwargs=kwargs, open=True, **options)

        def connect() -> psycopg.Connection[Any]:
            return psycopg.Connection.connect(conninfo, **kwargs)

        return _Pool(make_pool, connect, self.describe())

    def describe(self) -> str:
        shown = self.pool_config.get("conninfo") or self.pool_config.get("dsn")
        if shown:
            return f"{type(self).__name__}({_hide_password(str(shown))!r})"
        return DatabaseConfig.describe(self)  # not super(): the async config borrows this


def _conninfo_keys(conninfo: str) -> frozenset[str]:
    try:
        return frozenset(psycopg.conninfo.conninfo_to_dict(conninfo))
    except psycopg.Error:
        return frozenset()  # libpq reports the bad string when connecting


def _check_pooler_mode(config: PsycopgSyncConfig | PsycopgAsyncConfig) -> None:
    mode = pooler_mode(type(config).__name__, config.driver_features)
    if "prepare_threshold" in config.pool_config:
        value = config.pool_config["prepare_threshold"]
        check_no_prepared_statements(type(config).__name__, mode, "prepare_threshold", value, None)


def _timeout_settings(config: PsycopgSyncConfig | PsycopgAsyncConfig) -> None:
    #: Seconds a statement may run (``None``: no limit).
    config.statement_timeout = statement_timeout(config)
    #: What a session opens its transactions with (nothing in statement mode: no transactions).
    commands: tuple[bytes, ...] = (b"BEGIN",)
    if config.statement_timeout is not None:
        refuse_timeout_in_statement_mode(config)
        commands += (timeout_setting(config),)
    mode = config.driver_features.get("pooler_mode", "session")
    if mode == "statement":
        commands = ()
    config.begin_commands = commands
    # Behind a pooler BEGIN is a round trip of its own: PgBouncer (1.18) loses track of a
    # server connection after a pipeline that failed, and later clients wait for it forever.
    config.pipelined_begin = mode == "session"
    config.begin_statement = b"; ".join(commands)


def _hide_password(conninfo: str) -> str:
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<unparsable conninfo>"
    if "password" in params:
        params["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in params.items())


#: The name the Flask guide uses for the sync psycopg config.
PsycopgConfig = PsycopgSyncConfig


# -- async ---------------------------------------------------------------------------------------


class PsycopgAsyncDriver(AsyncDriver[psycopg.AsyncConnection[Any]]):
    """Async session over a psycopg ``AsyncConnection`` (the sync adapter's model, awaited)."""

    parameter_style = ParamStyle.FORMAT
    dialect = Dialect.POSTGRES
    driver_errors = (psycopg.Error,)
    parameter_limit = PARAMETER_LIMIT
    __slots__ = ()
    config: PsycopgAsyncConfig

    async def _run(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[Any]
    ) -> Fetched:
        try:
            if conn.pgconn.transaction_status != _IDLE or not self.config.begin_commands:
                cursor = await conn.execute(sql, params)
            elif self.config.pipelined_begin:
                async with conn.pipeline():  # BEGIN in the statement's flight, as in sync
                    for command in self.config.begin_commands:
                        await conn.execute(command, prepare=False)
                    cursor = await conn.execute(sql, params)
            else:
                await conn.execute(self.config.begin_statement)
                cursor = await conn.execute(sql, params)
        except _BIND_ERRORS as error:
            _refuse(error, conn, params)
        description = cursor.description
        if not description:
            return None, (), cursor.rowcount, None
        rows = await cursor.fetchall()
        return description, rows, cursor.rowcount, None

    async def _run_many(
        self, conn: psycopg.AsyncConnection[Any], sql: str, rows: Sequence[Sequence[Any]]
    ) -> int:
        cursor = conn.cursor()
        try:
            if conn.pgconn.transaction_status == _IDLE and self.config.begin_commands:
                await conn.execute(self.config.begin_statement)
            await cursor.executemany(sql, rows)
        except _BIND_ERRORS as error:
            _refuse(error, conn, rows, rows=True)
        return cursor.rowcount

    async def _run_script(self, conn: psycopg.AsyncConnection[Any], sql: str) -> None:
        # No parameters: the simple protocol, the BEGIN in the same message.
        await conn.execute(_script_in_transaction(self.config, conn, sql))

    async def _run_outside_transaction(self, conn: psycopg.AsyncConnection[Any], sql: str) -> None:
        await conn.execute(sql.encode())  # connections are in autocommit mode between transactions

    async def _begin(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self.config.driver_features.get("pooler_mode") == "statement":
            raise statement_mode_transaction_error(self.config.describe())
        await conn.execute(self.config.begin_statement)

    def _in_transaction(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        return conn.pgconn.transaction_status != _IDLE

    async def _reset_interrupted(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        # psycopg has already cancelled the query on the server and drained its result.
        if conn.closed:
            return False
        await conn.rollback()
        return True

    def _is_disconnect(self, error: BaseException, conn: psycopg.AsyncConnection[Any]) -> bool:
        return is_disconnect(error, conn)

    def _translate(self, error: BaseException) -> SQLSpecError:
        return with_pooler_hint(translate(error, error_class(error)), error)


class _AsyncPool:
    """``psycopg_pool.AsyncConnectionPool`` seen through the core's async pool protocol (in-use
    and waiting counts kept here, and a stalled borrow handled, as in the sync wrapper)."""

    def __init__(
        self,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        make_pool: Callable[[], Awaitable[psycopg_pool.AsyncConnectionPool[Any]]],
        connect: Callable[[], Awaitable[psycopg.AsyncConnection[Any]]],
        name: str,
    ) -> None:
        self._pool = pool
        self._first_wait = min(_STALL, pool.timeout)
        self._make_pool = make_pool
        self._connect = connect
        self._name = name
        self._borrowed: dict[
            psycopg.AsyncConnection[Any], psycopg_pool.AsyncConnectionPool[Any]
        ] = {}
        self._borrowing = 0
        self._replacing: asyncio.Future[None] | None = None

    async def acquire(self) -> psycopg.AsyncConnection[Any]:
        pool = self._pool
        self._borrowing += 1
        try:
            try:
                conn: psycopg.AsyncConnection[Any] = await pool.getconn(self._first_wait)
            except psycopg_pool.PoolTimeout:
                pool = await self._unstalled(pool)
                remaining = max(pool.timeout - _STALL, 0.001)
                try:
                    conn = await pool.getconn(remaining)
                except psycopg_pool.PoolTimeout as error:
                    message = pool_timeout_message(self._name, pool, len(self._borrowed))
                    raise exc.PoolTimeoutError(message) from error
        except psycopg.Error as error:
            raise exc.ConnectionError(f"{self._name}: {error}") from error
        finally:
            self._borrowing -= 1
        self._borrowed[conn] = pool
        return conn

    async def _unstalled(
        self, pool: psycopg_pool.AsyncConnectionPool[Any]
    ) -> psycopg_pool.AsyncConnectionPool[Any]:
        """The pool to keep waiting on, after no connection came within :data:`_STALL` s."""
        if len(self._borrowed) >= pool.max_size:
            return pool  # every connection is in use: wait for one to come back
        try:
            await (await self._connect()).close()
        except psycopg.Error as error:
            raise connect_failure(self._name, error) from error
        if not pool.get_stats().get("connections_errors", 0):
            return pool  # the server answers and the pool has not failed: it is just slow
        while self._replacing is not None:  # another borrower is replacing it
            await asyncio.wait([self._replacing])
        if self._pool is not pool:
            return self._pool
        self._replacing = asyncio.get_running_loop().create_future()
        try:
            self._pool = fresh = await self._make_pool()
        finally:
            self._replacing.set_result(None)
            self._replacing = None
        await pool.close(timeout=1.0)  # borrowed connections are closed when they come back
        return fresh

    async def release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if not conn.closed and conn.pgconn.transaction_status != _IDLE:
            try:
                await conn.rollback()
            except psycopg.Error:
                await conn.close()  # the pool replaces closed connections
        await self._put_back(conn)

    async def discard(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.close()
        await self._put_back(conn)

    async def discard_dead(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await self.discard(conn)
        await self._pool.drain()  # the other idle connections most likely died too

    async def _put_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        pool = self._borrowed.pop(conn, self._pool)
        await pool.putconn(conn)

    async def close(self) -> None:
        await self._pool.close()

    def stats(self) -> PoolStats:
        stats = self._pool.get_stats()
        idle = stats.get("pool_available", 0)
        in_use = len(self._borrowed)
        return PoolStats(
            size=idle + in_use,
            in_use=in_use,
            idle=idle,
            waiting=min(stats.get("requests_waiting", 0), self._borrowing),
            max_size=self._pool.max_size,
        )


class PsycopgAsyncConfig(
    AsyncDatabaseConfig[
        psycopg.AsyncConnection[Any], psycopg_pool.AsyncConnectionPool[Any], PsycopgAsyncDriver
    ]
):
    """Configuration of a PostgreSQL database through psycopg 3 (async).

    The same ``pool_config`` keys as :class:`PsycopgSyncConfig` (libpq parameters, ``conninfo``
    or ``dsn``, and ``psycopg_pool`` settings: ``min_size`` 1, ``max_size`` 10, ``timeout`` to
    wait for a connection 30 s, ...) and ``driver_features`` (``statement_timeout``,
    ``pooler_mode`` as in :class:`PsycopgSyncConfig`); the pool is
    ``psycopg_pool.AsyncConnectionPool``.
    """

    driver_type = PsycopgAsyncDriver
    statement_timeout: float | None
    begin_commands: tuple[bytes, ...]
    begin_statement: bytes
    #: Whether those are pipelined with the first statement (not behind a pooler).
    pipelined_begin: bool
    connection_keys = PsycopgSyncConfig.connection_keys
    pool_keys = PsycopgSyncConfig.pool_keys
    feature_keys = PsycopgSyncConfig.feature_keys

    def _pool_arguments(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        # The same settings as the sync config (it reads only what both configs share).
        return PsycopgSyncConfig._pool_arguments(self)  # type: ignore[arg-type]

    def describe(self) -> str:
        return PsycopgSyncConfig.describe(self)  # type: ignore[arg-type]

    def _validate(self) -> None:
        settings = self.pool_config
        if "conninfo" in settings and "dsn" in settings:
            raise ImproperConfigurationError(
                "PsycopgAsyncConfig: give conninfo or dsn (the same thing), not both"
            )
        _check_pooler_mode(self)
        if self.max_pool_size() < int(settings.get("min_size", 1)):
            raise ImproperConfigurationError(
                "PsycopgAsyncConfig: max_size must be at least min_size"
            )
        _timeout_settings(self)

    def max_pool_size(self) -> int:
        return int(self._setting("max_size", 10))

    async def _create_pool(self) -> _AsyncPool:
        conninfo, kwargs, options = self._pool_arguments()

        async def make_pool() -> psycopg_pool.AsyncConnectionPool[Any]:
            pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
                conninfo, kwargs=kwargs, open=False, **options
            )
            await pool.open()  # connections are opened in the background, as in the sync config
            return pool

        async def connect() -> psycopg.AsyncConnection[Any]:
            return await psycopg.AsyncConnection.connect(conninfo, **kwargs)

        return _AsyncPool(await make_pool(), make_pool, connect, self.describe())
