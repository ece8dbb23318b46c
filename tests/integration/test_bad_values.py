"""Values a driver cannot bind, and statements with more parameters than the database accepts,
on the sync adapters: DataError naming the parameter and its type; ParameterError saying the
limit. Nothing is stored."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from sqlspec import StatementConfig
from sqlspec.exceptions import DataError, ParameterError
from tests.integration.conftest import Dialect, MakeConfig, only

BAD_VALUES = [
    pytest.param(object(), "object", id="object"),
    pytest.param({1, 2}, "set", id="set"),
    pytest.param("\ud800", "str", id="unencodable-str"),
]


@pytest.fixture
def table(session: Any) -> Any:
    session.execute("CREATE TABLE t (a VARCHAR(20), b VARCHAR(20))")
    session.commit()
    return session


@pytest.mark.parametrize(("value", "type_name"), BAD_VALUES)
def test_unbindable_positional_value_names_its_position_and_type(
    table: Any, dialect: Dialect, value: Any, type_name: str
) -> None:
    with pytest.raises(DataError) as error:
        table.execute("INSERT INTO t (a, b) VALUES (?, ?)", ("fine", value))
    message = str(error.value)
    assert f"parameter 2 ({type_name})" in message, message
    assert error.value.__cause__ is not None  # the driver's own refusal
    assert table.select_value("SELECT count(*) FROM t") == 0


@pytest.mark.parametrize(("value", "type_name"), BAD_VALUES)
def test_unbindable_named_value_names_the_parameter(table: Any, value: Any, type_name: str) -> None:
    with pytest.raises(DataError, match=rf"parameter :b \({type_name}\)"):
        table.execute("INSERT INTO t (a, b) VALUES (:a, :b)", a="fine", b=value)
    assert table.select_value("SELECT count(*) FROM t") == 0


def test_unbindable_value_in_execute_many_names_the_row(table: Any) -> None:
    rows = [("one", "1"), ("two", object())]
    with pytest.raises(DataError, match=r"row 1: parameter 2 \(object\)"):
        table.execute_many("INSERT INTO t (a, b) VALUES (?, ?)", rows)
    table.rollback()
    assert table.select_value("SELECT count(*) FROM t") == 0


def test_session_goes_on_after_a_bad_value(table: Any) -> None:
    with pytest.raises(DataError):
        table.execute("INSERT INTO t (a) VALUES (?)", object())
    table.execute("INSERT INTO t (a) VALUES (?)", "ok")
    table.commit()
    assert table.select("SELECT a FROM t") == [{"a": "ok"}]


def _limit(dialect: Dialect) -> int:
    if dialect.is_sqlite:
        return sqlite3.connect(":memory:").getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535


@only("sqlite", "postgres")
def test_too_many_parameters_says_the_limit(session: Any, dialect: Dialect) -> None:
    limit = _limit(dialect)
    sql = "SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * (limit + 1)) + ")"
    with pytest.raises(ParameterError, match=f"at most {limit:,}"):
        session.execute(sql, [1] * (limit + 1))
    with pytest.raises(ParameterError, match=f"at most {limit:,}"):  # refused once prepared
        session.execute_many(sql, [[1] * (limit + 1)])
    assert (
        session.select_value("SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * limit) + ")", [1] * limit)
        == 1
    )


@only("sqlite", "postgres")
def test_too_many_parameters_unrewritten_is_a_parameter_error(
    spec: Any, make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(statement_config=StatementConfig(rewrite_parameters=False))
    marker = "?" if dialect.is_sqlite else "%s"
    count = _limit(dialect) + 1
    with spec.provide_session(config) as session, pytest.raises(ParameterError):
        session.execute("SELECT 1 WHERE 1 IN (" + ", ".join([marker] * count) + ")", [1] * count)
