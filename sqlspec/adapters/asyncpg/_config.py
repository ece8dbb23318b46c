"""The asyncpg config and the wrapper of asyncpg's own pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlspec import exceptions as exc
from sqlspec._optional import driver_import
from sqlspec._pooler import (
    check_no_prepared_statements,
    pooler_mode,
    refuse_timeout_in_statement_mode,
)
from sqlspec._timeouts import set_local_statement_timeout, statement_timeout
from sqlspec.adapters.asyncpg._driver import (
    AsyncpgDriver,
    AsyncpgStatementModeDriver,
    Connection,
    TimedAsyncpgDriver,
    connect_error,
)
from sqlspec.config import DEFAULT_CONNECT_TIMEOUT, AsyncDatabaseConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.pool import PoolStats

with driver_import("asyncpg", "asyncpg"):
    import asyncpg

__all__ = ("AsyncpgConfig",)


_logger = logging.getLogger("sqlspec.asyncpg")

#: What asyncpg raises for a refused or broken connection (``InternalClientError``: its protocol
#: was left mid-operation by a server that died).
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)


class _Pool:
    """``asyncpg.Pool`` seen through the core's async pool protocol."""

    def __init__(self, pool: asyncpg.Pool, name: str, timeout: float) -> None:
        self._pool = pool
        self._name = name
        self._timeout = timeout
        self._waiting = 0
        self._closing: asyncio.Future[None] | None = None

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
        except _DRIVER_ERRORS as error:
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
            except _DRIVER_ERRORS:
                conn.terminate()  # the pool replaces closed connections
        # asyncpg's reset query may meet a connection that died since the session's last
        # statement: asyncpg then terminates it and frees its slot; the pool replaces it.
        with contextlib.suppress(*_DRIVER_ERRORS):
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
        # asyncpg's close() waits until every borrowed connection is back. Sessions still
        # holding one finish their work (as with the other pools): the pool refuses new
        # borrowers now and closes its connections once the last one is returned.
        closing = self._closing = asyncio.ensure_future(self._pool.close())  # kept referenced
        closing.add_done_callback(_consume_result)
        if self._pool.get_size() > self._pool.get_idle_size():
            return
        try:
            await asyncio.wait_for(asyncio.shield(closing), 10.0)
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


def _consume_result(closing: asyncio.Future[None]) -> None:
    if not closing.cancelled() and closing.exception() is not None:
        _logger.warning("closing an asyncpg pool failed", exc_info=closing.exception())


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
            setting = set_local_statement_timeout(self.statement_timeout)
            self.begin_statement = f"BEGIN; {setting}"
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
