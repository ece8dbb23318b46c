"""The guide's "Configuration Options" as a complete program: every FlaskConfig field set.

Run it: python configuration.py
"""

from flask import Flask, g

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import FlaskConfig
from sqlspec.extensions.flask import SQLSpecPlugin

config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={
        "flask": FlaskConfig(
            connection_key="db_connection",  # where the connection is stored on flask.g
            session_key="db",  # plugin.get_session("db")
            commit_mode="autocommit",  # 2xx commits, everything else rolls back
            extra_commit_statuses={201, 204},  # further statuses that commit
            extra_rollback_statuses={409, 422},  # further statuses that roll back
        )
    },
)
sqlspec = SQLSpec()
sqlspec.add_config(config)
app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)


@app.route("/connection")
def connection():
    connection = plugin.get_connection("db")  # borrowed at first use, then kept on g
    return {"stored_on_g": g.db_connection is connection}


if __name__ == "__main__":
    state = plugin.state("db")
    assert (state.session_key, state.connection_key, state.commit_mode) == (
        "db",
        "db_connection",
        "autocommit",
    )
    assert (state.extra_commit_statuses, state.extra_rollback_statuses) == ({201, 204}, {409, 422})
    assert app.test_client().get("/connection").json == {"stored_on_g": True}
    sqlspec.close_all_pools()
    print("ok: the plugin read every FlaskConfig field")
