"""A small thread-safe connection pool for drivers that ship none (sqlite3, duckdb).

Connections are created lazily up to ``max_size``; an idle connection is reused last-in first-out
(the warmest one). A borrower that finds every connection in use waits up to ``timeout`` seconds
and then gets :class:`~sqlspec.exceptions.PoolTimeoutError`. ``reset`` runs on every returned
connection (the adapters roll back an open transaction there); a connection whose reset fails is
closed and replaced, never handed to the next borrower.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlspec.exceptions import PoolTimeoutError

__all__ = ("ConnectionPool", "PoolStats")

logger = logging.getLogger("sqlspec.pool")

ConnT = TypeVar("ConnT")


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


class ConnectionPool(Generic[ConnT]):
    """Thread-safe LIFO pool with a maximum size and an acquire timeout."""

    def __init__(
        self,
        connect: Callable[[], ConnT],
        *,
        max_size: int,
        min_size: int = 0,
        timeout: float = 30.0,
        reset: Callable[[ConnT], None] | None = None,
        close: Callable[[ConnT], None] | None = None,
        name: str = "pool",
    ) -> None:
        self._connect = connect
        self._reset = reset
        self._close = close
        self.max_size = max_size
        self.timeout = timeout
        self.name = name
        self._idle: list[ConnT] = []
        self._size = 0
        self._waiting = 0
        self._closed = False
        self._cond = threading.Condition(threading.Lock())
        for _ in range(min_size):
            self._idle.append(connect())
            self._size += 1

    def acquire(self) -> ConnT:
        """Borrow a connection, creating one if the pool is below its maximum size."""
        with self._cond:
            if self._idle:
                return self._idle.pop()
            if self._closed:
                raise PoolTimeoutError(f"{self.name}: the pool is closed")
            if self._size >= self.max_size:
                self._wait_for_idle()
                if self._idle:
                    return self._idle.pop()
            self._size += 1
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._size -= 1
                self._cond.notify()
            raise

    def _wait_for_idle(self) -> None:
        # Called with the lock held; returns with an idle connection or a free slot.
        deadline = time.monotonic() + self.timeout
        self._waiting += 1
        try:
            while not self._idle and self._size >= self.max_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    raise PoolTimeoutError(
                        f"{self.name}: no connection became free within {self.timeout:g} s "
                        f"(all {self.max_size} in use); raise the pool's max_size or its "
                        f"acquire timeout, or release sessions sooner"
                    )
                self._cond.wait(remaining)
        finally:
            self._waiting -= 1

    def release(self, conn: ConnT) -> None:
        """Return a borrowed connection; it is reset first, and closed if reset fails."""
        healthy = True
        if self._reset is not None:
            try:
                self._reset(conn)
            except Exception:
                logger.warning(
                    "%s: discarding a connection whose reset failed", self.name, exc_info=True
                )
                healthy = False
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._size -= 1
            self._cond.notify()
        self._close_quietly(conn)

    def discard(self, conn: ConnT) -> None:
        """Close a borrowed connection instead of returning it (it is known to be broken)."""
        with self._cond:
            self._size -= 1
            self._cond.notify()
        self._close_quietly(conn)

    def close(self) -> None:
        """Close idle connections now and every borrowed one as it comes back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            self._close_quietly(conn)

    def stats(self) -> PoolStats:
        with self._cond:
            idle = len(self._idle)
            return PoolStats(
                size=self._size,
                in_use=self._size - idle,
                idle=idle,
                waiting=self._waiting,
                max_size=self.max_size,
            )

    def _close_quietly(self, conn: ConnT) -> None:
        if self._close is None:
            return
        try:
            self._close(conn)
        except Exception:
            logger.debug("%s: error while closing a connection", self.name, exc_info=True)
