"""What migrations need to know about each database family, keyed by the driver's ``dialect``.

* ``transactional_ddl``: whether DDL can be rolled back, so a migration runs in one transaction.
* ``lock`` / ``unlock``: statements taking and releasing a lock held by the session for a whole
  run (PostgreSQL advisory locks, MySQL ``GET_LOCK``), keyed by the version table's name.
* ``lock_in_transaction``: a statement run first in each migration's transaction that makes it
  exclusive instead (SQLite: a no-op write takes the database's write lock until commit).

DuckDB needs no database lock: a DuckDB file is opened by one process at a time, and threads of
that process are serialised by the runner's own lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlspec._mysql import split_mysql_script
from sqlspec.exceptions import MigrationError

__all__ = ("DialectFacts", "facts_for", "split_statements")


@dataclass(frozen=True)
class DialectFacts:
    name: str
    transactional_ddl: bool
    lock: str | None = None
    """Takes the run's lock; parameter: the version table name. Returns 1 when taken."""
    unlock: str | None = None
    lock_in_transaction: str | None = None
    """Run first in each migration's transaction; ``{table}`` is the version table."""
    split: Callable[[str], list[str]] | None = None
    """Splits a section into statements, so a failure can say which one failed (only where
    a failed migration cannot be rolled back)."""


def split_statements(sql: str) -> list[str]:
    """Split MySQL text at ``;`` outside strings, quoted names and comments (no ``DELIMITER``
    support: a procedure body with ``;`` belongs in its own migration run as one statement)."""
    return list(split_mysql_script(sql))


_FACTS = {
    "postgres": DialectFacts(
        "postgres",
        transactional_ddl=True,
        lock="SELECT pg_advisory_lock(hashtext(current_schema() || '.' || ?)) IS NOT NULL",
        unlock="SELECT pg_advisory_unlock(hashtext(current_schema() || '.' || ?))",
    ),
    "sqlite": DialectFacts(
        "sqlite", transactional_ddl=True, lock_in_transaction="DELETE FROM {table} WHERE 1 = 0"
    ),
    "duckdb": DialectFacts("duckdb", transactional_ddl=True),
    "mysql": DialectFacts(
        "mysql",
        transactional_ddl=False,
        # Lock names are server-wide and at most 64 characters: hash the database and table.
        lock="SELECT GET_LOCK(CONCAT('sqlspec:', SHA1(CONCAT(DATABASE(), '.', ?))), 600)",
        unlock="SELECT RELEASE_LOCK(CONCAT('sqlspec:', SHA1(CONCAT(DATABASE(), '.', ?))))",
        split=split_statements,
    ),
}


def facts_for(config: Any) -> DialectFacts:
    """The facts for ``config``'s driver (its ``dialect`` attribute)."""
    dialect = getattr(config.driver_type, "dialect", None)
    facts = _FACTS.get(str(getattr(dialect, "value", dialect)))
    if facts is None:
        raise MigrationError(
            f"{config.describe()}: migrations do not support the {dialect!r} dialect "
            f"(supported: {', '.join(sorted(_FACTS))})"
        )
    return facts
