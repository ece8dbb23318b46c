"""The guide's "Async Adapters" as a complete program, on aiosqlite so it runs anywhere.

The guide's block uses ``AsyncpgConfig(pool_config={"dsn": ...})``; only the config differs
for PostgreSQL. The views stay synchronous: each session call runs as one coroutine on the
portal (a background thread with its own event loop), started at the first async call, and is
cancelled and rolled back after ``portal_timeout`` seconds (default 30) with
``PortalTimeoutError``.

Run it: python async_adapters.py
"""

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
config = AiosqliteConfig(
    pool_config={"database": "app.db"},
    portal_timeout=5,  # seconds per call; default 30
    extension_config={"flask": {"commit_mode": "autocommit", "session_key": "db"}},
)
sqlspec.add_config(config)

app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    schema = plugin.get_session()  # a sync facade over the async session
    schema.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
    schema.commit()


@app.route("/users", methods=["GET", "POST"])
def users():
    db = plugin.get_session()
    if app.config.get("SEED"):
        db.execute("INSERT INTO users (email) VALUES (?)", "ada@example.com")
    result = db.execute("SELECT * FROM users")
    return {"users": result.all()}


if __name__ == "__main__":
    client = app.test_client()
    assert client.get("/users").json == {"users": []}
    app.config["SEED"] = True
    assert client.post("/users").status_code == 200  # 2xx: committed
    app.config["SEED"] = False
    assert client.get("/users").json == {"users": [{"id": 1, "email": "ada@example.com"}]}
    sqlspec.close_all_pools()
    print("ok: async adapter used from sync views through the portal")
