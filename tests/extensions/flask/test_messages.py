"""Flask configuration mistakes explain their cause and the fix: a config added after the
plugin was initialised, two configs left on the default session key, and the CLI's pool
statistics being its own process's."""

from __future__ import annotations

import re

import pytest

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ImproperConfigurationError
from tests.extensions.flask.helpers import new_app


def test_config_added_after_init_app_is_explained(spec: SQLSpec) -> None:
    spec.add_config(SqliteConfig(extension_config={"flask": {"session_key": "users"}}))
    app, plugin = new_app(spec)
    spec.add_config(DuckDBConfig(extension_config={"flask": {"session_key": "events"}}))

    with app.app_context(), pytest.raises(ImproperConfigurationError) as info:
        plugin.get_session("events")
    message = str(info.value)
    assert message.startswith("unknown session key 'events'; known keys: 'users'.")
    assert "DuckDBConfig(database=':memory:') (session key 'events') was registered after" in (
        message
    )
    assert "the plugin reads the configs at init_app()" in message
    assert "before SQLSpecPlugin(sqlspec, app)" in message
    assert "plugin.init_app(app) after the last add_config()" in message


def test_unknown_key_without_late_configs_says_where_keys_come_from(spec: SQLSpec) -> None:
    spec.add_config(SqliteConfig(extension_config={"flask": {"session_key": "users"}}))
    app, plugin = new_app(spec)

    with app.app_context(), pytest.raises(ImproperConfigurationError) as info:
        plugin.get_session("usres")
    message = str(info.value)
    assert message.startswith("unknown session key 'usres'; known keys: 'users'.")
    assert "extension_config={'flask': {'session_key': ...}}" in message
    assert "registered after" not in message


def test_two_configs_on_the_default_key_are_named(spec: SQLSpec) -> None:
    spec.add_config(SqliteConfig(pool_config={"database": "users.db"}))
    spec.add_config(DuckDBConfig())

    with pytest.raises(ImproperConfigurationError) as info:
        new_app(spec)
    message = str(info.value)
    # Only the key the user would have written: not the derived 'default_connection'.
    assert message.startswith("Duplicate state keys found: 'default'. ")
    assert "default_connection" not in message.partition("Give each")[0]
    assert re.search(
        r"'default' is used by SqliteConfig\(database='/[^']*users\.db'\) \(session_key by "
        r"default\) and DuckDBConfig\(database=':memory:'\) \(session_key by default\)",
        message,
    ), message
    assert 'Give each config a unique extension_config={"flask": {"session_key": ...}}' in message


def test_a_session_key_clashing_with_a_connection_key_names_both(spec: SQLSpec) -> None:
    spec.add_config(SqliteConfig(extension_config={"flask": {"session_key": "db"}}))
    spec.add_config(DuckDBConfig(extension_config={"flask": {"connection_key": "db"}}))

    with pytest.raises(ImproperConfigurationError) as info:
        new_app(spec)
    assert (
        "'db' is used by SqliteConfig(database=':memory:') (session_key) and "
        "DuckDBConfig(database=':memory:') (connection_key)"
    ) in str(info.value)


def test_cli_configs_says_its_statistics_are_its_own_process(spec: SQLSpec) -> None:
    spec.add_config(SqliteConfig())
    app, _ = new_app(spec)

    result = app.test_cli_runner().invoke(args=["sqlspec", "configs"])

    assert result.exit_code == 0, result.output
    note = result.output.splitlines()[-1]
    assert "this flask command's own process, not a running server's" in note
    assert "plugin.pool_stats()" in note
