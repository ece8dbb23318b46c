"""The async psycopg session and config (see the package docstring)."""

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
    script_in_transaction,
)
from sqlspec.adapters.psycopg._pool import AsyncPool
from sqlspec.async_driver import AsyncDriver, Fetched
from sqlspec.config import AsyncDatabaseConfig

with driver_import("psycopg", "psycopg", "psycopg_pool"):
    import psycopg
    import psycopg_pool

__all__ = ("PsycopgAsyncConfig", "PsycopgAsyncDriver")


class PsycopgAsyncDriver(PsycopgSession, AsyncDriver[psycopg.AsyncConnection[Any]]):
    """Async session over a psycopg ``AsyncConnection`` (the sync adapter's model, awaited)."""

    __slots__ = ()
    config: PsycopgAsyncConfig

    async def _run(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[Any]
    ) -> Fetched:
        try:
            if conn.pgconn.transaction_status != IDLE or not self.config.begin_commands:
                cursor = await conn.execute(sql, params)
            elif self.config.pipelined_begin:
                async with conn.pipeline():  # BEGIN in the statement's flight, as in sync
                    for command in self.config.begin_commands:
                        await conn.execute(command, prepare=False)
                    cursor = await conn.execute(sql, params)
            else:
                await conn.execute(self.config.begin_statement)
                cursor = await conn.execute(sql, params)
        except BIND_ERRORS as error:
            refuse_bind(error, conn, params)
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
            if conn.pgconn.transaction_status == IDLE and self.config.begin_commands:
                await conn.execute(self.config.begin_statement)
            await cursor.executemany(sql, rows)
        except BIND_ERRORS as error:
            refuse_bind(error, conn, rows, rows=True)
        return cursor.rowcount

    async def _run_script(self, conn: psycopg.AsyncConnection[Any], sql: str) -> None:
        # No parameters: the simple protocol, the BEGIN in the same message.
        await conn.execute(script_in_transaction(self.config, conn, sql))

    async def _run_outside_transaction(self, conn: psycopg.AsyncConnection[Any], sql: str) -> None:
        await conn.execute(sql.encode())  # connections are in autocommit mode between transactions

    async def _begin(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self.config.driver_features.get("pooler_mode") == "statement":
            raise statement_mode_transaction_error(self.config.describe())
        await conn.execute(self.config.begin_statement)

    async def _reset_interrupted(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        # psycopg has already cancelled the query on the server and drained its result.
        if conn.closed:
            return False
        await conn.rollback()
        return True


class PsycopgAsyncConfig(
    PsycopgSettings,
    AsyncDatabaseConfig[
        psycopg.AsyncConnection[Any], psycopg_pool.AsyncConnectionPool[Any], PsycopgAsyncDriver
    ],
):
    """Configuration of a PostgreSQL database through psycopg 3 (async).

    The same ``pool_config`` keys as :class:`PsycopgSyncConfig` (libpq parameters, ``conninfo``
    or ``dsn``, and ``psycopg_pool`` settings: ``min_size`` 1, ``max_size`` 10, ``timeout`` to
    wait for a connection 30 s, ...) and ``driver_features`` (``statement_timeout``,
    ``pooler_mode`` as in :class:`PsycopgSyncConfig`); the pool is
    ``psycopg_pool.AsyncConnectionPool``.
    """

    driver_type = PsycopgAsyncDriver

    async def _create_pool(self) -> AsyncPool:
        conninfo, kwargs, options = self._pool_arguments()

        async def make_pool() -> psycopg_pool.AsyncConnectionPool[Any]:
            pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
                conninfo, kwargs=kwargs, open=False, **options
            )
            await pool.open()  # connections are opened in the background, as in the sync config
            return pool

        async def connect() -> psycopg.AsyncConnection[Any]:
            return await psycopg.AsyncConnection.connect(conninfo, **kwargs)

        return AsyncPool(await make_pool(), make_pool, connect, self.describe())
