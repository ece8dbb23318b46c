"""SQLite connection set-up: pragmas wait for a busy database instead of failing at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ConnectionError, ImproperConfigurationError


def _hold_exclusive_lock(path: Path, seconds: float) -> threading.Thread:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        time.sleep(seconds)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_concurrent_first_connections_switch_to_wal_without_errors(tmp_path: Path) -> None:
    # Several connections switching a fresh file to WAL at once: SQLite answers SQLITE_BUSY
    # immediately (no busy handler) to some of them; without retrying, ~6% of rounds fail.
    failures: list[BaseException] = []
    for round_number in range(100):
        path = str(tmp_path / f"race{round_number}.db")
        configs = [
            SqliteConfig(
                pool_config={"database": path, "timeout": 5.0},
                driver_features={"pragmas": {"journal_mode": "wal"}},
            )
            for _ in range(4)
        ]
        barrier = threading.Barrier(len(configs))

        def open_session(config: SqliteConfig, barrier: threading.Barrier) -> None:
            barrier.wait()
            try:
                with config.provide_session() as session:
                    session.select_value("SELECT 1")
            except Exception as error:
                failures.append(error)

        threads = [threading.Thread(target=open_session, args=(c, barrier)) for c in configs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for config in configs:
            config.close_pool()
    assert failures == []


def test_pragma_gives_up_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    sqlite3.connect(path).close()
    holder = _hold_exclusive_lock(path, 1.0)
    config = SqliteConfig(
        pool_config={"database": str(path), "timeout": 0.2},
        driver_features={"pragmas": {"journal_mode": "wal"}},
    )
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="locked"), config.provide_session():
        pass
    assert time.monotonic() - started < 0.9
    holder.join()
    config.close_pool()


@pytest.mark.parametrize(
    "pragmas", [{"journal_mode": "wal; DROP TABLE x"}, {"bad name": "on"}, {"x": "'quoted'"}]
)
def test_pragmas_are_validated_at_configuration_time(pragmas: dict[str, str]) -> None:
    with pytest.raises(ImproperConfigurationError, match="invalid pragma"):
        SqliteConfig(driver_features={"pragmas": pragmas})


def test_transaction_mode_immediate_takes_the_write_lock_at_once(tmp_path: Path) -> None:
    config = SqliteConfig(
        pool_config={"database": str(tmp_path / "t.db"), "timeout": 0.1},
        driver_features={"transaction_mode": "immediate"},
    )
    with config.provide_session() as first, config.provide_session() as second:
        first.select_value("SELECT 1")  # opens BEGIN IMMEDIATE: holds the write lock
        with pytest.raises(Exception, match="locked"):
            second.select_value("SELECT 1")
    with pytest.raises(ImproperConfigurationError, match="transaction_mode"):
        SqliteConfig(driver_features={"transaction_mode": "sometimes"})
    config.close_pool()
