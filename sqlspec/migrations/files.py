"""Migration files in dbmate's format: parsing (no I/O) and discovery in a folder.

A migration is ``<version>_<name>.sql``, the version being the leading number (gaps allowed,
two files with the same number are an error). Its text has an ``-- migrate:up`` section and an
optional ``-- migrate:down`` section; ``transaction:false`` after either marker runs that
section outside a transaction::

    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);

    -- migrate:down
    DROP TABLE users;
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlspec.exceptions import MigrationError

__all__ = ("MIGRATION_TEMPLATE", "Migration", "discover", "next_file_name", "parse_migration")

_FILE_NAME = re.compile(r"(?P<version>\d+)(?:_(?P<name>.+))?\.sql")
_MARKER = re.compile(r"^[ \t]*--[ \t]*migrate:(?P<direction>\w+)(?P<options>.*)$")
_NEW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_TIMESTAMP_DIGITS = 14  # dbmate's default versions: YYYYMMDDHHMMSS

#: What ``create()`` writes into a new migration.
MIGRATION_TEMPLATE = "-- migrate:up\n\n\n-- migrate:down\n\n"


@dataclass(frozen=True)
class Migration:
    """One parsed migration file."""

    version: str
    """The leading digits of the file name, as written (``"0003"``)."""
    name: str
    """The rest of the file name (``"add_users"``)."""
    path: Path
    up: str
    down: str | None
    """``None`` when the file has no down section (or only comments in it)."""
    up_transaction: bool
    down_transaction: bool
    checksum: str
    """SHA-256 of the file's text (line endings normalised), recorded when applied."""

    @property
    def number(self) -> int:
        return int(self.version)


def _checksum(text: str) -> str:
    """The checksum recorded for a migration's text (CRLF and LF count as the same)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def _has_statements(sql: str) -> bool:
    """True when ``sql`` holds more than comments and whitespace."""
    return bool(_LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", sql)).strip())


def _options(path: Path, line: int, text: str) -> bool:
    transaction = True
    for option in text.split():
        key, _, value = option.partition(":")
        if key != "transaction" or value not in ("true", "false"):
            raise MigrationError(
                f"{path}:{line}: unknown migration option {option!r}; the only option is "
                "transaction:false (run the section outside a transaction)"
            )
        transaction = value == "true"
    return transaction


def parse_migration(path: Path, text: str) -> Migration:
    """Parse a migration's text (``path`` gives its version and name, and is used in errors).

    Raises :class:`MigrationError` for a missing or repeated section, SQL before
    ``-- migrate:up``, ``down`` before ``up``, an unknown option or an empty up section.
    """
    match = _FILE_NAME.fullmatch(path.name)
    if match is None:
        raise MigrationError(
            f"{path}: a migration file is named <version>_<name>.sql, e.g. 0001_create_users.sql"
        )
    sections: dict[str, list[str]] = {}
    transactions: dict[str, bool] = {}
    current: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        marker = _MARKER.match(raw)
        if marker is None:
            if current is None:
                if _has_statements(raw):
                    raise MigrationError(
                        f"{path}:{number}: SQL before '-- migrate:up'; a migration starts with "
                        "'-- migrate:up' (and may have a '-- migrate:down' section after it)"
                    )
            else:
                current.append(raw)
            continue
        direction = marker.group("direction")
        if direction not in ("up", "down"):
            raise MigrationError(
                f"{path}:{number}: unknown section 'migrate:{direction}'; use migrate:up or "
                "migrate:down"
            )
        if direction in sections:
            raise MigrationError(f"{path}:{number}: a second '-- migrate:{direction}' section")
        if direction == "down" and "up" not in sections:
            raise MigrationError(f"{path}:{number}: '-- migrate:down' comes before '-- migrate:up'")
        transactions[direction] = _options(path, number, marker.group("options"))
        current = sections[direction] = []
    if "up" not in sections:
        raise MigrationError(f"{path}: no '-- migrate:up' section")
    up = "\n".join(sections["up"]).strip()
    if not _has_statements(up):
        raise MigrationError(f"{path}: the '-- migrate:up' section has no statements")
    down = "\n".join(sections.get("down", [])).strip()
    return Migration(
        version=match.group("version"),
        name=match.group("name") or "",
        path=path,
        up=up,
        down=down if _has_statements(down) else None,
        up_transaction=transactions["up"],
        down_transaction=transactions.get("down", True),
        checksum=_checksum(text),
    )


def discover(folder: Path) -> list[Migration]:
    """Read and parse every ``*.sql`` file of ``folder``, ordered by version.

    Raises :class:`MigrationError` when the folder does not exist, a file cannot be read or
    parsed, or two files have the same version number.
    """
    if not folder.is_dir():
        raise MigrationError(
            f"the migration folder {folder} does not exist; create it (or a first migration "
            "with `new <name>`), or set migration_config={'script_location': ...}"
        )
    migrations: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise MigrationError(f"{path}: cannot be read as UTF-8 text: {error}") from error
        migration = parse_migration(path, text)
        other = migrations.get(migration.number)
        if other is not None:
            raise MigrationError(
                f"two migrations have version {migration.number}: {other.path.name} and "
                f"{path.name}; give each file its own number"
            )
        migrations[migration.number] = migration
    return [migrations[number] for number in sorted(migrations)]


def next_file_name(existing: list[Migration], name: str, now: str) -> str:
    """The file name of a new migration: the next number after the highest, as wide as the
    existing ones (4 digits for the first), or ``now`` (``YYYYMMDDHHMMSS``) when the existing
    versions are dbmate-style timestamps."""
    if not _NEW_NAME.fullmatch(name):
        raise MigrationError(
            f"{name!r} is not a valid migration name; use letters, digits and _ (e.g. add_users)"
        )
    if not existing:
        return f"0001_{name}.sql"
    last = existing[-1]
    if len(last.version) == _TIMESTAMP_DIGITS:
        version = str(max(int(now), last.number + 1))
    else:
        version = str(last.number + 1).zfill(len(last.version))
    return f"{version}_{name}.sql"
