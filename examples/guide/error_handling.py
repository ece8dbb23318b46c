"""The guide's "Error Handling" as a complete program: connections are released (and
uncommitted work rolled back) after ``abort()`` and after unhandled exceptions.

One change from the guide's block: the catch-all handler passes HTTP exceptions through, so
``abort(404)`` stays a 404 (Flask hands ``HTTPException``\\ s to ``errorhandler(Exception)`` too).
Run it: python error_handling.py
"""

from flask import Flask, abort
from werkzeug.exceptions import HTTPException

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
sqlspec.add_config(
    SqliteConfig(
        pool_config={"database": "app.db"},
        extension_config={"flask": {"commit_mode": "autocommit", "session_key": "db"}},
    )
)
app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    schema = plugin.get_session()
    schema.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
    schema.execute("INSERT OR IGNORE INTO users (id, email) VALUES (1, 'ada@example.com')")
    schema.commit()


@app.route("/users/<int:user_id>")
def get_user(user_id):
    db = plugin.get_session()
    result = db.execute("SELECT * FROM users WHERE id = ?", (user_id,))
    user = result.get_first()
    if user is None:
        abort(404)  # the connection is still released
    return {"user": dict(user)}


@app.route("/users/crash", methods=["POST"])
def crash():
    plugin.get_session().execute("INSERT INTO users (email) VALUES ('lost@example.com')")
    raise RuntimeError("boom")  # the insert is rolled back, the connection released


@app.errorhandler(Exception)
def handle_exception(e):
    if isinstance(e, HTTPException):
        return e
    return {"error": "Internal server error"}, 500


if __name__ == "__main__":
    client = app.test_client()
    assert client.get("/users/1").json == {"user": {"id": 1, "email": "ada@example.com"}}
    assert client.get("/users/999").status_code == 404
    response = client.post("/users/crash")
    assert (response.status_code, response.json) == (500, {"error": "Internal server error"})
    with app.app_context():
        assert plugin.get_session().select_value("SELECT COUNT(*) FROM users") == 1
    assert all(stats["in_use"] == 0 for stats in plugin.pool_stats().values())
    sqlspec.close_all_pools()
    print("ok: 404 and 500 both released their connection; the failed insert was rolled back")
