"""Values a driver cannot bind, and statements with more parameters than the database accepts,
on the async adapters: DataError naming the parameter and its type, nothing stored (asyncmy, which
would store ``str(value)``, is refused before anything is sent); ParameterError saying the
limit."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from sqlspec.exceptions import DataError, ParameterError
from tests.async_.conftest import Dialect

BAD_VALUES = [
    pytest.param(object(), "object", id="object"),
    pytest.param({1, 2}, "set", id="set"),
    pytest.param("\ud800", "str", id="unencodable-str"),
]


async def _table(session: Any) -> None:
    await session.execute("CREATE TABLE t (a VARCHAR(60), b VARCHAR(60))")
    await session.commit()


@pytest.mark.parametrize(("value", "type_name"), BAD_VALUES)
async def test_unbindable_positional_value_names_its_position_and_type(
    config: Any, value: Any, type_name: str
) -> None:
    async with config.provide_session() as session:
        await _table(session)
        with pytest.raises(DataError, match=rf"parameter 2 \({type_name}\)"):
            await session.execute("INSERT INTO t (a, b) VALUES (?, ?)", ("fine", value))
        assert await session.select_value("SELECT count(*) FROM t") == 0


@pytest.mark.parametrize(("value", "type_name"), BAD_VALUES)
async def test_unbindable_named_value_names_the_parameter(
    config: Any, value: Any, type_name: str
) -> None:
    async with config.provide_session() as session:
        await _table(session)
        with pytest.raises(DataError, match=rf"parameter :b \({type_name}\)"):
            await session.execute("INSERT INTO t (a, b) VALUES (:a, :b)", a="fine", b=value)
        assert await session.select_value("SELECT count(*) FROM t") == 0


async def test_unbindable_value_in_execute_many_names_the_row(config: Any) -> None:
    async with config.provide_session() as session:
        await _table(session)
        rows = [("one", "1"), ("two", object())]
        with pytest.raises(DataError, match=r"row 1: parameter 2 \(object\)"):
            await session.execute_many("INSERT INTO t (a, b) VALUES (?, ?)", rows)
        await session.rollback()
        assert await session.select_value("SELECT count(*) FROM t") == 0


@pytest.mark.parametrize(
    "adapter", [pytest.param("asyncmy", id="asyncmy", marks=pytest.mark.mariadb)], indirect=True
)
async def test_asyncmy_refuses_a_collection_instead_of_expanding_it(config: Any) -> None:
    async with config.provide_session() as session:
        await _table(session)
        with pytest.raises(DataError, match=r"parameter 1 \(tuple\)"):
            await session.execute("INSERT INTO t (a) VALUES (?)", ((1, 2),))
        assert await session.select_value("SELECT count(*) FROM t") == 0


LIMITS = {"asyncpg": 32767, "psycopg": 65535, "asyncmy": 65535}


async def test_too_many_parameters_says_the_limit(config: Any, dialect: Dialect) -> None:
    if dialect.name == "aiosqlite":
        limit = sqlite3.connect(":memory:").getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    else:
        limit = LIMITS[dialect.name]
    sql = "SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * (limit + 1)) + ")"
    async with config.provide_session() as session:
        with pytest.raises(ParameterError, match=f"at most {limit:,}"):
            await session.execute(sql, [1] * (limit + 1))
        with pytest.raises(ParameterError, match=f"at most {limit:,}"):
            await session.execute_many(sql, [[1] * (limit + 1)])
        assert await session.select_value("SELECT 1") == 1
