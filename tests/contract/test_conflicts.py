"""Real conflicts between transactions, on every backend reached every way
(``tests.backends.matrix``): a write based on a stale snapshot is a ``SerializationError``, two
sessions waiting on each other's row locks a ``DeadlockError``, and a unit of work decorated with
``retry_on_conflict`` (an ``async def`` one in the native mode) runs again until it succeeds."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from sqlspec import DeadlockError, SerializationError, retry_on_conflict
from sqlspec.exceptions import TransactionError, UniqueViolationError
from tests.backends import BackendInfo, Matrix

#: The driver's code for each conflict, by family (DuckDB's errors carry none: see its class).
SERIALIZATION_CODES = {"postgres": "40001", "mysql": 1020, "sqlite": "SQLITE_BUSY_SNAPSHOT"}
DEADLOCK_CODES = {"postgres": "40P01", "mysql": 1213}


def driver_code(error: BaseException, info: BackendInfo) -> Any:
    """The driver's own code for ``error`` (the cause of a sqlspec error)."""
    if info.is_postgres:
        return error.sqlstate  # type: ignore[attr-defined]
    if info.is_mysql:
        return error.args[0]
    if info.family == "sqlite":
        return error.sqlite_errorname  # type: ignore[attr-defined]
    return type(error).__name__


@pytest.fixture
def counter(matrix: Matrix) -> Any:
    """A config whose sessions can read one snapshot per transaction (WAL on SQLite, see
    ``snapshot``), with ``counter(id, n)`` holding rows ``(1, 0)`` and ``(2, 0)``."""
    if matrix.info.family == "sqlite":
        config = matrix.config(timeout=0.5, driver_features={"pragmas": {"journal_mode": "wal"}})
    else:
        config = matrix.config()
    with matrix.open(config) as db:
        db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
        db.execute("INSERT INTO counter (id, n) VALUES (2, 0)")
        db.commit()
    return config


def snapshot(db: Any, info: BackendInfo) -> None:
    """Make the session's transaction refuse a write based on a read a concurrent commit made
    stale."""
    for statement in info.stale_read_statements:
        db.execute(statement)


def bump_elsewhere(matrix: Matrix, config: Any) -> None:
    """Another session increments the counter and commits."""
    with matrix.open(config) as other:
        other.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        other.commit()


def update_after_read(matrix: Matrix, config: Any, *, bump: bool, add: int) -> int:
    """One unit of work: read the counter, let another session commit a change first when
    ``bump``, then write the value read plus ``add`` and commit; returns the value read."""
    with matrix.open(config) as db:
        snapshot(db, matrix.info)
        seen = int(db.select_value("SELECT n FROM counter WHERE id = 1"))
        if bump:
            bump_elsewhere(matrix, config)  # a concurrent commit after our read
        db.execute("UPDATE counter SET n = ? WHERE id = 1", seen + add)
        db.commit()
        return seen


def value(matrix: Matrix, config: Any) -> int:
    with matrix.open(config) as db:
        return int(db.select_value("SELECT n FROM counter WHERE id = 1"))


def test_stale_snapshot_write_is_a_serialization_error(matrix: Matrix, counter: Any) -> None:
    info = matrix.info
    with matrix.open(counter) as db:
        snapshot(db, info)
        assert db.select_value("SELECT n FROM counter WHERE id = 1") == 0
        bump_elsewhere(matrix, counter)
        # The session reads one snapshot: the other commit is not seen halfway.
        assert db.select_value("SELECT n FROM counter WHERE id = 1") == 0
        with pytest.raises(SerializationError) as error:
            db.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
        assert isinstance(error.value, TransactionError)
        if info.family == "sqlite":
            assert re.search(r"(?i)locked|busy", str(error.value)), error.value
        assert isinstance(error.value.__cause__, info.driver_error)
        expected = SERIALIZATION_CODES.get(info.family, "TransactionException")
        assert driver_code(error.value.__cause__, info) == expected
        db.rollback()
    assert value(matrix, counter) == 1


def test_deadlock_is_a_deadlock_error(matrix: Matrix, counter: Any) -> None:
    info = matrix.info
    if not info.detects_deadlocks:
        pytest.skip(f"{info.name}: no row locks to deadlock on (conflicts fail at once instead)")
    both_locked = threading.Barrier(2, timeout=10)

    def lock_in_order(first: int, second: int) -> None:
        with matrix.open(counter) as db:
            try:
                if info.is_postgres:
                    db.execute("SET deadlock_timeout = '100ms'")
                db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", first)
                both_locked.wait()
                db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", second)
                db.commit()
            except Exception:
                db.rollback()
                raise

    outcomes = matrix.in_threads(lambda: lock_in_order(1, 2), lambda: lock_in_order(2, 1))
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    # The database rolled one of them back; the other committed.
    assert len(errors) == 1, outcomes
    (error,) = errors
    assert type(error) is DeadlockError, repr(error)
    assert isinstance(error.__cause__, info.driver_error)
    assert driver_code(error.__cause__, info) == DEADLOCK_CODES[info.family]
    with matrix.open(counter) as db:
        assert db.select_value("SELECT SUM(n) FROM counter") == 2


def test_conflict_is_retried_to_success(matrix: Matrix, counter: Any) -> None:
    attempts = 0

    def add_ten() -> int:
        nonlocal attempts
        attempts += 1
        return update_after_read(matrix, counter, bump=attempts == 1, add=10)

    assert matrix.unit_of_work(retry_on_conflict(attempts=3, base_delay=0.001), add_ten) == 1
    assert attempts == 2  # the second attempt read the other commit
    assert value(matrix, counter) == 11  # neither update was lost


def test_exhausted_attempts_reraise_the_last_real_conflict(matrix: Matrix, counter: Any) -> None:
    attempts = 0

    def always_stale() -> None:
        nonlocal attempts
        attempts += 1
        update_after_read(matrix, counter, bump=True, add=-1)

    with pytest.raises(SerializationError):
        matrix.unit_of_work(retry_on_conflict(attempts=2, base_delay=0.001), always_stale)
    assert attempts == 2
    assert value(matrix, counter) == 2  # both concurrent commits, none of ours


def test_a_constraint_violation_is_not_retried(matrix: Matrix, counter: Any) -> None:
    calls: list[int] = []

    def insert_duplicate() -> None:
        calls.append(1)
        with matrix.open(counter) as db:
            db.execute("INSERT INTO counter (id, n) VALUES (1, 5)")
            db.commit()

    with pytest.raises(UniqueViolationError):
        matrix.unit_of_work(retry_on_conflict(attempts=3, base_delay=0.001), insert_duplicate)
    assert len(calls) == 1
