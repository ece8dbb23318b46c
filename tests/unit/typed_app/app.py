"""A small user application: sync SQLite behind the Flask plugin, plus an async aiosqlite config
used from sync code (provide_sync_session) and from async code (``async with``).

tests/unit/test_typing.py type-checks it with ``mypy --strict`` and runs it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin
from sqlspec.protocols import AsyncSession, SessionConnectionProtocol, SyncSession


@dataclass
class User:
    id: int
    email: str


spec = SQLSpec()
users = spec.add_config(
    SqliteConfig(
        pool_config={"database": ":memory:"},
        extension_config={"flask": {"commit_mode": "autocommit", "session_key": "users"}},
    )
)
notes = spec.add_config(
    AiosqliteConfig(
        pool_config={"database": os.path.join(tempfile.mkdtemp(), "notes.db")},
        extension_config={"flask": {"session_key": "notes"}},
    )
)
app = Flask(__name__)
plugin = SQLSpecPlugin(spec, app)


def create_schema() -> None:
    with spec.provide_session(users) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")
        db.commit()
    with spec.provide_sync_session(notes) as notes_db:
        notes_db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        notes_db.commit()


def count(db: SyncSession, table: str) -> int:
    return int(db.select_value(f"SELECT COUNT(*) FROM {table}"))


@app.post("/users/<email>")
def create_user(email: str) -> tuple[dict[str, int], int]:
    db = plugin.get_session("users")
    new_id = int(db.execute("INSERT INTO users (email) VALUES (?) RETURNING id", email).scalar())
    return {"id": new_id}, 201


@app.get("/users/<int:user_id>")
def show_user(user_id: int) -> dict[str, object]:
    db = plugin.get_session("users")
    user = db.select_one("SELECT id, email FROM users WHERE id = ?", user_id, schema_type=User)
    found = db.select_one_or_none("SELECT id, email FROM users WHERE id = ?", user_id)
    return {
        "id": user.id,
        "email": user.email,
        "same": found == {"id": user.id, "email": user.email},
    }


@app.post("/notes")
def add_note_sync() -> tuple[dict[str, int], int]:
    db = plugin.get_session("notes")
    db.execute("INSERT INTO notes (body) VALUES (?)", "from a view")
    plugin.get_connection("notes").commit()
    return {"notes": count(db, "notes")}, 201


async def add_note(body: str) -> int:
    async with spec.provide_session(notes) as db:
        result = await db.execute("INSERT INTO notes (body) VALUES (?)", body)
        await db.commit()
        return result.rows_affected


async def note_bodies(db: AsyncSession) -> list[str]:
    rows = await db.select("SELECT body FROM notes ORDER BY id")
    return [str(row["body"]) for row in rows]


async def read_notes() -> list[str]:
    async with spec.provide_session(notes) as db:
        assert isinstance(db, AsyncSession)
        return await note_bodies(db)


async def async_part() -> list[str]:
    assert await add_note("from a coroutine") == 1
    bodies = await read_notes()
    await spec.close_all_pools_async()
    return bodies


def check_runtime_types() -> None:
    with app.app_context():
        assert isinstance(plugin.get_session("users"), SyncSession)
        assert isinstance(plugin.get_session("notes"), SyncSession)  # the portal facade
        assert isinstance(plugin.get_connection("users"), SessionConnectionProtocol)
        assert isinstance(plugin.get_connection("notes"), SessionConnectionProtocol)


def main() -> None:
    create_schema()
    check_runtime_types()
    client = app.test_client()
    assert client.post("/users/ada@example.com").status_code == 201
    assert client.get("/users/1").get_json() == {"id": 1, "email": "ada@example.com", "same": True}
    assert client.post("/notes").status_code == 201
    spec.close_all_pools()  # the notes pool lived on the portal's loop; asyncio.run has its own
    assert asyncio.run(async_part()) == ["from a view", "from a coroutine"]
    print("ok")


if __name__ == "__main__":
    main()
