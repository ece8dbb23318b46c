"""The guide's "Autocommit Include Redirect Mode" as a complete program: 3xx commits too.

Run it: python redirect_mode.py
"""

from flask import Flask, redirect, request

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={"flask": {"commit_mode": "autocommit_include_redirect", "session_key": "db"}},
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
    result = db.execute("INSERT INTO users (email) VALUES (?) RETURNING id", (data["email"],))
    user_id = result.scalar()
    return redirect(f"/users/{user_id}")  # auto-commits on the 302


@app.route("/users/<int:user_id>")
def show_user(user_id):
    return {"user": plugin.get_session().select_one("SELECT * FROM users WHERE id = ?", user_id)}


if __name__ == "__main__":
    client = app.test_client()
    response = client.post("/users", json={"email": "ada@example.com"})
    assert (response.status_code, response.headers["Location"]) == (302, "/users/1")
    assert client.get("/users/1").json == {"user": {"id": 1, "email": "ada@example.com"}}
    sqlspec.close_all_pools()
    print("ok: the 302 redirect committed the insert")
