"""Pool statistics for health checks, and statement logging labelled with the Flask endpoint.

The pool statistics run on the sync adapters (the conftest's default backends); statement logging
runs on every adapter (``ALL_BACKENDS``), sync and async.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Blueprint, Flask

from sqlspec import SQLSpec
from sqlspec.adapters.psycopg import PsycopgConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import ALL_BACKENDS, new_app

STAT_KEYS = {"size", "in_use", "idle", "waiting", "max_size"}
on_all_backends = pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)


def test_pool_stats_for_a_health_endpoint(make_config: MakeConfig, spec: SQLSpec) -> None:
    make_config("main", session_key="main")
    make_config("other", session_key="other")
    app, plugin = new_app(spec)

    @app.route("/health")
    def health() -> dict[str, Any]:
        plugin.get_session("main").select_value("SELECT 1")
        return {"pools": plugin.pool_stats()}

    response = app.test_client().get("/health")

    pools = response.json["pools"]
    assert set(pools) == {"main", "other"}
    assert set(pools["main"]) == STAT_KEYS
    assert (pools["main"]["size"], pools["main"]["in_use"]) == (1, 1)
    assert pools["other"] == {**dict.fromkeys(STAT_KEYS, 0), "max_size": pools["other"]["max_size"]}
    assert pools["other"]["max_size"] > 0
    assert plugin.pool_stats()["main"]["in_use"] == 0


@pytest.mark.postgres
def test_psycopg_in_use_counts_borrowed_connections(pg_pool_config: dict[str, Any]) -> None:
    config = PsycopgConfig(pool_config={**pg_pool_config, "min_size": 1})
    try:
        seen = []
        for _ in range(30):  # fresh pools: their first connection is often still opening
            with config.provide_session() as session:
                session.select_value("SELECT 1")
                seen.append(config.pool_stats().in_use)
            config.close_pool()
        assert set(seen) == {1}
    finally:
        config.close_pool()


AppAndPlugin = tuple[Flask, SQLSpecPlugin]


@pytest.fixture
def app_on_backend(make_config: MakeConfig, spec: SQLSpec) -> AppAndPlugin:
    """An app with the plugin on one config of the test's backend (default settings)."""
    make_config()
    return new_app(spec)


def select_outside_a_request(app_on_backend: AppAndPlugin) -> None:
    """One statement in an app context (a CLI command or a script), outside any request."""
    app, plugin = app_on_backend
    with app.app_context():
        plugin.get_session().select_value("SELECT 1")


def statement_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sqlspec.statements"]


@on_all_backends
def test_statements_are_logged_with_the_endpoint(
    app_on_backend: AppAndPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    app, plugin = app_on_backend

    @app.route("/answer")
    def answer_endpoint() -> str:
        return str(plugin.get_session().select_value("SELECT 6 * ?", 7))

    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    assert app.test_client().get("/answer").data == b"42"

    [record] = statement_records(caplog)
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert "[answer_endpoint]" in message
    assert "SELECT 6 * ?" in message
    assert "7" not in message.split("SELECT 6 * ?")[1]  # values are never logged
    assert record.sqlspec_context == "answer_endpoint"  # type: ignore[attr-defined]


@on_all_backends
def test_blueprint_endpoint_is_logged(
    app_on_backend: AppAndPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    app, plugin = app_on_backend
    reports = Blueprint("reports", __name__)

    @reports.route("/daily")
    def daily() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    app.register_blueprint(reports)
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    app.test_client().get("/daily")

    assert "[reports.daily]" in statement_records(caplog)[0].getMessage()


@on_all_backends
def test_statements_outside_a_request_have_no_endpoint(
    app_on_backend: AppAndPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")

    select_outside_a_request(app_on_backend)

    assert "[-]" in statement_records(caplog)[0].getMessage()


@on_all_backends
def test_nothing_is_logged_at_info(
    app_on_backend: AppAndPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sqlspec")

    select_outside_a_request(app_on_backend)

    assert statement_records(caplog) == []
