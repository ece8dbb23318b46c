"""``init_app`` validates every config's ``extension_config["flask"]`` up front and registers the
plugin; one plugin may serve several apps."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import ITEMS_DDL, add_write_route, in_use, run_sql, tags


def init_with(flask_settings: dict[str, Any]) -> None:
    sqlspec = SQLSpec()
    sqlspec.add_config(SqliteConfig(extension_config={"flask": flask_settings}))
    SQLSpecPlugin(sqlspec, Flask("sqlspec_flask_tests"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"commit_mode": "auto"}, "unknown commit_mode 'auto'"),
        ({"commit_mode": "AUTOCOMMIT"}, "unknown commit_mode 'AUTOCOMMIT'"),
        (
            {
                "commit_mode": "autocommit",
                "extra_commit_statuses": {409, 422},
                "extra_rollback_statuses": {422},
            },
            r"\[422\] are in both",
        ),
        ({"commit_mode": "autocommit", "extra_commit_statuses": {"201"}}, "got '201'"),
        ({"commit_mode": "autocommit", "extra_commit_statuses": {2.5}}, "got 2.5"),
        ({"commit_mode": "autocommit", "extra_commit_statuses": {True}}, "got True"),
        ({"commit_mode": "autocommit", "extra_rollback_statuses": {700}}, "got 700"),
        ({"commit_mode": "autocommit", "extra_commit_statuses": 201}, "got 201"),
        ({"commit_mode": "autocommit", "extra_commit_statuses": "201"}, "got '201'"),
        ({"commit_mod": "autocommit"}, "unknown key.*'commit_mod'"),
        ({"commit_mode": "manual", "extra_commit_statuses": {202}}, "no effect with commit_mode"),
        ({"extra_rollback_statuses": {409}}, "no effect with commit_mode 'manual'"),
        ({"session_key": "my db"}, "session_key must be a Python identifier.*'my db'"),
        ({"session_key": 1}, "session_key must be a Python identifier.*1"),
        ({"connection_key": ""}, "connection_key must be a Python identifier"),
    ],
)
def test_invalid_flask_settings_are_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=message):
        init_with(settings)


def test_valid_settings_are_accepted() -> None:
    init_with(
        {
            "session_key": "db",
            "connection_key": "db_conn",
            "commit_mode": "autocommit_include_redirect",
            "extra_commit_statuses": [202, 418],
            "extra_rollback_statuses": frozenset({301}),
        }
    )


def test_error_names_the_config() -> None:
    with pytest.raises(ImproperConfigurationError, match=r"SqliteConfig\(database=':memory:'\)"):
        init_with({"commit_mode": "sometimes"})


def test_no_config_registered() -> None:
    with pytest.raises(ImproperConfigurationError, match="no database config is registered"):
        SQLSpecPlugin(SQLSpec(), Flask("sqlspec_flask_tests"))


def test_init_app_registers_the_extension(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    sqlite_config()
    app = Flask("sqlspec_flask_tests")
    plugin = SQLSpecPlugin(spec)
    assert "sqlspec" not in app.extensions

    plugin.init_app(app)

    assert app.extensions["sqlspec"] is plugin
    assert plugin.sqlspec is spec
    assert "sqlspec" in app.cli.commands


def test_init_app_twice_on_one_app_raises(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    sqlite_config()
    app = Flask("sqlspec_flask_tests")
    SQLSpecPlugin(spec, app)

    with pytest.raises(ImproperConfigurationError, match="SQLSpec extension already registered"):
        SQLSpecPlugin(spec).init_app(app)


def test_configs_added_after_init_app_are_not_used(
    sqlite_config: MakeConfig, spec: SQLSpec
) -> None:
    sqlite_config("first", session_key="first")
    app = Flask("sqlspec_flask_tests")
    plugin = SQLSpecPlugin(spec, app)
    sqlite_config("late", session_key="late")

    assert plugin.session_keys() == ("first",)


def test_one_plugin_on_two_apps(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    # An app factory with a module-level plugin, called twice.
    config = sqlite_config(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL)
    plugin = SQLSpecPlugin(spec)

    def create_app(name: str) -> Flask:
        app = Flask(name)
        app.testing = True
        plugin.init_app(app)
        add_write_route(app, plugin)
        return app

    first, second = create_app("first"), create_app("second")

    assert first.extensions["sqlspec"] is second.extensions["sqlspec"] is plugin
    assert first.test_client().post("/write/201?tag=first").status_code == 201
    assert second.test_client().post("/write/400?tag=second").status_code == 400
    with first.app_context():
        session = plugin.get_session()
        with second.app_context():
            assert plugin.get_session() is not session  # each app context its own session
    assert tags(config) == ["first"]
    assert in_use(config) == 0
