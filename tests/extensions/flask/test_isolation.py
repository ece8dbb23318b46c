"""``plugin.isolated()``: inside the block the app commits as in production (a write is seen by
the next request), and everything written is rolled back when the block ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin
from tests.extensions.flask.conftest import MakeConfig
from tests.extensions.flask.helpers import ITEMS_DDL, add_write_route, in_use, new_app, run_sql


def items_app(spec: SQLSpec) -> tuple[Flask, SQLSpecPlugin]:
    app, plugin = new_app(spec)
    add_write_route(app, plugin)

    @app.get("/items")
    def list_items() -> dict[str, list[str]]:
        rows = plugin.get_session().select("SELECT tag FROM items ORDER BY tag")
        return {"items": [row["tag"] for row in rows]}

    return app, plugin


@pytest.fixture
def app(make_config: MakeConfig, spec: SQLSpec) -> Flask:
    config = make_config(commit_mode="autocommit")
    run_sql(config, ITEMS_DDL, "INSERT INTO items (tag) VALUES ('seed')")
    app, _ = items_app(spec)
    return app


@pytest.fixture
def isolated_app(app: Flask) -> Iterator[Flask]:
    with app.extensions["sqlspec"].isolated():
        yield app


def test_writes_are_visible_inside_the_block_and_gone_after(app: Flask) -> None:
    client = app.test_client()
    plugin = app.extensions["sqlspec"]

    with plugin.isolated():
        assert client.post("/write/201?tag=new").status_code == 201
        assert client.get("/items").json == {"items": ["new", "seed"]}

    assert client.get("/items").json == {"items": ["seed"]}
    assert plugin.pool_stats()["default"]["in_use"] == 0


def test_fixture_sees_committed_writes(isolated_app: Flask) -> None:
    client = isolated_app.test_client()

    assert client.post("/write/201?tag=a").status_code == 201
    assert client.post("/write/204?tag=b").status_code == 204

    assert client.get("/items").json == {"items": ["a", "b", "seed"]}


def test_rolled_back_requests_keep_earlier_commits(isolated_app: Flask) -> None:
    client = isolated_app.test_client()

    assert client.post("/write/201?tag=kept").status_code == 201
    assert client.post("/write/400?tag=lost").status_code == 400

    assert client.get("/items").json == {"items": ["kept", "seed"]}


def test_failing_statement_inside_the_block(isolated_app: Flask) -> None:
    plugin = isolated_app.extensions["sqlspec"]
    isolated_app.testing = False
    client = isolated_app.test_client()

    @isolated_app.get("/broken")
    def broken() -> str:
        plugin.get_session().execute("SELECT * FROM missing_table")
        return ""

    assert client.post("/write/201?tag=kept").status_code == 201
    assert client.get("/broken").status_code == 500
    assert client.get("/items").json == {"items": ["kept", "seed"]}


def test_app_context_inside_the_block(isolated_app: Flask) -> None:
    plugin = isolated_app.extensions["sqlspec"]
    with isolated_app.app_context():
        plugin.get_session().execute("INSERT INTO items (tag) VALUES ('fixture')")
        plugin.get_connection().commit()

    assert isolated_app.test_client().get("/items").json == {"items": ["fixture", "seed"]}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_explicit_begin_works_inside_the_block(isolated_app: Flask) -> None:
    plugin = isolated_app.extensions["sqlspec"]

    @isolated_app.post("/batch")
    def batch() -> tuple[str, int]:
        db = plugin.get_session()
        db.begin()
        db.execute("INSERT INTO items (tag) VALUES ('batch')")
        return "", 201

    assert isolated_app.test_client().post("/batch").status_code == 201


def test_duckdb_is_refused(spec: SQLSpec, tmp_path: Path) -> None:
    spec.add_config(DuckDBConfig(pool_config={"database": str(tmp_path / "app.duckdb")}))
    _, plugin = new_app(spec)

    with pytest.raises(ImproperConfigurationError, match="DuckDB"), plugin.isolated():
        pass


def test_all_databases_are_isolated(sqlite_config: MakeConfig, spec: SQLSpec) -> None:
    first = sqlite_config("first", session_key="first", commit_mode="autocommit")
    second = sqlite_config("second", session_key="second", commit_mode="autocommit")
    for config in (first, second):
        run_sql(config, ITEMS_DDL)
    app, plugin = new_app(spec)

    @app.post("/both")
    def both() -> tuple[str, int]:
        for key in ("first", "second"):
            plugin.get_session(key).execute("INSERT INTO items (tag) VALUES ('x')")
        return "", 201

    with plugin.isolated():
        assert app.test_client().post("/both").status_code == 201

    with app.app_context():
        assert plugin.get_session("first").select_value("SELECT count(*) FROM items") == 0
        assert plugin.get_session("second").select_value("SELECT count(*) FROM items") == 0
    assert (in_use(first), in_use(second)) == (0, 0)
