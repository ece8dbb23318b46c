"""The sqlspec demo: a small users + events app on two databases.

* users live in SQLite (or PostgreSQL when ``USERS_POSTGRES_DSN`` is set), in
  ``autocommit_include_redirect`` mode so the HTML form's redirect commits;
* events live in DuckDB (analytics), in ``autocommit`` mode with 303 as an extra commit status;
* ``/`` is a dashboard across both, ``/api/...`` a JSON API, ``/health`` shows pool statistics.

Run it with ``bash scripts/demo.sh`` or ``flask --app examples.demo.app run``.
"""

from __future__ import annotations

import os
import threading
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask, abort, redirect, request, url_for

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import DatabaseConfig
from sqlspec.exceptions import NotFoundError, UniqueViolationError
from sqlspec.extensions.flask import SQLSpecPlugin

USERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id {id_type} PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
)
"""
EVENTS_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS event_ids;
CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_ids'),
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""


def users_config(settings: dict[str, Any], data_dir: Path) -> DatabaseConfig:
    flask_settings = {"commit_mode": "autocommit_include_redirect", "session_key": "users_db"}
    dsn = settings.get("USERS_POSTGRES_DSN")
    if dsn:
        from sqlspec.adapters.psycopg import PsycopgConfig

        return PsycopgConfig(
            pool_config={"conninfo": dsn, "min_size": 2, "max_size": 20},
            extension_config={"flask": flask_settings},
        )
    return SqliteConfig(
        pool_config={
            "database": settings.get("USERS_DATABASE") or str(data_dir / "users.db"),
            "timeout": 30.0,
            "max_size": 20,
        },
        driver_features={"pragmas": {"journal_mode": "wal", "synchronous": "normal"}},
        extension_config={"flask": flask_settings},
    )


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    """Build the demo app.

    Settings (``settings`` overrides the environment): ``DATA_DIR`` (env ``DEMO_DATA_DIR``,
    default ``data``), ``USERS_POSTGRES_DSN`` (users on PostgreSQL instead of SQLite),
    ``USERS_DATABASE`` (SQLite path), ``EVENTS_DATABASE`` (DuckDB path or ``:memory:``).
    """
    app = Flask(__name__)
    app.config.update(
        DATA_DIR=os.environ.get("DEMO_DATA_DIR", "data"),
        USERS_POSTGRES_DSN=os.environ.get("USERS_POSTGRES_DSN") or None,
        USERS_DATABASE=os.environ.get("USERS_DATABASE") or None,
        # A DuckDB file is opened by one process only: multi-worker servers use ":memory:".
        EVENTS_DATABASE=os.environ.get("EVENTS_DATABASE") or None,
    )
    app.config.update(settings or {})
    data_dir = Path(app.config["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)

    spec = SQLSpec()
    spec.add_config(users_config(app.config, data_dir))
    spec.add_config(
        DuckDBConfig(
            pool_config={
                "database": app.config["EVENTS_DATABASE"] or str(data_dir / "events.duckdb")
            },
            extension_config={
                "flask": {
                    "commit_mode": "autocommit",
                    "session_key": "events_db",
                    # The form answers 303 See Other: commit events on it too.
                    "extra_commit_statuses": {303},
                }
            },
        )
    )
    plugin = SQLSpecPlugin(spec, app)
    app.extensions["sqlspec_spec"] = spec
    on_postgres = app.config["USERS_POSTGRES_DSN"] is not None

    with app.app_context():
        create_schema(plugin, on_postgres)
    schema_pid = os.getpid()
    schema_lock = threading.Lock()

    @app.before_request
    def schema_in_forked_workers() -> None:
        # Under `gunicorn --preload` workers are forked after create_app: an in-memory events
        # database starts empty in each of them.
        nonlocal schema_pid
        if schema_pid != os.getpid():
            with schema_lock:
                if schema_pid != os.getpid():
                    create_schema(plugin, on_postgres)
                    schema_pid = os.getpid()

    register_routes(app, plugin)
    return app


def create_schema(plugin: SQLSpecPlugin, on_postgres: bool) -> None:
    users = plugin.get_session("users_db")
    if on_postgres:
        # Workers starting together would race on CREATE TABLE IF NOT EXISTS (pg_type).
        users.execute("SELECT pg_advisory_xact_lock(hashtext('sqlspec-demo-schema'))")
    users.execute(USERS_SCHEMA.format(id_type="BIGSERIAL" if on_postgres else "INTEGER"))
    users.commit()
    events = plugin.get_session("events_db")
    events.execute_script(EVENTS_SCHEMA)
    events.commit()


def register_routes(app: Flask, plugin: SQLSpecPlugin) -> None:
    def users_db() -> Any:
        return plugin.get_session("users_db")

    def events_db() -> Any:
        return plugin.get_session("events_db")

    @app.errorhandler(UniqueViolationError)
    def duplicate(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "already exists"}, 409

    @app.errorhandler(NotFoundError)
    def missing(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "not found"}, 404

    @app.get("/")
    def dashboard() -> str:
        users = users_db().select("SELECT id, email, name FROM users ORDER BY id DESC LIMIT 20")
        kinds = events_db().select(
            "SELECT kind, COUNT(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind"
        )
        rows = "".join(
            f"<li>#{u['id']} {escape(u['name'])} &lt;{escape(u['email'])}&gt;</li>" for u in users
        )
        stats = "".join(f"<li>{escape(k['kind'])}: {k['n']}</li>" for k in kinds)
        return f"""<!doctype html><title>sqlspec demo</title>
