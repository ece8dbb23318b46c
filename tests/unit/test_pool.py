"""The thread-safe pool's lock-free borrow/return path against concurrent closing and waiting."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from sqlspec.exceptions import PoolTimeoutError
from sqlspec.pool import ConnectionPool, PoolStats


class _RecordingPool(ConnectionPool[sqlite3.Connection]):
    def __init__(self, max_size: int) -> None:
        self.opened: list[sqlite3.Connection] = []
        self.closed: list[sqlite3.Connection] = []
        self.drained = 0
        super().__init__(self._open, max_size=max_size, timeout=5.0, close=self._close_one)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.opened.append(conn)
        return conn

    def _close_one(self, conn: sqlite3.Connection) -> None:
        self.closed.append(conn)
        conn.close()

    def _drained(self) -> None:
        self.drained += 1


def _borrow_until_closed(pool: _RecordingPool, errors: list[BaseException]) -> None:
    while True:
        try:
            conn = pool.acquire()
        except PoolTimeoutError:
            return  # the pool was closed
        try:
            conn.execute("SELECT 1").fetchall()  # a connection closed under us would raise
        except BaseException as error:
            errors.append(error)
            return
        finally:
            pool.release(conn)


@pytest.mark.parametrize("max_size", [2, 8], ids=["waiters", "no-waiters"])
def test_close_during_concurrent_borrowing_closes_each_connection_once(max_size: int) -> None:
    for _attempt in range(10):
        pool = _RecordingPool(max_size)
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_borrow_until_closed, args=(pool, errors)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.02)
        pool.close()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert pool.opened, "the borrowers never got a connection"
        assert len(pool.closed) == len({id(conn) for conn in pool.closed}), "closed twice"
        assert {id(conn) for conn in pool.closed} == {id(conn) for conn in pool.opened}
        assert pool.drained == 1
        assert pool.stats().size == 0


def test_closing_an_unused_pool_reports_it_drained_once() -> None:
    pool = _RecordingPool(2)
    pool.close()
    pool.close()
    assert pool.drained == 1
    with pytest.raises(PoolTimeoutError, match="closed"):
        pool.acquire()


def test_every_waiter_is_served_when_connections_come_back_without_the_lock() -> None:
    pool = _RecordingPool(1)
    served: list[int] = []
    first = pool.acquire()

    def wait_for_it(number: int) -> None:
        conn = pool.acquire()
        served.append(number)
        pool.release(conn)

    waiters = [threading.Thread(target=wait_for_it, args=(n,)) for n in range(4)]
    for thread in waiters:
        thread.start()
    deadline = time.monotonic() + 5
    while pool.stats().waiting < 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert pool.stats().waiting == 4
    pool.release(first)
    for thread in waiters:
        thread.join(timeout=10)
    assert sorted(served) == [0, 1, 2, 3]
    assert pool.stats() == PoolStats(size=1, in_use=0, idle=1, waiting=0, max_size=1)
    pool.close()


def test_discard_dead_closes_the_idle_ones_too_and_the_next_borrow_is_fresh() -> None:
    pool = _RecordingPool(3)
    a, b, c = pool.acquire(), pool.acquire(), pool.acquire()
    pool.release(b)
    pool.release(c)
    pool.discard_dead(a)  # a server restart ended them all
    assert sorted(map(id, pool.closed)) == sorted(map(id, (a, b, c)))
    assert pool.stats() == PoolStats(size=0, in_use=0, idle=0, waiting=0, max_size=3)
    fresh = pool.acquire()
    assert fresh is pool.opened[-1]
    assert len(pool.opened) == 4
