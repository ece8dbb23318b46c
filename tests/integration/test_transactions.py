"""Uniform transactions on every adapter: lazy begin, commit/rollback (also through
``session.connection``), nothing leaking to the next borrower, and the guide's manual
``__enter__``/``__exit__`` pattern."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import SQLSpec, SQLSpecError
from sqlspec.exceptions import (
    ProgrammingError,
    SerializationError,
    TransactionError,
)
from tests.integration.conftest import Dialect, MakeConfig


def _count(spec: SQLSpec, config: Any, table: str = "t") -> int:
    """Row count seen from a new session (which is rolled back and returned afterwards)."""
    with spec.provide_session(config) as other:
        return int(other.select_value(f"SELECT count(*) FROM {table}"))


def _table_exists(spec: SQLSpec, config: Any, table: str) -> bool:
    with spec.provide_session(config) as other:
        try:
            other.execute(f"SELECT * FROM {table}")
        except ProgrammingError:
            return False
        return True


def _connection_identity(session: Any, dialect: Dialect) -> Any:
    """Something that identifies the physical connection a session holds."""
    if dialect.is_postgres:
        return session.select_value("SELECT pg_backend_pid()")
    raw = session.connection
    return id(getattr(raw, "raw", raw))


@pytest.fixture
def table_t(spec: SQLSpec, sync_config: Any) -> Any:
    with spec.provide_session(sync_config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
    return sync_config


def test_rollback_undoes_insert(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (?)", 1)
        assert session.select_value("SELECT count(*) FROM t") == 1
        session.rollback()
        assert session.select_value("SELECT count(*) FROM t") == 0
    assert _count(spec, table_t) == 0


def test_rollback_undoes_create_table(spec: SQLSpec, sync_config: Any) -> None:
    with spec.provide_session(sync_config) as session:
        session.execute("CREATE TABLE made_then_undone (a INTEGER)")
        session.execute("INSERT INTO made_then_undone (a) VALUES (1)")
        session.rollback()
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM made_then_undone")
    assert not _table_exists(spec, sync_config, "made_then_undone")


def test_commit_persists_and_is_seen_by_a_second_session(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (?)", 1)
        # Not committed yet: another session does not see it.
        assert _count(spec, table_t) == 0
        session.commit()
        assert not session.in_transaction
        assert _count(spec, table_t) == 1
        # The session goes on with a new transaction.
        session.execute("INSERT INTO t (a) VALUES (?)", 2)
        assert session.in_transaction
    assert _count(spec, table_t) == 1


def test_in_transaction_follows_the_first_statement(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        assert session.in_transaction is False
        session.select("SELECT a FROM t")
        assert session.in_transaction is True
        session.commit()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (1)")
        assert session.in_transaction is True
        session.rollback()
        assert session.in_transaction is False


def test_commit_and_rollback_without_a_transaction_are_no_ops(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        session.commit()
        session.rollback()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.commit()
        session.commit()
    assert _count(spec, table_t) == 1


def test_explicit_begin(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        session.begin()
        assert session.in_transaction is True
        with pytest.raises(TransactionError):
            session.begin()
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.commit()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (2)")
        with pytest.raises(TransactionError):
            session.begin()  # the first statement opened one
        session.rollback()
        session.begin()
        session.execute("INSERT INTO t (a) VALUES (3)")
        session.rollback()
    assert _count(spec, table_t) == 1


def test_connection_commit_commits(spec: SQLSpec, table_t: Any) -> None:
    with spec.provide_session(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.connection.commit()
        assert session.in_transaction is False
        assert _count(spec, table_t) == 1
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.connection.rollback()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (3)")
        session.connection.commit()
    assert _count(spec, table_t) == 2
    with spec.provide_session(table_t) as session:
        assert [r["a"] for r in session.select("SELECT a FROM t ORDER BY a")] == [1, 3]


def test_exit_without_commit_leaves_no_trace_for_the_next_borrower(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1)
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
        first = _connection_identity(session, dialect)
        session.commit()
    with spec.provide_session(config) as session:
        assert _connection_identity(session, dialect) == first
        session.rollback()
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.execute("CREATE TABLE left_open (a INTEGER)")
        assert session.in_transaction
    with spec.provide_session(config) as session:
        assert session.in_transaction is False
        assert _connection_identity(session, dialect) == first
        assert session.select_value("SELECT count(*) FROM t") == 0
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM left_open")
    assert config.pool_stats().in_use == 0


def test_exit_after_a_failed_statement_leaves_a_clean_connection(
    spec: SQLSpec, make_config: MakeConfig
) -> None:
    config = make_config(max_size=1)
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        session.commit()
    with spec.provide_session(config) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        with pytest.raises(SQLSpecError):
            session.execute("INSERT INTO t (a) VALUES (1)")  # duplicate: aborts on PostgreSQL
        # leave without rollback
    with spec.provide_session(config) as session:
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
        assert session.select("SELECT a FROM t") == [{"a": 2}]


def test_exception_in_the_with_block_rolls_back(spec: SQLSpec, table_t: Any) -> None:
    assert table_t.pool_stats().in_use == 0

    def request_that_fails() -> None:
        with spec.provide_session(table_t) as session:
            session.execute("INSERT INTO t (a) VALUES (1)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        request_that_fails()
    assert _count(spec, table_t) == 0
    assert table_t.pool_stats().in_use == 0


def test_failing_statement_then_rollback_lets_the_session_continue(
    spec: SQLSpec, table_t: Any
) -> None:
    with spec.provide_session(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM no_such_table")
        session.rollback()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
    with spec.provide_session(table_t) as session:
        assert session.select("SELECT a FROM t") == [{"a": 2}]


def test_closed_session_refuses_statements(spec: SQLSpec, sync_config: Any) -> None:
    with spec.provide_session(sync_config) as session:
        session.select_value("SELECT 1")
    assert session.closed
    with pytest.raises(SQLSpecError, match="closed"):
        session.execute("SELECT 1")
    with pytest.raises(SQLSpecError):
        session.commit()


def test_guide_before_pattern(spec: SQLSpec, table_t: Any) -> None:
    """The guide's "Before" pattern, literally: __enter__() by hand, __exit__ at teardown."""
    assert table_t.pool_stats().in_use == 0
    session = spec.provide_session(table_t).__enter__()
    assert table_t.pool_stats().in_use == 1
    session.execute("INSERT INTO t (a) VALUES (?)", 1)
    session.commit()
    session.execute("INSERT INTO t (a) VALUES (?)", 2)  # never committed
    result = session.execute("SELECT a FROM t ORDER BY a")
    assert result.all() == [{"a": 1}, {"a": 2}]
    session.__exit__(None, None, None)
    stats = table_t.pool_stats()
    assert stats.in_use == 0
    assert stats.idle == stats.size >= 1
    assert _count(spec, table_t) == 1

    # teardown_appcontext passes the exception along; the session still closes cleanly.
    session = spec.provide_session(table_t).__enter__()
    session.execute("INSERT INTO t (a) VALUES (?)", 3)
    error = RuntimeError("request failed")
    session.__exit__(type(error), error, None)
    assert table_t.pool_stats().in_use == 0
    assert _count(spec, table_t) == 1
    # __exit__ twice (a teardown that runs again) is harmless.
    session.__exit__(None, None, None)
    assert table_t.pool_stats().in_use == 0


