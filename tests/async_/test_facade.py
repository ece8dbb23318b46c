"""The sync facade of async configs (``provide_sync_session()``), used from plain sync code as a
Flask view would, with every call running on the portal."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import (
    NotFoundError,
    PortalTimeoutError,
    SQLSpecError,
    TransactionError,
)
from sqlspec.portal_session import PortalSession
from tests.async_.conftest import POSTGRES_ADAPTERS, Dialect, MakeConfig
from tests.forking import in_child


def _users(db: Any, dialect: Dialect) -> None:
    db.execute(f"CREATE TABLE users (id {dialect.serial}, email VARCHAR(100) NOT NULL UNIQUE)")
    db.connection.commit()


def _count(spec: SQLSpec, config: Any, table: str = "users") -> int:
    with spec.provide_sync_session(config) as other:
        return int(other.select_value(f"SELECT count(*) FROM {table}"))


def test_guide_async_example_from_sync_code(spec: SQLSpec, config: Any, dialect: Dialect) -> None:
    db = spec.provide_sync_session(config)
    assert isinstance(db, PortalSession)
    db.__enter__()
    try:
        _users(db, dialect)
        db.execute("INSERT INTO users (email) VALUES (?)", ("a@example.com",))
        db.connection.commit()

        result = db.execute("SELECT * FROM users")
        assert result.all() == [{"id": 1, "email": "a@example.com"}]  # rows, not a coroutine
        assert db.execute("SELECT COUNT(*) FROM users").scalar() == 1
        user_id = db.execute(
            "INSERT INTO users (email) VALUES (?) RETURNING id", ("b@example.com",)
        ).scalar()
        assert user_id == 2
        user = db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).get_first()
        assert dict(user) == {"id": 2, "email": "b@example.com"}
        assert {"users": db.execute("SELECT email FROM users ORDER BY id").all()} == {
            "users": [{"email": "a@example.com"}, {"email": "b@example.com"}]
        }
    finally:
        db.__exit__(None, None, None)
    assert db.closed
    assert _count(spec, config) == 1  # the uncommitted second user was rolled back


def test_connection_is_the_drivers_own(spec: SQLSpec, config: Any) -> None:
    """The facade's ``connection`` wraps the async session's (its commit and rollback are in
    ``tests/contract/test_transactions.py``)."""
    with spec.provide_sync_session(config) as db:
        assert db.connection.raw is db.session.connection.raw  # the driver's own connection


@dataclasses.dataclass
class Email:
    email: str


def test_every_method(spec: SQLSpec, config: Any, dialect: Dialect) -> None:
    with spec.provide_sync_session(config) as db:
        _users(db, dialect)
        many = db.execute_many(
            "INSERT INTO users (email) VALUES (:email)", [{"email": "a"}, {"email": "b"}]
        )
        assert many.rows_affected in (2, -1)
        db.execute_script(
            "INSERT INTO users (email) VALUES ('c'); INSERT INTO users (email) VALUES ('d')"
        )
        assert [row["email"] for row in db.select("SELECT email FROM users ORDER BY email")] == [
            "a",
            "b",
            "c",
            "d",
        ]
        assert db.select("SELECT email FROM users WHERE email = ?", "a", schema_type=Email) == [
            Email("a")
        ]
        assert db.select_one("SELECT email FROM users WHERE email = :e", e="b") == {"email": "b"}
        assert db.select_one_or_none("SELECT email FROM users WHERE email = ?", "z") is None
        assert db.select_value("SELECT count(*) FROM users") == 4
        assert db.select_value_or_none("SELECT email FROM users WHERE email = ?", "z") is None
        with pytest.raises(NotFoundError):
            db.select_one("SELECT email FROM users WHERE email = ?", "z")
        db.rollback()
        assert db.select_value("SELECT count(*) FROM users") == 0
        db.commit()
        db.begin()
        assert db.in_transaction
        with pytest.raises(TransactionError):
            db.begin()
        db.execute("INSERT INTO users (email) VALUES ('e')")
        db.commit()
    assert _count(spec, config) == 1


def test_lifecycle(spec: SQLSpec, config: Any) -> None:
    db = spec.provide_sync_session(config)
    assert db.closed
    with pytest.raises(SQLSpecError, match="closed or was never opened"):
        db.execute("SELECT 1")
    db.close()  # never opened: a no-op
    with db:
        assert db.select_value("SELECT 1") == 1
        assert config.pool_stats().in_use == 1
    assert db.closed
    assert config.pool_stats().in_use == 0
    db.close()  # idempotent
    assert "PortalSession closed" in repr(db)


def test_close_all_pools_closes_async_pools(spec: SQLSpec, config: Any) -> None:
    with spec.provide_sync_session(config) as db:
        assert db.select_value("SELECT 1") == 1
    assert config.pool_stats().size >= 1
    spec.close_all_pools()
    assert config.pool_stats().size == 0
    with spec.provide_sync_session(config) as db:  # a new pool is made at the next use
        assert db.select_value("SELECT 2") == 2


def test_portal_timeout_cancels_and_leaves_a_healthy_connection(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(portal_timeout=1, max_size=1, min_size=1)
    with spec.provide_sync_session(config) as db:
        assert db.select_value("SELECT 1") == 1
        start = time.monotonic()
        with pytest.raises(PortalTimeoutError) as caught:
            db.execute(dialect.sleep_5)
        elapsed = time.monotonic() - start
        assert 0.8 <= elapsed <= 2.5, elapsed
        message = str(caught.value)
        assert "1 s" in message
        assert "portal_timeout" in message
        if dialect.is_mysql:  # asyncmy closes a connection whose read was cancelled
            assert "discarded" in message
            with pytest.raises(SQLSpecError, match="discarded"):
                db.select_value("SELECT 1")
            assert _mysql_sleeps_running(spec, config) == 0  # stopped on the server with KILL
        else:
            assert "rolled back" in message
            assert not db.in_transaction
            assert db.select_value("SELECT 1") == 1  # the same session goes on
            if dialect.is_postgres:
                running = db.select_value(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'"
                )
                assert running == 0  # the server query was cancelled too
    with spec.provide_sync_session(config) as db:  # the next borrower is fine
        assert db.select_value("SELECT 2") == 2


def _mysql_sleeps_running(spec: SQLSpec, config: Any) -> int:
    """How many ``SELECT SLEEP`` statements the server is running, after at most ~2 s for a
    KILL to take effect."""
    deadline = time.monotonic() + 2
    with spec.provide_sync_session(config) as db:
        while True:
            running = int(
                db.select_value(
                    "SELECT count(*) FROM information_schema.PROCESSLIST "
                    "WHERE INFO LIKE 'SELECT SLEEP%'"
                )
            )
            db.rollback()
            if running == 0 or time.monotonic() > deadline:
                return running
            time.sleep(0.05)


@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_sixteen_threads_through_one_portal(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=16)
    with spec.provide_sync_session(config) as db:
        db.execute("CREATE TABLE hits (thread INTEGER NOT NULL, n INTEGER NOT NULL)")
        db.commit()
    threads, calls = 16, 100
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    seen: dict[int, int] = {}

    def work(number: int) -> None:
        try:
            barrier.wait()
            with spec.provide_sync_session(config) as db:
                for n in range(calls - 2):
                    db.execute("INSERT INTO hits (thread, n) VALUES (?, ?)", number, n)
                seen[number] = db.select_value("SELECT count(*) FROM hits WHERE thread = ?", number)
                db.commit()
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=work, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors
    assert seen == dict.fromkeys(range(threads), calls - 2)
    with spec.provide_sync_session(config) as db:
        assert db.select_value("SELECT count(*) FROM hits") == threads * (calls - 2)
        per_thread = db.select("SELECT thread, count(DISTINCT n) AS n FROM hits GROUP BY thread")
        assert sorted((row["thread"], row["n"]) for row in per_thread) == [
            (number, calls - 2) for number in range(threads)
        ]
    assert config.pool_stats().in_use == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_a_fresh_portal_and_pool(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    from sqlspec.portal import get_portal

    config = make_config(max_size=1, min_size=1)  # the parent always gets the same connection

    query = "SELECT pg_backend_pid()" if dialect.is_postgres else "SELECT 1"
    with spec.provide_sync_session(config) as db:  # the parent's portal and pool exist
        parent_backend = db.select_value(query)
    parent_thread = get_portal()._thread

    def child() -> str:
        assert not get_portal().running  # nothing inherited is touched
        with spec.provide_sync_session(config) as db:
            backend = db.select_value(query)
            if dialect.is_postgres:
                assert backend != parent_backend
        assert get_portal()._thread is not parent_thread
        assert get_portal()._thread is not None
        assert get_portal()._thread.is_alive()
        spec.close_all_pools()
        return str(backend)

    in_child(child)
    with spec.provide_sync_session(config) as db:  # the parent's connection still works
        assert db.select_value(query) == parent_backend
    assert get_portal()._thread is parent_thread


@pytest.mark.parametrize("adapter", POSTGRES_ADAPTERS)
def test_interpreter_exits_promptly_with_a_session_left_open(
    adapter: str, postgres_server: Any
) -> None:
    if adapter == "asyncpg":
        make = f"AsyncpgConfig(pool_config={{'dsn': {postgres_server.dsn!r}}})"
    else:
        make = f"PsycopgAsyncConfig(pool_config={{'conninfo': {postgres_server.conninfo!r}}})"
    code = f"""
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig

db = {make}.provide_sync_session().__enter__()
db.execute("SELECT 1")  # a transaction left open, a connection never returned
print("done")
"""
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert time.monotonic() - start < 10
