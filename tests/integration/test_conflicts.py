"""Real conflicts between transactions become ``SerializationError`` / ``DeadlockError``, and
``retry_on_conflict`` runs the unit of work again until it succeeds (SQLite in WAL mode, DuckDB
and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sqlspec import DeadlockError, SerializationError, SQLSpec, retry_on_conflict
from sqlspec.exceptions import TransactionError, UniqueViolationError
from tests.integration.conftest import Dialect, MakeConfig, only

conflicting = only("sqlite", "duckdb", "postgres")


@pytest.fixture
def counter_config(make_config: MakeConfig, dialect: Dialect, spec: SQLSpec) -> Any:
    """A config whose sessions read one snapshot per transaction (WAL on SQLite, REPEATABLE READ
    on PostgreSQL, always on DuckDB), with ``counter(id, n)`` holding row ``(1, 0)``."""
    if dialect.is_sqlite:
        config = make_config(timeout=0.5, driver_features={"pragmas": {"journal_mode": "wal"}})
    else:
        config = make_config()
    with spec.provide_session(config) as db:
        db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
        db.commit()
    return config


def snapshot(db: Any, dialect: Dialect) -> None:
    """Open the session's transaction with a snapshot that a concurrent commit makes stale."""
    if dialect.is_postgres:
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def bump_elsewhere(spec: SQLSpec, config: Any) -> None:
    """Another session increments the counter and commits."""
    with spec.provide_session(config) as other:
        other.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        other.commit()


def value(spec: SQLSpec, config: Any) -> int:
    with spec.provide_session(config) as db:
        return int(db.select_value("SELECT n FROM counter WHERE id = 1"))


@conflicting
def test_stale_snapshot_write_is_a_serialization_error(
    spec: SQLSpec, counter_config: Any, dialect: Dialect
) -> None:
    with spec.provide_session(counter_config) as db:
        snapshot(db, dialect)
        assert db.select_value("SELECT n FROM counter WHERE id = 1") == 0
        bump_elsewhere(spec, counter_config)
        with pytest.raises(SerializationError) as error:
            db.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
        assert isinstance(error.value, TransactionError)
        assert isinstance(error.value.__cause__, dialect.driver_error)
        db.rollback()
    assert value(spec, counter_config) == 1


@only("postgres")
def test_postgres_deadlock_is_a_deadlock_error(spec: SQLSpec, counter_config: Any) -> None:
    with spec.provide_session(counter_config) as db:
        db.execute("INSERT INTO counter (id, n) VALUES (2, 0)")
        db.commit()
    both_locked = threading.Barrier(2, timeout=10)
    errors: dict[int, BaseException] = {}

    def lock_in_order(first: int, second: int) -> None:
        with spec.provide_session(counter_config) as db:
            try:
                db.execute("SET deadlock_timeout = '100ms'")
                db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", first)
                both_locked.wait()
                db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", second)
                db.commit()
            except Exception as error:
                errors[first] = error
                db.rollback()

    threads = [threading.Thread(target=lock_in_order, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1, errors  # the database rolled one of them back; the other committed
    (error,) = errors.values()
    assert type(error) is DeadlockError, repr(error)
    assert error.__cause__.sqlstate == "40P01"  # type: ignore[union-attr]
    with spec.provide_session(counter_config) as db:
        assert db.select_value("SELECT SUM(n) FROM counter") == 2


@conflicting
def test_conflict_is_retried_to_success(
    spec: SQLSpec, counter_config: Any, dialect: Dialect
) -> None:
    attempts = 0

    @retry_on_conflict(attempts=3, base_delay=0.001)
    def add_ten() -> int:
        nonlocal attempts
        attempts += 1
        with spec.provide_session(counter_config) as db:
            snapshot(db, dialect)
            seen = int(db.select_value("SELECT n FROM counter WHERE id = 1"))
            if attempts == 1:
                bump_elsewhere(spec, counter_config)  # a concurrent commit after our read
            db.execute("UPDATE counter SET n = ? WHERE id = 1", seen + 10)
            db.commit()
            return seen

    assert add_ten() == 1  # the second attempt read the other commit
    assert attempts == 2
    assert value(spec, counter_config) == 11  # neither update was lost


@conflicting
def test_exhausted_attempts_reraise_the_last_real_conflict(
    spec: SQLSpec, counter_config: Any, dialect: Dialect
) -> None:
    attempts = 0

    @retry_on_conflict(attempts=2, base_delay=0.001)
    def always_stale() -> None:
        nonlocal attempts
        attempts += 1
        with spec.provide_session(counter_config) as db:
            snapshot(db, dialect)
            db.select_value("SELECT n FROM counter WHERE id = 1")
            bump_elsewhere(spec, counter_config)
            db.execute("UPDATE counter SET n = 0 WHERE id = 1")
            db.commit()

    with pytest.raises(SerializationError):
        always_stale()
    assert attempts == 2
    assert value(spec, counter_config) == 2  # both concurrent commits, none of ours


@conflicting
def test_a_constraint_violation_is_not_retried(spec: SQLSpec, counter_config: Any) -> None:
    calls: list[int] = []

    @retry_on_conflict(attempts=3, base_delay=0.001)
    def insert_duplicate() -> None:
        calls.append(1)
        with spec.provide_session(counter_config) as db:
            db.execute("INSERT INTO counter (id, n) VALUES (1, 5)")
            db.commit()

    with pytest.raises(UniqueViolationError):
        insert_duplicate()
    assert len(calls) == 1
