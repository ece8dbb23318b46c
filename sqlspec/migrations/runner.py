"""Applying and reverting migrations through a config's own sessions.

The runner uses one session for a whole run: a sync config's session directly, an async
config's through the portal (``config.provide_sync_session()``), so the API is sync for both.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlspec.exceptions import MigrationError, OperationalError, ProgrammingError, SQLSpecError
from sqlspec.migrations.dialects import DialectFacts, facts_for
from sqlspec.migrations.files import MIGRATION_TEMPLATE, Migration, discover, next_file_name

__all__ = ("DEFAULT_SCRIPT_LOCATION", "DEFAULT_VERSION_TABLE", "MigrationInfo", "Migrations")

DEFAULT_SCRIPT_LOCATION = "migrations"
DEFAULT_VERSION_TABLE = "sqlspec_migrations"
#: Seconds a run waits for another process's migration lock (the MySQL lock uses the same).
_LOCK_TIMEOUT = 600.0

# Threads of one process are serialised per database and version table (the database lock
# does the same across processes; DuckDB has only this one).
_process_locks: dict[tuple[str, str], threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(key: tuple[str, str]) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class MigrationInfo:
    """One migration as :meth:`Migrations.status` reports it."""

    version: str
    name: str
    applied: bool
    applied_at: datetime | None
    """When it was applied (UTC), ``None`` when pending."""
    path: Path | None
    """Its file, ``None`` when an applied migration's file is gone."""
    problem: str | None = None
    """``"file changed"`` or ``"file missing"`` for an applied migration that drifted."""


