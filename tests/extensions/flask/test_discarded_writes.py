"""In an automatic commit mode, a response whose status rolls back a session that wrote is logged
at INFO on ``sqlspec.flask`` with the endpoint and the status: a typo'd status code (or an error
path) that throws writes away is visible. Read-only sessions, commits and manual mode say
nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import (
    ITEMS_DDL,
    SYNC_BACKENDS,
    add_write_route,
    backend_fixture,
    new_app,
    run_sql,
    tags,
)

backend = backend_fixture((*SYNC_BACKENDS, pytest.param("aiosqlite", id="aiosqlite")))


def discarded(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "sqlspec.flask" and "rolling back the writes" in record.getMessage()
    ]


@pytest.fixture
def items(make_config: MakeConfig, spec: SQLSpec) -> Any:
    def make(**flask: Any) -> tuple[Any, Flask, SQLSpecPlugin]:
        config = make_config(**flask)
        run_sql(config, ITEMS_DDL)
        app, plugin = new_app(spec)
        add_write_route(app, plugin)

        @app.get("/read/<int:status>")
        def read(status: int) -> tuple[str, int]:
            plugin.get_session().select("SELECT tag FROM items")
            return "", status

        @app.post("/commit-then-read/<int:status>")
        def commit_then_read(status: int) -> tuple[str, int]:
            db = plugin.get_session()
            db.execute("INSERT INTO items (tag) VALUES ('kept')")
            db.commit()
            db.select("SELECT tag FROM items")
            return "", status

        return config, app, plugin

    return make


@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sqlspec.flask")


@pytest.mark.parametrize("mode", ["autocommit", "autocommit_include_redirect"])
def test_rolled_back_writes_are_logged_with_endpoint_and_status(
    items: Any, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    config, app, _ = items(commit_mode=mode)

    assert app.test_client().post("/write/400?tag=lost").status_code == 400

    assert tags(config) == []
    (record,) = discarded(caplog)
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "session 'default'" in message
    assert "POST /write/400" in message
    assert "endpoint 'write'" in message
    assert "status 400 does not commit" in message
    assert (record.sqlspec_endpoint, record.sqlspec_status) == ("write", 400)  # type: ignore[attr-defined]


def test_extra_rollback_status_is_logged(items: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, app, _ = items(commit_mode="autocommit", extra_rollback_statuses={201})
    app.test_client().post("/write/201?tag=lost")
    assert "status 201 does not commit" in discarded(caplog)[0].getMessage()


def test_read_only_session_rolled_back_says_nothing(
    items: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, app, _ = items(commit_mode="autocommit")
    assert app.test_client().get("/read/404").status_code == 404
    assert discarded(caplog) == []


def test_committed_writes_say_nothing(items: Any, caplog: pytest.LogCaptureFixture) -> None:
    config, app, _ = items(commit_mode="autocommit")
    assert app.test_client().post("/write/201?tag=saved").status_code == 201
    assert tags(config) == ["saved"]
    assert discarded(caplog) == []


def test_writes_committed_by_the_view_say_nothing(
    items: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config, app, _ = items(commit_mode="autocommit")
    assert app.test_client().post("/commit-then-read/500").status_code == 500
    assert tags(config) == ["kept"]
    assert discarded(caplog) == []


def test_manual_mode_says_nothing(items: Any, caplog: pytest.LogCaptureFixture) -> None:
    config, app, _ = items(commit_mode="manual")
    app.test_client().post("/write/400?tag=lost")
    assert tags(config) == []
    assert discarded(caplog) == []
