"""The sync psycopg session and config (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlspec._optional import driver_import
from sqlspec._pooler import statement_mode_transaction_error
from sqlspec.adapters.psycopg._common import (
    BIND_ERRORS,
    IDLE,
    PsycopgSession,
    PsycopgSettings,
    refuse_bind,
    result_column_names,
    script_in_transaction,
)
from sqlspec.adapters.psycopg._pool import SyncPool
from sqlspec.config import SyncDatabaseConfig
from sqlspec.driver import Cursor, SyncDriver

with driver_import("psycopg", "psycopg", "psycopg_pool"):
    import psycopg
    import psycopg_pool

__all__ = ("PsycopgConfig", "PsycopgSyncConfig", "PsycopgSyncDriver")


class PsycopgSyncDriver(PsycopgSession, SyncDriver[psycopg.Connection[Any]]):
    """Session over a psycopg connection."""

    __slots__ = ("_encoding",)
    config: PsycopgSyncConfig

    def _on_acquire(self) -> None:
        self._encoding = self._connection.info.encoding if self._connection else "utf-8"

    def _column_names(self, cursor: Any) -> tuple[str, ...] | None:
        return result_column_names(cursor, self._encoding)

    def _run(self, conn: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Cursor:
        try:
            if conn.pgconn.transaction_status == IDLE and self.config.begin_commands:
                if self.config.pipelined_begin:
                    # The transaction's first statement: its BEGIN goes in the same flight
                    # (one pipeline, one Sync), so it costs no round trip of its own.
                    with conn.pipeline():
                        for command in self.config.begin_commands:
                            conn.execute(command, prepare=False)
                        return conn.execute(sql, params)
                conn.execute(self.config.begin_statement)
            return conn.execute(sql, params)
        except BIND_ERRORS as error:
            refuse_bind(error, conn, params)

    def _run_many(
        self, conn: psycopg.Connection[Any], sql: str, rows: Sequence[Sequence[Any]]
    ) -> Cursor:
        cursor = conn.cursor()
        try:
            if conn.pgconn.transaction_status == IDLE and self.config.begin_commands:
                conn.execute(self.config.begin_statement)
            cursor.executemany(sql, rows)
        except BIND_ERRORS as error:
            refuse_bind(error, conn, rows, rows=True)
        return cursor

    def _run_script(self, conn: psycopg.Connection[Any], sql: str) -> None:
        # No parameters: psycopg sends the text as-is with the simple protocol (several
        # statements allowed, no % processing), the BEGIN in the same message.
        conn.execute(script_in_transaction(self.config, conn, sql))

    def _run_outside_transaction(self, conn: psycopg.Connection[Any], sql: str) -> None:
        conn.execute(sql.encode())  # connections are in autocommit mode between transactions

    def _begin(self, conn: psycopg.Connection[Any]) -> None:
        if self.config.driver_features.get("pooler_mode") == "statement":
            raise statement_mode_transaction_error(self.config.describe())
        conn.execute(self.config.begin_statement)


class PsycopgSyncConfig(
    PsycopgSettings,
    SyncDatabaseConfig[
        psycopg.Connection[Any], psycopg_pool.ConnectionPool[Any], PsycopgSyncDriver
    ],
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

    def _create_pool(self) -> SyncPool:
        conninfo, kwargs, options = self._pool_arguments()

        def make_pool() -> psycopg_pool.ConnectionPool[Any]:
            return psycopg_pool.ConnectionPool(conninfo, kwargs=kwargs, open=True, **options)

        def connect() -> psycopg.Connection[Any]:
            return psycopg.Connection.connect(conninfo, **kwargs)

        return SyncPool(make_pool, connect, self.describe())


#: The name the Flask guide uses for the sync psycopg config.
PsycopgConfig = PsycopgSyncConfig
