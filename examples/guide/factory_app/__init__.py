"""The guide's "Application Factory Pattern" as a complete package.

``create_app()`` builds the app, ``views.py`` holds the blueprint that reaches the plugin through
``current_app.sqlspec_plugin``. Run ``python -m factory_app`` from ``examples/guide`` (or
``flask --app factory_app run``); ``test_factory_app.py`` is the guide's Testing example for it.

Unlike the guide's block, settings are read with ``app.config.from_mapping`` when a dict is given
(``from_object`` reads attributes and ignores a dict's keys), and the factory creates the
``users`` table.
"""

from flask import Flask

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin


def create_app(config=None):
    app = Flask(__name__)
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)

    sqlspec = SQLSpec()
    db_config = SqliteConfig(
        pool_config={"database": app.config.get("DATABASE_URL", "app.db")},
        extension_config={
            "flask": {
                "commit_mode": app.config.get("DB_COMMIT_MODE", "autocommit"),
                "session_key": "db",
            }
        },
    )
    sqlspec.add_config(db_config)

    plugin = SQLSpecPlugin(sqlspec)
    plugin.init_app(app)
    app.sqlspec_plugin = plugin  # for current_app.sqlspec_plugin in blueprints

    with app.app_context():
        db = plugin.get_session()
        db.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT)")
        db.commit()

    from .views import users_bp

    app.register_blueprint(users_bp)
    return app
