"""Driver errors say where they happened, on every backend reached every way
(``tests.backends.matrix``): the database (a file as its absolute path, a server's host and
database, never its password) and the statement (shortened, never its parameter values), the
driver's error still chained; a relative SQLite/DuckDB/aiosqlite path is resolved when the
config is made, not at each connect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import ProgrammingError, UniqueViolationError
from tests.backends import BACKENDS, Matrix, params
from tests.servers import PostgresServer

SECRET = "secret-parameter-value"
#: The backends whose database is a local file.
FILE_BACKENDS = tuple(name for name, info in BACKENDS.items() if info.server is None)
SQLITE_BACKENDS = tuple(name for name, info in BACKENDS.items() if info.family == "sqlite")


def test_unknown_table_names_the_database_and_the_statement(
    matrix: Matrix, config: Any, session: Any
) -> None:
    sql = "SELECT * FROM no_such_table WHERE name = ?"
    with pytest.raises(ProgrammingError) as info:
        session.execute(sql, SECRET)
    message = str(info.value)
    assert message.endswith(f" ({config.location()}; statement: {sql})"), message
    assert SECRET not in message
    assert isinstance(info.value.__cause__, matrix.info.driver_error)  # still chained
    assert str(info.value.__cause__).strip() in message  # and the driver's own words first
    session.rollback()
    with pytest.raises(ProgrammingError) as script_info:
        session.execute_script("SELECT * FROM no_such_table")
    assert str(script_info.value).endswith(
        f" ({config.location()}; statement: SELECT * FROM no_such_table)"
    )


def test_file_databases_are_named_by_absolute_path(
    matrix: Matrix, config: Any, session: Any
) -> None:
    if matrix.info.server is not None:
        pytest.skip(f"{matrix.info.name}: a server database has no file path")
    with pytest.raises(ProgrammingError) as info:
        session.execute("SELECT * FROM no_such_table")
    suffix = "test.duckdb" if matrix.info.family == "duckdb" else "test.sqlite"
    path = str(matrix.database.tmp_path / suffix)
    expected = f"{type(config).__name__} database={path!r}; statement:"
    assert expected in str(info.value)


def test_server_databases_are_named_without_the_password(
    matrix: Matrix, config: Any, session: Any
) -> None:
    server = matrix.database.postgres or matrix.database.mariadb
    if server is None:
        pytest.skip(f"{matrix.info.name}: a file database has no server")
    with pytest.raises(ProgrammingError) as info:
        session.execute("SELECT * FROM no_such_table")
    message = str(info.value)
    database = server.dbname if isinstance(server, PostgresServer) else server.database
    assert server.host in message
    assert str(server.port) in message
    assert database in message
    if "conninfo" in config.pool_config:
        assert "host=" in message
        assert "dbname=" in message
    assert "password=" not in message.replace("password=***", "")


def test_constraint_errors_and_scripts_say_where_too(config: Any, session: Any) -> None:
    session.execute("CREATE TABLE uniq (code VARCHAR(10) UNIQUE)")
    insert = "INSERT INTO uniq (code) VALUES (?)"
    session.execute(insert, "A")
    with pytest.raises(UniqueViolationError) as info:
        session.execute(insert, "A")
    # What sqlspec adds is exactly this (the database's own text before it may quote values).
    assert str(info.value).endswith(f" ({config.location()}; statement: {insert})")
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


@pytest.mark.parametrize("name", params(*FILE_BACKENDS))
def test_relative_paths_are_resolved_when_the_config_is_made(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_class = BACKENDS[name].config_class
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
        with spec.provide_sync_session(config) as db:
            db.execute("CREATE TABLE t (x INTEGER)")
            db.commit()
    finally:
        spec.close_all_pools()
    assert (home / "data.db").exists()
    assert os.listdir(elsewhere) == []


#: Databases that are not file paths, by family: kept as given.
NOT_PATHS = {"sqlite": (":memory:", ""), "duckdb": (":memory:", ":memory:named")}


@pytest.mark.parametrize(
    ("name", "database"),
    [
        pytest.param(name, database, id=f"{name}-{database}")
        for name in FILE_BACKENDS
        for database in NOT_PATHS[BACKENDS[name].family]
    ],
)
def test_memory_databases_and_uris_are_kept_as_given(name: str, database: str) -> None:
    config = BACKENDS[name].config_class(pool_config={"database": database})
    assert config.database_path == database


@pytest.mark.parametrize("name", params(*SQLITE_BACKENDS))
def test_sqlite_uris_are_kept_as_given(name: str, tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'u.db'}?mode=rwc"
    spec = SQLSpec()
    config = spec.add_config(
        BACKENDS[name].config_class(pool_config={"database": uri, "uri": True})
    )
    assert config.database_path == uri
    try:
        with spec.provide_sync_session(config) as db:
            assert db.select_value("SELECT 1") == 1
    finally:
        spec.close_all_pools()
    assert (tmp_path / "u.db").exists()
