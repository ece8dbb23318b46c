"""The guide's "Troubleshooting" examples as a complete program: register the plugin once,
give every database its own ``session_key``, and the two errors you get otherwise.

Run it: python troubleshooting.py
"""

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.exceptions import ImproperConfigurationError
from sqlspec.extensions.flask import SQLSpecPlugin

# Good: one registration per app (the factory pattern).
sqlspec = SQLSpec()
config1 = SqliteConfig(
    pool_config={"database": "db1.db"}, extension_config={"flask": {"session_key": "db1"}}
)
config2 = SqliteConfig(
    pool_config={"database": "db2.db"},
    extension_config={"flask": {"session_key": "db2"}},  # must be unique
)
sqlspec.add_config(config1)
sqlspec.add_config(config2)
app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec)
plugin.init_app(app)

if __name__ == "__main__":
    assert plugin.session_keys() == ("db1", "db2")

    # Bad: a second init_app on the same app.
    message = "no error"
    try:
        plugin.init_app(app)
    except ImproperConfigurationError as error:
        message = str(error)
    assert "SQLSpec extension already registered" in message, message

    # Bad: two databases on one session key.
    clash = SQLSpec()
    for name in ("db1.db", "db2.db"):
        clash.add_config(
            SqliteConfig(
                pool_config={"database": name}, extension_config={"flask": {"session_key": "db"}}
            )
        )
    message = "no error"
    try:
        SQLSpecPlugin(clash, Flask(__name__))
    except ImproperConfigurationError as error:
        message = str(error)
    assert "Duplicate state keys found" in message, message
    sqlspec.close_all_pools()
    print("ok: one registration, unique session keys")
