"""The backend matrix itself: its dialect facts match the adapters, and every fixture it offers
opens a working database (so a fact or a fixture that drifted fails here, not in a contract
test far away)."""

from __future__ import annotations

from typing import Any

from sqlspec import SQLSpec
from tests.backends import ASYNC_NAMES, BACKENDS, SYNC_NAMES, Database, Matrix


def test_seven_backends_three_sync_four_async() -> None:
    assert set(BACKENDS) == {
        "sqlite",
        "duckdb",
        "psycopg",
        "psycopg_async",
        "asyncpg",
        "aiosqlite",
        "asyncmy",
    }
    assert SYNC_NAMES == ("sqlite", "duckdb", "psycopg")
    assert set(ASYNC_NAMES) == {"psycopg_async", "asyncpg", "aiosqlite", "asyncmy"}


def test_placeholder_fact_is_the_drivers_style() -> None:
    for info in BACKENDS.values():
        style = info.config_class.driver_type.parameter_style
        assert style.name == info.placeholder, info.name


def test_backend_fixture_opens_a_working_database(backend: Database, spec: SQLSpec) -> None:
    config = spec.add_config(backend.config())
    assert type(config) is backend.info.config_class
    with config.provide_sync_session() as session:
        backend.info.serial_table(session, "facts", "v INTEGER")
        session.execute("INSERT INTO facts (v) VALUES (?)", 1)
        assert session.select_value("SELECT id FROM facts") == 1
        same = backend.info.null_safe_equal
        assert session.select_value(f"SELECT count(*) FROM facts WHERE v {same} ?", None) == 0


def test_session_fixture_has_the_sync_api(matrix: Matrix, session: Any) -> None:
    assert session.select_value("SELECT 1") == 1
    expected = {"sync": "Driver", "portal": "PortalSession", "native": "NativeSession"}
    assert type(session).__name__.endswith(expected[matrix.mode])


async def test_async_config_fixture_serves_async_sessions(async_config: Any) -> None:
    async with async_config.provide_session() as session:
        assert await session.select_value("SELECT 1") == 1
    assert session.closed