<h1>sqlspec demo</h1>
<p>{users_db().select_value("SELECT COUNT(*) FROM users")} users,
{events_db().select_value("SELECT COUNT(*) FROM events")} events</p>
<form method="post" action="{url_for("create_user_form")}">
  <input name="email" placeholder="email" required> <input name="name" placeholder="name" required>
  <button>Add user</button>
</form>
<h2>Recent users</h2><ul>{rows}</ul><h2>Events by kind</h2><ul>{stats}</ul>"""

    @app.post("/users")
    def create_user_form() -> Any:
        email, name = request.form.get("email", ""), request.form.get("name", "")
        if not email or not name:
            return "email and name are required", 400
        user_id = (
            users_db()
            .execute(
                "INSERT INTO users (email, name) VALUES (:email, :name) RETURNING id",
                email=email,
                name=name,
            )
            .scalar()
        )
        events_db().execute("INSERT INTO events (user_id, kind) VALUES (?, 'signup')", user_id)
        # 303: users commit (redirect mode), events commit (extra status)
        return redirect(url_for("dashboard", created=user_id), code=303)

    @app.get("/api/users")
    def list_users() -> dict[str, Any]:
        return {"users": users_db().select("SELECT id, email, name FROM users ORDER BY id")}

    @app.post("/api/users")
    def create_user() -> tuple[dict[str, Any], int]:
        data = request.get_json(silent=True) or {}
        if not data.get("email") or not data.get("name"):
            return {"error": "email and name are required"}, 400
        user = users_db().select_one(
            "INSERT INTO users (email, name) VALUES (?, ?) RETURNING id, email, name",
            data["email"],
            data["name"],
        )
        events_db().execute("INSERT INTO events (user_id, kind) VALUES (?, 'signup')", user["id"])
        return {"user": user}, 201

    @app.get("/api/users/<int:user_id>")
    def get_user(user_id: int) -> dict[str, Any]:
        user = users_db().select_one_or_none(
            "SELECT id, email, name FROM users WHERE id = ?", user_id
        )
        if user is None:
            abort(404)
        return {"user": user}

    @app.post("/api/users/<int:user_id>/events")
    def record_event(user_id: int) -> tuple[dict[str, Any], int]:
        kind = (request.get_json(silent=True) or {}).get("kind")
        if not kind:
            return {"error": "kind is required"}, 400
        users_db().select_one("SELECT id FROM users WHERE id = ?", user_id)  # 404 if missing
        event_id = events_db().select_value(
            "INSERT INTO events (user_id, kind) VALUES (?, ?) RETURNING id", user_id, kind
        )
        return {"event": {"id": event_id, "user_id": user_id, "kind": kind}}, 201

    @app.get("/api/dashboard")
    def dashboard_api() -> dict[str, Any]:
        return {
            "users": users_db().select_value("SELECT COUNT(*) FROM users"),
            "events": events_db().select_value("SELECT COUNT(*) FROM events"),
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pools": plugin.pool_stats()}

    @app.get("/ping")
    def ping() -> str:
        return "pong"
