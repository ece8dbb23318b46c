"""sqlspec's asyncio pool (used by aiosqlite and asyncmy), with fake connections."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from sqlspec.exceptions import PoolTimeoutError
from sqlspec.pool import AsyncConnectionPool


class Fake:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.resets = 0
        self.broken = False


def make_pool(**options: Any) -> tuple[AsyncConnectionPool[Fake], list[Fake]]:
    made: list[Fake] = []
    numbers = itertools.count(1)

    async def connect() -> Fake:
        conn = Fake(next(numbers))
        made.append(conn)
        return conn

    async def reset(conn: Fake) -> None:
        if conn.broken:
            raise RuntimeError("reset failed")
        conn.resets += 1

    async def close(conn: Fake) -> None:
        conn.closed = True

    options.setdefault("max_size", 2)
    pool = AsyncConnectionPool(connect, reset=reset, close=close, name="fake", **options)
    return pool, made


async def test_lazy_lifo_and_reset() -> None:
    pool, made = make_pool(max_size=2)
    assert pool.stats().size == 0
    a = await pool.acquire()
    b = await pool.acquire()
    assert (a.number, b.number) == (1, 2)
    await pool.release(a)
    await pool.release(b)
    assert (a.resets, b.resets) == (1, 1)
    assert await pool.acquire() is b  # last in, first out
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle, stats.waiting) == (2, 1, 1, 0)
    assert len(made) == 2


async def test_min_size_opens_at_start() -> None:
    pool, made = make_pool(max_size=3, min_size=2)
    await pool.open()
    assert len(made) == 2
    assert pool.stats().idle == 2


async def test_waiters_are_served_in_order_and_time_out() -> None:
    pool, _ = make_pool(max_size=1, timeout=0.2)
    held = await pool.acquire()
    order: list[str] = []

    async def wait(name: str) -> Fake:
        conn = await pool.acquire()
        order.append(name)
        await pool.release(conn)
        return conn

    first = asyncio.ensure_future(wait("first"))
    second = asyncio.ensure_future(wait("second"))
    await asyncio.sleep(0.05)
    assert pool.stats().waiting == 2
    await pool.release(held)
    assert await first is held
    assert await second is held
    assert order == ["first", "second"]

    held = await pool.acquire()
    with pytest.raises(PoolTimeoutError, match=r"within 0.2 s .*max_size"):
        await pool.acquire()
    assert pool.stats().waiting == 0


async def test_cancelled_waiter_passes_the_connection_on() -> None:
    pool, _ = make_pool(max_size=1, timeout=5)
    held = await pool.acquire()
    cancelled = asyncio.ensure_future(pool.acquire())
    waiting = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await pool.release(held)
    assert await waiting is held
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert pool.stats().size == 1


async def test_failed_reset_discards_and_frees_the_slot() -> None:
    pool, made = make_pool(max_size=1, timeout=5)
    conn = await pool.acquire()
    waiter = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.01)
    conn.broken = True
    await pool.release(conn)
    assert conn.closed
    fresh = await waiter
    assert fresh is not conn
    assert len(made) == 2
    assert pool.stats().size == 1


async def test_failed_connect_frees_the_slot() -> None:
    attempts = itertools.count()

    async def connect() -> Fake:
        if next(attempts) == 0:
            raise OSError("refused")
        return Fake(0)

    pool: AsyncConnectionPool[Fake] = AsyncConnectionPool(connect, max_size=1, timeout=1)
    with pytest.raises(OSError, match="refused"):
        await pool.acquire()
    assert pool.stats().size == 0
    assert isinstance(await pool.acquire(), Fake)


async def test_close_closes_idle_now_and_borrowed_on_return() -> None:
    drained: list[bool] = []
    pool, _ = make_pool(max_size=2)
    pool._drained = lambda: drained.append(True)  # type: ignore[method-assign]
    idle = await pool.acquire()
    borrowed = await pool.acquire()
    await pool.release(idle)
    await pool.close()
    assert idle.closed
    assert not borrowed.closed
    assert drained == []
    with pytest.raises(PoolTimeoutError, match="closed"):
        await pool.acquire()
    await pool.release(borrowed)
    assert borrowed.closed
    assert drained == [True]
    assert pool.stats().size == 0


async def test_discard_dead_closes_the_idle_ones_too_and_the_next_borrow_is_fresh() -> None:
    pool, made = make_pool(max_size=3)
    a, b, c = [await pool.acquire() for _ in range(3)]
    await pool.release(b)
    await pool.release(c)
    await pool.discard_dead(a)  # a server restart ended them all
    assert (a.closed, b.closed, c.closed) == (True, True, True)
    assert pool.stats().size == 0
    fresh = await pool.acquire()
    assert fresh is made[-1]
    assert fresh.number == 4