class Migrations:
    """The migrations of one config: ``spec.migrations(config)``.

    Files live in ``migration_config["script_location"]`` (default ``"migrations"``, relative
    to ``root``, the current directory by default); applied versions are recorded in
    ``migration_config["version_table_name"]`` (default ``"sqlspec_migrations"``) with their
    name, checksum and time.

    Async configs run through the portal with the same sync API, without their
    ``portal_timeout`` limit (a migration may take long).

    Every run takes a database lock first (PostgreSQL advisory lock, MySQL ``GET_LOCK``, on
    SQLite the write lock of each migration's transaction), so several processes may call
    :meth:`upgrade` at once: each migration is applied exactly once.
    """

    def __init__(self, config: Any, *, root: str | os.PathLike[str] | None = None) -> None:
        settings = config.migration_config
        location = Path(settings.get("script_location", DEFAULT_SCRIPT_LOCATION))
        if not location.is_absolute():
            location = Path(root if root is not None else os.getcwd()) / location
        self.config = config
        #: The folder of migration files.
        self.path = location
        #: The version table's name.
        self.table = str(settings.get("version_table_name", DEFAULT_VERSION_TABLE))
        self._facts: DialectFacts = facts_for(config)

    def __repr__(self) -> str:
        return f"<Migrations {self.path} on {self.config.describe()}>"

    # -- public API ------------------------------------------------------------------------------

    def upgrade(self, to: str | int | None = None) -> list[str]:
        """Apply the pending migrations (up to and including version ``to``), oldest first;
        return the versions applied, in order.

        Each migration runs in its own transaction where DDL is transactional (PostgreSQL,
        SQLite, DuckDB): one that fails leaves no trace and is not recorded. On MySQL/MariaDB
        statements run one by one and the error says which one failed; the earlier ones of
        that file stay applied. Raises :class:`MigrationError` before running anything when an
        applied migration's file changed or disappeared, when a file is malformed, or when
        ``to`` is not a known version.
        """
        migrations = discover(self.path)
        target = self._target(to, migrations, allow_zero=False)
        done: list[str] = []
        with self._session() as db, self._locked(db):
            self._ensure_table(db)
            applied = self._applied(db)
            self._check_drift(applied, migrations)
            for migration in migrations:
                if migration.number in applied:
                    continue
                if target is not None and migration.number > target:
                    break
                if self._run(db, migration, "up"):
                    done.append(migration.version)
        return done

    def downgrade(self, to: str | int) -> list[str]:
        """Revert the applied migrations newer than version ``to``, newest first (``to="0"``
        reverts all); return the versions reverted.

        Before running anything, raises :class:`MigrationError` when one of them has no down
        section, or its file changed or is missing.
        """
        migrations = discover(self.path)
        target = self._target(to, migrations, allow_zero=True)
        assert target is not None
        by_number = {m.number: m for m in migrations}
        done: list[str] = []
        with self._session() as db, self._locked(db):
            applied = self._applied(db, create=True)
            numbers = sorted((n for n in applied if n > target), reverse=True)
            self._check_drift({n: applied[n] for n in numbers}, migrations)
            without_down = [by_number[n].path.name for n in numbers if by_number[n].down is None]
            if without_down:
                raise MigrationError(
                    f"cannot downgrade to {to}: {', '.join(without_down)} "
                    f"{'has' if len(without_down) == 1 else 'have'} no '-- migrate:down' "
                    "section; nothing was reverted"
                )
            for number in numbers:
                if self._run(db, by_number[number], "down"):
                    done.append(by_number[number].version)
        return done

    def status(self) -> list[MigrationInfo]:
        """Every migration, file or applied, ordered by version (reads only; never creates the
        version table)."""
        migrations = discover(self.path) if self.path.is_dir() else []
        with self._session() as db:
            applied = self._applied(db)
        infos: dict[int, MigrationInfo] = {}
        for migration in migrations:
            row = applied.get(migration.number)
            problem = None
            if row is not None and row["checksum"] != migration.checksum:
                problem = "file changed"
            infos[migration.number] = MigrationInfo(
                migration.version,
                migration.name,
                row is not None,
                _parse_time(row["applied_at"]) if row else None,
                migration.path,
                problem,
            )
        for number, row in applied.items():
            if number not in infos:
                infos[number] = MigrationInfo(
                    str(row["version"]),
                    str(row["name"]),
                    True,
                    _parse_time(row["applied_at"]),
                    None,
                    "file missing",
                )
        return [infos[number] for number in sorted(infos)]

    def current(self) -> str | None:
        """The highest applied version, ``None`` when nothing is applied."""
        with self._session() as db:
            applied = self._applied(db)
        if not applied:
            return None
        return str(applied[max(applied)]["version"])

    def create(self, name: str) -> Path:
        """Write the next numbered migration file with empty up and down sections (creating
        the folder if needed) and return its path."""
        self.path.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        path = self.path / next_file_name(discover(self.path), name, now)
        with path.open("x", encoding="utf-8") as file:
            file.write(MIGRATION_TEMPLATE)
        return path

    # -- steps -----------------------------------------------------------------------------------

    def _session(self) -> Any:
        if not self.config.is_async:
            return self.config.provide_sync_session()
        # The portal facade, without the config's portal_timeout: that limit is meant for
        # requests, while a migration (or waiting for another process's) may take long.
        from sqlspec.portal_session import PortalSession

        return PortalSession(self.config.driver_type(self.config), timeout=threading.TIMEOUT_MAX)

    @contextmanager
    def _locked(self, db: Any) -> Iterator[None]:
        facts = self._facts
        mode = self.config.driver_features.get("pooler_mode", "session")
        if facts.lock is not None and mode != "session":
            # A session lock taken through a transaction pooler stays on whichever server
            # connection ran it, and the unlock may run on another one.
            raise MigrationError(
                f"{self.config.describe()}: migrations need a session-level lock, which a "
                f"{mode}-mode pooler cannot keep (pooler_mode={mode!r}); run them through a "
                "config that connects to the database directly (or a session-mode pool)"
            )
        with _process_lock((self.config.describe(), self.table)):
            if facts.lock is None:
                yield
                return
            taken = db.select_value(facts.lock, self.table)
            db.commit()
            if not taken:
                raise MigrationError(
                    f"{self.config.describe()}: could not take the migration lock within 600 s; "
                    "another process is migrating this database"
                )
            try:
                yield
            finally:
                try:
                    db.rollback()
                    db.select_value(facts.unlock, self.table)
                    db.commit()
                except SQLSpecError:
                    pass  # the connection is gone, and the lock with it

    def _ensure_table(self, db: Any) -> None:
        create = (
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "version VARCHAR(128) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
            "checksum VARCHAR(64) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
        )
        db.begin()
        self._wait_for_writer(db, lambda: db.execute(create))
        db.commit()

    def _applied(self, db: Any, create: bool = False) -> dict[int, dict[str, Any]]:
        """The version table's rows by version number (empty when the table does not exist,
        which is then created when ``create``)."""
        try:
            rows = db.select(f"SELECT version, name, checksum, applied_at FROM {self.table}")
        except ProgrammingError as error:
            db.rollback()
            if self._table_exists(db):
                raise MigrationError(
                    f"{self.config.describe()}: the table {self.table} exists but is not a "
                    "sqlspec version table (columns version, name, checksum, applied_at): "
                    f"{error}; choose another migration_config['version_table_name']"
                ) from error
            if create:
                self._ensure_table(db)
            return {}  # no table: nothing was ever applied
        db.commit()
        return {int(row["version"]): row for row in rows}

    def _table_exists(self, db: Any) -> bool:
        try:
            db.execute(f"SELECT 1 FROM {self.table} WHERE 1 = 0")
        except ProgrammingError:
            db.rollback()
            return False
        db.rollback()
        return True

    def _check_drift(self, applied: dict[int, dict[str, Any]], migrations: list[Migration]) -> None:
        by_number = {m.number: m for m in migrations}
        for number in sorted(applied):
            row = applied[number]
            migration = by_number.get(number)
            if migration is None:
                raise MigrationError(
                    f"applied migration {row['version']}_{row['name']}.sql is missing from "
                    f"{self.path}; restore the file (migrations that ran must stay)"
                )
            if row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"{migration.path} was changed after it was applied (checksum mismatch); "
                    "restore it and put the change in a new migration"
                )

    def _run(self, db: Any, migration: Migration, direction: str) -> bool:
        """Run one migration's section and record it; False when another process did it
        first."""
        up = direction == "up"
        sql = migration.up if up else migration.down
        assert sql is not None
        in_transaction = migration.up_transaction if up else migration.down_transaction
        facts = self._facts
        if not in_transaction:
            if self._is_applied(db, migration) == up:  # another process was first
                db.commit()
                return False
            db.commit()
            try:
                db.execute_script(sql, transaction=False)
            except SQLSpecError as error:
                raise self._failed(
                    migration,
                    direction,
                    error,
                    "it ran outside a transaction, so what it did before the error is not undone",
                ) from error
            self._record(db, migration, up)
            db.commit()
            return True
        try:
            self._begin_locked(db)
            if self._is_applied(db, migration) == up:  # another process was first
                db.rollback()
                return False
            if facts.split is None:
                db.execute_script(sql)
            else:
                self._run_statements(db, migration, direction, facts.split(sql))
            self._record(db, migration, up)
            db.commit()
        except MigrationError:
            db.rollback()
            raise
        except SQLSpecError as error:
            db.rollback()
            outcome = (
                "it was rolled back: nothing of it remains"
                if facts.transactional_ddl
                else f"{facts.name} commits DDL at once, so what its statements did stays"
            )
            raise self._failed(migration, direction, error, outcome) from error
        return True

    def _begin_locked(self, db: Any) -> None:
        """Open a migration's transaction, exclusive where the dialect needs it."""
        statement = self._facts.lock_in_transaction
        db.begin()
        if statement is not None:
            self._wait_for_writer(db, lambda: db.execute(statement.format(table=self.table)))

    def _wait_for_writer(self, db: Any, write: Any) -> None:
        """Run ``write`` (the first write of a transaction); where the database lock is the
        write lock itself (SQLite), wait for another process's migration up to _LOCK_TIMEOUT,
        beyond the connection's busy timeout."""
        if self._facts.lock_in_transaction is None:
            write()
            return
        deadline = time.monotonic() + _LOCK_TIMEOUT
        while True:
            try:
                write()
                return
            except OperationalError:  # busy: another transaction holds the write lock
                db.rollback()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
                db.begin()

    def _run_statements(
        self, db: Any, migration: Migration, direction: str, statements: list[str]
    ) -> None:
        for index, statement in enumerate(statements, start=1):
            try:
                db.execute_script(statement)
            except SQLSpecError as error:
                db.rollback()
                line = _line_of(migration.path, statement, direction)
                shown = " ".join(statement.split())
                if len(shown) > 100:
                    shown = shown[:97] + "..."
                kept = (
                    f"statements 1-{index - 1} of its {direction} section are NOT rolled back "
                    f"({self._facts.name} commits DDL at once): undo them by hand or finish the "
                    "migration by hand"
                    if index > 1
                    else "nothing of it ran"
                )
                raise MigrationError(
                    f"{migration.path}: migration {migration.version} ({direction}) failed at "
                    f"statement {index} of {len(statements)}{line}: {shown!r}: {error}; {kept}. "
                    "It is not recorded."
                ) from error

    def _is_applied(self, db: Any, migration: Migration) -> bool:
        rows = db.select(f"SELECT version FROM {self.table}")
        return any(int(row["version"]) == migration.number for row in rows)

    def _record(self, db: Any, migration: Migration, up: bool) -> None:
        if up:
            db.execute(
                f"INSERT INTO {self.table} (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                migration.version,
                migration.name,
                migration.checksum,
                datetime.now(timezone.utc).isoformat(),
            )
        else:
            rows = db.select(f"SELECT version FROM {self.table}")
            for row in rows:
                if int(row["version"]) == migration.number:
                    db.execute(f"DELETE FROM {self.table} WHERE version = ?", row["version"])

    def _failed(
        self, migration: Migration, direction: str, error: BaseException, outcome: str
    ) -> MigrationError:
        return MigrationError(
            f"{migration.path}: migration {migration.version} ({direction}) failed: {error}; "
            f"{outcome}. It is not recorded."
        )

    def _target(
        self, to: str | int | None, migrations: list[Migration], allow_zero: bool
    ) -> int | None:
        if to is None:
            return None
        text = str(to).strip()
        if not text.isdigit():
            raise MigrationError(f"{to!r} is not a migration version (a number, e.g. 0003)")
        number = int(text)
        if number == 0 and allow_zero:
            return 0
        if not any(m.number == number for m in migrations):
            known = ", ".join(m.version for m in migrations) or "none"
            zero = " or 0 (everything)" if allow_zero else ""
            raise MigrationError(
                f"no migration has version {to} in {self.path}; known versions: {known}{zero}"
            )
        return number


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _line_of(path: Path, statement: str, direction: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    marker = text.find(f"migrate:{direction}")
    position = text.find(statement, max(marker, 0))
    if position < 0:
        return ""
    return f" (line {text.count(chr(10), 0, position) + 1})"
