"""Fork safety (gunicorn ``--preload``): a child gets fresh connections through the same config
and never disturbs the parent's pooled ones."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sqlspec import SQLSpec
from tests.forking import in_child
from tests.integration.conftest import Dialect, MakeConfig, only

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _backend_pid(session: Any) -> int:
    return int(session.select_value("SELECT pg_backend_pid()"))


@only("sqlite", "postgres")
def test_child_process_gets_fresh_connections(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1)
    with spec.provide_session(config) as session:
        session.execute("CREATE TABLE forked (who VARCHAR(10), backend INTEGER)")
        session.commit()
        parent_identity = _backend_pid(session) if dialect.is_postgres else id(session.connection)
        session.rollback()
    assert config.pool_stats().size == 1  # the parent's pool holds an open connection

    def child() -> str:
        # max_size=1: had the child inherited the parent's pool, this would hand it the
        # parent's connection.
        with spec.provide_session(config) as session:
            identity = _backend_pid(session) if dialect.is_postgres else id(session.connection)
            if identity == parent_identity:
                raise AssertionError(f"child got the parent's connection ({identity})")
            session.execute("INSERT INTO forked (who, backend) VALUES (?, ?)", "child", 0)
            session.commit()
        config.close_pool()  # closes only the child's own pool
        return "ok"

    assert in_child(child) == "ok"

    # The parent's pooled connection is untouched and still works.
    with spec.provide_session(config) as session:
        if dialect.is_postgres:
            assert _backend_pid(session) == parent_identity
        else:
            assert id(session.connection) == parent_identity
        assert session.select("SELECT who FROM forked") == [{"who": "child"}]
        session.execute("INSERT INTO forked (who, backend) VALUES (?, ?)", "parent", 0)
        session.commit()
        assert session.select_value("SELECT count(*) FROM forked") == 2


@only("sqlite", "postgres")
def test_several_children_and_a_busy_parent(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=2)
    with spec.provide_session(config) as setup:
        setup.execute("CREATE TABLE forked (who INTEGER)")
        setup.commit()
    # The parent forks while it holds a session with an open transaction.
    with spec.provide_session(config) as held:
        held.execute("INSERT INTO forked (who) VALUES (?)", -1)
        for number in range(3):

            def child(number: int = number) -> str:
                with spec.provide_session(config) as session:
                    assert not session.in_transaction
                    session.execute("INSERT INTO forked (who) VALUES (?)", number)
                    session.commit()
                return "ok"

            if dialect.is_sqlite:
                held.rollback()  # SQLite: one writer at a time; release the write lock
            assert in_child(child) == "ok"
            if dialect.is_sqlite:
                held.execute("INSERT INTO forked (who) VALUES (?)", -1)
        held.commit()
    with spec.provide_session(config) as session:
        rows = session.select("SELECT who FROM forked WHERE who >= 0 ORDER BY who")
        assert rows == [{"who": 0}, {"who": 1}, {"who": 2}]
        assert session.select_value("SELECT count(*) FROM forked WHERE who < 0") == 1
