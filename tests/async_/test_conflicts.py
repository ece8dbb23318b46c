"""Real conflicts on the async adapters: a deadlock between two sessions is a ``DeadlockError``
(MariaDB 1213, PostgreSQL 40P01), a stale snapshot a ``SerializationError``, and an ``async def``
unit of work decorated with ``retry_on_conflict`` is rerun until it succeeds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sqlspec import DeadlockError, SerializationError, retry_on_conflict
from tests.async_.conftest import Dialect, MakeConfig

SERVERS = pytest.mark.parametrize(
    "adapter",
    [
        pytest.param("asyncmy", marks=pytest.mark.mariadb),
        pytest.param("asyncpg", marks=pytest.mark.postgres),
        pytest.param("psycopg", id="psycopg_async", marks=pytest.mark.postgres),
    ],
    indirect=True,
)


async def counter(config: Any) -> None:
    async with config.provide_session() as db:
        await db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        await db.execute("INSERT INTO counter (id, n) VALUES (1, 0), (2, 0)")
        await db.commit()


async def snapshot(db: Any, dialect: Dialect) -> None:
    """Make the session's transaction refuse a write based on a stale read."""
    if dialect.is_mysql:
        await db.execute("SET SESSION innodb_snapshot_isolation = ON")
        await db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    else:
        await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


@SERVERS
async def test_deadlock_is_a_deadlock_error(make_config: MakeConfig, dialect: Dialect) -> None:
    config = make_config()
    await counter(config)
    both_locked = asyncio.Barrier(2)
    outcomes: dict[int, BaseException | None] = {}

    async def lock_in_order(first: int, second: int) -> None:
        async with config.provide_session() as db:
            try:
                if dialect.is_postgres:
                    await db.execute("SET deadlock_timeout = '100ms'")
                await db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", first)
                await both_locked.wait()
                await db.execute("UPDATE counter SET n = n + 1 WHERE id = ?", second)
                await db.commit()
                outcomes[first] = None
            except Exception as error:
                outcomes[first] = error
                await db.rollback()

    await asyncio.wait_for(asyncio.gather(lock_in_order(1, 2), lock_in_order(2, 1)), 30)
    errors = [error for error in outcomes.values() if error is not None]
    assert len(errors) == 1, outcomes
    assert type(errors[0]) is DeadlockError, repr(errors[0])
    assert isinstance(errors[0].__cause__, dialect.driver_error)
    async with config.provide_session() as db:
        assert await db.select_value("SELECT SUM(n) FROM counter") == 2


@SERVERS
async def test_async_unit_of_work_is_retried_to_success(
    make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config()
    await counter(config)
    attempts = 0

    async def bump_elsewhere() -> None:
        async with config.provide_session() as other:
            await other.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            await other.commit()

    @retry_on_conflict(attempts=3, base_delay=0.001)
    async def add_ten() -> None:
        nonlocal attempts
        attempts += 1
        async with config.provide_session() as db:
            await snapshot(db, dialect)
            seen = await db.select_value("SELECT n FROM counter WHERE id = 1")
            if attempts == 1:
                await bump_elsewhere()
            await db.execute("UPDATE counter SET n = ? WHERE id = 1", seen + 10)
            await db.commit()

    await add_ten()
    assert attempts == 2
    async with config.provide_session() as db:
        assert await db.select_value("SELECT n FROM counter WHERE id = 1") == 11


@pytest.mark.parametrize("adapter", [pytest.param("asyncmy", marks=pytest.mark.mariadb)])
async def test_mariadb_snapshot_conflict_is_a_serialization_error(
    make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config()
    await counter(config)
    async with config.provide_session() as db, config.provide_session() as other:
        await snapshot(db, dialect)
        assert await db.select_value("SELECT n FROM counter WHERE id = 1") == 0
        await other.execute("UPDATE counter SET n = 5 WHERE id = 1")
        await other.commit()
        with pytest.raises(SerializationError) as error:
            await db.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        assert error.value.__cause__.args[0] == 1020  # type: ignore[union-attr]
        await db.rollback()
