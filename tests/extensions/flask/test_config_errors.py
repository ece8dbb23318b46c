"""Mistakes in ``extension_config`` are refused when the config is made, naming the mistake and
its fix, so that a typo can never silently turn the Flask settings off (and lose every write)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import EXTENSION_SETTINGS, FlaskConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin


def refused(extension_config: Any) -> str:
    with pytest.raises(ImproperConfigurationError) as error:
        SqliteConfig(pool_config={"database": ":memory:"}, extension_config=extension_config)
    return str(error.value)


def test_misspelt_extension_name_suggests_the_right_one() -> None:
    message = refused({"flsk": {"commit_mode": "autocommit"}})
    assert "unknown extension 'flsk'" in message
    assert "did you mean 'flask'?" in message
    assert message.startswith("SqliteConfig:")


@pytest.mark.parametrize("name", ["Flask", "FLASK", "flaks", "flask_"])
def test_close_misspellings_all_suggest_flask(name: str) -> None:
    assert "did you mean 'flask'?" in refused({name: {}})


def test_unknown_extension_lists_the_known_ones() -> None:
    message = refused({"django": {}})
    assert "unknown extension 'django'" in message
    assert "known extensions: 'flask'" in message
    assert "did you mean" not in message


def test_flask_setting_at_the_top_level_says_where_it_belongs() -> None:
    # Used to crash with a bare ValueError ("dictionary update sequence element ...").
    message = refused({"commit_mode": "autocommit"})
    assert "'commit_mode' is a setting of the flask extension" in message
    assert "extension_config={'flask': {'commit_mode': 'autocommit'}}" in message


def test_every_misplaced_flask_setting_is_moved_in_the_hint() -> None:
    message = refused({"commit_mode": "autocommit", "session_key": "db"})
    assert "extension_config={'flask': {'commit_mode': 'autocommit', 'session_key': 'db'}}" in (
        message
    )


def test_misspelt_flask_setting_at_the_top_level() -> None:
    message = refused({"comit_mode": "autocommit"})
    assert "unknown extension 'comit_mode'" in message
    assert "did you mean the flask setting 'commit_mode'?" in message
    assert "extension_config={'flask': {'commit_mode': ...}}" in message


@pytest.mark.parametrize("value", ["autocommit", ["commit_mode"], 1, None])
def test_flask_settings_must_be_a_mapping(value: Any) -> None:
    message = refused({"flask": value})
    assert "extension_config['flask'] must be a mapping of the flask extension's settings" in (
        message
    )
    assert f"got {type(value).__name__} {value!r}" in message


def test_extension_config_must_be_a_mapping() -> None:
    assert "extension_config must be a mapping like {'flask': {...}}, got list" in refused(
        [("flask", {})]
    )


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("comit_mode", "commit_mode"),
        ("commitmode", "commit_mode"),
        ("session", "session_key"),
        ("extra_commit_status", "extra_commit_statuses"),
        ("Connection_Key", "connection_key"),
    ],
)
def test_unknown_flask_key_is_refused_at_construction_with_a_close_match(
    key: str, suggestion: str
) -> None:
    message = refused({"flask": {key: "x"}})
    assert f"extension_config['flask']: unknown key(s) {key!r}" in message
    assert f"(did you mean {suggestion!r}?)" in message
    assert "valid keys are commit_mode, connection_key" in message


def test_unknown_flask_key_without_a_close_match_lists_the_valid_ones() -> None:
    message = refused({"flask": {"zzz": 1}})
    assert "unknown key(s) 'zzz'; valid keys are" in message


def test_unknown_flask_key_added_after_construction_is_refused_at_init_app() -> None:
    spec = SQLSpec()
    config = spec.add_config(SqliteConfig(extension_config={"flask": {}}))
    config.extension_config["flask"]["comit_mode"] = "autocommit"
    with pytest.raises(
        ImproperConfigurationError,
        match=re.escape("unknown key(s) 'comit_mode' (did you mean 'commit_mode'?)"),
    ):
        SQLSpecPlugin(spec, Flask("sqlspec_flask_tests"))


def test_misspelt_commit_mode_value_suggests_the_mode() -> None:
    spec = SQLSpec()
    spec.add_config(SqliteConfig(extension_config={"flask": {"commit_mode": "autocomit"}}))
    with pytest.raises(
        ImproperConfigurationError,
        match=re.escape("unknown commit_mode 'autocomit' (did you mean 'autocommit'?)"),
    ):
        SQLSpecPlugin(spec, Flask("sqlspec_flask_tests"))


def test_valid_extension_config_is_copied() -> None:
    given: dict[str, Any] = {"flask": {"commit_mode": "autocommit", "session_key": "db"}}
    config = SqliteConfig(extension_config=given)
    assert config.extension_config == given
    assert config.extension_config["flask"] is not given["flask"]
    assert SqliteConfig(extension_config={}).extension_config == {}
    assert SqliteConfig().extension_config == {}


def test_the_known_flask_keys_are_those_of_flask_config() -> None:
    assert EXTENSION_SETTINGS["flask"] is FlaskConfig
    every_key = {
        "session_key": "db",
        "connection_key": "db_conn",
        "commit_mode": "autocommit",
        "extra_commit_statuses": {202},
        "extra_rollback_statuses": {409},
        "record_queries": True,
        "record_parameters": False,
        "enable_correlation_middleware": True,
        "correlation_header": "X-Correlation-ID",
    }
    assert set(every_key) == set(FlaskConfig.__annotations__)
    SqliteConfig(extension_config={"flask": every_key})
