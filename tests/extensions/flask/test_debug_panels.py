"""The Flask-DebugToolbar panel, the slow-statement log and the request id (correlation
middleware), on SQLite, PostgreSQL (psycopg, and asyncpg through the portal) and DuckDB."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask_debugtoolbar import DebugToolbarExtension

from sqlspec.config import StatementConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.helpers import new_app
from tests.extensions.observed import ObservedDB, observed_db

__all__ = ("observed_db",)

PANEL = "sqlspec.extensions.flask.debugtoolbar.SQLSpecPanel"


def statement_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sqlspec.statements"]


# -- the toolbar panel ----------------------------------------------------------------------------


def toolbar_app(observed_db: ObservedDB) -> tuple[Flask, SQLSpecPlugin]:
    app = Flask(__name__)
    app.debug = True  # records by default, and the toolbar's default too
    app.config.update(SECRET_KEY="test", DEBUG_TB_PANELS=[PANEL])
    plugin = SQLSpecPlugin(observed_db.spec, app)  # type: ignore[arg-type]
    DebugToolbarExtension(app)
    return app, plugin


def test_the_panel_lists_the_requests_statements(observed_db: ObservedDB) -> None:
    observed_db.make(session_key="main")
    app, plugin = toolbar_app(observed_db)

    @app.get("/page")
    def page_view() -> str:
        db = plugin.get_session()
        db.select_value("SELECT 40 + 2")
        db.select_value("SELECT CAST(? AS INTEGER) + 1", 6)
        return "<html><body><p>page</p></body></html>"

    html = app.test_client().get("/page").get_data(as_text=True)

    assert 'id="flDebugSQLSpecPanel"' in html
    assert "2 queries in" in html
    assert "<code>SELECT 40 + 2</code>" in html
    assert "<code>SELECT CAST(? AS INTEGER) + 1</code>" in html
    assert "<td>main</td>" in html
    assert re.search(r"test_debug_panels\.py:\d+ \(page_view\)", html)
    assert "Total: 2 statement(s) in" in html
    assert ">6<" not in html  # parameter values are not recorded, so never shown


def test_the_panel_escapes_sql(observed_db: ObservedDB) -> None:
    observed_db.make()
    app, plugin = toolbar_app(observed_db)

    @app.get("/")
    def index() -> str:
        plugin.get_session().select_value("SELECT '<b>x</b>'")
        return "<html><body></body></html>"

    html = app.test_client().get("/").get_data(as_text=True)
    assert "SELECT &#39;&lt;b&gt;x&lt;/b&gt;&#39;" in html


def test_the_panel_says_when_nothing_was_recorded(observed_db: ObservedDB) -> None:
    observed_db.make(record_queries=False)
    app, plugin = toolbar_app(observed_db)

    @app.get("/")
    def index() -> str:
        plugin.get_session().select_value("SELECT 1")
        return "<html><body></body></html>"

    html = app.test_client().get("/").get_data(as_text=True)
    assert "0 queries in 0.00 ms" in html
    assert "No statements were recorded" in html


# -- slow statements ------------------------------------------------------------------------------


def test_slow_statements_are_logged_at_warning(
    observed_db: ObservedDB, caplog: pytest.LogCaptureFixture
) -> None:
    # 0.001 ms: every real statement is slower than that.
    config = observed_db.make(statement_config=StatementConfig(slow_query_ms=0.001))
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]

    @app.get("/report")
    def report() -> str:
        # A value no duration can spell: the check below is that values stay out of the log.
        return str(plugin.get_session().select_value("SELECT CAST(? AS INTEGER) * 2", 123456789))

    caplog.set_level(logging.WARNING, logger="sqlspec")
    assert app.test_client().get("/report").data == b"246913578"

    [record] = statement_records(caplog)
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith(f"slow statement: {config.describe()} [report] ")
    assert re.search(r"\] \d+\.\d{3} ms \(threshold 0\.001 ms\)", message)
    assert message.endswith(": SELECT CAST(? AS INTEGER) * 2")
    assert "123456789" not in message
    assert record.sqlspec_context == "report"  # type: ignore[attr-defined]
    assert record.sqlspec_duration_ms > 0  # type: ignore[attr-defined]


def test_fast_statements_are_not_logged(
    observed_db: ObservedDB, caplog: pytest.LogCaptureFixture
) -> None:
    observed_db.make(statement_config=StatementConfig(slow_query_ms=60_000))
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="sqlspec")
    with app.app_context():
        plugin.get_session().select_value("SELECT 1")
    assert statement_records(caplog) == []


@pytest.mark.postgres
def test_a_really_slow_statement_crosses_a_real_threshold(
    observed_db: ObservedDB, caplog: pytest.LogCaptureFixture
) -> None:
    if observed_db.system != "postgresql":
        pytest.skip("pg_sleep is PostgreSQL's")
    observed_db.make(statement_config=StatementConfig(slow_query_ms=50))
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="sqlspec")
    with app.app_context():
        db = plugin.get_session()
        db.execute("SELECT 1")
        db.execute("SELECT pg_sleep(0.12)")
    [record] = statement_records(caplog)
    assert "SELECT pg_sleep(0.12)" in record.getMessage()
    assert record.sqlspec_duration_ms >= 100  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [0, -5, "10", True])
def test_bad_slow_query_ms_is_refused(value: Any) -> None:
    with pytest.raises(ImproperConfigurationError, match="slow_query_ms must be a positive"):
        StatementConfig(slow_query_ms=value)


# -- request correlation --------------------------------------------------------------------------


def correlated_app(observed_db: ObservedDB, **flask: Any) -> tuple[Flask, SQLSpecPlugin]:
    observed_db.make(enable_correlation_middleware=True, **flask)
    app, plugin = new_app(observed_db.spec)  # type: ignore[arg-type]

    @app.get("/")
    def index() -> str:
        return str(plugin.get_session().select_value("SELECT 1"))

    return app, plugin


def test_the_request_id_is_taken_returned_and_logged(
    observed_db: ObservedDB, caplog: pytest.LogCaptureFixture
) -> None:
    app, plugin = correlated_app(observed_db)
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")

    response = app.test_client().get("/", headers={"X-Request-ID": "req-42.abc"})

    assert response.headers["X-Request-ID"] == "req-42.abc"
    [record] = statement_records(caplog)
    assert record.sqlspec_request_id == "req-42.abc"  # type: ignore[attr-defined]
    assert "request req-42.abc" in record.getMessage()
    # After the request the id is gone: a statement outside any request carries none.
    caplog.clear()
    with app.app_context():
        plugin.get_session().select_value("SELECT 2")
    assert statement_records(caplog)[0].sqlspec_request_id is None  # type: ignore[attr-defined]


def test_a_new_request_id_when_the_header_is_absent_or_not_an_id(
    observed_db: ObservedDB, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = correlated_app(observed_db)
    caplog.set_level(logging.DEBUG, logger="sqlspec.statements")
    client = app.test_client()

    first = client.get("/").headers["X-Request-ID"]
    forged = client.get("/", headers={"X-Request-ID": "x" * 500}).headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert re.fullmatch(r"[0-9a-f]{32}", forged)
    assert first != forged
    ids = [r.sqlspec_request_id for r in statement_records(caplog)]  # type: ignore[attr-defined]
    assert ids == [first, forged]


def test_the_request_id_header_is_configurable(observed_db: ObservedDB) -> None:
    app, _ = correlated_app(observed_db, correlation_header="X-Correlation-ID")
    response = app.test_client().get("/", headers={"X-Correlation-ID": "abc"})
    assert response.headers["X-Correlation-ID"] == "abc"
    assert "X-Request-ID" not in response.headers


def test_no_request_id_without_the_middleware(observed_db: ObservedDB) -> None:
    observed_db.make()
    app, _ = new_app(observed_db.spec)  # type: ignore[arg-type]
    app.add_url_rule("/", view_func=lambda: "ok")
    assert "X-Request-ID" not in app.test_client().get("/", headers={"X-Request-ID": "a"}).headers


@pytest.mark.parametrize("header", ["", "X Request", 5])
def test_bad_correlation_header_is_refused(observed_db: ObservedDB, header: Any) -> None:
    observed_db.make(enable_correlation_middleware=True, correlation_header=header)
    with pytest.raises(ImproperConfigurationError, match="correlation_header must be"):
        new_app(observed_db.spec)  # type: ignore[arg-type]
