"""Configuration validation and the SQLSpec registry."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sqlspec import FlaskConfig, ImproperConfigurationError, SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgConfig
from sqlspec.adapters.sqlite import SqliteConfig
from tests.integration.conftest import Dialect
from tests.servers import PostgresServer

CONFIG_CLASSES = {"sqlite": SqliteConfig, "duckdb": DuckDBConfig, "postgres": PsycopgConfig}


@pytest.mark.parametrize("name", list(CONFIG_CLASSES))
def test_unknown_pool_key_is_named_with_the_valid_ones(name: str) -> None:
    config_class = CONFIG_CLASSES[name]
    with pytest.raises(ImproperConfigurationError) as error:
        config_class(pool_config={"max_size": 2, "databse_typo": "x"})
    message = str(error.value)
    assert "databse_typo" in message
    assert "max_size" in message  # the valid keys are listed
    assert config_class.__name__ in message or "Psycopg" in message


@pytest.mark.parametrize("name", list(CONFIG_CLASSES))
def test_unknown_driver_feature_is_refused(name: str) -> None:
    with pytest.raises(ImproperConfigurationError, match="no_such_feature"):
        CONFIG_CLASSES[name](driver_features={"no_such_feature": True})


@pytest.mark.parametrize("name", list(CONFIG_CLASSES))
def test_pool_config_and_connection_config_together_are_refused(name: str) -> None:
    with pytest.raises(ImproperConfigurationError, match="pool_config"):
        CONFIG_CLASSES[name](pool_config={"max_size": 2}, connection_config={"max_size": 2})


@pytest.mark.parametrize("name", ["sqlite", "duckdb"])
def test_invalid_pool_size_is_refused(name: str) -> None:
    with pytest.raises(ImproperConfigurationError, match="max_size"):
        CONFIG_CLASSES[name](pool_config={"max_size": 0})


def _settings(dialect: Dialect, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if dialect.is_sqlite:
        return {"database": str(tmp_path / "c.sqlite"), "max_size": 2, "timeout": 5.0}
    if dialect.is_duckdb:
        return {"database": str(tmp_path / "c.duckdb"), "config": {"threads": 1}, "max_size": 2}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {"conninfo": server.conninfo, "min_size": 1, "max_size": 2, "timeout": 5.0}


def test_callers_dicts_are_not_mutated(
    spec: SQLSpec, dialect: Dialect, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pool_config = _settings(dialect, request, tmp_path)
    extension_config = {"flask": {"commit_mode": "autocommit", "extra_commit_statuses": {201}}}
    driver_features: dict[str, Any] = (
        {"pragmas": {"journal_mode": "wal"}} if dialect.is_sqlite else {}
    )
    given = copy.deepcopy((pool_config, extension_config, driver_features))
    config = CONFIG_CLASSES[dialect.name](
        pool_config=pool_config,
        extension_config=extension_config,
        driver_features=driver_features,
    )
    spec.add_config(config)
    with spec.provide_session(config) as session:
        assert session.select_value("SELECT 40 + ?", 2) == 42
    config.close_pool()
    assert (pool_config, extension_config, driver_features) == given
    # Nor does a later change to the caller's dict reach the config.
    pool_config["max_size"] = 99
    assert config.pool_config["max_size"] == 2


def test_connection_config_is_an_alias(
    spec: SQLSpec, dialect: Dialect, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = _settings(dialect, request, tmp_path)
    config = spec.add_config(CONFIG_CLASSES[dialect.name](connection_config=settings))
    assert config.pool_config == settings
    assert config.connection_config == settings
    assert config.max_pool_size() == 2
    with spec.provide_session(config) as session:
        assert session.select_value("SELECT 1") == 1
    assert config.pool_stats().max_size == 2


def test_guide_sqlite_config_is_accepted(tmp_path: Path) -> None:
    spec = SQLSpec()
    config = spec.add_config(
        SqliteConfig(
            pool_config={
                "database": str(tmp_path / "app.db"),
                "check_same_thread": False,
                "timeout": 30.0,
            },
            extension_config={
                "flask": FlaskConfig(
                    connection_key="db_connection",
                    session_key="db",
                    commit_mode="autocommit",
                    extra_commit_statuses={201, 204},
                    extra_rollback_statuses={409, 422},
                )
            },
        )
    )
    try:
        with spec.provide_session(config) as session:
            session.execute(
                "CREATE TABLE IF NOT EXISTS users "
                "(id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE)"
            )
            user_id = session.execute(
                "INSERT INTO users (email) VALUES (?) RETURNING id", ("a@example.com",)
            ).scalar()
            session.connection.commit()
        with spec.provide_session(config) as session:
            user = session.execute("SELECT * FROM users WHERE id = ?", (user_id,)).get_first()
            assert dict(user) == {"id": user_id, "email": "a@example.com"}
            assert session.execute("SELECT * FROM users").all() == [user]
    finally:
        spec.close_all_pools()


def test_add_config_returns_the_instance() -> None:
    spec = SQLSpec()
    config = SqliteConfig()
    assert spec.add_config(config) is config
    assert spec.add_config(config) is config  # registering twice is harmless
    assert spec.configs == (config,)
    spec.close_all_pools()


def test_two_sqlite_configs_coexist(tmp_path: Path) -> None:
    spec = SQLSpec()
    first = spec.add_config(SqliteConfig(pool_config={"database": str(tmp_path / "1.db")}))
    second = spec.add_config(SqliteConfig(pool_config={"database": str(tmp_path / "2.db")}))
    try:
        assert spec.configs == (first, second)
        with spec.provide_session(first) as session:
            session.execute("CREATE TABLE one (a INTEGER)")
            session.commit()
        with spec.provide_session(second) as session:
            session.execute("CREATE TABLE two (a INTEGER)")
            session.commit()
        with spec.provide_session(first) as session:
            tables = session.select("SELECT name FROM sqlite_master WHERE type = 'table'")
            assert tables == [{"name": "one"}]
        with spec.provide_session(second) as session:
            tables = session.select("SELECT name FROM sqlite_master WHERE type = 'table'")
            assert tables == [{"name": "two"}]
    finally:
        spec.close_all_pools()


def test_provide_session_by_class(tmp_path: Path) -> None:
    spec = SQLSpec()
    try:
        with pytest.raises(ImproperConfigurationError, match="SqliteConfig"):
            spec.provide_session(SqliteConfig)
        only_one = spec.add_config(SqliteConfig(pool_config={"database": str(tmp_path / "a.db")}))
        spec.add_config(DuckDBConfig())
        with spec.provide_session(SqliteConfig) as session:
            assert session.config is only_one
            assert session.select_value("SELECT 1") == 1
        with spec.provide_connection(SqliteConfig) as conn:
            assert conn.execute("SELECT 2").fetchone() == (2,)
        assert spec.get_config(SqliteConfig) is only_one
        spec.add_config(SqliteConfig(pool_config={"database": str(tmp_path / "b.db")}))
        with pytest.raises(ImproperConfigurationError, match="2 SqliteConfig") as error:
            spec.provide_session(SqliteConfig)
        assert "instance" in str(error.value)  # it says what to do instead
    finally:
        spec.close_all_pools()


def test_add_config_refuses_a_class() -> None:
    spec = SQLSpec()
    with pytest.raises(ImproperConfigurationError, match="SqliteConfig"):
        spec.add_config(SqliteConfig)  # type: ignore[arg-type]
    with pytest.raises(ImproperConfigurationError):
        spec.add_config({"database": ":memory:"})  # type: ignore[arg-type]
    assert spec.configs == ()


def test_unregistered_config_is_refused() -> None:
    spec = SQLSpec()
    with pytest.raises(ImproperConfigurationError, match="not registered"):
        spec.provide_session(SqliteConfig())


def test_sqlite_pragmas_apply_to_every_connection(tmp_path: Path) -> None:
    spec = SQLSpec()
    config = spec.add_config(
        SqliteConfig(
            pool_config={"database": str(tmp_path / "p.db"), "max_size": 2},
            driver_features={"pragmas": {"journal_mode": "wal", "foreign_keys": "off"}},
        )
    )
    try:
        with spec.provide_session(config) as one, spec.provide_session(config) as two:
            for session in (one, two):
                assert session.select_value("PRAGMA journal_mode") == "wal"
                assert session.select_value("PRAGMA foreign_keys") == 0
        default = spec.add_config(SqliteConfig(pool_config={"database": str(tmp_path / "d.db")}))
        with spec.provide_session(default) as session:
            assert session.select_value("PRAGMA foreign_keys") == 1
    finally:
        spec.close_all_pools()


@pytest.mark.parametrize(
    "pragmas",
    [{"journal_mode": "wal; DROP TABLE x"}, {"journal mode": "wal"}, {"x": "1'"}],
)
def test_sqlite_unsafe_pragmas_are_refused(pragmas: dict[str, str]) -> None:
    with pytest.raises(ImproperConfigurationError, match="pragma"):
        SqliteConfig(driver_features={"pragmas": pragmas})


@pytest.mark.parametrize(
    ("name", "key", "suggestion"),
    [
        ("sqlite", "databse", "database"),
        ("sqlite", "max_szie", "max_size"),
        ("duckdb", "read_onl", "read_only"),
        ("postgres", "conninf", "conninfo"),
        ("postgres", "Max_Size", "max_size"),
    ],
)
def test_unknown_pool_key_suggests_the_close_match(name: str, key: str, suggestion: str) -> None:
    with pytest.raises(ImproperConfigurationError) as error:
        CONFIG_CLASSES[name](pool_config={key: 1})
    assert f"unknown pool_config key(s) {key!r} (did you mean {suggestion!r}?)" in str(error.value)


def test_unknown_driver_feature_suggests_the_close_match() -> None:
    with pytest.raises(ImproperConfigurationError) as error:
        SqliteConfig(driver_features={"pragma": {"journal_mode": "wal"}})
    assert "unknown driver_features key(s) 'pragma' (did you mean 'pragmas'?)" in str(error.value)


def test_unknown_key_without_a_close_match_gets_no_suggestion() -> None:
    with pytest.raises(ImproperConfigurationError) as error:
        SqliteConfig(pool_config={"zzzz": 1})
    assert "did you mean" not in str(error.value)
