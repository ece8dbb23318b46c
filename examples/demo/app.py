"""The sqlspec demo: a small users + events app on two databases.

* users live in SQLite (or PostgreSQL when ``USERS_POSTGRES_DSN`` is set), in
  ``autocommit_include_redirect`` mode so the HTML form's redirect commits;
* events live in DuckDB (analytics), in ``autocommit`` mode with 303 as an extra commit status;
* ``/`` is a dashboard across both (Jinja templates in ``templates/``, a stylesheet in
  ``static/``) with a form that validates on the server and shows each error next to its field;
* ``/api/...`` is a JSON API whose errors are JSON too (400 malformed body or wrong field type,
  404 unknown id, 409 duplicate email, 413 body too large, 422 invalid field);
* ``/health`` shows pool statistics.

Run it with ``bash scripts/demo.sh`` or ``flask --app examples.demo.app run``.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import Any

from flask import Flask

from examples.demo.routes import register_routes
from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import DatabaseConfig
from sqlspec.extensions.flask import SQLSpecPlugin

# Every request body (form or JSON) is refused above this size with 413: the demo's largest
# legitimate body, a user, is a few hundred bytes.
MAX_CONTENT_LENGTH = 16 * 1024

DEMO_DIR = Path(__file__).resolve().parent


def users_config(settings: dict[str, Any], data_dir: Path) -> DatabaseConfig:
    flask_settings = {"commit_mode": "autocommit_include_redirect", "session_key": "users_db"}
    dsn = settings.get("USERS_POSTGRES_DSN")
    if dsn:
        from sqlspec.adapters.psycopg import PsycopgConfig

        return PsycopgConfig(
            pool_config={"conninfo": dsn, "min_size": 2, "max_size": 20},
            migration_config={"script_location": "migrations/users_postgres"},
            extension_config={"flask": flask_settings},
        )
    return SqliteConfig(
        pool_config={
            "database": settings.get("USERS_DATABASE") or str(data_dir / "users.db"),
            "timeout": 30.0,
            "max_size": 20,
        },
        driver_features={"pragmas": {"journal_mode": "wal", "synchronous": "normal"}},
        migration_config={"script_location": "migrations/users"},
        extension_config={"flask": flask_settings},
    )


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    """Build the demo app.

    Settings (``settings`` overrides the environment): ``DATA_DIR`` (env ``DEMO_DATA_DIR``,
    default ``data``), ``USERS_POSTGRES_DSN`` (users on PostgreSQL instead of SQLite),
    ``USERS_DATABASE`` (SQLite path), ``EVENTS_DATABASE`` (DuckDB path or ``:memory:``),
    ``SECRET_KEY`` (env ``DEMO_SECRET_KEY``; signs the flash-message cookie, random per process
    when unset), ``MAX_CONTENT_LENGTH`` (bytes, default 16 KiB).
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("DEMO_SECRET_KEY") or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
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
            migration_config={"script_location": "migrations/events"},
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
    spec.load_sql_files(DEMO_DIR / "queries")
    plugin = SQLSpecPlugin(spec, app)
    app.extensions["sqlspec_spec"] = spec

    upgrade_schema(plugin)
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
                    upgrade_schema(plugin)
                    schema_pid = os.getpid()

    register_routes(app, plugin, spec.get_sql)
    return app


def upgrade_schema(plugin: SQLSpecPlugin) -> None:
    """Apply the demo's migrations (``migrations/``, folders read against the app's root path).
    Safe from every worker at once: each database's migration lock lets one apply them."""
    for key in ("users_db", "events_db"):
        plugin.migrations(key).upgrade()
