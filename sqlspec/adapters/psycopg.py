"""PostgreSQL through psycopg 3, pooled by ``psycopg_pool``.

psycopg opens a transaction at the first statement of a non-autocommit connection, which is
exactly the session model; the adapter only adds SQLSTATE-based error translation and a pool
wrapper that rolls back whatever a borrower left open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg_pool
from psycopg.pq import TransactionStatus

from sqlspec import exceptions as exc
from sqlspec.config import SyncDatabaseConfig
from sqlspec.driver import Cursor, SyncDriver
from sqlspec.exceptions import ImproperConfigurationError, SQLSpecError
from sqlspec.pool import PoolStats
from sqlspec.statement import ParamStyle
from sqlspec.translate import for_sqlstate, translate

__all__ = ("PsycopgConfig", "PsycopgSyncConfig", "PsycopgSyncDriver")

_IDLE = TransactionStatus.IDLE

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
        return for_sqlstate(sqlstate)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return exc.ConnectionError
    if isinstance(error, psycopg.DataError):
        return exc.DataError
    if isinstance(error, psycopg.ProgrammingError):
        return exc.ProgrammingError
    return exc.SQLSpecError


class PsycopgSyncDriver(SyncDriver[psycopg.Connection[Any]]):
    """Session over a psycopg connection."""

    parameter_style = ParamStyle.FORMAT
    driver_errors = (psycopg.Error,)
    __slots__ = ()

    def _run(self, conn: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Cursor:
        return conn.execute(sql, params)

    def _run_many(
        self, conn: psycopg.Connection[Any], sql: str, rows: Sequence[Sequence[Any]]
    ) -> Cursor:
        cursor = conn.cursor()
        cursor.executemany(sql, rows)
        return cursor

    def _run_script(self, conn: psycopg.Connection[Any], sql: str) -> None:
        # No parameters: psycopg sends the text as-is with the simple protocol (several
        # statements allowed, no % processing).
        conn.execute(sql.encode())

    def _begin(self, conn: psycopg.Connection[Any]) -> None:
        # psycopg would send its own BEGIN before a "BEGIN" statement; go under it.
        result = conn.pgconn.exec_(b"BEGIN")
        if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise psycopg.OperationalError(result.error_message.decode(errors="replace"))

    def _in_transaction(self, conn: psycopg.Connection[Any]) -> bool:
        return conn.info.transaction_status != _IDLE

    def _translate(self, error: BaseException) -> SQLSpecError:
        return translate(error, error_class(error))


class _Pool:
    """``psycopg_pool.ConnectionPool`` seen through the core's pool protocol."""

    def __init__(self, pool: psycopg_pool.ConnectionPool[Any], name: str) -> None:
        self._pool = pool
        self._name = name

    def acquire(self) -> psycopg.Connection[Any]:
        try:
            conn: psycopg.Connection[Any] = self._pool.getconn()
            return conn
        except psycopg_pool.PoolTimeout as error:
            raise exc.PoolTimeoutError(f"{self._name}: {error}") from error
        except psycopg.Error as error:
            raise exc.ConnectionError(f"{self._name}: {error}") from error

    def release(self, conn: psycopg.Connection[Any]) -> None:
        if not conn.closed and conn.info.transaction_status != _IDLE:
            try:
                conn.rollback()
            except psycopg.Error:
                conn.close()  # the pool replaces closed connections
        self._pool.putconn(conn)

    def discard(self, conn: psycopg.Connection[Any]) -> None:
        conn.close()
        self._pool.putconn(conn)

    def close(self) -> None:
        self._pool.close()

    def stats(self) -> PoolStats:
        stats = self._pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        return PoolStats(
            size=size,
            in_use=size - idle,
            idle=idle,
            waiting=stats.get("requests_waiting", 0),
            max_size=self._pool.max_size,
        )


class PsycopgSyncConfig(
    SyncDatabaseConfig[psycopg.Connection[Any], psycopg_pool.ConnectionPool[Any], PsycopgSyncDriver]
):
    """Configuration of a PostgreSQL database through psycopg 3 (sync).

    ``pool_config`` keys: ``conninfo`` (or ``dsn``: a URL or libpq keyword string) and/or libpq
    parameters (``host``, ``port``, ``dbname``, ``user``, ``password``, ...); pool settings as in
    ``psycopg_pool.ConnectionPool``: ``min_size`` (default 1), ``max_size`` (default 10),
    ``timeout`` (seconds to wait for a connection, 30), ``max_waiting``, ``max_lifetime``,
    ``max_idle``, ``reconnect_timeout``, ``num_workers``, ``name``.
    """

    driver_type = PsycopgSyncDriver
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
        if self.max_pool_size() < int(settings.get("min_size", 1)):
            raise ImproperConfigurationError(
                "PsycopgSyncConfig: max_size must be at least min_size"
            )

    def max_pool_size(self) -> int:
        return int(self._setting("max_size", 10))

    def _pool_arguments(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(conninfo, connection kwargs, pool kwargs) for ``psycopg_pool``."""
        settings = self.pool_config
        conninfo = str(settings.get("conninfo", settings.get("dsn", "")))
        kwargs = {k: v for k, v in settings.items() if k in LIBPQ_KEYS}
        if "prepare_threshold" in settings:
            kwargs["prepare_threshold"] = settings["prepare_threshold"]
        kwargs["autocommit"] = False
        options = {k: v for k, v in settings.items() if k in self.pool_keys}
        options.setdefault("min_size", 1)
        options["max_size"] = self.max_pool_size()
        options.setdefault("name", self.describe())
        return conninfo, kwargs, options

    def _create_pool(self) -> _Pool:
        conninfo, kwargs, options = self._pool_arguments()
        pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            conninfo, kwargs=kwargs, open=True, **options
        )
        return _Pool(pool, self.describe())

    def describe(self) -> str:
        shown = self.pool_config.get("conninfo") or self.pool_config.get("dsn")
        if shown:
            return f"{type(self).__name__}({_hide_password(str(shown))!r})"
        return super().describe()


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
