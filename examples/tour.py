"""A short tour of sqlspec on an in-memory SQLite database."""

from dataclasses import dataclass

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import UniqueViolationError


@dataclass
class User:
    id: int
    email: str


spec = SQLSpec()
config = spec.add_config(SqliteConfig(pool_config={"database": ":memory:"}))

with spec.provide_session(config) as db:
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")
    db.execute_many(
        "INSERT INTO users (email) VALUES (?)", [("ada@example.com",), ("bob@example.com",)]
    )
    new_id = db.execute(
        "INSERT INTO users (email) VALUES (:email) RETURNING id", email="cy@example.com"
    ).scalar()
    db.commit()
    print("inserted id", new_id)
    print("all users:", db.select("SELECT * FROM users ORDER BY id"))
    print("as dataclasses:", db.select("SELECT id, email FROM users ORDER BY id", schema_type=User))
    try:
        db.execute("INSERT INTO users (email) VALUES (?)", "ada@example.com")
    except UniqueViolationError as error:
        print("refused duplicate:", error)
    db.rollback()
    print("count:", db.select_value("SELECT COUNT(*) FROM users"))
spec.close_all_pools()
