"""Pools on every adapter: shared ``:memory:`` databases, exhaustion, concurrent writers,
statistics, and unreachable databases."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec, SQLSpecError
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ConnectionError, PoolTimeoutError, ProgrammingError
from sqlspec.pool import PoolStats
from tests.integration.conftest import Dialect, MakeConfig, only

MEMORY_CONFIGS = {"sqlite": SqliteConfig, "duckdb": DuckDBConfig}


def _held_sessions(spec: SQLSpec, config: Any, count: int, work: Any) -> list[Any]:
    """Run ``work(session)`` in ``count`` threads, each holding its own session at the same
    time (a barrier makes every session open before any runs ``work``)."""
    barrier = threading.Barrier(count, timeout=10)

    def run(_: int) -> Any:
        with spec.provide_session(config) as session:
            barrier.wait()
            return work(session)

    with ThreadPoolExecutor(count) as executor:
        return list(executor.map(run, range(count)))


@pytest.mark.parametrize("adapter", list(MEMORY_CONFIGS))
def test_memory_database_is_shared_by_the_pool(spec: SQLSpec, adapter: str) -> None:
    config = spec.add_config(
        MEMORY_CONFIGS[adapter](pool_config={"database": ":memory:", "max_size": 8})
    )
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE shared (a INTEGER)")
        session.execute_many("INSERT INTO shared (a) VALUES (?)", [(i,) for i in range(5)])
        session.commit()

    counts = _held_sessions(
        spec, config, 8, lambda s: s.select_value("SELECT count(*) FROM shared")
    )
    assert counts == [5] * 8
    stats = config.pool_stats()
    assert stats.size == 8  # eight distinct connections saw the same database
    assert stats.in_use == 0


@pytest.mark.parametrize("adapter", list(MEMORY_CONFIGS))
def test_memory_database_concurrent_writers(spec: SQLSpec, adapter: str) -> None:
    config = spec.add_config(
        MEMORY_CONFIGS[adapter](pool_config={"database": ":memory:", "max_size": 8})
    )
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE hits (thread INTEGER, n INTEGER)")
        session.commit()

    def writer(thread: int) -> None:
        with spec.provide_session(config) as session:
            for n in range(100):
                session.execute("INSERT INTO hits (thread, n) VALUES (?, ?)", thread, n)
                if n % 10 == 9:
                    session.commit()

    with ThreadPoolExecutor(8) as executor:
        list(executor.map(writer, range(8)))
    with spec.provide_session(config) as session:
        assert session.select_value("SELECT count(*) FROM hits") == 800


@pytest.mark.parametrize("adapter", list(MEMORY_CONFIGS))
def test_two_memory_configs_are_two_databases(spec: SQLSpec, adapter: str) -> None:
    first = spec.add_config(MEMORY_CONFIGS[adapter](pool_config={"database": ":memory:"}))
    second = spec.add_config(MEMORY_CONFIGS[adapter]())  # ":memory:" is the default
    with spec.provide_session(first) as session:
        session.execute("CREATE TABLE only_in_first (a INTEGER)")
        session.commit()
    with spec.provide_session(second) as session:
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM only_in_first")
        session.rollback()
        session.execute("CREATE TABLE only_in_first (b VARCHAR(5))")  # no clash
        session.commit()
    with spec.provide_session(first) as session:
        assert session.select("SELECT * FROM only_in_first") == []
        assert session.execute("SELECT * FROM only_in_first").column_names == ("a",)


@pytest.mark.parametrize("adapter", list(MEMORY_CONFIGS))
def test_memory_database_survives_idle_pool_and_ends_with_it(spec: SQLSpec, adapter: str) -> None:
    config = spec.add_config(MEMORY_CONFIGS[adapter]())
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
    # No session open: the database is still there for the next request.
    with spec.provide_session(config) as session:
        assert session.select("SELECT * FROM t") == []
    config.close_pool()
    with spec.provide_session(config) as session, pytest.raises(ProgrammingError):
        session.execute("SELECT * FROM t")


def _timeout_settings(dialect: Dialect, seconds: float) -> dict[str, Any]:
    if dialect.is_postgres:
        return {"max_size": 1, "timeout": seconds}
    return {"max_size": 1, "acquire_timeout": seconds}


def test_pool_exhaustion_times_out(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(**_timeout_settings(dialect, 0.3))
    with spec.provide_session(config) as held:
        held.select_value("SELECT 1")
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError) as error:
            spec.provide_session(config).__enter__()
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 1.5, elapsed
        assert isinstance(error.value, ConnectionError)
        assert config.pool_stats().in_use == 1
    # Once the holder is gone the next borrower gets the connection (within the 0.3 s).
    with spec.provide_session(config) as session:
        assert session.select_value("SELECT 1") == 1


def test_pool_exhaustion_message_says_how_to_fix(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect, request: pytest.FixtureRequest
) -> None:
    config = make_config(**_timeout_settings(dialect, 0.3))
    with spec.provide_session(config), pytest.raises(PoolTimeoutError) as error:
        spec.provide_session(config).__enter__()
    message = str(error.value)
    assert "max_size" in message
    assert "in use" in message or "exhausted" in message


def test_timed_out_borrower_is_not_counted_as_waiting(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect, request: pytest.FixtureRequest
) -> None:
    config = make_config(**_timeout_settings(dialect, 0.1))
    with spec.provide_session(config) as held:
        held.select_value("SELECT 1")
        with pytest.raises(PoolTimeoutError):
            spec.provide_session(config).__enter__()
        stats = config.pool_stats()
        assert (stats.in_use, stats.waiting) == (1, 0), stats


def test_a_waiting_borrower_gets_the_released_connection(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(**_timeout_settings(dialect, 5.0))
    got: list[float] = []
    held = spec.provide_session(config).__enter__()
    held.select_value("SELECT 1")

    def borrower() -> None:
        with spec.provide_session(config) as session:
            got.append(session.select_value("SELECT 1"))

    thread = threading.Thread(target=borrower)
    thread.start()
    deadline = time.monotonic() + 5
    while config.pool_stats().waiting != 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    stats = config.pool_stats()
    assert (stats.in_use, stats.waiting) == (1, 1), stats
    assert got == []
    held.__exit__(None, None, None)
    thread.join(5)
    assert got == [1]
    assert config.pool_stats().waiting == 0


def test_pool_stats_follow_sessions(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=3)
    before = config.pool_stats()
    assert isinstance(before, PoolStats)
    assert before.max_size == 3
    if not dialect.is_postgres:  # the sqlspec pool opens nothing before the first session
        assert (before.size, before.in_use, before.idle, before.waiting) == (0, 0, 0, 0)
    config.create_pool()
    assert config.pool_stats().in_use == 0

    with spec.provide_session(config) as first:
        first.select_value("SELECT 1")
        one = config.pool_stats()
        assert (one.in_use, one.waiting) == (1, 0), one
        assert one.size == one.in_use + one.idle
        with spec.provide_session(config) as second:
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
    config.close_pool()
    assert config.pool_stats().size == 0


@only("postgres")
def test_psycopg_pool_stats_do_not_count_connections_being_opened(
    make_config: MakeConfig,
) -> None:
    config = make_config(min_size=4, max_size=4, num_workers=1)
    config.create_pool()
    stats = config.pool_stats()  # nobody has borrowed anything
    assert stats.in_use == 0, stats


def _concurrent_settings(dialect: Dialect) -> dict[str, Any]:
    if dialect.is_sqlite:
        return {
            "timeout": 30.0,
            "max_size": 16,
            "driver_features": {"pragmas": {"journal_mode": "wal"}},
        }
    return {"max_size": 16}


@pytest.mark.slow
def test_sixteen_threads_insert_on_one_pool(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(**_concurrent_settings(dialect))
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE hits (thread INTEGER, n INTEGER)")
        session.commit()
    threads, per_thread, batch = 16, 500, 50
    errors: list[BaseException] = []

    def writer(thread: int) -> None:
        try:
            with spec.provide_session(config) as session:
                for n in range(per_thread):
                    session.execute("INSERT INTO hits (thread, n) VALUES (?, ?)", thread, n)
                    # Odd threads commit every statement, even threads every batch.
                    if thread % 2 or (n + 1) % batch == 0:
                        session.commit()
                session.commit()
        except BaseException as error:
            errors.append(error)
            raise

    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(writer, range(threads)))
    assert errors == []
    with spec.provide_session(config) as session:
        assert session.select_value("SELECT count(*) FROM hits") == threads * per_thread
        assert session.select_value("SELECT count(DISTINCT thread * 1000 + n) FROM hits") == 8000
    assert config.pool_stats().in_use == 0


def test_close_pool_then_new_sessions_open_a_new_one(spec: SQLSpec, sync_config: Any) -> None:
    with spec.provide_session(sync_config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.commit()
    sync_config.close_pool()
    assert sync_config.pool_stats().size == 0
    with spec.provide_session(sync_config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 1
    spec.close_all_pools()
    with spec.provide_session(sync_config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 1


def test_close_pool_lets_borrowed_sessions_finish(
    spec: SQLSpec, sync_config: Any, dialect: Dialect, request: pytest.FixtureRequest
) -> None:
    """Shutting down (close_all_pools) while a request is in flight: the request's session
    works to its end and its connection is closed when it comes back."""
    with spec.provide_session(sync_config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
    with spec.provide_session(sync_config) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        spec.close_all_pools()
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
    with spec.provide_session(sync_config) as session:
        assert session.select_value("SELECT count(*) FROM t") == 2


# ---------------------------------------------------------------------------------------------
# Unreachable databases


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
def test_postgres_server_down_raises_a_sqlspec_error_quickly(spec: SQLSpec) -> None:
    port = _closed_port()
    config = spec.add_config(
        PsycopgConfig(
            pool_config={
                "conninfo": f"host=127.0.0.1 port={port} user=nobody dbname=nothing",
                "timeout": 1,
                "connect_timeout": 1,
            }
        )
    )
    started = time.monotonic()
    with (
        pytest.raises((ConnectionError, PoolTimeoutError)) as error,
        spec.provide_session(config) as session,
    ):
        session.execute("SELECT 1")
    assert time.monotonic() - started < 4
    assert isinstance(error.value, SQLSpecError)


def test_sqlite_unopenable_database_raises_connection_error(spec: SQLSpec, tmp_path: Path) -> None:
    config = spec.add_config(
        SqliteConfig(pool_config={"database": str(tmp_path / "missing-dir" / "x.db")})
    )
    with pytest.raises(ConnectionError) as error, spec.provide_session(config):
        pass
    assert error.value.__cause__ is not None
    assert config.pool_stats().in_use == 0


def test_duckdb_unopenable_database_raises_connection_error(spec: SQLSpec, tmp_path: Path) -> None:
    config = spec.add_config(
        DuckDBConfig(pool_config={"database": str(tmp_path / "missing-dir" / "x.duckdb")})
    )
    with pytest.raises(ConnectionError) as error, spec.provide_session(config):
        pass
    assert error.value.__cause__ is not None
