"""The import paths the Flask guide and the README use, and every module's ``__all__``."""

from __future__ import annotations

import importlib

import pytest

PUBLIC_MODULES = [
    "sqlspec",
    "sqlspec.config",
    "sqlspec.exceptions",
    "sqlspec.result",
    "sqlspec.driver",
    "sqlspec.async_driver",
    "sqlspec.pool",
    "sqlspec.portal",
    "sqlspec.protocols",
    "sqlspec.statement",
    "sqlspec.testing",
    "sqlspec.adapters.sqlite",
    "sqlspec.adapters.duckdb",
    "sqlspec.adapters.psycopg",
    "sqlspec.adapters.aiosqlite",
    "sqlspec.adapters.asyncpg",
    "sqlspec.adapters.asyncmy",
    "sqlspec.extensions.flask",
    "sqlspec.extensions.flask.debugtoolbar",
    "sqlspec.extensions.opentelemetry",
    "sqlspec.observe",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize(
    ("module_name", "name"),
    [
        ("sqlspec", "SQLSpec"),
        ("sqlspec.config", "FlaskConfig"),
        ("sqlspec.extensions.flask", "SQLSpecPlugin"),
        ("sqlspec.adapters.sqlite", "SqliteConfig"),
        ("sqlspec.adapters.duckdb", "DuckDBConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgSyncConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgAsyncConfig"),
        ("sqlspec.adapters.asyncpg", "AsyncpgConfig"),
        ("sqlspec.adapters.aiosqlite", "AiosqliteConfig"),
        ("sqlspec.adapters.asyncmy", "AsyncmyConfig"),
        ("sqlspec.extensions.flask", "RecordedQuery"),
        ("sqlspec.extensions.flask", "QueryCount"),
        ("sqlspec.extensions.flask.debugtoolbar", "SQLSpecPanel"),
        ("sqlspec.extensions.opentelemetry", "SQLSpecInstrumentor"),
    ],
)
def test_guide_import_paths(module_name: str, name: str) -> None:
    assert name in importlib.import_module(module_name).__all__


def test_psycopg_config_is_the_sync_config() -> None:
    from sqlspec.adapters.psycopg import PsycopgConfig, PsycopgSyncConfig

    assert PsycopgConfig is PsycopgSyncConfig


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("sqlspec").joinpath("py.typed").is_file()