def test_provide_connection_returns_the_connection(spec: SQLSpec, sync_config: Any) -> None:
    sync_config.create_pool()
    assert sync_config.pool_stats().in_use == 0
    with spec.provide_connection(sync_config) as conn:
        assert conn is not None
        assert sync_config.pool_stats().in_use == 1
    assert sync_config.pool_stats().in_use == 0


def test_sqlite_session_reads_one_snapshot_and_refuses_a_stale_write(
    spec: SQLSpec, tmp_path: Any
) -> None:
    """A session's reads run inside its transaction (the hand-written ``sqlite3`` default reads
    outside any): a concurrent commit is not seen halfway, and a write based on what the session
    read fails instead of silently overwriting the other commit."""
    from sqlspec.adapters.sqlite import SqliteConfig

    config = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "accounts.db"), "timeout": 0.5},
            driver_features={"pragmas": {"journal_mode": "wal"}},
        )
    )
    with spec.provide_session(config) as setup:
        setup.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        setup.execute("INSERT INTO accounts VALUES (1, 100)")
        setup.commit()
    with spec.provide_session(config) as reader:
        assert reader.select_value("SELECT balance FROM accounts WHERE id = 1") == 100
        with spec.provide_session(config) as writer:
            writer.execute("UPDATE accounts SET balance = 50 WHERE id = 1")
            writer.commit()
        assert reader.select_value("SELECT balance FROM accounts WHERE id = 1") == 100
        with pytest.raises(SerializationError, match=r"(?i)locked|busy"):  # SQLITE_BUSY_SNAPSHOT
            reader.execute("UPDATE accounts SET balance = 100 - 30 WHERE id = 1")
        reader.rollback()
    with spec.provide_session(config) as check:
        assert check.select_value("SELECT balance FROM accounts WHERE id = 1") == 50
