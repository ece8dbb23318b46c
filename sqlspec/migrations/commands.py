"""The migration commands shared by ``flask sqlspec`` and ``python -m sqlspec``: which
databases a command applies to, and the text it prints. Framework-free."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlspec.exceptions import MigrationError
from sqlspec.migrations.files import discover
from sqlspec.migrations.runner import MigrationInfo, Migrations

__all__ = (
    "database_keys",
    "downgrade_lines",
    "new_lines",
    "select_databases",
    "single",
    "status_lines",
    "upgrade_lines",
)


def database_keys(configs: Sequence[Any]) -> list[tuple[str, Any]]:
    """Each config with its key on the command line: its Flask ``session_key`` (default
    ``"default"``); a key that repeats gets ``_2``, ``_3``... in registration order."""
    keyed: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for config in configs:
        base = str(config.extension_config.get("flask", {}).get("session_key", "default"))
        key, number = base, 1
        while key in seen:
            number += 1
            key = f"{base}_{number}"
        seen.add(key)
        keyed.append((key, config))
    return keyed


def select_databases(
    databases: Sequence[tuple[str, Any]], key: str | None
) -> list[tuple[str, Any]]:
    """The (key, config) pairs a command runs on: the one named ``key``; without it, every
    config with a ``migration_config``, or the only config there is.

    Raises :class:`MigrationError` for an unknown key or when no database can be chosen.
    """
    if key is not None:
        chosen = [(k, config) for k, config in databases if k == key]
        if not chosen:
            known = ", ".join(repr(k) for k, _ in databases) or "none"
            raise MigrationError(f"unknown database key {key!r}; known keys: {known}")
        return chosen[:1]
    with_migrations = [(k, config) for k, config in databases if config.migration_config]
    if with_migrations:
        return with_migrations
    if len(databases) == 1:
        return list(databases)
    if not databases:
        raise MigrationError("no database configs are registered")
    raise MigrationError(
        f"{len(databases)} databases are registered and none has a migration_config; set "
        "migration_config={'script_location': ...} on the ones to migrate, or pass --db KEY"
    )


def single(targets: list[tuple[str, Any]], what: str) -> tuple[str, Any]:
    """The one target of a command that cannot apply to several databases."""
    if len(targets) != 1:
        keys = ", ".join(repr(key) for key, _ in targets)
        raise MigrationError(f"{what} needs one database; pass --db KEY (one of {keys})")
    return targets[0]


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _names(migrations: Migrations) -> dict[str, str]:
    return {m.version: f"{m.version}_{m.name}" for m in discover(migrations.path)}


def upgrade_lines(key: str, migrations: Migrations, to: str | None) -> list[str]:
    applied = migrations.upgrade(to)
    if not applied:
        current = migrations.current()
        return [f"{key}: up to date (version {current or 'none'})"]
    names = _names(migrations)
    return [f"{key}: applied {names.get(v, v)}" for v in applied] + [
        f"{key}: now at version {applied[-1]}"
    ]


def downgrade_lines(key: str, migrations: Migrations, to: str) -> list[str]:
    names = _names(migrations)
    reverted = migrations.downgrade(to)
    current = migrations.current()
    if not reverted:
        return [f"{key}: nothing to revert (version {current or 'none'})"]
    return [f"{key}: reverted {names.get(v, v)}" for v in reverted] + [
        f"{key}: now at version {current or 'none'}"
    ]


def _state(info: MigrationInfo) -> str:
    if info.problem:
        return f"applied, {info.problem}"
    return "applied" if info.applied else "pending"


def status_lines(key: str, migrations: Migrations) -> list[str]:
    infos = migrations.status()
    header = f"{key}: {_shown(migrations.path)} (table {migrations.table})"
    if not infos:
        return [header, "  no migrations"]
    rows = [("version", "name", "state", "applied at")]
    for info in infos:
        when = info.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if info.applied_at else "-"
        rows.append((info.version, info.name, _state(info), when))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [header]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
    pending = sum(1 for info in infos if not info.applied)
    lines.append(f"  {pending} pending" if pending else "  up to date")
    return lines


def new_lines(key: str, migrations: Migrations, name: str) -> list[str]:
    return [f"{key}: created {_shown(migrations.create(name))}"]
