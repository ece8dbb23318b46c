"""Uniform transactions on every backend, each reached every way (``tests.backends.matrix``):
lazy begin, commit/rollback (also through ``session.connection``), nothing leaking to the next
borrower, and the guide's manual ``__enter__``/``__exit__`` pattern."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import SQLSpecError
from sqlspec.exceptions import ProgrammingError, TransactionError
from tests.backends import Matrix


def _table_exists(matrix: Matrix, config: Any, table: str) -> bool:
    with matrix.open(config) as other:
        try:
            other.execute(f"SELECT * FROM {table}")
        except ProgrammingError:
            return False
        return True


def _connection_identity(session: Any, matrix: Matrix) -> Any:
    """Something that identifies the physical connection a session holds."""
    if matrix.info.is_postgres:
        return session.select_value("SELECT pg_backend_pid()")
    if matrix.info.is_mysql:
        return session.select_value("SELECT CONNECTION_ID()")
    raw = session.connection
    raw = getattr(raw, "raw", raw)  # the view of an async session (a new one at each access)
    return id(getattr(raw, "raw", raw))


def _transactional_ddl(matrix: Matrix) -> None:
    if not matrix.info.transactional_ddl:
        pytest.skip(f"{matrix.info.name}: DDL commits implicitly (MySQL/MariaDB)")


@pytest.fixture
def table_t(matrix: Matrix) -> Any:
    config = matrix.config()
    with matrix.open(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
    return config


def test_rollback_undoes_insert(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (?)", 1)
        assert session.in_transaction
        assert session.select_value("SELECT count(*) FROM t") == 1
        session.rollback()
        assert not session.in_transaction
        assert session.select_value("SELECT count(*) FROM t") == 0
    assert matrix.count(table_t, "t") == 0


def test_rollback_undoes_create_table(matrix: Matrix) -> None:
    _transactional_ddl(matrix)
    config = matrix.config()
    with matrix.open(config) as session:
        session.execute("CREATE TABLE made_then_undone (a INTEGER)")
        session.execute("INSERT INTO made_then_undone (a) VALUES (1)")
        session.rollback()
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM made_then_undone")
    assert not _table_exists(matrix, config, "made_then_undone")


def test_commit_persists_and_is_seen_by_a_second_session(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (?)", 1)
        # Not committed yet: another session does not see it.
        assert matrix.count(table_t, "t") == 0
        session.commit()
        assert not session.in_transaction
        assert matrix.count(table_t, "t") == 1
        # The session goes on with a new transaction.
        session.execute("INSERT INTO t (a) VALUES (?)", 2)
        assert session.in_transaction
    assert matrix.count(table_t, "t") == 1


def test_in_transaction_follows_the_first_statement(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
        assert session.in_transaction is False
        session.select("SELECT a FROM t")
        assert session.in_transaction is True
        session.commit()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (1)")
        assert session.in_transaction is True
        session.rollback()
        assert session.in_transaction is False


def test_commit_and_rollback_without_a_transaction_are_no_ops(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
        session.commit()
        session.rollback()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (1)")
        session.commit()
        session.commit()
    assert matrix.count(table_t, "t") == 1


def test_explicit_begin(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
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
        assert session.in_transaction is False
        session.begin()
        session.execute("INSERT INTO t (a) VALUES (3)")
        session.rollback()
        assert session.in_transaction is False
    assert matrix.count(table_t, "t") == 1


def test_connection_commit_commits(matrix: Matrix, table_t: Any) -> None:
    with matrix.open(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        assert session.in_transaction
        session.connection.commit()
        assert session.in_transaction is False
        assert matrix.count(table_t, "t") == 1
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.connection.rollback()
        assert session.in_transaction is False
        assert matrix.count(table_t, "t") == 1
        session.execute("INSERT INTO t (a) VALUES (3)")
        session.connection.commit()
    assert matrix.count(table_t, "t") == 2
    with matrix.open(table_t) as session:
        assert [r["a"] for r in session.select("SELECT a FROM t ORDER BY a")] == [1, 3]


def test_exit_without_commit_leaves_no_trace_for_the_next_borrower(matrix: Matrix) -> None:
    config = matrix.config(max_size=1, min_size=1)
    with matrix.open(config) as session:
        session.execute("CREATE TABLE t (a INTEGER)")
        session.commit()
        first = _connection_identity(session, matrix)
        session.commit()
    with matrix.open(config) as session:
        assert _connection_identity(session, matrix) == first
        session.rollback()
        session.execute("INSERT INTO t (a) VALUES (1)")
        if matrix.info.transactional_ddl:
            session.execute("CREATE TABLE left_open (a INTEGER)")
        assert session.in_transaction
    with matrix.open(config) as session:  # the same (only) connection
        assert session.in_transaction is False
        assert _connection_identity(session, matrix) == first
        assert session.select_value("SELECT count(*) FROM t") == 0
        if matrix.info.transactional_ddl:
            with pytest.raises(ProgrammingError):
                session.execute("SELECT * FROM left_open")
    assert config.pool_stats().in_use == 0


def test_exit_after_a_failed_statement_leaves_a_clean_connection(matrix: Matrix) -> None:
    config = matrix.config(max_size=1)
    with matrix.open(config) as session:
        session.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        session.commit()
    with matrix.open(config) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        with pytest.raises(SQLSpecError):
            session.execute("INSERT INTO t (a) VALUES (1)")  # duplicate: aborts on PostgreSQL
        # leave without rollback
    with matrix.open(config) as session:
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
        assert session.select("SELECT a FROM t") == [{"a": 2}]


def test_exception_in_the_with_block_rolls_back(matrix: Matrix, table_t: Any) -> None:
    assert table_t.pool_stats().in_use == 0

    def request_that_fails() -> None:
        with matrix.open(table_t) as session:
            session.execute("INSERT INTO t (a) VALUES (1)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        request_that_fails()
    assert matrix.count(table_t, "t") == 0
    assert table_t.pool_stats().in_use == 0


def test_failing_statement_then_rollback_lets_the_session_continue(
    matrix: Matrix, table_t: Any
) -> None:
    with matrix.open(table_t) as session:
        session.execute("INSERT INTO t (a) VALUES (1)")
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM no_such_table")
        session.rollback()
        assert session.in_transaction is False
        session.execute("INSERT INTO t (a) VALUES (2)")
        session.commit()
    with matrix.open(table_t) as session:
        assert session.select("SELECT a FROM t") == [{"a": 2}]


def test_closed_session_refuses_statements(matrix: Matrix) -> None:
    config = matrix.config()
    session = matrix.open(config)
    with pytest.raises(SQLSpecError, match="closed or was never opened"):
        session.execute("SELECT 1")
    with session:
        assert session.select_value("SELECT 1") == 1
    assert session.closed
    with pytest.raises(SQLSpecError, match="closed"):
        session.execute("SELECT 1")
    with pytest.raises(SQLSpecError):
        session.commit()
    session.close()  # idempotent


def test_guide_before_pattern(matrix: Matrix, table_t: Any) -> None:
    """The guide's "Before" pattern, literally: __enter__() by hand, __exit__ at teardown."""
    assert table_t.pool_stats().in_use == 0
    session = matrix.open(table_t).__enter__()
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
    assert matrix.count(table_t, "t") == 1

    # teardown_appcontext passes the exception along; the session still closes cleanly.
    session = matrix.open(table_t).__enter__()
    session.execute("INSERT INTO t (a) VALUES (?)", 3)
    error = RuntimeError("request failed")
    session.__exit__(type(error), error, None)
    assert table_t.pool_stats().in_use == 0
    assert matrix.count(table_t, "t") == 1
    # __exit__ twice (a teardown that runs again) is harmless.
    session.__exit__(None, None, None)
    assert table_t.pool_stats().in_use == 0
