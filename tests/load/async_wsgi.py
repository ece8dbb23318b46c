"""WSGI app of the async load test: a users API on ``AsyncpgConfig``, used through the portal.

``tests.load.async_wsgi:app``, configured from the environment:

``ASYNC_WSGI_DSN``
    asyncpg DSN of the database (required).
``ASYNC_WSGI_SCHEMA``
    schema holding the ``users`` table (put first on the search path); created beforehand.
``ASYNC_WSGI_WARM``
    ``1``: use the database once at import, so that under ``gunicorn --preload`` the master
    holds a pool (on its own portal loop) when it forks the workers, which must not use it.

Database routes answer with ``pid`` (the worker's process id) in their JSON body, so a test can
tell which worker served an async-backed request. ``/ping`` touches no database.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from flask import Flask, request

from sqlspec import SQLSpec
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.exceptions import UniqueViolationError
from sqlspec.extensions.flask import SQLSpecPlugin

POOL_MAX = 4
#: The server-side ``application_name`` of the app's connections (the test counts them).
APPLICATION_NAME = "sqlspec_async_wsgi"

spec = SQLSpec()
config = spec.add_config(
    AsyncpgConfig(
        pool_config={
            "dsn": os.environ["ASYNC_WSGI_DSN"],
            "server_settings": {
                "search_path": os.environ.get("ASYNC_WSGI_SCHEMA", "public"),
                "application_name": APPLICATION_NAME,
            },
            "min_size": 1,
            "max_size": POOL_MAX,
        },
        extension_config={"flask": {"commit_mode": "autocommit", "session_key": "db"}},
        portal_timeout=10,
    )
)

app = Flask(__name__)
plugin = SQLSpecPlugin(spec, app)


@app.get("/ping")
def ping() -> str:
    return "pong"


@app.post("/users")
def create_user() -> tuple[dict[str, Any], int]:
    body = request.get_json()
    db = plugin.get_session()
    user = db.select_one(
        "INSERT INTO users (email, name) VALUES (?, ?) RETURNING id, email, name",
        (body["email"], body["name"]),
    )
    return {"user": user, "pid": os.getpid()}, 201


@app.errorhandler(UniqueViolationError)
def duplicate(error: UniqueViolationError) -> tuple[dict[str, Any], int]:
    return {"error": "email already exists", "pid": os.getpid()}, 409


@app.get("/users/<int:user_id>")
def get_user(user_id: int) -> tuple[dict[str, Any], int]:
    user = plugin.get_session().select_one_or_none(
        "SELECT id, email, name FROM users WHERE id = ?", (user_id,)
    )
    if user is None:
        return {"error": "not found", "pid": os.getpid()}, 404
    return {"user": user, "pid": os.getpid()}, 200


@app.get("/count")
def count_users() -> dict[str, Any]:
    users = plugin.get_session().select_value("SELECT COUNT(*) FROM users")
    return {"users": users, "pid": os.getpid()}


@app.get("/health")
def health() -> dict[str, Any]:
    """Pool statistics of this worker (no connection borrowed) and its thread names."""
    return {
        "pid": os.getpid(),
        "pools": plugin.pool_stats(),
        "threads": sorted(thread.name for thread in threading.enumerate()),
    }


if os.environ.get("ASYNC_WSGI_WARM") == "1":
    with app.app_context():
        plugin.get_session().select_value("SELECT 1")
