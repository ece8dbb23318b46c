"""Small helpers shared by the Flask extension tests."""

from __future__ import annotations

from typing import Any

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.extensions.flask import SQLSpecPlugin

#: A table every backend accepts; ``tag`` identifies the request that wrote a row.
ITEMS_DDL = "CREATE TABLE items (tag TEXT NOT NULL)"


def run_sql(config: Any, *statements: str) -> None:
    """Run statements in one committed transaction, outside any Flask context."""
    with config.provide_session() as session:
        for statement in statements:
            session.execute(statement)
        session.commit()


def tags(config: Any, table: str = "items") -> list[str]:
    """The tags stored in ``table``, read through a fresh session (committed data only)."""
    with config.provide_session() as session:
        return sorted(row["tag"] for row in session.select(f"SELECT tag FROM {table}"))


def in_use(config: Any) -> int:
    return int(config.pool_stats().in_use)


def new_app(spec: SQLSpec, *, testing: bool = True) -> tuple[Flask, SQLSpecPlugin]:
    """A Flask app with the plugin initialised on every config registered on ``spec``."""
    app = Flask("sqlspec_flask_tests")
    app.testing = testing
    plugin = SQLSpecPlugin(spec, app)
    return app, plugin


def add_write_route(app: Flask, plugin: SQLSpecPlugin, key: str | None = None) -> None:
    """``POST /write/<status>?tag=...``: insert the tag into ``items``, answer with ``status``."""
    from flask import request

    @app.post("/write/<int:status>")
    def write(status: int) -> tuple[str, int, dict[str, str]]:
        plugin.get_session(key).execute(
            "INSERT INTO items (tag) VALUES (?)", (request.args["tag"],)
        )
        return "", status, {"Location": "/elsewhere"}
