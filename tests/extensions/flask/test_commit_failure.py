"""A commit that fails at COMMIT time (a deferred foreign key, on PostgreSQL and SQLite) never
reaches the client as a success: the response becomes a 500 through Flask's own error handling,
the failure is logged on ``sqlspec.flask``, nothing is saved and the connection serves the next
request."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.exceptions import ForeignKeyViolationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import in_use, new_app, run_sql

SCHEMA = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
    "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO parents (id) VALUES (1)",
)


@pytest.fixture
def config(make_config: MakeConfig) -> Any:
    config = make_config(commit_mode="autocommit")
    run_sql(config, *SCHEMA)
    return config


def children_app(spec: SQLSpec, *, testing: bool = False) -> tuple[Flask, SQLSpecPlugin]:
    app, plugin = new_app(spec, testing=testing)

    @app.post("/children/<int:child_id>/<int:parent_id>")
    def add_child(child_id: int, parent_id: int) -> tuple[dict[str, bool], int]:
        plugin.get_session().execute(
            "INSERT INTO children (id, parent_id) VALUES (?, ?)", (child_id, parent_id)
        )
        return {"created": True}, 201  # the orphan is only detected at COMMIT

    @app.get("/children")
    def list_children() -> dict[str, Any]:
        rows = plugin.get_session().select("SELECT id FROM children ORDER BY id")
        return {"children": [row["id"] for row in rows]}

    return app, plugin


def commit_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "sqlspec.flask"
        and record.levelno == logging.ERROR
        and "commit failed" in record.getMessage()
    ]


def test_failed_commit_turns_201_into_500(
    config: Any, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec)
    client = app.test_client()

    response = client.post("/children/1/999")

    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    [record] = commit_failures(caplog)
    assert "POST /children/1/999" in record.getMessage()
    assert isinstance(record.exc_info[1], ForeignKeyViolationError)  # type: ignore[index]
    assert in_use(config) == 0
    # The connection is healthy: the next requests read and write normally.
    assert client.get("/children").json == {"children": []}
    assert client.post("/children/2/1").status_code == 201
    assert client.get("/children").json == {"children": [2]}
    assert in_use(config) == 0


def test_failed_commit_goes_through_the_app_500_handler(
    config: Any, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "could not save"}, 500

    response = app.test_client().post("/children/1/999")

    assert (response.status_code, response.json) == (500, {"error": "could not save"})
    assert len(commit_failures(caplog)) == 1
    assert app.test_client().get("/children").json == {"children": []}


def test_failed_commit_is_raised_to_the_test_in_testing_mode(config: Any, spec: SQLSpec) -> None:
    # app.testing propagates exceptions (Flask's PROPAGATE_EXCEPTIONS): the test sees the error.
    app, _ = children_app(spec, testing=True)

    with pytest.raises(ForeignKeyViolationError):
        app.test_client().post("/children/1/999")

    assert in_use(config) == 0
    assert app.test_client().get("/children").json == {"children": []}
