"""``session.pending_writes``: set by a statement that writes, reset by commit and rollback, on
the sync adapters."""

from __future__ import annotations

from typing import Any


def test_pending_writes_follow_the_transaction(session: Any) -> None:
    assert session.pending_writes is False
    session.execute("CREATE TABLE t (a INTEGER)")
    assert session.pending_writes is True
    session.commit()
    assert session.pending_writes is False

    session.select("SELECT a FROM t")
    assert session.pending_writes is False  # reads only
    session.execute("INSERT INTO t (a) VALUES (?)", 1)
    session.select("SELECT a FROM t")
    assert session.pending_writes is True  # a later read does not clear it
    session.rollback()
    assert session.pending_writes is False

    session.execute_many("INSERT INTO t (a) VALUES (?)", [(1,), (2,)])
    assert session.pending_writes is True
    session.connection.commit()  # the connection's commit ends the session's transaction too
    assert session.pending_writes is False

    session.execute_script("INSERT INTO t (a) VALUES (3); INSERT INTO t (a) VALUES (4)")
    assert session.pending_writes is True
    session.connection.rollback()
    assert session.pending_writes is False


def test_a_failed_write_is_not_counted(session: Any) -> None:
    import pytest

    from sqlspec import SQLSpecError

    with pytest.raises(SQLSpecError):
        session.execute("INSERT INTO no_such_table VALUES (1)")
    assert session.pending_writes is False
