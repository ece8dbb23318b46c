"""Driver errors of the sync adapters that not every backend shares become the right sqlspec
class, chained to the driver's (the shared ones: ``tests/contract/test_errors.py``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from sqlspec import SQLSpec, SQLSpecError
from sqlspec.exceptions import (
    DataError,
    ForeignKeyViolationError,
    OperationalError,
    ProgrammingError,
    SerializationError,
    StatementTimeoutError,
    TransactionError,
)
from tests.integration.conftest import Dialect, MakeConfig, only


def _assert_translated(
    error: pytest.ExceptionInfo[SQLSpecError], cls: type[SQLSpecError], dialect: Dialect
) -> None:
    assert type(error.value) is cls, f"{type(error.value).__name__}: {error.value}"
    assert isinstance(error.value.__cause__, dialect.driver_error)
    assert str(error.value)  # the driver's message is kept


@only("duckdb", "postgres")
@pytest.mark.parametrize(
    "sql",
    ["SELECT 'x'::int", "SELECT CAST(2147483647 AS INTEGER) + CAST(1 AS INTEGER)"],
    ids=["invalid-text-for-int", "integer-out-of-range"],
)
def test_data_errors(session: Any, dialect: Dialect, sql: str) -> None:
    with pytest.raises(DataError) as error:
        session.execute(sql)
    _assert_translated(error, DataError, dialect)


@only("postgres")
def test_division_by_zero_is_a_data_error_on_postgres(session: Any, dialect: Dialect) -> None:
    with pytest.raises(DataError) as error:
        session.execute("SELECT 1/0")
    _assert_translated(error, DataError, dialect)
    assert error.value.__cause__.sqlstate == "22012"  # type: ignore[union-attr]


@only("postgres")
def test_statement_in_aborted_postgres_transaction(session: Any, dialect: Dialect) -> None:
    with pytest.raises(ProgrammingError):
        session.execute("SELECT * FROM no_such_table")
    with pytest.raises(TransactionError) as error:
        session.execute("SELECT 1")
    _assert_translated(error, TransactionError, dialect)


def test_bad_parameter_value_type(session: Any) -> None:
    session.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(SQLSpecError) as error:
        session.execute("INSERT INTO t (a) VALUES (?)", object())
    assert error.value.__cause__ is not None


@only("sqlite", "postgres")
def test_deferred_foreign_key_fails_at_commit(session: Any, dialect: Dialect) -> None:
    session.execute("CREATE TABLE par (id INTEGER PRIMARY KEY)")
    session.execute(
        "CREATE TABLE ch (pid INTEGER REFERENCES par (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    session.commit()
    session.execute("INSERT INTO ch (pid) VALUES (?)", 5)  # accepted for now
    with pytest.raises(ForeignKeyViolationError) as error:
        session.commit()
    _assert_translated(error, ForeignKeyViolationError, dialect)
    session.rollback()
    assert session.select_value("SELECT count(*) FROM ch") == 0


CONFLICT_ERRORS = {
    "sqlite": OperationalError,  # database is locked (busy timeout)
    "duckdb": SerializationError,  # conflict on update (optimistic concurrency)
    "postgres": OperationalError,  # lock_timeout
}


def test_concurrent_writers_conflict(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(timeout=0.1) if dialect.is_sqlite else make_config()
    with spec.provide_session(config) as first, spec.provide_session(config) as second:
        first.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        first.execute("INSERT INTO t (id, v) VALUES (1, 1)")
        first.commit()
        if dialect.is_postgres:
            second.execute("SET lock_timeout = '100ms'")
        first.execute("UPDATE t SET v = 2 WHERE id = 1")
        with pytest.raises(SQLSpecError) as error:
            second.execute("UPDATE t SET v = 3 WHERE id = 1")
        _assert_translated(error, CONFLICT_ERRORS[dialect.name], dialect)
        second.rollback()
        first.commit()
        assert second.select_value("SELECT v FROM t WHERE id = 1") == 2


@only("postgres")
def test_postgres_serialization_failure_is_a_serialization_error(
    spec: SQLSpec, sync_config: Any, dialect: Dialect
) -> None:
    with spec.provide_session(sync_config) as first, spec.provide_session(sync_config) as second:
        first.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        first.execute("INSERT INTO t (id, v) VALUES (1, 1)")
        first.commit()
        first.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        assert first.select_value("SELECT v FROM t WHERE id = 1") == 1
        second.execute("UPDATE t SET v = 5 WHERE id = 1")
        second.commit()
        with pytest.raises(TransactionError) as error:
            first.execute("UPDATE t SET v = 6 WHERE id = 1")
        _assert_translated(error, SerializationError, dialect)
        first.rollback()


@only("postgres")
def test_postgres_statement_timeout_set_by_hand_is_a_statement_timeout(
    session: Any, dialect: Dialect
) -> None:
    session.execute("SET statement_timeout = 50")
    with pytest.raises(OperationalError) as error:
        session.execute("SELECT pg_sleep(2)")
    _assert_translated(error, StatementTimeoutError, dialect)
    assert session.select_value("SELECT 1") == 1  # rolled back already


@only("postgres")
def test_postgres_cancel_by_another_session_is_not_a_statement_timeout(
    request: pytest.FixtureRequest, session: Any, dialect: Dialect
) -> None:
    server = request.getfixturevalue("postgres_server")
    pid = session.select_value("SELECT pg_backend_pid()")
    session.commit()

    def cancel() -> None:
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                state = admin.execute(
                    "SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
                if state and "pg_sleep" in state[0]:
                    admin.execute("SELECT pg_cancel_backend(%s)", (pid,))
                    return
                time.sleep(0.02)

    canceller = threading.Thread(target=cancel)
    canceller.start()
    try:
        with pytest.raises(OperationalError) as error:
            session.execute("SELECT pg_sleep(5)")
    finally:
        canceller.join()
    _assert_translated(error, OperationalError, dialect)
    assert error.value.__cause__.sqlstate == "57014"  # type: ignore[union-attr]
