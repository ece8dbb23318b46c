"""``driver_features={"statement_timeout": seconds}`` on the async adapters (and their sync
facade): StatementTimeoutError, the transaction rolled back, the connection still usable; a
portal timeout shorter than the limit still raises PortalTimeoutError."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import OperationalError, PortalTimeoutError, StatementTimeoutError
from tests.async_.conftest import POSTGRES_ADAPTERS, Dialect, MakeConfig

LIMIT = {"statement_timeout": 0.25}
SERVER_ADAPTERS = (
    *POSTGRES_ADAPTERS,
    pytest.param("asyncmy", id="asyncmy", marks=pytest.mark.mariadb),
)


def _slow(dialect: Dialect) -> str:
    if dialect.name == "aiosqlite":
        return (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
            "SELECT count(*) FROM c"
        )
    return "SELECT SLEEP(10)" if dialect.is_mysql else "SELECT pg_sleep(10)"


async def _table(session: Any) -> None:
    await session.execute("CREATE TABLE t (v INTEGER)")
    await session.commit()


async def test_slow_statement_raises_and_rolls_back(
    make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1, min_size=1, driver_features=LIMIT)
    async with config.provide_session() as session:
        await _table(session)
        await session.execute("INSERT INTO t (v) VALUES (?)", 1)
        started = time.monotonic()
        with pytest.raises(StatementTimeoutError) as error:
            await session.execute(_slow(dialect))
        assert time.monotonic() - started < 5
        assert isinstance(error.value, OperationalError)
        assert isinstance(error.value.__cause__, dialect.driver_error)
        assert not session.in_transaction
        assert await session.select_value("SELECT count(*) FROM t") == 0
        await session.execute("INSERT INTO t (v) VALUES (?)", 2)
        await session.commit()
    async with config.provide_session() as session:  # the same connection, next borrower
        assert await session.select("SELECT v FROM t") == [{"v": 2}]


async def test_slow_execute_script_raises(make_config: MakeConfig, dialect: Dialect) -> None:
    config = make_config(max_size=1, min_size=1, driver_features=LIMIT)
    async with config.provide_session() as session:
        await _table(session)
        with pytest.raises(StatementTimeoutError):
            await session.execute_script(f"INSERT INTO t (v) VALUES (1); {_slow(dialect)};")
        assert await session.select_value("SELECT count(*) FROM t") == 0


@pytest.mark.parametrize("adapter", SERVER_ADAPTERS, indirect=True)
async def test_limit_is_per_statement_not_per_transaction(
    make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(driver_features={"statement_timeout": 0.6})
    sleep = "SELECT SLEEP(0.3)" if dialect.is_mysql else "SELECT pg_sleep(0.3)"
    async with config.provide_session() as session:
        await _table(session)
        await session.execute("INSERT INTO t (v) VALUES (1)")
        for _ in range(4):  # 1.2 s in one transaction, each statement well within its limit
            await session.execute(sleep)
        assert session.in_transaction


async def test_timeout_is_off_by_default(config: Any, dialect: Dialect) -> None:
    async with config.provide_session() as session:
        if dialect.is_postgres:
            assert await session.select_value("SHOW statement_timeout") == "0"
            await session.execute("SELECT pg_sleep(0.4)")
        elif dialect.is_mysql:
            assert float(await session.select_value("SELECT @@max_statement_time")) == 0
            await session.execute("SELECT SLEEP(0.4)")
        else:
            await session.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
                "SELECT count(*) FROM c"
            )


def test_sync_facade_raises_statement_timeout(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1, min_size=1, driver_features=LIMIT)
    with spec.provide_sync_session(config) as db:
        with pytest.raises(StatementTimeoutError):
            db.execute(_slow(dialect))
        assert db.select_value("SELECT 1") == 1


def test_portal_timeout_shorter_than_the_limit_still_wins(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(portal_timeout=0.3, driver_features={"statement_timeout": 20})
    with spec.provide_sync_session(config) as db, pytest.raises(PortalTimeoutError):
        db.execute(_slow(dialect))
