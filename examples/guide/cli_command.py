"""The guide's "CLI Commands" as a complete program: a ``flask init-db`` command.

Run it: python cli_command.py   (or: flask --app cli_command.py init-db)
"""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

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
app.sqlspec_plugin = SQLSpecPlugin(sqlspec, app)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Initialize the database schema."""
    plugin = current_app.sqlspec_plugin
    db = plugin.get_session()
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE
        )
        """
    )
    # A CLI command has no response status: commit explicitly.
    conn = plugin.get_connection()
    conn.commit()
    click.echo("Database initialized")


app.cli.add_command(init_db_command)


if __name__ == "__main__":
    runner = app.test_cli_runner()
    for _ in range(2):  # IF NOT EXISTS: safe to run again
        result = runner.invoke(args=["init-db"])
        assert (result.exit_code, result.output) == (0, "Database initialized\n"), result.output
    with app.app_context():
        tables = app.sqlspec_plugin.get_session().select_value(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users'"
        )
    assert tables == 1
    sqlspec.close_all_pools()
    print("ok: flask init-db created the users table")
