"""The guide's "CLI Commands" with migrations instead of a hand-written ``init-db``: the schema
is ``migrations/0001_create_users.sql`` and ``flask sqlspec upgrade`` applies it (once; running
it again applies nothing), the statements are named SQL files in ``queries/``.

Run it: python cli_migrations.py   (or: flask --app cli_migrations.py sqlspec upgrade)
"""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

HERE = Path(__file__).resolve().parent

sqlspec = SQLSpec()
sqlspec.add_config(
    SqliteConfig(
        pool_config={"database": "app.db"},
        # Relative to the app's root path (this file's folder) when run through Flask.
        migration_config={"script_location": "migrations"},
        extension_config={"flask": {"commit_mode": "autocommit", "session_key": "db"}},
    )
)
sqlspec.load_sql_files(HERE / "queries")
app = Flask(__name__)
app.sqlspec_plugin = SQLSpecPlugin(sqlspec, app)


@click.command("add-user")
@click.argument("email")
@with_appcontext
def add_user_command(email):
    """Add a user (a CLI command has no response status: commit explicitly)."""
    db = current_app.sqlspec_plugin.get_session()
    user_id = db.select_value(sqlspec.get_sql("add_user"), email=email)
    db.commit()
    click.echo(f"user {user_id} added")


app.cli.add_command(add_user_command)


if __name__ == "__main__":
    runner = app.test_cli_runner()
    first = runner.invoke(args=["sqlspec", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "0001" in first.output, first.output
    again = runner.invoke(args=["sqlspec", "upgrade"])
    assert again.exit_code == 0, again.output
    added = runner.invoke(args=["add-user", "ada@example.com"])
    assert added.exit_code == 0, added.output
    assert "added" in added.output, added.output
    with app.app_context():
        db = app.sqlspec_plugin.get_session()
        assert db.select_value(sqlspec.get_sql("count_users")) == 1
    sqlspec.close_all_pools()
    print("ok: flask sqlspec upgrade applied 0001_create_users; add-user ran a named query")
