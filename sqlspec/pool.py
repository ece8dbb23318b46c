"""Small connection pools for drivers that ship none: a thread-safe one (sqlite3, duckdb) and an
asyncio one (aiosqlite, asyncmy).

Connections are created lazily up to ``max_size``; an idle connection is reused last-in first-out
(the warmest one). A borrower that finds every connection in use waits up to ``timeout`` seconds
and then gets :class:`~sqlspec.exceptions.PoolTimeoutError`. ``reset`` runs on every returned
connection (the adapters roll back an open transaction there); a connection whose reset fails is
closed and replaced, never handed to the next borrower. :class:`AsyncConnectionPool` follows the
same policy inside one event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlspec.exceptions import PoolTimeoutError

__all__ = ("AsyncConnectionPool", "ConnectionPool", "PoolStats")

_logger = logging.getLogger("sqlspec.pool")

#: Handed to a borrower instead of a connection: "a slot is free, open a connection yourself".
_SLOT: Any = object()

_ConnT = TypeVar("_ConnT")
_ConnectT = TypeVar("_ConnectT")
_HookT = TypeVar("_HookT")


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of a pool for health checks."""

    size: int
    """Open connections (idle + in use)."""
    in_use: int
    idle: int
    waiting: int
    """Borrowers currently waiting for a connection."""
    max_size: int


class _PoolState(Generic[_ConnT, _ConnectT, _HookT]):
    """What both pools keep (no I/O): how to open, reset and close a connection (sync or async
    callables), the limits, the idle connections and the counts."""

    def __init__(
        self,
        connect: _ConnectT,
        reset: _HookT | None,
        close: _HookT | None,
        max_size: int,
        timeout: float,
        name: str,
        on_drained: Callable[[], None] | None,
    ) -> None:
        self._connect = connect
        self._on_drained = on_drained
        self._reset = reset
        self._close = close
        self.max_size = max_size
        self.timeout = timeout
        self.name = name
        self._idle: list[_ConnT] = []
        self._size = 0
        self._closed = False

    def _drained(self) -> None:
        """Called once, when the pool is closed and its last connection is closed: runs
        ``on_drained`` (e.g. closes what keeps an in-memory database alive)."""
        if self._on_drained is not None:
            self._on_drained()

    def _stats(self, waiting: int) -> PoolStats:
        idle = len(self._idle)
        return PoolStats(self._size, self._size - idle, idle, waiting, self.max_size)


