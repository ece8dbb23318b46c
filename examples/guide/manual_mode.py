"""The guide's "Manual Mode" as a complete program: nothing is committed unless the route does.

Run it: python manual_mode.py
"""

from flask import Flask, request

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={"flask": {"commit_mode": "manual", "session_key": "db"}},
)
sqlspec.add_config(config)

app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    schema = plugin.get_session()
    schema.execute(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)"
    )
    schema.commit()


@app.route("/users", methods=["POST"])
def create_user():
    data = request.get_json()
    db = plugin.get_session()
    db.execute("INSERT INTO users (email) VALUES (?)", (data["email"],))
    # Explicit commit required
    conn = plugin.get_connection()
    conn.commit()
    return {"created": True}, 201


@app.route("/users/draft", methods=["POST"])
def create_draft():
    # No commit: rolled back when the request ends, whatever the status.
    plugin.get_session().execute("INSERT INTO users (email) VALUES (?)", ("draft@example.com",))
    return {"created": True}, 201


@app.route("/users")
def list_users():
    return {
        "emails": [row["email"] for row in plugin.get_session().select("SELECT email FROM users")]
    }


if __name__ == "__main__":
    client = app.test_client()
    assert client.post("/users/draft").status_code == 201
    assert client.post("/users", json={"email": "ada@example.com"}).status_code == 201
    assert client.get("/users").json == {"emails": ["ada@example.com"]}
    sqlspec.close_all_pools()
    print("ok: only the explicitly committed insert was kept")
