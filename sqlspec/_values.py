"""Values a driver cannot bind, and statements with more parameters than the database accepts.

Drivers refuse a bad value (an ``object()``, a ``set``, a string that cannot be encoded) in their
own words, usually without saying which parameter it was. Adapters catch that refusal and, on that
error path only, look for the offending value (:func:`locate`); the session then raises
:class:`~sqlspec.exceptions.DataError` naming the parameter as the user wrote it (``:email`` or its
1-based position) and the value's type. Private: the core and the adapters use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from sqlspec.exceptions import DataError, ParameterError
from sqlspec.statement import PreparedStatement

__all__ = ("UnbindableValue", "locate", "locate_in_rows", "refuse", "too_many_parameters")

#: Says why a driver cannot bind ``value``, or returns ``None`` when it can.
Check = Callable[[Any], str | None]

_SQL_IN_MESSAGE = 120


class UnbindableValue(Exception):
    """Raised by an adapter for a value its driver cannot bind; the session turns it into
    :class:`DataError` naming the parameter (``key`` is the index in the values the driver got,
    or the name for a mapping)."""

    def __init__(self, key: int | str, value: Any, reason: str, row: int | None = None) -> None:
        super().__init__(key, value, reason, row)
        self.key = key
        self.value = value
        self.reason = reason
        self.row = row

    def data_error(self, stmt: PreparedStatement) -> DataError:
        """The user-facing error, naming the parameter as ``stmt``'s source SQL writes it."""
        key = self.key
        if isinstance(key, str):
            label = f":{key}"
        elif key < len(stmt.order):
            native = stmt.order[key]
            label = f":{native}" if isinstance(native, str) else str(native + 1)
        else:
            label = str(key + 1)
        where = f"row {self.row}: " if self.row is not None else ""
        return DataError(
            f"{where}parameter {label} ({_type_name(self.value)}) cannot be bound: {self.reason}"
            f" (convert it to a type the driver supports): {_short(stmt.source)}"
        )


def locate(values: Any, check: Check) -> UnbindableValue | None:
    """The first of ``values`` (a sequence or a mapping) that ``check`` refuses."""
    if values is None:
        return None
    items: Iterable[tuple[int | str, Any]] = (
        values.items() if isinstance(values, Mapping) else enumerate(values)
    )
    for key, value in items:
        reason = check(value)
        if reason is not None:
            return UnbindableValue(key, value, reason)
    return None


def locate_in_rows(rows: Iterable[Any], check: Check) -> UnbindableValue | None:
    """The first value that ``check`` refuses in any of ``execute_many``'s rows."""
    for index, row in enumerate(rows):
        found = locate(row, check)
        if found is not None:
            found.row = index
            return found
    return None


def refuse(error: BaseException, found: UnbindableValue | None) -> NoReturn:
    """Raise ``found`` (chained to the driver's ``error``); without one, ``error`` was not about a
    value: re-raise it for the session to translate, or as ``DataError`` when it is a bare Python
    error (an unencodable character in the SQL text itself)."""
    if found is not None:
        raise found from error
    if isinstance(error, UnicodeError | OverflowError | TypeError | ValueError):
        raise DataError(f"{type(error).__name__}: {error}") from error
    raise error


def too_many_parameters(stmt: PreparedStatement, limit: int, owner: str) -> ParameterError:
    """The error for a statement with more native parameters than ``limit``."""
    return ParameterError(
        f"statement has {len(stmt.order):,} parameters but {owner} accepts at most {limit:,} in "
        f"one statement; split it (insert rows in batches, or use execute_many() with one row "
        f"per call): {_short(stmt.source)}"
    )


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    if len(text) > _SQL_IN_MESSAGE:
        return text[: _SQL_IN_MESSAGE - 3] + "..."
    return text
