"""Statement results: rows as plain dicts (or mapped to a schema type), with strict accessors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, overload

from sqlspec.exceptions import MultipleResultsFoundError, NotFoundError

__all__ = ("SQLResult",)

_RowT = TypeVar("_RowT")
_T = TypeVar("_T")


class SQLResult(Generic[_RowT]):
    """The outcome of one statement.

    Rows are fetched eagerly: a result stays valid after its session is closed. Whether a statement
    returned rows is decided by the driver's cursor, never from the SQL text, so
    ``INSERT ... RETURNING id`` followed by :meth:`scalar` works.
    """

    __slots__ = ("column_names", "last_inserted_id", "rows", "rows_affected", "statement")

    def __init__(
        self,
        statement: str,
        rows: list[_RowT],
        column_names: tuple[str, ...],
        rows_affected: int,
        last_inserted_id: Any = None,
    ) -> None:
        self.statement = statement
        #: The rows, as dicts unless a ``schema_type`` was given.
        self.rows = rows
        #: Column names of the result set; empty when the statement returned no rows.
        self.column_names = column_names
        #: Rows inserted, updated or deleted (rows returned for a query); -1 when unknown.
        self.rows_affected = rows_affected
        #: The id of the last inserted row where the driver reports it (SQLite), else ``None``.
        self.last_inserted_id = last_inserted_id

    @property
    def returns_rows(self) -> bool:
        """True when the statement produced a result set (even an empty one)."""
        return bool(self.column_names)

    def all(self) -> list[_RowT]:
        """Return every row."""
        return self.rows

    def get_data(self) -> list[_RowT]:
        """Return every row (the same list as :meth:`all`)."""
        return self.rows

    def one(self) -> _RowT:
        """Return the only row; raise NotFoundError or MultipleResultsFoundError otherwise."""
        rows = self.rows
        if len(rows) == 1:
            return rows[0]
        raise self._cardinality_error(len(rows))

    def one_or_none(self) -> _RowT | None:
        """Return the only row, ``None`` for no row; raise when several rows came back."""
        rows = self.rows
        if not rows:
            return None
        if len(rows) == 1:
            return rows[0]
        raise self._cardinality_error(len(rows))

    def get_first(self) -> _RowT | None:
        """Return the first row, or ``None`` when there is none."""
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        """Return the first column of the only row; raise when there is not exactly one row."""
        row = self.one()
        return _first_value(row, self.column_names)

    def scalar_or_none(self) -> Any:
        """Return the first column of the only row, ``None`` for no row."""
        row = self.one_or_none()
        return None if row is None else _first_value(row, self.column_names)

    def _cardinality_error(self, count: int) -> Exception:
        sql = _short(self.statement)
        if count == 0:
            return NotFoundError(f"expected exactly one row, got none: {sql}")
        return MultipleResultsFoundError(f"expected exactly one row, got {count}: {sql}")

    def __iter__(self) -> Iterator[_RowT]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> _RowT: ...
    @overload
    def __getitem__(self, index: slice) -> list[_RowT]: ...
    def __getitem__(self, index: int | slice) -> _RowT | list[_RowT]:
        return self.rows[index]

    def __repr__(self) -> str:
        return (
            f"<SQLResult rows={len(self.rows)} rows_affected={self.rows_affected} "
            f"columns={list(self.column_names)}>"
        )


def _first_value(row: Any, column_names: tuple[str, ...]) -> Any:
    if isinstance(row, dict):
        return row[column_names[0]] if column_names else next(iter(row.values()))
    return getattr(row, column_names[0])


def _short(sql: str, limit: int = 120) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[: limit - 3] + "..."
