"""The guide's "Session Caching" as a complete program: one session per request (and per
app context), whichever code asks for it.

Run it: python session_caching.py
"""

from flask import Flask

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


@app.route("/test")
def test_session_caching():
    db1 = plugin.get_session()
    db2 = plugin.get_session()
    assert db1 is db2  # the same session within one request
    return {"cached": True}


if __name__ == "__main__":
    assert app.test_client().get("/test").json == {"cached": True}
    with app.app_context():
        first = plugin.get_session()
    with app.app_context():
        assert plugin.get_session() is not first  # a new context, a new session
    sqlspec.close_all_pools()
    print("ok: one session per request")
