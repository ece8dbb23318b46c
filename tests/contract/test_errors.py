"""Driver errors from real databases become the right sqlspec class, chained to the driver's,
on every backend reached every way (``tests.backends.matrix``). Backend-specific errors stay in
``tests/integration/test_errors.py`` and ``tests/async_``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sqlspec import SQLSpecError
from sqlspec.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityError,
    NotNullViolationError,
    ProgrammingError,
    UniqueViolationError,
)
from tests.backends import BackendInfo, Matrix


@pytest.fixture
def constrained(matrix: Matrix) -> Iterator[Any]:
    """An open session on a database with a parent and a constrained child table."""
    with matrix.open(matrix.config()) as session:
        session.execute_script(
            """
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (
                id INTEGER PRIMARY KEY,
                parent_id INTEGER,
                name VARCHAR(20) NOT NULL,
                qty INTEGER CHECK (qty > 0),
                code VARCHAR(10) UNIQUE,
                FOREIGN KEY (parent_id) REFERENCES parent (id)
            );
            INSERT INTO parent (id) VALUES (1);
            INSERT INTO child (id, parent_id, name, qty, code) VALUES (1, 1, 'first', 1, 'A');
            """
        )
        session.commit()
        yield session


def _assert_translated(
    error: pytest.ExceptionInfo[SQLSpecError], cls: type[SQLSpecError], info: BackendInfo
) -> None:
    assert type(error.value) is cls, f"{type(error.value).__name__}: {error.value}"
    assert isinstance(error.value.__cause__, info.driver_error)
    assert str(error.value)  # the driver's message is kept


INSERT = "INSERT INTO child (id, parent_id, name, qty, code) VALUES (?, ?, ?, ?, ?)"
VIOLATIONS = {
    "unique-primary-key": ((1, 1, "dup", 1, "B"), UniqueViolationError),
    "unique-column": ((2, 1, "dup", 1, "A"), UniqueViolationError),
    "foreign-key": ((2, 99, "orphan", 1, "B"), ForeignKeyViolationError),
    "not-null": ((2, 1, None, 1, "B"), NotNullViolationError),
    "check": ((2, 1, "neg", -5, "B"), CheckViolationError),
}


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_constraint_violations(constrained: Any, matrix: Matrix, kind: str) -> None:
    values, cls = VIOLATIONS[kind]
    with pytest.raises(IntegrityError) as error:
        constrained.execute(INSERT, values)
    _assert_translated(error, cls, matrix.info)
    constrained.rollback()
    # The session goes on after the rollback, and the failed row is not there.
    assert constrained.select_value("SELECT count(*) FROM child") == 1


def test_constraint_violation_in_execute_many(constrained: Any, matrix: Matrix) -> None:
    rows = [(2, 1, "two", 1, "B"), (3, 1, "three", 1, "B")]
    with pytest.raises(UniqueViolationError) as error:
        constrained.execute_many(INSERT, rows)
    _assert_translated(error, UniqueViolationError, matrix.info)
    constrained.rollback()
    assert constrained.select_value("SELECT count(*) FROM child") == 1


def test_constraint_violation_in_execute_script(constrained: Any, matrix: Matrix) -> None:
    with pytest.raises(UniqueViolationError) as error:
        constrained.execute_script(
            "INSERT INTO parent (id) VALUES (2); INSERT INTO parent (id) VALUES (2);"
        )
    _assert_translated(error, UniqueViolationError, matrix.info)
    constrained.rollback()
    assert constrained.select_value("SELECT count(*) FROM parent") == 1


def test_foreign_key_violation_on_delete(constrained: Any, matrix: Matrix) -> None:
    with pytest.raises(ForeignKeyViolationError) as error:
        constrained.execute("DELETE FROM parent WHERE id = ?", 1)
    _assert_translated(error, ForeignKeyViolationError, matrix.info)


@pytest.mark.parametrize(
    "sql",
    ["SELEC 1", "SELECT * FROM no_such_table", "SELECT no_such_column FROM parent"],
    ids=["syntax", "unknown-table", "unknown-column"],
)
def test_programming_errors(constrained: Any, matrix: Matrix, sql: str) -> None:
    with pytest.raises(ProgrammingError) as error:
        constrained.execute(sql)
    _assert_translated(error, ProgrammingError, matrix.info)
    constrained.rollback()
    assert constrained.select_value("SELECT count(*) FROM child") == 1
