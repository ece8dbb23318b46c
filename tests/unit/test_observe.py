"""``sqlspec.observe``: the statement observers' registry, events and what a config points at."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ProgrammingError
from sqlspec.observe import (
    HUB,
    DatabaseTarget,
    StatementEvent,
    add_observer,
    database_target,
    remove_observer,
)


class Keeper:
    """An observer that keeps what it sees."""

    wants_parameters = True

    def __init__(self) -> None:
        self.started: list[StatementEvent] = []
        self.finished: list[tuple[StatementEvent, Any]] = []

    def statement_started(self, event: StatementEvent) -> Any:
        self.started.append(event)
        return f"token-{len(self.started)}"

    def statement_finished(self, event: StatementEvent, token: Any) -> None:
        self.finished.append((event, token))


@pytest.fixture
def keeper() -> Any:
    observer = Keeper()
    add_observer(observer)
    yield observer
    remove_observer(observer)


@pytest.fixture
def config(tmp_path: Path) -> Any:
    config = SqliteConfig(pool_config={"database": str(tmp_path / "o.db")})
    yield config
    config.close_pool()


def test_observers_see_every_statement_with_its_outcome(keeper: Keeper, config: Any) -> None:
    with config.provide_session() as db:
        db.execute("CREATE TABLE t (id INTEGER)")
        db.execute_many("INSERT INTO t (id) VALUES (?)", [(1,), (2,)])
        db.select("SELECT id FROM t WHERE id > ?", 0)
        db.execute_script("DELETE FROM t; DELETE FROM t")
        with pytest.raises(ProgrammingError):
            db.execute("SELECT nope FROM t")

    events = [event for event, _ in keeper.finished]
    assert [e.operation for e in events] == [
        "execute",
        "execute_many",
        "execute",
        "execute_script",
        "execute",
    ]
    assert [token for _, token in keeper.finished] == [f"token-{i}" for i in range(1, 6)]
    create, many, select, script, failed = events
    assert many.batch_size == 2
    assert many.parameters == [(1,), (2,)]
    assert list(select.parameters) == [0]
    assert (select.returned_rows, create.returned_rows) == (2, None)
    assert many.rowcount == 2
    assert script.parameters is None
    assert isinstance(failed.error, ProgrammingError)
    assert failed.error.__cause__ is not None  # the driver's error, for observers
    assert all(e.config is config and e.duration > 0 for e in events)


def test_a_failing_observer_never_breaks_the_statement(
    config: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def statement_started(self, event: StatementEvent) -> Any:
            raise RuntimeError("start")

        def statement_finished(self, event: StatementEvent, token: Any) -> None:
            raise RuntimeError("finish")

    broken = Broken()
    add_observer(broken)
    try:
        with config.provide_session() as db:
            assert db.select_value("SELECT 41 + 1") == 42
    finally:
        remove_observer(broken)
    assert [r.getMessage() for r in caplog.records if r.name == "sqlspec.observe"] == [
        f"statement observer {broken!r} failed"
    ] * 2


def test_registration(config: Any) -> None:
    before = HUB.observers
    observer = Keeper()
    add_observer(observer)
    add_observer(observer)  # once only
    assert HUB.observers == (*before, observer)
    assert HUB.wants_parameters
    remove_observer(observer)
    remove_observer(observer)
    assert HUB.observers == before


def test_a_weak_observer_goes_away_with_its_owner() -> None:
    gc.collect()  # earlier tests' apps and plugins
    before = len(HUB.observers)
    observer = Keeper()
    add_observer(observer, weak=True)
    assert len(HUB.observers) == before + 1
    del observer
    gc.collect()
    assert len(HUB.observers) == before


def test_an_observer_collected_while_the_registry_is_locked_does_not_deadlock() -> None:
    # The garbage collector may run inside any allocation, also while the registry's lock is
    # held; the collected observer's callback then unregisters it in that same thread.
    gc.collect()
    observer = Keeper()
    observer.cycle = observer  # type: ignore[attr-defined]  # only the cycle collector frees it
    add_observer(observer, weak=True)
    del observer
    done = threading.Event()

    def collect_under_the_lock() -> None:
        with HUB._lock:
            gc.collect()
        done.set()

    threading.Thread(target=collect_under_the_lock, daemon=True).start()
    assert done.wait(10), "the registry deadlocked"
    assert not [o for o in HUB.observers if hasattr(o, "ref") and o.ref() is None]


def test_nothing_registered_means_no_event(
    config: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlspec.driver

    def no_event(*args: Any) -> None:
        raise AssertionError("an event was made with nothing observing")

    monkeypatch.setattr(HUB, "observers", ())
    monkeypatch.setattr(sqlspec.driver, "begin_statement", no_event)
    caplog.set_level(logging.WARNING, logger="sqlspec.statements")
    with config.provide_session() as db:
        assert db._log is False  # with HUB.observers empty: the hot path's only check
        assert db.select_value("SELECT 1") == 1
        db.execute_script("CREATE TABLE t (id INTEGER)")
        db.execute_many("INSERT INTO t (id) VALUES (?)", [(1,)])


@pytest.mark.parametrize(
    ("config", "target"),
    [
        (
            SqliteConfig(pool_config={"database": "app.db"}),
            DatabaseTarget("sqlite", "app.db", None, None),
        ),
        (
            DuckDBConfig(pool_config={"database": ":memory:"}),
            DatabaseTarget("duckdb", ":memory:", None, None),
        ),
        (
            PsycopgConfig(pool_config={"conninfo": "host=db.internal port=6543 dbname=shop"}),
            DatabaseTarget("postgresql", "shop", "db.internal", 6543),
        ),
        (
            PsycopgConfig(pool_config={"conninfo": "postgresql://u:secret@10.0.0.5/orders"}),
            DatabaseTarget("postgresql", "orders", "10.0.0.5", 5432),
        ),
        (
            PsycopgConfig(pool_config={"conninfo": "dbname=local host=/var/run/postgresql"}),
            DatabaseTarget("postgresql", "local", None, None),
        ),
        (
            AsyncpgConfig(pool_config={"host": "pg", "port": 5433, "database": "x"}),
            DatabaseTarget("postgresql", "x", "pg", 5433),
        ),
    ],
)
def test_database_target(config: Any, target: DatabaseTarget) -> None:
    assert database_target(config) == target
