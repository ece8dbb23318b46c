"""``driver_features={"statement_timeout": seconds}`` on the sync adapters: a statement that runs
past it raises StatementTimeoutError, its transaction is rolled back, and the session and its
connection go on."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sqlspec import ImproperConfigurationError, SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import OperationalError, StatementTimeoutError
from tests.integration.conftest import Dialect, MakeConfig, only

#: Statements that run far longer than the limits below (bounded, should a limit not work).
SLOW = {
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
        "SELECT count(*) FROM c"
    ),
    "duckdb": "SELECT count(*) FROM range(1000000000000) t WHERE t.range % 7 = 3",
    "postgres": "SELECT pg_sleep(10)",
}
#: Statements of a moderate length (a fraction of a second).
MODERATE = {
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "SELECT count(*) FROM c"
    ),
    "duckdb": "SELECT count(*) FROM range(3000000) t WHERE t.range % 7 = 3",
    "postgres": "SELECT pg_sleep(0.4)",
}
LIMIT = {"statement_timeout": 0.25}


def _table(session: Any) -> None:
    session.execute("CREATE TABLE t (v INTEGER)")
    session.commit()


def test_slow_statement_raises_and_rolls_back(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1, min_size=1, driver_features=LIMIT)
    with spec.provide_session(config) as session:
        _table(session)
        session.execute("INSERT INTO t (v) VALUES (?)", 1)
        started = time.monotonic()
        with pytest.raises(StatementTimeoutError) as error:
            session.execute(SLOW[dialect.name])
        assert time.monotonic() - started < 5
        assert isinstance(error.value, OperationalError)
        assert isinstance(error.value.__cause__, dialect.driver_error)
        assert not session.in_transaction
        # The insert before it was rolled back; the session goes on.
        assert session.select_value("SELECT count(*) FROM t") == 0
        session.execute("INSERT INTO t (v) VALUES (?)", 2)
        session.commit()
    with spec.provide_session(config) as session:  # the same connection, next borrower
        assert session.select("SELECT v FROM t") == [{"v": 2}]


def test_slow_execute_script_raises(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1, min_size=1, driver_features=LIMIT)
    with spec.provide_session(config) as session:
        _table(session)
        with pytest.raises(StatementTimeoutError):
            session.execute_script(f"INSERT INTO t (v) VALUES (1); {SLOW[dialect.name]};")
        assert session.select_value("SELECT count(*) FROM t") == 0


@only("sqlite", "postgres")
def test_limit_is_per_statement_not_per_transaction(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(driver_features={"statement_timeout": 0.6})
    with spec.provide_session(config) as session:
        sleep = "SELECT pg_sleep(0.3)"
        if dialect.is_sqlite:
            session.connection.create_function("sleep", 1, time.sleep)
            sleep = "SELECT sleep(0.3)"
        for _ in range(4):  # 1.2 s in one transaction, each statement well within its limit
            session.execute(sleep)
        assert session.in_transaction


def test_timeout_is_off_by_default(session: Any, dialect: Dialect) -> None:
    assert session.select_value(MODERATE[dialect.name]) is not None
    if dialect.is_postgres:
        assert session.select_value("SHOW statement_timeout") == "0"


def test_fast_statements_pass_under_a_limit(
    spec: SQLSpec, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(driver_features={"statement_timeout": 5})
    with spec.provide_session(config) as session:
        _table(session)
        session.execute_many("INSERT INTO t (v) VALUES (?)", [(1,), (2,)])
        assert session.select("SELECT v FROM t ORDER BY v") == [{"v": 1}, {"v": 2}]
        assert session.execute("UPDATE t SET v = v + 1").rows_affected == 2
        session.commit()
        assert session.select_value("SELECT sum(v) FROM t") == 5


ALL_CONFIGS = [
    SqliteConfig,
    DuckDBConfig,
    PsycopgConfig,
    PsycopgAsyncConfig,
    AsyncpgConfig,
    AiosqliteConfig,
    AsyncmyConfig,
]


@pytest.mark.parametrize("config_class", ALL_CONFIGS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(
    "value",
    [0, -1, "5", True, float("nan"), float("inf"), 10**9, [1]],
    ids=["zero", "negative", "string", "bool", "nan", "inf", "huge", "list"],
)
def test_bad_statement_timeout_is_refused_at_configuration(config_class: Any, value: Any) -> None:
    with pytest.raises(ImproperConfigurationError, match="statement_timeout") as error:
        config_class(pool_config={}, driver_features={"statement_timeout": value})
    assert "positive number of seconds" in str(error.value)


@pytest.mark.parametrize("config_class", ALL_CONFIGS, ids=lambda cls: cls.__name__)
def test_statement_timeout_is_accepted_by_every_config(config_class: Any) -> None:
    config = config_class(pool_config={}, driver_features={"statement_timeout": 1.5})
    assert config.statement_timeout == 1.5
    assert config_class(pool_config={}).statement_timeout is None
