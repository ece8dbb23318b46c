"""``driver_features={"statement_timeout": seconds}`` on every backend reached every way
(``tests.backends.matrix``): a statement that runs past it raises StatementTimeoutError, its
transaction is rolled back, and the session and its connection go on; the limit is per
statement; a bad value is refused when the config is made; through the portal, a
``portal_timeout`` shorter than the limit still raises PortalTimeoutError."""

from __future__ import annotations

import inspect
import time
from typing import Any

import pytest

from sqlspec import ImproperConfigurationError, SQLSpec
from sqlspec.exceptions import OperationalError, PortalTimeoutError, StatementTimeoutError
from sqlspec.portal import get_portal
from tests.backends import BACKENDS, BackendInfo, Database, Matrix

#: Statements that run far longer than the limits below (bounded, should a limit not work), on
#: the databases without a sleep function.
SLOW = {
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
        "SELECT count(*) FROM c"
    ),
    "duckdb": "SELECT count(*) FROM range(1000000000000) t WHERE t.range % 7 = 3",
}
#: Statements of a moderate length (a fraction of a second).
MODERATE = {
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "SELECT count(*) FROM c"
    ),
    "duckdb": "SELECT count(*) FROM range(3000000) t WHERE t.range % 7 = 3",
}
LIMIT = {"statement_timeout": 0.25}


def slow(info: BackendInfo) -> str:
    return info.sleep(10) or SLOW[info.family]


def moderate(info: BackendInfo) -> str:
    return info.sleep(0.4) or MODERATE[info.family]


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 1


def sleep_statement(info: BackendInfo, session: Any, seconds: float) -> str:
    """A statement that waits ``seconds``: the server's sleep, or on SQLite a Python function
    registered on the session's connection (DuckDB's need numpy, which the tests do not)."""
    statement = info.sleep(seconds)
    if statement is not None:
        return statement
    if info.family != "sqlite":
        pytest.skip(f"{info.name}: no sleep function, nor a Python one without numpy")
    registered = session.connection.create_function("sleep", 1, _sleep)
    if inspect.isawaitable(registered):  # aiosqlite's, through the portal's connection view
        get_portal().call(registered, 10, "registering sleep()")
    return f"SELECT sleep({seconds})"


def _table(session: Any) -> None:
    session.execute("CREATE TABLE t (v INTEGER)")
    session.commit()


def test_slow_statement_raises_and_rolls_back(matrix: Matrix) -> None:
    config = matrix.config(max_size=1, min_size=1, driver_features=LIMIT)
    with matrix.open(config) as session:
        _table(session)
        session.execute("INSERT INTO t (v) VALUES (?)", 1)
        started = time.monotonic()
        with pytest.raises(StatementTimeoutError) as error:
            session.execute(slow(matrix.info))
        assert time.monotonic() - started < 5
        assert isinstance(error.value, OperationalError)
        assert isinstance(error.value.__cause__, matrix.info.driver_error)
        assert not session.in_transaction
        # The insert before it was rolled back; the session goes on.
        assert session.select_value("SELECT count(*) FROM t") == 0
        session.execute("INSERT INTO t (v) VALUES (?)", 2)
        session.commit()
    with matrix.open(config) as session:  # the same connection, next borrower
        assert session.select("SELECT v FROM t") == [{"v": 2}]


def test_slow_execute_script_raises(matrix: Matrix) -> None:
    config = matrix.config(max_size=1, min_size=1, driver_features=LIMIT)
    with matrix.open(config) as session:
        _table(session)
        with pytest.raises(StatementTimeoutError):
            session.execute_script(f"INSERT INTO t (v) VALUES (1); {slow(matrix.info)};")
        assert session.select_value("SELECT count(*) FROM t") == 0


def test_limit_is_per_statement_not_per_transaction(matrix: Matrix) -> None:
    config = matrix.config(driver_features={"statement_timeout": 0.6})
    with matrix.open(config) as session:
        _table(session)
        session.execute("INSERT INTO t (v) VALUES (1)")
        sleep = sleep_statement(matrix.info, session, 0.3)
        for _ in range(4):  # 1.2 s in one transaction, each statement well within its limit
            session.execute(sleep)
        assert session.in_transaction
        assert session.select_value("SELECT count(*) FROM t") == 1


def test_timeout_is_off_by_default(matrix: Matrix, session: Any) -> None:
    if matrix.info.is_postgres:
        assert session.select_value("SHOW statement_timeout") == "0"
    elif matrix.info.is_mysql:
        assert float(session.select_value("SELECT @@max_statement_time")) == 0
    rows = session.execute(moderate(matrix.info)).all()
    assert len(rows) == 1  # it ran to the end
    if matrix.info.server is None:
        assert next(iter(rows[0].values())) > 0  # the count


def test_fast_statements_pass_under_a_limit(matrix: Matrix) -> None:
    config = matrix.config(driver_features={"statement_timeout": 5})
    with matrix.open(config) as session:
        _table(session)
        session.execute_many("INSERT INTO t (v) VALUES (?)", [(1,), (2,)])
        assert session.select("SELECT v FROM t ORDER BY v") == [{"v": 1}, {"v": 2}]
        assert session.execute("UPDATE t SET v = v + 1").rows_affected == 2
        session.commit()
        assert session.select_value("SELECT sum(v) FROM t") == 5


def test_portal_timeout_shorter_than_the_limit_still_wins(
    async_backend: Database, spec: SQLSpec
) -> None:
    config = spec.add_config(
        async_backend.config(portal_timeout=0.3, driver_features={"statement_timeout": 20})
    )
    with spec.provide_sync_session(config) as db, pytest.raises(PortalTimeoutError):
        db.execute(slow(async_backend.info))


CONFIG_CLASSES = [pytest.param(info.config_class, id=name) for name, info in BACKENDS.items()]


@pytest.mark.parametrize("config_class", CONFIG_CLASSES)
@pytest.mark.parametrize(
    "value",
    [0, -1, "5", True, float("nan"), float("inf"), 10**9, [1]],
    ids=["zero", "negative", "string", "bool", "nan", "inf", "huge", "list"],
)
def test_bad_statement_timeout_is_refused_at_configuration(config_class: Any, value: Any) -> None:
    with pytest.raises(ImproperConfigurationError, match="statement_timeout") as error:
        config_class(pool_config={}, driver_features={"statement_timeout": value})
    assert "positive number of seconds" in str(error.value)


@pytest.mark.parametrize("config_class", CONFIG_CLASSES)
def test_statement_timeout_is_accepted_by_every_config(config_class: Any) -> None:
    config = config_class(pool_config={}, driver_features={"statement_timeout": 1.5})
    assert config.statement_timeout == 1.5
    assert config_class(pool_config={}).statement_timeout is None
