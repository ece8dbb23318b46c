"""``python -m sqlspec``: the migration commands without Flask, for scripts and containers.

    python -m sqlspec --config myapp.db:spec upgrade [--db KEY] [--to VERSION]
    python -m sqlspec --config myapp.db:spec downgrade --to VERSION [--db KEY]
    python -m sqlspec --config myapp.db:spec status [--db KEY]
    python -m sqlspec --config myapp.db:spec new NAME [--db KEY]

``--config`` (or the ``SQLSPEC_CONFIG`` environment variable) names a ``SQLSpec`` (or a function
returning one) as ``module:attribute``; the current directory is importable. ``KEY`` is a
config's Flask ``session_key`` (``"default"`` when it has none; repeated keys get ``_2``, ...).
Relative script locations are read against the current directory.
Exit status: 0 on success, 1 when a command fails (the message says why), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from sqlspec.base import SQLSpec
from sqlspec.exceptions import SQLSpecError
from sqlspec.migrations import Migrations, commands

__all__ = ("main",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sqlspec", description="Run sqlspec schema migrations."
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("SQLSPEC_CONFIG"),
        metavar="MODULE:ATTRIBUTE",
        help="the SQLSpec to use, e.g. myapp.db:spec (a function returning one works too)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_help = "database key (default: every config with a migration_config, or the only one)"
    upgrade = sub.add_parser("upgrade", help="apply pending migrations")
    upgrade.add_argument("--db", help=db_help)
    upgrade.add_argument("--to", help="apply up to this version only")
    downgrade = sub.add_parser("downgrade", help="revert migrations newer than --to")
    downgrade.add_argument("--db", help=db_help)
    downgrade.add_argument("--to", required=True, help="the version to go back to (0: all)")
    status = sub.add_parser("status", help="list migrations, applied and pending")
    status.add_argument("--db", help=db_help)
    new = sub.add_parser("new", help="create the next numbered migration file")
    new.add_argument("name", help="what the migration does, e.g. add_users")
    new.add_argument("--db", help=db_help)
    return parser


def load_spec(target: str) -> SQLSpec:
    """Import ``module:attribute`` and return the ``SQLSpec`` it names (calling it when it is
    a function). Raises ``ValueError`` saying what is wrong."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--config {target!r}: write it as module:attribute, e.g. myapp.db:spec")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--config {target!r}: cannot import {module_name!r}: {error}") from error
    try:
        found: Any = getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"--config {target!r}: {module_name} has no {attribute!r}") from None
    if not isinstance(found, SQLSpec) and callable(found):
        found = found()
    if not isinstance(found, SQLSpec):
        raise ValueError(
            f"--config {target!r}: expected a SQLSpec (or a function returning one), got "
            f"{type(found).__name__}"
        )
    return found


def _run(spec: SQLSpec, args: argparse.Namespace) -> Iterator[str]:
    databases = commands.database_keys(spec.configs)
    chosen = commands.select_databases(databases, args.db)
    if args.command == "new":
        key, config = commands.single(chosen, "new")
        yield from commands.new_lines(key, Migrations(config), args.name)
        return
    for key, config in chosen:
        migrations = Migrations(config)
        if args.command == "upgrade":
            yield from commands.upgrade_lines(key, migrations, args.to)
        elif args.command == "downgrade":
            yield from commands.downgrade_lines(key, migrations, args.to)
        else:
            yield from commands.status_lines(key, migrations)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.config:
        parser.error("--config MODULE:ATTRIBUTE is required (or set SQLSPEC_CONFIG)")
    try:
        spec = load_spec(args.config)
    except ValueError as error:
        parser.error(str(error))  # exits with status 2
    try:
        for line in _run(spec, args):
            print(line, flush=True)
    except SQLSpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(SQLSpecError):
            spec.close_all_pools()
    return 0


if __name__ == "__main__":
    sys.exit(main())
