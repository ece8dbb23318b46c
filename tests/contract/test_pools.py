"""Connection pools on every backend reached every way (``tests.backends.matrix``): exhaustion
times out clearly, waiting borrowers, statistics, raw connections, closing pools, unreachable
databases, sixteen concurrent writers. Backend-specific pools (SQLite/DuckDB ``:memory:``,
psycopg_pool's statistics): ``tests/integration/test_pools.py``; sqlspec's own async pool class:
``tests/async_/test_pool.py``."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sqlspec import SQLSpecError
from sqlspec.exceptions import ConnectionError, PoolTimeoutError
from sqlspec.pool import PoolStats
from tests.backends import Matrix


def small_pool(matrix: Matrix, timeout: float) -> Any:
    """A config of one connection whose borrowers wait at most ``timeout`` seconds."""
    return matrix.config(max_size=1, **{matrix.info.acquire_timeout_key: timeout})


def wait_for(condition: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_pool_exhaustion_times_out_clearly(matrix: Matrix) -> None:
    config = small_pool(matrix, 0.3)
    with matrix.open(config) as held:
        assert held.select_value("SELECT 1") == 1
        stats = config.pool_stats()
        assert (stats.size, stats.in_use, stats.max_size) == (1, 1, 1), stats
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError) as error, matrix.open(config):
            pass
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 1.5, elapsed
        assert isinstance(error.value, ConnectionError)
        message = str(error.value)
        assert "max_size" in message  # says how to fix it
        assert "in use" in message or "exhausted" in message
        assert config.pool_stats().in_use == 1
    # Once the holder is gone the next borrower gets the connection (within the 0.3 s).
    with matrix.open(config) as session:
        assert session.select_value("SELECT 1") == 1
    assert config.pool_stats().in_use == 0


def test_timed_out_borrower_is_not_counted_as_waiting(matrix: Matrix) -> None:
    config = small_pool(matrix, 0.1)
    with matrix.open(config) as held:
        held.select_value("SELECT 1")
        with pytest.raises(PoolTimeoutError), matrix.open(config):
            pass
        stats = config.pool_stats()
        assert (stats.in_use, stats.waiting) == (1, 0), stats


def test_waiting_borrowers_get_the_released_connection(matrix: Matrix) -> None:
    config = small_pool(matrix, 5.0)
    held = threading.Event()
    got: list[int] = []
    seen: list[PoolStats] = []

    def holder() -> None:
        with matrix.open(config) as session:
            session.select_value("SELECT 1")
            held.set()
            wait_for(lambda: config.pool_stats().waiting == 2)
            seen.append(config.pool_stats())
            seen_got = list(got)
            assert seen_got == []  # nobody got a connection while it was held
        # Leaving the block releases the connection to the first waiter.

    def borrower() -> None:
        assert held.wait(5)
        with matrix.open(config) as session:
            got.append(int(session.select_value("SELECT 1")))

    outcomes = matrix.in_threads(holder, borrower, borrower)
    assert outcomes == [None, None, None], outcomes
    (stats,) = seen
    assert (stats.in_use, stats.waiting) == (1, 2), stats
    assert got == [1, 1]
    after = config.pool_stats()
    assert (after.in_use, after.waiting) == (0, 0), after


def test_pool_stats_follow_sessions(matrix: Matrix) -> None:
    config = matrix.config(max_size=3)
    before = config.pool_stats()
    assert isinstance(before, PoolStats)
    assert before.max_size == 3
    # No pool yet: nothing is open.
    assert (before.size, before.in_use, before.idle, before.waiting) == (0, 0, 0, 0)
    matrix.close_pool(config)  # no pool: a no-op
    assert config.pool_stats().size == 0
    matrix.create_pool(config)
    assert config.pool_stats().in_use == 0

    with matrix.open(config) as first:
        first.select_value("SELECT 1")
        one = config.pool_stats()
        assert (one.in_use, one.waiting) == (1, 0), one
        assert one.size == one.in_use + one.idle
        with matrix.open(config) as second:
            second.select_value("SELECT 1")
            two = config.pool_stats()
            assert two.in_use == 2, two
            assert two.size == two.in_use + two.idle
            assert two.size >= 2
        after_second = config.pool_stats()
        assert after_second.in_use == 1
        assert after_second.idle >= 1
    done = config.pool_stats()
    assert done.in_use == 0
    assert done.idle == done.size >= 2
    matrix.close_pool(config)
    assert config.pool_stats().size == 0


@pytest.mark.slow
def test_sixteen_concurrent_writers_on_one_pool(matrix: Matrix) -> None:
    config = matrix.config(max_size=16, **matrix.info.concurrent_writers)
    with matrix.open(config) as session:
        session.execute("CREATE TABLE hits (thread INTEGER, n INTEGER)")
        session.commit()
    threads, per_thread, batch = 16, 500, 50

    def writer(thread: int) -> None:
        with matrix.open(config) as session:
            for n in range(per_thread):
                session.execute("INSERT INTO hits (thread, n) VALUES (?, ?)", thread, n)
                # Odd threads commit every statement, even threads every batch.
                if thread % 2 or (n + 1) % batch == 0:
                    session.commit()
            session.commit()

    work = [lambda thread=thread: writer(thread) for thread in range(threads)]
    assert matrix.in_threads(*work, timeout=300) == [None] * threads
    with matrix.open(config) as session:
        assert session.select_value("SELECT count(*) FROM hits") == threads * per_thread
        assert session.select_value("SELECT count(DISTINCT thread * 1000 + n) FROM hits") == 8000
    assert config.pool_stats().in_use == 0


def test_provide_connection_returns_the_connection(matrix: Matrix, config: Any) -> None:
    if not matrix.raw_connections:
        pytest.skip("portal: an async driver's connection has no sync form to hand out")
    matrix.create_pool(config)
    assert config.pool_stats().in_use == 0
    with matrix.connection(config) as conn:
        assert conn is not None
        assert config.pool_stats().in_use == 1
    assert config.pool_stats().in_use == 0


def test_close_pool_then_new_sessions_open_a_new_one(matrix: Matrix, config: Any) -> None:
    with matrix.open(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.commit()
    assert config.pool_stats().size >= 1
    matrix.close_pool(config)
    assert config.pool_stats().size == 0
    with matrix.open(config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 1
    assert config.pool_stats().size >= 1
    matrix.close_all_pools()
    assert config.pool_stats().size == 0
    with matrix.open(config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 1


def test_close_pool_lets_borrowed_sessions_finish(matrix: Matrix, config: Any) -> None:
    """Shutting down (close_all_pools) while a request is in flight: the request's session
    works to its end and its connection is closed when it comes back."""
    with matrix.open(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
    with matrix.open(config) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        matrix.close_all_pools()
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
    with matrix.open(config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 2


def test_unreachable_database_is_a_connection_error_quickly(matrix: Matrix) -> None:
    database = matrix.database
    config = matrix.spec.add_config(
        database.info.config_class(pool_config=database.unreachable_pool_config())
    )
    started = time.monotonic()
    with pytest.raises(ConnectionError) as error, matrix.open(config) as session:
        session.execute("SELECT 1")
    assert time.monotonic() - started < 4
    assert isinstance(error.value, SQLSpecError)
    assert error.value.__cause__ is not None
    stats = config.pool_stats()
    assert (stats.size, stats.in_use) == (0, 0), stats
