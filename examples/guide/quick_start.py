"""The guide's Quick Start as a complete program (docs/flask.md, "Quick Start").

Run it:  python quick_start.py            (a self-check through Flask's test client)
Serve it: flask --app quick_start.py run  (then open http://127.0.0.1:5000/users)

Unlike the guide's block, it creates its table, so the first request is a 200, not a 500.
"""

from flask import Flask

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

# The table the route reads. Outside a request the plugin commits nothing itself: commit here.
with app.app_context():
    schema = plugin.get_session()
    schema.execute(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)"
    )
    schema.commit()


@app.route("/users")
def list_users():
    db = plugin.get_session()
    result = db.execute("SELECT * FROM users")
    return {"users": result.all()}


if __name__ == "__main__":
    client = app.test_client()
    assert client.get("/users").json == {"users": []}
    with app.app_context():
        plugin.get_session().execute("INSERT INTO users (email) VALUES (?)", "ada@example.com")
        plugin.get_session().commit()
    assert client.get("/users").json == {"users": [{"id": 1, "email": "ada@example.com"}]}
    sqlspec.close_all_pools()
    print("ok: GET /users lists the users table")
