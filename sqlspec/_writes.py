"""Whether a statement writes: decided once per prepared statement from its leading keyword."""

from __future__ import annotations

import re

__all__ = ("writes",)

# Whitespace, comments and opening parentheses before the statement's first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*|#[^\n]*|/\*.*?\*/|\()*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")
_WRITE_VERBS = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "REPLACE",
        "UPSERT",
        "CREATE",
        "ALTER",
        "DROP",
        "TRUNCATE",
        "RENAME",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "COPY",
        "CALL",
        "DO",
    }
)
# A data-modifying common table expression (PostgreSQL) or the statement after the CTEs.
_WRITE_IN_WITH = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def writes(sql: str) -> bool:
    """True when ``sql`` changes data or schema (INSERT, UPDATE, DELETE, MERGE, DDL, ...).

    A hint for logging, never for correctness: it reads the first keyword only (and, after
    ``WITH``, looks for a data-modifying verb anywhere), so a function with side effects called
    from a SELECT is not seen, and a ``WITH ... FOR UPDATE`` counts as a write.
    """
    start = _LEADING.match(sql).end()  # type: ignore[union-attr]
    word = _WORD.match(sql, start)
    if word is None:
        return False
    verb = word.group().upper()
    if verb == "WITH":
        return _WRITE_IN_WITH.search(sql, word.end()) is not None
    return verb in _WRITE_VERBS
