"""Pools of the sync adapters: shared ``:memory:`` databases and psycopg_pool's statistics. The
behaviours every backend shares (exhaustion, waiting borrowers, statistics, closing, unreachable
databases, sixteen concurrent writers): ``tests/contract/test_pools.py``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ProgrammingError
from tests.integration.conftest import MakeConfig, only

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


@only("postgres")
def test_psycopg_pool_stats_do_not_count_connections_being_opened(
    make_config: MakeConfig,
) -> None:
    config = make_config(min_size=4, max_size=4, num_workers=1)
    config.create_pool()
    stats = config.pool_stats()  # nobody has borrowed anything
    assert stats.in_use == 0, stats
