"""The async session API on every async adapter: the same behaviour as the sync one."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig, split_mysql_script
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig
from sqlspec.async_driver import AsyncDriver
from sqlspec.exceptions import (
    ImproperConfigurationError,
    ParameterError,
    SQLSpecError,
)
from tests.async_.conftest import Dialect, MakeConfig


async def _users(session: AsyncDriver[Any], dialect: Dialect) -> None:
    """A committed ``users`` table."""
    await session.execute(
        f"CREATE TABLE users (id {dialect.serial}, email VARCHAR(100) NOT NULL UNIQUE, "
        "age INTEGER CHECK (age >= 0))"
    )
    await session.commit()


async def _count(config: Any, table: str = "users") -> int:
    async with config.provide_session() as other:
        return int(await other.select_value(f"SELECT count(*) FROM {table}"))


# -- parameters and results ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "args", "kwargs"),
    [
        ("a = ? AND b = ?", (40, 2), {}),
        ("a = ? AND b = ?", ((40, 2),), {}),
        ("a = $1 AND b = $2", ([40, 2],), {}),
        ("b = $1 AND a = $2", (2, 40), {}),
        ("a = %s AND b = %s", (40, 2), {}),
        ("a = :a AND b = :b", (), {"a": 40, "b": 2}),
        ("a = :a AND b = :b", ({"a": 40, "b": 2},), {}),
        ("a = %(a)s AND b = %(b)s", ({"a": 40, "b": 2},), {}),
        ("a = :a AND b = :b AND a + 0 = :a", (), {"a": 40, "b": 2}),
    ],
)
async def test_parameter_styles(
    config: Any, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    async with config.provide_session() as session:
        await session.execute("CREATE TABLE nums (a INTEGER, b INTEGER)")
        await session.execute("INSERT INTO nums (a, b) VALUES (40, 2), (1, 1)")
        assert (
            await session.select_value(f"SELECT a + b FROM nums WHERE {where}", *args, **kwargs)
            == 42
        )


async def test_parameter_mismatch_is_reported_before_the_driver(config: Any) -> None:
    async with config.provide_session() as session:
        with pytest.raises(ParameterError, match="expects 2 positional parameters, got 1"):
            await session.execute("SELECT ?, ?", 1)
        with pytest.raises(ParameterError, match="missing: b"):
            await session.execute("SELECT :a, :b", a=1)
        assert not session.in_transaction  # nothing was sent


async def test_percent_literals_survive(config: Any) -> None:
    async with config.provide_session() as session:
        assert await session.select_value("SELECT '100%'") == "100%"
        row = await session.select_one("SELECT 'a%%b' AS v, ? AS w", "%")
        assert row == {"v": "a%%b", "w": "%"}


@dataclasses.dataclass
class User:
    email: str
    age: int


async def test_schema_type(config: Any, dialect: Dialect) -> None:
    async with config.provide_session() as session:
        await _users(session, dialect)
        await session.execute("INSERT INTO users (email, age) VALUES (?, ?)", "a@x", 7)
        users = await session.select("SELECT email, age FROM users", schema_type=User)
        assert users == [User("a@x", 7)]
        one = await session.select_one("SELECT email, age FROM users", schema_type=User)
        assert one == User("a@x", 7)
        result = await session.execute("SELECT email, age FROM users", schema_type=User)
        assert result.one() == User("a@x", 7)


# -- errors ----------------------------------------------------------------------------------


# -- transactions ----------------------------------------------------------------------------


async def test_execute_many(config: Any, dialect: Dialect) -> None:
    async with config.provide_session() as session:
        await _users(session, dialect)
        result = await session.execute_many(
            "INSERT INTO users (email, age) VALUES (:email, :age)",
            [{"email": f"{n}@x", "age": n} for n in range(5)],
        )
        assert result.rows_affected in (5, -1)  # asyncpg cannot tell
        assert await session.select_value("SELECT count(*) FROM users") == 5
        await session.rollback()
        assert await session.select_value("SELECT count(*) FROM users") == 0
        with pytest.raises(ParameterError, match="row 1"):
            await session.execute_many("INSERT INTO users (email) VALUES (?)", [("a",), ()])


# -- pools -----------------------------------------------------------------------------------


async def test_pool_of_another_loop_is_refused(config: Any) -> None:
    with config.provide_sync_session() as db:  # the pool is created on the portal's loop
        assert db.select_value("SELECT 1") == 1
    with pytest.raises(SQLSpecError, match="portal's loop and cannot be used"):
        async with config.provide_session():
            pass
    await config.close_pool_async()  # closes it on its own loop, from this one
    async with config.provide_session() as session:  # and a new one is made here
        assert await session.select_value("SELECT 1") == 1


async def test_cancelled_statement_leaves_a_healthy_connection(
    make_config: MakeConfig, dialect: Dialect
) -> None:
    config = make_config(max_size=1, min_size=1)
    async with config.provide_session() as session:
        await session.execute("SELECT 1")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(session.execute(dialect.sleep_5), 0.3)
        if dialect.is_mysql:  # asyncmy closes a connection whose read was cancelled
            with pytest.raises(SQLSpecError, match="discarded"):
                await session.execute("SELECT 1")
        else:
            assert await session.select_value("SELECT 2") == 2
    async with config.provide_session() as session:
        assert await session.select_value("SELECT 3") == 3


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config_class", "valid"),
    [
        (AiosqliteConfig, "acquire_timeout"),
        (AsyncpgConfig, "max_inactive_connection_lifetime"),
        (PsycopgAsyncConfig, "conninfo"),
        (AsyncmyConfig, "charset"),
    ],
)
def test_unknown_keys_name_the_valid_ones(config_class: Any, valid: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=f"unknown pool_config key.*{valid}"):
        config_class(pool_config={"databse": "x"})
    with pytest.raises(ImproperConfigurationError, match="portal_timeout"):
        config_class(pool_config={}, portal_timeout=0)


def test_describe_hides_passwords() -> None:
    config = AsyncpgConfig(pool_config={"dsn": "postgresql://u:secret@h/db"})
    assert "secret" not in repr(config)
    config2 = AsyncmyConfig(pool_config={"host": "h", "password": "secret"})
    assert "secret" not in repr(config2)


def test_mysql_script_splitting() -> None:
    script = """
        INSERT INTO t VALUES ('a;b', "c;d", `e;f`);  # comment; here
        -- comment; there
        INSERT INTO t VALUES ('it\\'s;');
        /* block; comment */ ;
        DELETE FROM t
    """
    assert split_mysql_script(script) == (
        "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)",
        "# comment; here\n        -- comment; there\n        INSERT INTO t VALUES ('it\\'s;')",
        "DELETE FROM t",
    )
