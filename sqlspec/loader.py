"""Named SQL files: queries kept in ``.sql`` files and looked up by name.

A file holds any number of queries, each introduced by a ``-- name: <identifier>`` line and
running up to the next one. Comment lines right after the name line are the query's
description. Comments and blank lines before the first name are a file header and ignored;
anything else there is an error (it would otherwise be silently dropped)::

    -- name: get_user_by_id
    -- One user by primary key.
    SELECT id, email FROM users WHERE id = :id

Loading happens once (at start-up); a lookup is a dict access. Query text is handed to the
session unchanged, so every placeholder style the sessions accept works.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlspec.exceptions import SQLFileError

__all__ = ("NamedSQL", "SQLFileLoader", "parse_sql_file")

_NAME_LINE = re.compile(r"^[ \t]*--[ \t]*name[ \t]*:(?P<name>.*)$", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENT = re.compile(r"^[ \t]*--(?P<text>.*)$")


@dataclass(frozen=True)
class NamedSQL:
    """One named query: its statement text, description and where it was defined."""

    name: str
    sql: str
    description: str
    path: Path
    line: int

    @property
    def location(self) -> str:
        """``path:line`` of its ``-- name:`` line."""
        return f"{self.path}:{self.line}"


def parse_sql_file(text: str, path: Path) -> list[NamedSQL]:
    """Parse one file's text into its named queries (no I/O; ``path`` is for messages).

    Raises :class:`SQLFileError` for a name that is not an identifier, a name defined twice in
    the file, a name without a statement, or SQL before the first name.
    """
    queries: list[NamedSQL] = []
    seen: dict[str, int] = {}
    current: tuple[str, int] | None = None
    body: list[str] = []

    def finish() -> None:
        if current is None:
            return
        name, line = current
        description: list[str] = []
        lines = list(body)
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and (match := _COMMENT.match(lines[0])):
            description.append(match.group("text").strip())
            lines.pop(0)
        sql = "\n".join(lines).strip()
        if sql.endswith(";"):
            sql = sql[:-1].rstrip()
        if not sql:
            raise SQLFileError(f"{path}:{line}: query {name!r} has no statement")
        queries.append(NamedSQL(name, sql, "\n".join(description).strip(), path, line))

    for number, raw in enumerate(text.splitlines(), start=1):
        match = _NAME_LINE.match(raw)
        if match is None:
            if current is None and raw.strip() and not _COMMENT.match(raw):
                raise SQLFileError(
                    f"{path}:{number}: SQL before the first '-- name:' line; start each query "
                    "with '-- name: <identifier>'"
                )
            body.append(raw)
            continue
        finish()
        name = match.group("name").strip()
        if not _IDENTIFIER.fullmatch(name):
            raise SQLFileError(
                f"{path}:{number}: {name!r} is not a valid query name; a name is an identifier "
                "(letters, digits and _, not starting with a digit), e.g. get_user_by_id"
            )
        if name in seen:
            raise SQLFileError(
                f"duplicate query name {name!r}: {path}:{seen[name]} and {path}:{number}"
            )
        seen[name] = number
        current = (name, number)
        body = []
    finish()
    return queries


def _sql_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.sql") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise SQLFileError(f"{path}: no such file or directory (resolved to {path.resolve()})")
    return found


class SQLFileLoader:
    """The named queries loaded so far; names are unique across every file loaded."""

    def __init__(self) -> None:
        self._queries: dict[str, NamedSQL] = {}

    def load(self, *paths: str | os.PathLike[str]) -> list[str]:
        """Load ``.sql`` files and folders (searched recursively for ``*.sql``, in name order);
        return the names loaded, in file order.

        All or nothing: when any file fails (unreadable, not UTF-8, a bad or duplicate name,
        also against names loaded earlier), :class:`SQLFileError` names the file and line and
        nothing of this call is kept.
        """
        new: dict[str, NamedSQL] = {}
        for path in _sql_files(paths):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SQLFileError(f"{path}: cannot be read as UTF-8 text: {error}") from error
            for query in parse_sql_file(text, path):
                earlier = new.get(query.name) or self._queries.get(query.name)
                if earlier is not None:
                    if (earlier.path.resolve(), earlier.line, earlier.sql) == (
                        query.path.resolve(),
                        query.line,
                        query.sql,
                    ):
                        continue  # the same file loaded twice: nothing to choose between
                    raise SQLFileError(
                        f"duplicate query name {query.name!r}: {earlier.location} and "
                        f"{query.location}; names must be unique across all loaded files"
                    )
                new[query.name] = query
        self._queries.update(new)
        return list(new)

    def get(self, name: str) -> NamedSQL:
        """The query called ``name``; :class:`SQLFileError` with close matches when unknown."""
        try:
            return self._queries[name]
        except KeyError:
            raise SQLFileError(self._unknown(name)) from None

    def get_sql(self, name: str) -> str:
        """The statement text of the query called ``name`` (see :meth:`get`)."""
        try:
            return self._queries[name].sql
        except KeyError:
            raise SQLFileError(self._unknown(name)) from None

    def names(self) -> list[str]:
        """The loaded names, sorted."""
        return sorted(self._queries)

    def __contains__(self, name: object) -> bool:
        return name in self._queries

    def __len__(self) -> int:
        return len(self._queries)

    def _unknown(self, name: str) -> str:
        if not self._queries:
            return f"no SQL query named {name!r}: no SQL files are loaded (load_sql_files())"
        close = difflib.get_close_matches(name, self._queries, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"no SQL query named {name!r} is loaded ({len(self._queries)} are){hint}"
