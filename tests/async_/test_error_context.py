"""Async sessions and the sync facade name the database and the statement in driver errors,
as sync sessions do (never parameter values; the driver's error chained)."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.config import AsyncDatabaseConfig
from sqlspec.exceptions import ProgrammingError
from tests.async_.conftest import Dialect

SECRET = "secret-parameter-value"


async def test_async_session_errors_say_where(
    spec: SQLSpec, config: AsyncDatabaseConfig[Any, Any, Any], dialect: Dialect
) -> None:
    sql = "SELECT * FROM no_such_table WHERE name = ?"
    async with spec.provide_session(config) as db:
        with pytest.raises(ProgrammingError) as info:
            await db.execute(sql, SECRET)
        await db.rollback()
        with pytest.raises(ProgrammingError) as script_info:
            await db.execute_script("SELECT * FROM no_such_table")
    message = str(info.value)
    assert message.endswith(f" ({config.location()}; statement: {sql})")
    assert SECRET not in message
    assert isinstance(info.value.__cause__, dialect.driver_error)
    assert str(script_info.value).endswith("; statement: SELECT * FROM no_such_table)")


def test_sync_facade_errors_say_where(
    spec: SQLSpec, config: AsyncDatabaseConfig[Any, Any, Any]
) -> None:
    sql = "SELECT * FROM no_such_table WHERE name = ?"
    with spec.provide_sync_session(config) as db, pytest.raises(ProgrammingError) as info:
        db.execute(sql, SECRET)
    assert str(info.value).endswith(f" ({config.location()}; statement: {sql})")
    assert SECRET not in str(info.value)
