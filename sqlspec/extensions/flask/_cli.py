"""The ``flask sqlspec`` command group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from sqlspec.exceptions import SQLSpecError
from sqlspec.migrations import Migrations
from sqlspec.migrations import commands as migration_commands

__all__ = ("sqlspec_cli",)

sqlspec_cli = AppGroup("sqlspec", help="Inspect and use the app's sqlspec databases.")


def _plugin() -> Any:
    plugin = current_app.extensions.get("sqlspec")
    if plugin is None:
        raise click.ClickException("SQLSpecPlugin is not initialised on this app")
    return plugin


@sqlspec_cli.command("configs")
def show_configs() -> None:
    """List the databases: session key, adapter, commit mode and this process's pool statistics."""
    plugin = _plugin()
    stats = plugin.pool_stats()
    for key in plugin.session_keys():
        state = plugin.state(key)
        pool = stats[key]
        click.echo(
            f"{key}: {state.config.describe()} commit_mode={state.commit_mode} "
            f"pool(size={pool['size']} in_use={pool['in_use']} idle={pool['idle']} "
            f"waiting={pool['waiting']} max_size={pool['max_size']})"
        )
    click.echo(
        "(pool statistics are this flask command's own process, not a running server's: each "
        "process has its own pools. A server reports its own with plugin.pool_stats(), e.g. on "
        "a /health route.)"
    )


@sqlspec_cli.command("run-sql")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", default=None, help="Session key of the database (default: the first).")
def run_sql(path: Path, key: str | None) -> None:
    """Run the statements of a .sql file in one transaction and commit it."""
    plugin = _plugin()
    try:
        session = plugin.get_session(key)
        session.execute_script(path.read_text(encoding="utf-8"))
        session.commit()
    except Exception as error:
        raise click.ClickException(f"{path}: {error}") from error
    click.echo(f"ran {path} on {key or plugin.session_keys()[0]!r}")


_DB_HELP = (
    "Session key of the database (default: every database with a migration_config, or the only "
    "one)."
)


def _each_database(key: str | None, run: Callable[[str, Migrations], list[str]]) -> None:
    """Run a migration command on the chosen databases; relative script locations are read
    against the app's root path. Errors exit with status 1 and say what is wrong."""
    plugin = _plugin()
    databases = [(k, plugin.state(k).config) for k in plugin.session_keys()]
    try:
        for db_key, config in migration_commands.select_databases(databases, key):
            migrations = Migrations(config, root=current_app.root_path)
            for line in run(db_key, migrations):
                click.echo(line)
    except SQLSpecError as error:
        raise click.ClickException(str(error)) from error


@sqlspec_cli.command("upgrade")
@click.option("--db", "key", default=None, help=_DB_HELP)
@click.option("--to", default=None, help="Apply migrations up to this version only.")
def upgrade(key: str | None, to: str | None) -> None:
    """Apply pending migrations, each in its own transaction where DDL is transactional."""
    _each_database(key, lambda k, m: migration_commands.upgrade_lines(k, m, to))


@sqlspec_cli.command("downgrade")
@click.option("--db", "key", default=None, help=_DB_HELP)
@click.option("--to", required=True, help="Revert migrations newer than this version (0: all).")
def downgrade(key: str | None, to: str) -> None:
    """Revert applied migrations newer than --to, newest first."""
    _each_database(key, lambda k, m: migration_commands.downgrade_lines(k, m, to))


@sqlspec_cli.command("status")
@click.option("--db", "key", default=None, help=_DB_HELP)
def status(key: str | None) -> None:
    """Show every migration: applied (when) or pending, and applied files that changed."""
    _each_database(key, migration_commands.status_lines)


@sqlspec_cli.command("new")
@click.argument("name")
@click.option("--db", "key", default=None, help=_DB_HELP)
def new(name: str, key: str | None) -> None:
    """Create the next numbered migration file, with empty up and down sections."""
    plugin = _plugin()
    databases = [(k, plugin.state(k).config) for k in plugin.session_keys()]
    try:
        db_key, config = migration_commands.single(
            migration_commands.select_databases(databases, key), "new"
        )
        lines = migration_commands.new_lines(
            db_key, Migrations(config, root=current_app.root_path), name
        )
    except SQLSpecError as error:
        raise click.ClickException(str(error)) from error
    for line in lines:
        click.echo(line)
