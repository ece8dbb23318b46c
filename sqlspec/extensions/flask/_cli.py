"""The ``flask sqlspec`` command group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

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
