"""The guide's "Migration from Manual Pattern", after: the plugin does the ``flask.g`` work,
and commits by status.

Run it: python migration_after.py
"""

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

app = Flask(__name__)
sqlspec = SQLSpec()
config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={"flask": {"commit_mode": "autocommit"}},
)
sqlspec.add_config(config)

plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    schema = plugin.get_session()
    schema.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
    schema.commit()


@app.route("/users")
def list_users():
    db = plugin.get_session()
    result = db.execute("SELECT * FROM users")
    return {"users": result.all()}


if __name__ == "__main__":
    assert app.test_client().get("/users").json == {"users": []}
    assert plugin.state().commit_mode == "autocommit"
    assert config.pool_stats().in_use == 0
    sqlspec.close_all_pools()
    print("ok: the same route through the plugin")
