"""Schema migrations in dbmate's file format, run through a config's own sessions.

``spec.migrations(config)`` returns :class:`Migrations`; the ``flask sqlspec`` commands and
``python -m sqlspec`` run the same operations from a shell.
"""

from sqlspec.migrations.files import Migration, parse_migration
from sqlspec.migrations.runner import MigrationInfo, Migrations

__all__ = ("Migration", "MigrationInfo", "Migrations", "parse_migration")
