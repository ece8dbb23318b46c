"""MySQL and MariaDB through ``asyncmy``.

Connections run with ``autocommit`` off, so the server opens a transaction at the first statement
that reads or writes a table, which ``commit()``/``rollback()`` end (the server's own
``SERVER_STATUS_IN_TRANS`` flag says whether one is open). DDL commits implicitly, as MySQL always
does. Statements are written in any placeholder style and rewritten to ``%s`` with MySQL lexing
(backslash escapes, ``#`` comments); values are always passed to asyncmy separately, which escapes
them itself (or binds them server-side with ``stmt_cache_size``): sqlspec never pastes a value into
SQL text. Errors are translated by MySQL error number.

The pool is sqlspec's :class:`~sqlspec.pool.AsyncConnectionPool` (a connection comes back rolled
back; one whose state is unknown after a cancelled read is closed, never reused, and the statement
it was running is stopped on the server with ``KILL`` from a new connection).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlspec import exceptions as exc
from sqlspec._mysql import split_mysql_script as split_mysql_script
from sqlspec._optional import driver_import
from sqlspec._timeouts import statement_timeout
from sqlspec._values import locate, locate_in_rows, refuse
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import DEFAULT_CONNECT_TIMEOUT, AsyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import AsyncConnectionPool
from sqlspec.statement import Dialect, ParamStyle
from sqlspec.translate import connect_failure, for_dbapi_class, for_mysql_errno, translate

with driver_import("asyncmy", "asyncmy"):
    import asyncmy
    import asyncmy.errors as my_errors

__all__ = ("AsyncmyConfig", "AsyncmyDriver", "split_mysql_script")

_Connection = Any  # asyncmy.connection._Connection (a compiled class without type stubs)

_logger = logging.getLogger("sqlspec.asyncmy")

_UNKNOWN_THREAD = 1094  # ER_NO_SUCH_THREAD
#: CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED: the connection is dead.
_DISCONNECT_ERRNOS = frozenset({2006, 2013, 2055})

#: Placeholders a MariaDB/MySQL prepared statement may have; applied to client-side escaping
#: too, so a statement does not start failing when ``stmt_cache_size`` is turned on.
_PARAMETER_LIMIT = 65535

# Types asyncmy encodes as themselves. For any other type it sends ``str(value)`` (an object's
# repr would be stored) and it expands a sequence into ``(a, b)``: those are refused before
# anything is sent. Subclasses of these types are fine (encoded through their base or str()).
_PLAIN = frozenset(
    {str, int, float, bool, type(None), bytes, bytearray, Decimal}
    | {datetime.date, datetime.datetime, datetime.time, datetime.timedelta}
)
_PLAIN_BASES = tuple(_PLAIN - {type(None), bool})


def _error_class(error: BaseException) -> type[SQLSpecError]:
    """The sqlspec class for an asyncmy error."""
    errno = error.args[0] if error.args and isinstance(error.args[0], int) else None
    found = for_mysql_errno(errno)
    if found is not exc.SQLSpecError:
        return found
    by_class = for_dbapi_class(error, my_errors)
    if by_class is not None:
        return by_class
    if isinstance(error, my_errors.InterfaceError) or (errno is not None and 2000 <= errno < 3000):
        return exc.ConnectionError  # client-side CR_* errors: the connection is gone
    if isinstance(error, my_errors.OperationalError):
        return exc.OperationalError
    return exc.SQLSpecError


def _unsupported(value: object) -> str | None:
    """Why asyncmy cannot send ``value`` faithfully, or ``None`` when it can."""
    if isinstance(value, _PLAIN_BASES) or value is None:
        return None
    if isinstance(value, list | tuple | set | frozenset | dict):
        return (
            "asyncmy would send a collection as a parenthesised list, not as one value; use "
            "one placeholder per element"
        )
    return "asyncmy has no encoder for this type and would store its text (str()) instead"


def _unencodable(value: object) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return str(error)
    return None


def _refuse_unsupported(values: Any, rows: bool = False) -> None:
    """Raise ``UnbindableValue`` for the first value asyncmy would not send as itself."""
    found = locate_in_rows(values, _unsupported) if rows else locate(values, _unsupported)
    if found is not None:
        raise found


class AsyncmyDriver(AsyncDriver[_Connection]):
    """Async session over an asyncmy connection."""

    parameter_style = ParamStyle.FORMAT
    dialect = Dialect.MYSQL
    driver_errors = (my_errors.Error,)
    parameter_limit = _PARAMETER_LIMIT
    __slots__ = ()

    async def _run(self, conn: _Connection, sql: str, params: Sequence[Any]) -> Fetched:
        # asyncmy does not refuse unknown types itself: check each value (a set lookup).
        if params.__class__ is tuple or params.__class__ is list:
            for value in params:
                if value.__class__ not in _PLAIN:
                    _refuse_unsupported(params)
                    break
        elif params is not None:
            _refuse_unsupported(params)
        cursor = conn.cursor()
        try:
            await cursor.execute(sql, params)  # always the tuple, even (): "%%" must become "%"
        except UnicodeEncodeError as error:  # raised before anything is sent
            refuse(error, locate(params, _unencodable))
        description = cursor.description
        if not description:
            return None, (), cursor.rowcount, cursor.lastrowid
        rows = await cursor.fetchall()
        return description, rows, cursor.rowcount, None

    async def _run_many(self, conn: _Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        _refuse_unsupported(rows, rows=True)
        cursor = conn.cursor()
        try:
            await cursor.executemany(sql, rows)
        except UnicodeEncodeError as error:
            refuse(error, locate_in_rows(rows, _unencodable))
        return int(cursor.rowcount)

    async def _run_script(self, conn: _Connection, sql: str) -> None:
        cursor = conn.cursor()
        for statement in split_mysql_script(sql):
            await cursor.execute(statement)  # no arguments: sent exactly as written

    async def _begin(self, conn: _Connection) -> None:
        await conn.begin()

    def _in_transaction(self, conn: _Connection) -> bool:
        return bool(conn.get_transaction_status())

    async def _reset_interrupted(self, conn: _Connection) -> bool:
        # asyncmy closes a connection whose read was cancelled (the stream is out of step), but
        # the server goes on running the statement, holding its locks, until told otherwise.
        if not conn.connected:
            await self._kill_server_thread(conn.thread_id())
            return False
        await conn.rollback()
        return True

    async def _kill_server_thread(self, thread_id: int) -> None:
        """Stop what an abandoned connection's server thread is running (``KILL`` from a new
        connection; users may always kill their own threads)."""
        try:
            killer = await self.config._connect()  # type: ignore[attr-defined]
        except SQLSpecError:
            _logger.warning(
                "%s: could not connect to stop server thread %s", self.config, thread_id
            )
            return
        try:
            cursor = killer.cursor()
            await cursor.execute("KILL %s", (thread_id,))
        except my_errors.Error as error:
            if error.args and error.args[0] == _UNKNOWN_THREAD:
                return  # it had already ended
            _logger.warning(
                "%s: could not stop server thread %s", self.config, thread_id, exc_info=True
            )
        finally:
            await _close(killer)

    def _is_disconnect(self, error: BaseException, conn: _Connection) -> bool:
        errno = error.args[0] if error.args and isinstance(error.args[0], int) else None
        return errno in _DISCONNECT_ERRNOS or not conn.connected

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, _error_class(error))


class AsyncmyConfig(AsyncDatabaseConfig[_Connection, AsyncConnectionPool[Any], AsyncmyDriver]):
    """Configuration of a MySQL or MariaDB database through asyncmy.

    ``pool_config`` keys, passed to ``asyncmy.connect``: ``host``, ``port`` (3306), ``user``,
    ``password``, ``database`` (or ``db``), ``unix_socket``, ``charset`` (default ``utf8mb4``),
    ``sql_mode``, ``init_command``, ``connect_timeout`` (seconds, 5), ``read_timeout``, ``ssl``,
    ``local_infile``, ``max_allowed_packet``, ``program_name``, ``server_public_key``,
    ``auth_plugin_map``, ``read_default_file``, ``read_default_group``, ``use_unicode``,
    ``binary_prefix``, ``conv``, ``stmt_cache_size`` (server-side prepared statements).
    ``autocommit`` is always off (the session model needs transactions).

    Pool keys (sqlspec's async pool, named like the other sqlspec configs, not asyncmy's
    ``minsize``/``maxsize``): ``min_size`` (0), ``max_size`` (10) and ``acquire_timeout``
    (seconds to wait for a free connection, 30).

    ``driver_features``: ``statement_timeout``, seconds a statement may run before the server
    stops it with :class:`~sqlspec.exceptions.StatementTimeoutError` (off by default; set on each
    new connection: MariaDB's ``max_statement_time`` for every statement, MySQL's
    ``max_execution_time`` for ``SELECT`` only).
    """

    driver_type = AsyncmyDriver
    connection_keys = frozenset(
        {
            "host", "port", "user", "password", "database", "db", "unix_socket", "charset",
            "sql_mode", "init_command", "connect_timeout", "read_timeout", "ssl",
            "local_infile", "max_allowed_packet", "program_name", "server_public_key",
            "auth_plugin_map", "read_default_file", "read_default_group", "use_unicode",
            "binary_prefix", "conv", "stmt_cache_size",
        }
    )  # fmt: skip
    pool_keys = frozenset({"min_size", "max_size", "acquire_timeout"})
    feature_keys = frozenset({"statement_timeout"})

    def _validate(self) -> None:
        #: Seconds a statement may run (``None``: no limit).
        self.statement_timeout = statement_timeout(self)
        if "database" in self.pool_config and "db" in self.pool_config:
            raise ImproperConfigurationError(
                "AsyncmyConfig: give database or db (the same thing), not both"
            )
        if self.max_pool_size() < max(1, int(self._setting("min_size", 0))):
            raise ImproperConfigurationError(
                "AsyncmyConfig: max_size must be at least 1 and at least min_size"
            )

    async def _connect(self) -> _Connection:
        kwargs = self._connect_kwargs()
        if "db" in kwargs:
            kwargs["database"] = kwargs.pop("db")
        kwargs.setdefault("charset", "utf8mb4")
        kwargs.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        kwargs["autocommit"] = False
        try:
            conn = await asyncmy.connect(**kwargs)
        except (my_errors.Error, OSError) as error:
            raise connect_failure(self.describe(), error) from error
        if self.statement_timeout is not None:
            try:
                await conn.cursor().execute(_timeout_statement(conn, self.statement_timeout))
            except (my_errors.Error, OSError) as error:
                await _close(conn)
                raise exc.ConnectionError(
                    f"{self.describe()}: could not set statement_timeout: {error}"
                ) from error
        return conn

    async def _create_pool(self) -> AsyncConnectionPool[_Connection]:
        pool: AsyncConnectionPool[_Connection] = AsyncConnectionPool(
            self._connect,
            max_size=self.max_pool_size(),
            min_size=int(self._setting("min_size", 0)),
            timeout=float(self._setting("acquire_timeout", 30.0)),
            reset=_reset,
            close=_close,
            name=self.describe(),
        )
        await pool.open()
        return pool


def _timeout_statement(conn: _Connection, seconds: float) -> str:
    """The session setting for a statement time limit: MariaDB's ``max_statement_time``
    (seconds, every statement), else MySQL's ``max_execution_time`` (milliseconds, SELECT)."""
    if "mariadb" in str(conn.get_server_info()).lower():
        return f"SET SESSION max_statement_time = {max(seconds, 0.000001):.6f}"
    return f"SET SESSION max_execution_time = {max(1, round(seconds * 1000))}"


async def _reset(conn: _Connection) -> None:
    if not conn.connected:
        raise exc.ConnectionError("connection closed")
    if conn.get_transaction_status():
        await conn.rollback()


async def _close(conn: _Connection) -> None:
    if conn.connected:
        await conn.ensure_closed()
    else:
        conn.close()
