"""``psycopg_pool``'s sync and async pools seen through the core's pool protocols.

A borrower that gets no connection within :data:`_STALL` seconds while some are not in use
tries to connect itself: when that fails, it raises the driver's reason at once instead of
waiting for the pool timeout; when it works but the pool has failed to connect (it is waiting
out its reconnect backoff after an outage), the pool is replaced by a new one, which connects
right away. A connection given back inside a transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlspec import exceptions as exc
from sqlspec._optional import driver_import
from sqlspec.adapters.psycopg._common import IDLE
from sqlspec.pool import PoolStats
from sqlspec.translate import connect_failure

with driver_import("psycopg", "psycopg", "psycopg_pool"):
    import psycopg
    import psycopg_pool
    from psycopg_pool.base import BasePool


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

_P = TypeVar("_P", bound=BasePool)


class _Borrowing(Generic[_P]):
    """What the sync and async wrappers share, free of I/O: the in-use count, the messages and
    the stats. psycopg_pool's own size counts connections still being opened in the background,
    and its waiting count keeps borrowers that already timed out, so both are tracked here."""

    _pool: _P
    _name: str
    _borrowed: dict[Any, Any]

    def _waiting(self) -> int:
        raise NotImplementedError

    def _timed_out(self, pool: BasePool) -> exc.PoolTimeoutError:
        return exc.PoolTimeoutError(pool_timeout_message(self._name, pool, len(self._borrowed)))

    def _all_in_use(self, pool: BasePool) -> bool:
        return len(self._borrowed) >= pool.max_size

    def stats(self) -> PoolStats:
        stats = self._pool.get_stats()
        idle = stats.get("pool_available", 0)
        in_use = len(self._borrowed)
        return PoolStats(
            size=idle + in_use,
            in_use=in_use,
            idle=idle,
            waiting=min(stats.get("requests_waiting", 0), self._waiting()),
            max_size=self._pool.max_size,
        )


class SyncPool(_Borrowing["psycopg_pool.ConnectionPool[Any]"]):
    """``psycopg_pool.ConnectionPool`` seen through the core's pool protocol."""

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
        # dict and set updates are atomic: no lock on the hot path. Each borrowed connection
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
                    raise self._timed_out(pool) from error
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
        if self._all_in_use(pool):
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
        if not conn.closed and conn.pgconn.transaction_status != IDLE:
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

    def _waiting(self) -> int:
        return len(self._borrowing)


class AsyncPool(_Borrowing["psycopg_pool.AsyncConnectionPool[Any]"]):
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
                    raise self._timed_out(pool) from error
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
        if self._all_in_use(pool):
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
        if not conn.closed and conn.pgconn.transaction_status != IDLE:
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

    def _waiting(self) -> int:
        return self._borrowing
