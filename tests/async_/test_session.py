"""What only async adapters have: a pool bound to its event loop, cancelled statements, and the
async configs' checks. The session API every backend shares is in ``tests/contract/``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig, split_mysql_script
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig
from sqlspec.exceptions import (
    ImproperConfigurationError,
    SQLSpecError,
)
from tests.async_.conftest import Dialect, MakeConfig

# -- the event loop ------------------------------------------------------------------------------


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