class ConnectionPool(_PoolState[_ConnT, Callable[[], _ConnT], Callable[[_ConnT], None]]):
    """Thread-safe LIFO pool with a maximum size and an acquire timeout."""

    def __init__(
        self,
        connect: Callable[[], _ConnT],
        *,
        max_size: int,
        min_size: int = 0,
        timeout: float = 30.0,
        reset: Callable[[_ConnT], None] | None = None,
        close: Callable[[_ConnT], None] | None = None,
        name: str = "pool",
        on_drained: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(connect, reset, close, max_size, timeout, name, on_drained)
        self._waiting = 0
        self._cond = threading.Condition(threading.Lock())
        for _ in range(min_size):
            self._idle.append(connect())
            self._size += 1

    def acquire(self) -> _ConnT:
        """Borrow a connection, creating one if the pool is below its maximum size."""
        # Uncontended fast path: list.pop() is atomic, so an idle connection goes to exactly one
        # borrower without taking the lock (close() also drains ``_idle`` pop by pop).
        try:
            return self._idle.pop()
        except IndexError:
            pass
        with self._cond:
            # Counted as waiting before looking at ``_idle``: release() appends without the
            # lock and then notifies if anyone waits, so a connection returned between this
            # look and the wait below is never missed.
            self._waiting += 1
            try:
                got = self._idle_or_slot()
            finally:
                self._waiting -= 1
        if got is not _SLOT:
            return got  # type: ignore[no-any-return]
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._size -= 1
                self._cond.notify()
            raise

    def _idle_or_slot(self) -> Any:
        # Called with the lock held: an idle connection, or _SLOT once a slot for a new
        # connection is counted in ``_size``.
        deadline: float | None = None
        while True:
            try:  # fast-path borrowers pop without the lock: just try
                return self._idle.pop()
            except IndexError:
                pass
            if self._closed:
                raise PoolTimeoutError(f"{self.name}: the pool is closed")
            if self._size < self.max_size:
                self._size += 1
                return _SLOT
            if deadline is None:
                deadline = time.monotonic() + self.timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolTimeoutError(
                    f"{self.name}: the pool is exhausted: no connection became free within "
                    f"{self.timeout:g} s "
                    f"(all {self.max_size} in use); raise the pool's max_size or its "
                    f"acquire timeout, or release sessions sooner"
                )
            self._cond.wait(remaining)

    def release(self, conn: _ConnT) -> None:
        """Return a borrowed connection; it is reset first, and closed if reset fails."""
        healthy = True
        if self._reset is not None:
            try:
                self._reset(conn)
            except Exception:
                _logger.warning(
                    "%s: discarding a connection whose reset failed", self.name, exc_info=True
                )
                healthy = False
        if healthy and not self._closed:
            self._idle.append(conn)
            # Appending before reading these flags pairs with acquire() (a borrower is counted
            # in ``_waiting`` before it looks at ``_idle``) and close() (``_closed`` is set
            # before it drains): a waiter is always woken, and a connection put back while the
            # pool closes is always closed, by close() or here.
            if self._waiting:
                with self._cond:
                    self._cond.notify()
            if self._closed:  # set by close() since the check above
                self._drain_idle()  # type: ignore[unreachable]
            return
        self.discard(conn)

    def discard(self, conn: _ConnT) -> None:
        """Close a borrowed connection instead of returning it (it is known to be broken)."""
        with self._cond:
            self._size -= 1
            self._cond.notify()
            drained = self._closed and self._size == 0
        self._close_quietly(conn)
        if drained:
            self._drained()

    def discard_dead(self, conn: _ConnT) -> None:
        """Close a borrowed connection found dead, and the idle ones, which most likely died
        with it (a server restart ends them all): the next borrower opens a fresh one."""
        stale: list[_ConnT] = []
        with self._cond:
            while True:
                try:
                    stale.append(self._idle.pop())
                except IndexError:
                    break
            self._size -= len(stale)
        for idle in stale:
            self._close_quietly(idle)
        self.discard(conn)

    def close(self) -> None:
        """Close idle connections now and every borrowed one as it comes back."""
        with self._cond:
            first_close = not self._closed
            self._closed = True
            self._cond.notify_all()
            empty = first_close and self._size == 0
        if empty:
            self._drained()
        else:
            self._drain_idle()

    def _drain_idle(self) -> None:
        """Close the idle connections of a closed pool (each one is popped by one caller)."""
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return
            with self._cond:
                self._size -= 1
                drained = self._size == 0
            self._close_quietly(conn)
            if drained:
                self._drained()

    def stats(self) -> PoolStats:
        with self._cond:
            return self._stats(self._waiting)

    def _close_quietly(self, conn: _ConnT) -> None:
        if self._close is None:
            return
        try:
            self._close(conn)
        except Exception:
            _logger.debug("%s: error while closing a connection", self.name, exc_info=True)


class AsyncConnectionPool(
    _PoolState[_ConnT, Callable[[], Awaitable[_ConnT]], Callable[[_ConnT], Awaitable[None]]]
):
    """LIFO pool for one event loop, with a maximum size and an acquire timeout.

    The policy of :class:`ConnectionPool`: connections are opened lazily up to ``max_size``,
    waiters are served first come first served, ``reset`` runs on every returned connection and a
    connection whose reset fails is closed, never handed out again. All methods must be called
    from the loop the pool is used on (the config that owns the pool enforces that).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[_ConnT]],
        *,
        max_size: int,
        min_size: int = 0,
        timeout: float = 30.0,
        reset: Callable[[_ConnT], Awaitable[None]] | None = None,
        close: Callable[[_ConnT], Awaitable[None]] | None = None,
        name: str = "pool",
        on_drained: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(connect, reset, close, max_size, timeout, name, on_drained)
        self.min_size = min_size
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._closing: asyncio.Future[None] | None = None  # keeps a background close alive

    async def open(self) -> None:
        """Open ``min_size`` connections now."""
        while self._size < self.min_size:
            self._size += 1
            self._idle.append(await self._open_one())

    async def acquire(self) -> _ConnT:
        """Borrow a connection, opening one if the pool is below its maximum size."""
        if self._idle:
            return self._idle.pop()
        if self._closed:
            raise PoolTimeoutError(f"{self.name}: the pool is closed")
        if self._size < self.max_size:
            self._size += 1
            return await self._open_one()
        got = await self._wait()
        if got is _SLOT:
            return await self._open_one()
        return got  # type: ignore[no-any-return]

    async def _open_one(self) -> _ConnT:
        # The caller has already counted the connection in ``_size``.
        try:
            return await self._connect()
        except BaseException:
            self._size -= 1
            self._hand_slot()
            raise

    async def _wait(self) -> Any:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(waiter)
        expire = loop.call_later(self.timeout, self._expire, waiter)
        try:
            return await waiter
        except BaseException:
            # Timed out or cancelled. If a connection (or slot) was handed over in the meantime,
            # pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._put_back(waiter.result())
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            expire.cancel()

    def _expire(self, waiter: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_exception(
                PoolTimeoutError(
                    f"{self.name}: the pool is exhausted: no connection became free within "
                    f"{self.timeout:g} s "
                    f"(all {self.max_size} in use); raise the pool's max_size or its "
                    f"acquire timeout, or release sessions sooner"
                )
            )

    def _hand_slot(self) -> None:
        """A connection was closed: let the first waiter open a new one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._size += 1
                waiter.set_result(_SLOT)
                return

    def _put_back(self, conn: Any) -> None:
        if conn is _SLOT:
            self._size -= 1
            self._hand_slot()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def release(self, conn: _ConnT) -> None:
        """Return a borrowed connection; it is reset first, and closed if reset fails."""
        if self._reset is not None and not self._closed:
            try:
                await self._reset(conn)
            except Exception:
                _logger.warning(
                    "%s: discarding a connection whose reset failed", self.name, exc_info=True
                )
                await self.discard(conn)
                return
            except BaseException:  # cancelled mid-reset: the connection's state is unknown
                self._size -= 1
                self._hand_slot()
                self._closing = asyncio.ensure_future(self._close_quietly(conn))
                raise
        if self._closed:
            await self.discard(conn)
            return
        self._put_back(conn)

    async def discard(self, conn: _ConnT) -> None:
        """Close a borrowed connection instead of returning it (it is known to be broken)."""
        self._size -= 1
        if not self._closed:
            self._hand_slot()
        await self._close_quietly(conn)
        if self._closed and self._size == 0:
            self._drained()

    async def discard_dead(self, conn: _ConnT) -> None:
        """Close a borrowed connection found dead, and the idle ones, which most likely died
        with it (a server restart ends them all): the next borrower opens a fresh one."""
        stale, self._idle = self._idle, []
        self._size -= len(stale)
        for idle in stale:
            await self._close_quietly(idle)
        await self.discard(conn)

    async def close(self) -> None:
        """Close idle connections now and every borrowed one as it comes back."""
        already_closed = self._closed
        self._closed = True
        idle, self._idle = self._idle, []
        self._size -= len(idle)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolTimeoutError(f"{self.name}: the pool is closed"))
        for conn in idle:
            await self._close_quietly(conn)
        if not already_closed and self._size == 0:
            self._drained()

    def stats(self) -> PoolStats:
        return self._stats(len(self._waiters))  # safe to read from another thread

    async def _close_quietly(self, conn: _ConnT) -> None:
        if self._close is None:
            return
        try:
            await self._close(conn)
        except Exception:
            _logger.debug("%s: error while closing a connection", self.name, exc_info=True)
