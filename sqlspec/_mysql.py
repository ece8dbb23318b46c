"""MySQL/MariaDB script splitting, shared by the asyncmy adapter and the migrations runner."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ("split_mysql_script",)

# Strings (backslash escapes, doubled quotes), quoted identifiers, comments, and ";".
_SCRIPT_TOKENS = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|`(?:[^`]|``)*`?"""
    r"""|\#[^\n]*|--(?=[\s]|$)[^\n]*|/\*.*?(?:\*/|$)|;""",
    re.DOTALL,
)


@lru_cache(maxsize=128)
def split_mysql_script(sql: str) -> tuple[str, ...]:
    """Split a script into statements at ``;`` outside strings, quoted names and comments.

    Client-side ``DELIMITER`` is not supported: run a ``CREATE PROCEDURE``/``TRIGGER`` whose body
    holds ``;`` with :meth:`~sqlspec.async_driver.AsyncDriver.execute`.
    """
    statements: list[str] = []
    start = 0
    for match in _SCRIPT_TOKENS.finditer(sql):
        if match.group() == ";":
            statements.append(sql[start : match.start()])
            start = match.end()
    statements.append(sql[start:])
    return tuple(s for s in (piece.strip() for piece in statements) if _has_code(s))


def _has_code(statement: str) -> bool:
    rest = _SCRIPT_TOKENS.sub(lambda m: m.group() if m.group()[0] in "'\"`" else " ", statement)
    return bool(rest.strip())
