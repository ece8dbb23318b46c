"""Values a driver cannot bind, and statements with more parameters than the database accepts,
on every backend reached every way (``tests.backends.matrix``): a DataError naming the parameter
and its type, nothing stored (asyncmy, which would store ``str(value)``, is refused before
anything is sent), the session going on; a ParameterError saying the limit. Backend-specific
refusals stay in ``tests/async_/test_bad_values.py``."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import StatementConfig
from sqlspec.exceptions import DataError, ParameterError
from tests.backends import BackendInfo, Matrix

BAD_VALUES = [
    pytest.param(object(), "object", id="object"),
    pytest.param({1, 2}, "set", id="set"),
    pytest.param("\ud800", "str", id="unencodable-str"),
]


@pytest.fixture
def table(session: Any) -> Any:
    session.execute("CREATE TABLE t (a VARCHAR(60), b VARCHAR(60))")
    session.commit()
    return session


@pytest.mark.parametrize(("value", "type_name"), BAD_VALUES)
def test_unbindable_positional_value_names_its_position_and_type(
    matrix: Matrix, table: Any, value: Any, type_name: str
) -> None:
    with pytest.raises(DataError) as error:
        table.execute("INSERT INTO t (a, b) VALUES (?, ?)", ("fine", value))
    message = str(error.value)
    assert f"parameter 2 ({type_name})" in message, message
    if matrix.info.stringifies_unknown_values and type_name != "str":
        assert error.value.__cause__ is None  # refused before anything was sent
    else:
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


def _limit(info: BackendInfo) -> int:
    limit = info.parameter_limit
    if limit is None:
        pytest.skip(f"{info.name}: the database accepts any number of parameters")
    return limit


def test_too_many_parameters_says_the_limit(matrix: Matrix, session: Any) -> None:
    limit = _limit(matrix.info)
    sql = "SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * (limit + 1)) + ")"
    with pytest.raises(ParameterError, match=f"at most {limit:,}"):
        session.execute(sql, [1] * (limit + 1))
    with pytest.raises(ParameterError, match=f"at most {limit:,}"):  # refused once prepared
        session.execute_many(sql, [[1] * (limit + 1)])
    assert (
        session.select_value("SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * limit) + ")", [1] * limit)
        == 1
    )


def _native_markers(info: BackendInfo, count: int) -> list[str]:
    """``count`` placeholders in the driver's own style."""
    if info.placeholder == "NUMERIC":
        return [f"${number}" for number in range(1, count + 1)]
    return ["%s" if info.placeholder == "FORMAT" else "?"] * count


def test_too_many_parameters_unrewritten_is_a_parameter_error(matrix: Matrix) -> None:
    """Without the rewrite, the driver's or the database's own refusal is translated."""
    if not matrix.info.binds_on_server:
        pytest.skip(f"{matrix.info.name}: values are put into the SQL text, not bound")
    count = _limit(matrix.info) + 1
    config = matrix.spec.add_config(
        matrix.database.config(statement_config=StatementConfig(rewrite_parameters=False))
    )
    sql = "SELECT 1 WHERE 1 IN (" + ", ".join(_native_markers(matrix.info, count)) + ")"
    with matrix.open(config) as session, pytest.raises(ParameterError):
        session.execute(sql, [1] * count)
