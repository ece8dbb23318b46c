"""Pool statistics for health checks, and statement logging labelled with the Flask endpoint."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Blueprint

from sqlspec import SQLSpec
from sqlspec.adapters.psycopg import PsycopgConfig
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import new_app

STAT_KEYS = {"size", "in_use", "idle", "waiting", "max_size"}


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


def statement_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sqlspec.statements"]


def test_statements_are_logged_with_the_endpoint(
    sqlite_config: MakeConfig, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_config()
    app, plugin = new_app(spec)

    @app.route("/answer")
    def answer_endpoint() -> str:
        return str(plugin.get_session().select_value("SELECT 6 * ?", 7))

    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    assert app.test_client().get("/answer").data == b"42"

    [record] = statement_records(caplog)
    assert record.levelno == logging.DEBUG
    assert "[answer_endpoint]" in record.getMessage()
    assert "SELECT 6 * ?" in record.getMessage()
    assert "7" not in record.getMessage().split("SELECT 6 * ?")[1]  # values are never logged
    assert record.sqlspec_context == "answer_endpoint"  # type: ignore[attr-defined]


def test_blueprint_endpoint_is_logged(
    sqlite_config: MakeConfig, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_config()
    app, plugin = new_app(spec)
    reports = Blueprint("reports", __name__)

    @reports.route("/daily")
    def daily() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    app.register_blueprint(reports)
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    app.test_client().get("/daily")

    assert "[reports.daily]" in statement_records(caplog)[0].getMessage()


def test_statements_outside_a_request_have_no_endpoint(
    sqlite_config: MakeConfig, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_config()
    app, plugin = new_app(spec)
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")

    with app.app_context():
        plugin.get_session().select_value("SELECT 1")

    assert "[-]" in statement_records(caplog)[0].getMessage()


def test_nothing_is_logged_at_info(
    sqlite_config: MakeConfig, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite_config()
    app, plugin = new_app(spec)
    caplog.set_level(logging.INFO, logger="sqlspec")

    with app.app_context():
        plugin.get_session().select_value("SELECT 1")

    assert statement_records(caplog) == []
