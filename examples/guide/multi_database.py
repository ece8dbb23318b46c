"""The guide's "Multi-Database Support" as a complete program: users in SQLite, events in DuckDB.

Each database has its own ``session_key`` and commits or rolls back on its own.
Run it: python multi_database.py
"""

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
users_config = SqliteConfig(
    pool_config={"database": "users.db"},
    extension_config={"flask": {"commit_mode": "autocommit", "session_key": "users_db"}},
)
events_config = DuckDBConfig(
    pool_config={"database": "events.db"},
    extension_config={"flask": {"commit_mode": "autocommit", "session_key": "events_db"}},
)
sqlspec.add_config(users_config)
sqlspec.add_config(events_config)

app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    users = plugin.get_session("users_db")
    users.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
    users.commit()
    events = plugin.get_session("events_db")
    events.execute("CREATE TABLE IF NOT EXISTS events (user_id BIGINT, kind TEXT)")
    events.commit()


@app.route("/signup", methods=["POST"])
def signup():
    user_id = plugin.get_session(key="users_db").select_value(
        "INSERT INTO users (email) VALUES (?) RETURNING id", "ada@example.com"
    )
    plugin.get_session(key="events_db").execute("INSERT INTO events VALUES (?, 'signup')", user_id)
    return {"user_id": user_id}, 201  # both databases commit


@app.route("/dashboard")
def dashboard():
    users_db = plugin.get_session(key="users_db")
    events_db = plugin.get_session(key="events_db")
    user_count = users_db.execute("SELECT COUNT(*) FROM users").scalar()
    event_count = events_db.execute("SELECT COUNT(*) FROM events").scalar()
    return {"users": user_count, "events": event_count}


if __name__ == "__main__":
    client = app.test_client()
    assert client.get("/dashboard").json == {"users": 0, "events": 0}
    assert client.post("/signup").status_code == 201
    assert client.get("/dashboard").json == {"users": 1, "events": 1}
    sqlspec.close_all_pools()
    print("ok: one session per database, both committed")
