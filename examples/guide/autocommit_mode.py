"""The guide's "Autocommit Mode" as a complete program: 2xx commits, anything else rolls back.

Run it: python autocommit_mode.py
"""

from flask import Flask, request

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={"flask": {"commit_mode": "autocommit", "session_key": "db"}},
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
    return {"created": True}, 201  # auto-commits on 201


@app.route("/users/<int:user_id>", methods=["DELETE"])
def delete_user(user_id):
    db = plugin.get_session()
    db.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return "", 204  # auto-commits on 204


@app.route("/users/bad", methods=["POST"])
def create_bad_user():
    db = plugin.get_session()
    db.execute("INSERT INTO users (email) VALUES (?)", ("invalid",))
    return {"error": "Invalid data"}, 400  # rolled back: not 2xx


@app.route("/users")
def list_users():
    return {"users": plugin.get_session().select("SELECT id, email FROM users ORDER BY id")}


if __name__ == "__main__":
    client = app.test_client()
    assert client.post("/users", json={"email": "ada@example.com"}).status_code == 201
    assert client.post("/users", json={"email": "bob@example.com"}).status_code == 201
    assert client.post("/users/bad").status_code == 400
    assert client.delete("/users/2").status_code == 204
    assert client.get("/users").json == {"users": [{"id": 1, "email": "ada@example.com"}]}
    sqlspec.close_all_pools()
    print("ok: 201 and 204 committed, 400 rolled back")
