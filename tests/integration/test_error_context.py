"""Driver errors say where they happened: the database (a file as its absolute path, a server's
host and database) and the statement (shortened, never its parameter values); a relative
SQLite/DuckDB path is resolved when the config is made, not at each connect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import SyncDatabaseConfig
from sqlspec.exceptions import ProgrammingError, UniqueViolationError
from tests.integration.conftest import Dialect, only

SECRET = "secret-parameter-value"


def test_unknown_table_names_the_database_and_the_statement(
    session: Any, sync_config: SyncDatabaseConfig[Any, Any, Any], dialect: Dialect
) -> None:
    sql = "SELECT * FROM no_such_table WHERE name = ?"
    with pytest.raises(ProgrammingError) as info:
        session.execute(sql, SECRET)
    message = str(info.value)
    assert f"({sync_config.location()}; statement: {sql})" in message
    assert SECRET not in message
    assert isinstance(info.value.__cause__, dialect.driver_error)  # still chained
    assert str(info.value.__cause__).strip() in message  # and the driver's own words first


@only("sqlite", "duckdb")
def test_file_databases_are_named_by_absolute_path(
    session: Any, sync_config: SyncDatabaseConfig[Any, Any, Any], tmp_path: Path
) -> None:
    with pytest.raises(ProgrammingError) as info:
        session.execute("SELECT * FROM no_such_table")
    suffix = "test.sqlite" if isinstance(sync_config, SqliteConfig) else "test.duckdb"
    expected = f"{type(sync_config).__name__} database={str(tmp_path / suffix)!r}; statement:"
    assert expected in str(info.value)


@only("postgres")
def test_server_databases_are_named_without_the_password(
    session: Any, sync_config: SyncDatabaseConfig[Any, Any, Any]
) -> None:
    with pytest.raises(ProgrammingError) as info:
        session.execute("SELECT * FROM no_such_table")
    message = str(info.value)
    assert "host=" in message
    assert "dbname=" in message
    assert "password=" not in message.replace("password=***", "")


def test_constraint_errors_and_scripts_say_where_too(
    session: Any, sync_config: SyncDatabaseConfig[Any, Any, Any]
) -> None:
    session.execute("CREATE TABLE uniq (code VARCHAR(10) UNIQUE)")
    insert = "INSERT INTO uniq (code) VALUES (?)"
    session.execute(insert, "A")
    with pytest.raises(UniqueViolationError) as info:
        session.execute(insert, "A")
    # What sqlspec adds is exactly this (the database's own text before it may quote values).
    assert str(info.value).endswith(f" ({sync_config.location()}; statement: {insert})")
    session.rollback()
    with pytest.raises(ProgrammingError) as script_info:
        session.execute_script("CREATE TABLE fine (x INTEGER); SELECT * FROM no_such_table")
    assert "statement: CREATE TABLE fine (x INTEGER); SELECT * FROM no_such_table)" in str(
        script_info.value
    )


def test_long_statements_are_shortened_and_whitespace_folded(session: Any) -> None:
    sql = "SELECT *\n    FROM no_such_table\n    WHERE " + " OR ".join(
        f"column_{i} = ?" for i in range(60)
    )
    with pytest.raises(ProgrammingError) as info:
        session.execute(sql, *range(60))
    statement = str(info.value).rpartition("statement: ")[2]
    assert statement.startswith("SELECT * FROM no_such_table WHERE column_0 = ? OR")
    assert statement.endswith("...)")
    assert len(statement) <= 201


@pytest.mark.parametrize("config_class", [SqliteConfig, DuckDBConfig])
def test_relative_paths_are_resolved_when_the_config_is_made(
    config_class: type[SqliteConfig] | type[DuckDBConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "app"
    elsewhere = tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(home)
    spec = SQLSpec()
    config = spec.add_config(config_class(pool_config={"database": "data.db"}))
    assert config.database_path == str(home / "data.db")
    assert config.pool_config["database"] == "data.db"  # what the user gave is kept
    assert f"database={str(home / 'data.db')!r}" in config.describe()
    monkeypatch.chdir(elsewhere)  # e.g. a server that changes directory after start-up
    try:
        with spec.provide_session(config) as db:
            db.execute("CREATE TABLE t (x INTEGER)")
            db.commit()
    finally:
        spec.close_all_pools()
    assert (home / "data.db").exists()
    assert os.listdir(elsewhere) == []


@pytest.mark.parametrize(
    ("config_class", "database"),
    [
        (SqliteConfig, ":memory:"),
        (SqliteConfig, ""),
        (DuckDBConfig, ":memory:"),
        (DuckDBConfig, ":memory:named"),
    ],
)
def test_memory_databases_and_uris_are_kept_as_given(
    config_class: type[SqliteConfig] | type[DuckDBConfig], database: str
) -> None:
    config = config_class(pool_config={"database": database})
    assert config.database_path == database


def test_sqlite_uris_are_kept_as_given(tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'u.db'}?mode=rwc"
    spec = SQLSpec()
    config = spec.add_config(SqliteConfig(pool_config={"database": uri, "uri": True}))
    assert config.database_path == uri
    try:
        with spec.provide_session(config) as db:
            assert db.select_value("SELECT 1") == 1
    finally:
        spec.close_all_pools()
    assert (tmp_path / "u.db").exists()
