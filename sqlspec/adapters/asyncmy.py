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

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncmy
import asyncmy.errors as my_errors

from sqlspec import exceptions as exc
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import DEFAULT_CONNECT_TIMEOUT, AsyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import AsyncConnectionPool
from sqlspec.statement import ParamStyle
from sqlspec.translate import connect_failure, for_mysql_errno, translate

__all__ = ("AsyncmyConfig", "AsyncmyDriver", "split_mysql_script")

Connection = Any  # asyncmy.connection.Connection (a compiled class without type stubs)

logger = logging.getLogger("sqlspec.asyncmy")

_UNKNOWN_THREAD = 1094  # ER_NO_SUCH_THREAD
#: CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED: the connection is dead.
_DISCONNECT_ERRNOS = frozenset({2006, 2013, 2055})


def error_class(error: BaseException) -> type[SQLSpecError]:
    """The sqlspec class for an asyncmy error."""
    errno = error.args[0] if error.args and isinstance(error.args[0], int) else None
    found = for_mysql_errno(errno)
    if found is not exc.SQLSpecError:
        return found
    if isinstance(error, my_errors.IntegrityError):
        return exc.IntegrityError
    if isinstance(error, my_errors.DataError):
        return exc.DataError
    if isinstance(error, my_errors.ProgrammingError):
        return exc.ProgrammingError
    if isinstance(error, my_errors.InterfaceError) or (errno is not None and 2000 <= errno < 3000):
        return exc.ConnectionError  # client-side CR_* errors: the connection is gone
    if isinstance(error, my_errors.OperationalError):
        return exc.OperationalError
    return exc.SQLSpecError


# Strings (backslash escapes, doubled quotes), quoted identifiers, comments, and ";".
_SCRIPT_TOKENS = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|`(?:[^`]|``)*`?"""
    r"""|\#[^\n]*|--(?=[\s]|$)[^\n]*|/\*.*?(?:\*/|$)|;""",
    re.DOTALL,
)


@lru_cache(maxsize=128)
def split_mysql_script(sql: str) -> tuple[str, ...]:
    """Split a script into statements at ``;`` outside strings, quoted names and comments.

    Client-side ``DELIMITER`` is not supported: run a ``CREATE PROCEDURE``/``TRIGGER`` whose body
    holds ``;`` with :meth:`~sqlspec.async_driver.AsyncDriver.execute`.
    """
    statements: list[str] = []
    start = 0
    for match in _SCRIPT_TOKENS.finditer(sql):
        if match.group() == ";":
            statements.append(sql[start : match.start()])
            start = match.end()
    statements.append(sql[start:])
    return tuple(s for s in (piece.strip() for piece in statements) if _has_code(s))


def _has_code(statement: str) -> bool:
    rest = _SCRIPT_TOKENS.sub(lambda m: m.group() if m.group()[0] in "'\"`" else " ", statement)
    return bool(rest.strip())


class AsyncmyDriver(AsyncDriver[Connection]):
    """Async session over an asyncmy connection."""

    parameter_style = ParamStyle.FORMAT
    mysql_dialect = True
    driver_errors = (my_errors.Error,)
    __slots__ = ()

    async def _run(self, conn: Connection, sql: str, params: Sequence[Any]) -> Fetched:
        cursor = conn.cursor()
        await cursor.execute(sql, params)  # always the tuple, even (): "%%" must become "%"
        description = cursor.description
        if not description:
            return None, (), cursor.rowcount, cursor.lastrowid
        rows = await cursor.fetchall()
        return description, rows, cursor.rowcount, None

    async def _run_many(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        cursor = conn.cursor()
        await cursor.executemany(sql, rows)
        return int(cursor.rowcount)

    async def _run_script(self, conn: Connection, sql: str) -> None:
        cursor = conn.cursor()
        for statement in split_mysql_script(sql):
            await cursor.execute(statement)  # no arguments: sent exactly as written

    async def _begin(self, conn: Connection) -> None:
        await conn.begin()

    def _in_transaction(self, conn: Connection) -> bool:
        return bool(conn.get_transaction_status())

    async def _reset_interrupted(self, conn: Connection) -> bool:
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
            logger.warning("%s: could not connect to stop server thread %s", self.config, thread_id)
            return
        try:
            cursor = killer.cursor()
            await cursor.execute("KILL %s", (thread_id,))
        except my_errors.Error as error:
            if error.args and error.args[0] == _UNKNOWN_THREAD:
                return  # it had already ended
            logger.warning(
                "%s: could not stop server thread %s", self.config, thread_id, exc_info=True
            )
        finally:
            await _close(killer)

    def _is_disconnect(self, error: BaseException, conn: Connection) -> bool:
        errno = error.args[0] if error.args and isinstance(error.args[0], int) else None
        return errno in _DISCONNECT_ERRNOS or not conn.connected

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, error_class(error))


class AsyncmyConfig(AsyncDatabaseConfig[Connection, AsyncConnectionPool[Any], AsyncmyDriver]):
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

    def _validate(self) -> None:
        if "database" in self.pool_config and "db" in self.pool_config:
            raise ImproperConfigurationError(
                "AsyncmyConfig: give database or db (the same thing), not both"
            )
        if self.max_pool_size() < max(1, int(self._setting("min_size", 0))):
            raise ImproperConfigurationError(
                "AsyncmyConfig: max_size must be at least 1 and at least min_size"
            )

    def max_pool_size(self) -> int:
        return int(self._setting("max_size", 10))

    async def _connect(self) -> Connection:
        kwargs = self._connect_kwargs()
        if "db" in kwargs:
            kwargs["database"] = kwargs.pop("db")
        kwargs.setdefault("charset", "utf8mb4")
        kwargs.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        kwargs["autocommit"] = False
        try:
            return await asyncmy.connect(**kwargs)
        except (my_errors.Error, OSError) as error:
            raise connect_failure(self.describe(), error) from error

    async def _create_pool(self) -> AsyncConnectionPool[Connection]:
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
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


async def _reset(conn: Connection) -> None:
    if not conn.connected:
        raise exc.ConnectionError("connection closed")
    if conn.get_transaction_status():
        await conn.rollback()


async def _close(conn: Connection) -> None:
    if conn.connected:
        await conn.ensure_closed()
    else:
        conn.close()
