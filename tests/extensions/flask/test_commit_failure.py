"""A commit that fails at COMMIT time never reaches the client as a success: the response
becomes a 500 through Flask's own error handling, the failure is logged on ``sqlspec.flask``,
nothing is saved and the pool serves the next request.

Runs on every adapter (``ALL_BACKENDS``). On PostgreSQL and SQLite the COMMIT fails on a
deferred foreign key (``DEFERRABLE INITIALLY DEFERRED``). MariaDB has no deferred constraints:
there the COMMIT fails because the server ends the request's connection (``KILL``) between the
INSERT and the commit, which loses the transaction just as a failed COMMIT does.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.exceptions import ConnectionError as SQLSpecConnectionError
from sqlspec.exceptions import ForeignKeyViolationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import (
    ALL_BACKENDS,
    Backend,
    backend_fixture,
    count,
    in_use,
    mariadb_query,
    new_app,
    run_sql,
)

backend = backend_fixture(ALL_BACKENDS)

FK_SCHEMA = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
    "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO parents (id) VALUES (1)",
)
MARIADB_SCHEMA = (
    "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL)",
    "INSERT INTO parents (id) VALUES (1)",
)


@pytest.fixture
def config(make_config: MakeConfig, backend: Backend) -> Any:
    config = make_config(commit_mode="autocommit")
    run_sql(config, *(MARIADB_SCHEMA if backend.info.is_mysql else FK_SCHEMA))
    return config


def expected_commit_error(backend: Backend) -> type[Exception]:
    return SQLSpecConnectionError if backend.info.is_mysql else ForeignKeyViolationError


def children_app(
    spec: SQLSpec, backend: Backend, *, testing: bool = False
) -> tuple[Flask, SQLSpecPlugin]:
    """``POST /children/<id>/<parent>`` answers 201; the orphan is only detected at COMMIT."""
    app, plugin = new_app(spec, testing=testing)

    @app.post("/children/<int:child_id>/<int:parent_id>")
    def add_child(child_id: int, parent_id: int) -> tuple[dict[str, bool], int]:
        db = plugin.get_session()
        db.execute("INSERT INTO children (id, parent_id) VALUES (?, ?)", (child_id, parent_id))
        if backend.info.is_mysql and parent_id == 999:
            assert backend.mariadb is not None
            connection_id = int(db.select_value("SELECT CONNECTION_ID()"))
            mariadb_query(backend.mariadb, f"KILL CONNECTION {connection_id}")
        return {"created": True}, 201

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
    config: Any, backend: Backend, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec, backend)
    app.logger.disabled = True
    client = app.test_client()

    response = client.post("/children/1/999")

    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    [record] = commit_failures(caplog)
    assert "POST /children/1/999" in record.getMessage()
    assert isinstance(record.exc_info[1], expected_commit_error(backend))  # type: ignore[index]
    assert in_use(config) == 0
    assert count(config, "children") == 0
    # The pool serves the next requests normally.
    assert client.get("/children").json == {"children": []}
    assert client.post("/children/2/1").status_code == 201
    assert client.get("/children").json == {"children": [2]}
    assert in_use(config) == 0


def test_failed_commit_goes_through_the_app_500_handler(
    config: Any, backend: Backend, spec: SQLSpec, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = children_app(spec, backend)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "could not save"}, 500

    response = app.test_client().post("/children/1/999")

    assert (response.status_code, response.json) == (500, {"error": "could not save"})
    assert len(commit_failures(caplog)) == 1
    assert app.test_client().get("/children").json == {"children": []}
    assert in_use(config) == 0


def test_failed_commit_is_raised_to_the_test_in_testing_mode(
    config: Any, backend: Backend, spec: SQLSpec
) -> None:
    # app.testing propagates exceptions (Flask's PROPAGATE_EXCEPTIONS): the test sees the error.
    app, _ = children_app(spec, backend, testing=True)

    with pytest.raises(expected_commit_error(backend)):
        app.test_client().post("/children/1/999")

    assert in_use(config) == 0
    assert app.test_client().get("/children").json == {"children": []}
    assert app.test_client().post("/children/3/1").status_code == 201
    assert count(config, "children") == 1
