"""The guide's "Migration from Manual Pattern", before: a session kept on ``flask.g`` by hand.

Run it: python migration_before.py   (migration_after.py is the same app with the plugin)
"""

from flask import Flask, g

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig

spec = SQLSpec()
db_config = spec.add_config(SqliteConfig(pool_config={"database": "app.db"}))
app = Flask(__name__)

with spec.provide_session(db_config) as setup:
    setup.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
    setup.commit()


def get_session():
    if "db_session" not in g:
        g.db_session = spec.provide_session(db_config).__enter__()
    return g.db_session


@app.teardown_appcontext
def close_session(exception):
    session = g.pop("db_session", None)
    if session is not None:
        session.__exit__(None, None, None)


@app.route("/users")
def list_users():
    session = get_session()
    result = session.execute("SELECT * FROM users")
    return {"users": result.all()}


if __name__ == "__main__":
    assert app.test_client().get("/users").json == {"users": []}
    assert db_config.pool_stats().in_use == 0
    spec.close_all_pools()
    print("ok: the hand-written pattern works (and commits nothing unless told)")
