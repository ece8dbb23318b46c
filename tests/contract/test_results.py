"""SQLResult on every backend reached every way (``tests.backends.matrix``): RETURNING,
affected rows, accessors, the select_* helpers, ``schema_type``, SQLite's last inserted id."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sqlspec import MultipleResultsFoundError, NotFoundError, SQLResult
from sqlspec.exceptions import ProgrammingError, SQLSpecError
from tests.backends import Matrix


@pytest.fixture
def people(session: Any, matrix: Matrix) -> Any:
    matrix.info.serial_table(session, "people", "name VARCHAR(40) NOT NULL, age INTEGER")
    session.execute_many(
        "INSERT INTO people (name, age) VALUES (?, ?)",
        [("ann", 31), ("bob", 42), ("cid", 42), ("dee", None)],
    )
    return session


def test_insert_returning_scalar(session: Any, matrix: Matrix) -> None:
    matrix.info.serial_table(session, "items", "name VARCHAR(40)")
    inserted = session.execute("INSERT INTO items (name) VALUES (?) RETURNING id", "a")
    assert inserted.returns_rows
    first = inserted.scalar()
    second = session.execute("INSERT INTO items (name) VALUES (:n) RETURNING id", n="b").scalar()
    assert isinstance(first, int)
    assert second != first
    assert session.select_value("SELECT name FROM items WHERE id = ?", second) == "b"


def test_insert_returning_several_rows(session: Any, matrix: Matrix) -> None:
    matrix.info.serial_table(session, "items", "name VARCHAR(40)")
    result = session.execute(
        "INSERT INTO items (name) VALUES (?), (?) RETURNING id, name", "a", "b"
    )
    assert result.column_names == ("id", "name")
    assert sorted(row["name"] for row in result) == ["a", "b"]
    assert result.rows_affected == 2
    with pytest.raises(MultipleResultsFoundError):
        result.scalar()


def test_update_returning(people: Any, matrix: Matrix) -> None:
    if not matrix.info.update_returning:
        pytest.skip(f"{matrix.info.name}: no UPDATE ... RETURNING in the database")
    result = people.execute("UPDATE people SET age = age + 1 WHERE age = ? RETURNING name", 42)
    assert sorted(row["name"] for row in result) == ["bob", "cid"]
    assert result.rows_affected == 2


def test_rows_affected_for_update_and_delete(people: Any) -> None:
    updated = people.execute("UPDATE people SET age = ? WHERE age = ?", 50, 42)
    assert updated.rows_affected == 2
    assert updated.all() == []
    assert updated.column_names == ()
    assert not updated.returns_rows
    assert people.execute("UPDATE people SET age = 1 WHERE name = ?", "nobody").rows_affected == 0
    deleted = people.execute("DELETE FROM people WHERE age IS NULL OR age = :age", age=50)
    assert deleted.rows_affected == 3
    assert people.execute("DELETE FROM people").rows_affected == 1


def test_rows_affected_for_multi_row_insert(session: Any) -> None:
    session.execute("CREATE TABLE t (a INTEGER)")
    inserted = session.execute("INSERT INTO t (a) VALUES (?), (?), (?)", 1, 2, 3)
    assert inserted.rows_affected == 3
    assert not inserted.returns_rows


def test_rows_affected_for_insert_from_select(people: Any) -> None:
    people.execute("CREATE TABLE names (name VARCHAR(40))")
    result = people.execute("INSERT INTO names (name) SELECT name FROM people WHERE age = ?", 42)
    assert result.rows_affected == 2
    assert result.all() == []
    assert result.column_names == ()


def test_dml_mentioning_returning_in_a_literal_returns_no_rows(
    session: Any, matrix: Matrix, request: pytest.FixtureRequest
) -> None:
    # The word RETURNING inside a string literal or a name does not make a statement return rows.
    session.execute("CREATE TABLE returning_log (id INTEGER, msg VARCHAR(40))")
    inserted = session.execute("INSERT INTO returning_log VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    assert inserted.column_names == ()
    assert inserted.all() == []
    assert inserted.rows_affected == 3
    updated = session.execute("UPDATE returning_log SET msg = 'returning customer'")
    assert updated.rows_affected == 3
    assert updated.all() == []
    assert not updated.returns_rows


def test_last_inserted_id(session: Any, matrix: Matrix) -> None:
    if not matrix.info.sqlite_syntax:
        pytest.skip(f"{matrix.info.name}: the driver reports no last inserted id")
    session.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    assert session.execute("INSERT INTO t (id, name) VALUES (?, ?)", 41, "x").last_inserted_id == 41
    result = session.execute("INSERT INTO t (name) VALUES (?)", "y")
    assert result.last_inserted_id == 42
    assert session.select_value("SELECT name FROM t WHERE id = ?", result.last_inserted_id) == "y"


def test_rows_affected_for_a_set_returning_select(session: Any, matrix: Matrix) -> None:
    if not matrix.info.plpgsql:
        pytest.skip(f"{matrix.info.name}: no generate_series")
    assert session.execute("SELECT generate_series(1, 5)").rows_affected == 5


def test_rows_are_dicts_with_column_names(people: Any) -> None:
    result = people.execute("SELECT name, age FROM people ORDER BY name")
    assert isinstance(result, SQLResult)
    assert result.column_names == ("name", "age")
    assert result.returns_rows
    assert len(result) == 4
    assert [row["name"] for row in result] == ["ann", "bob", "cid", "dee"]
    assert result.all() == result.get_data() == list(result)
    assert result.all()[0] == {"name": "ann", "age": 31}
    assert type(result.all()[0]) is dict
    assert result[1] == {"name": "bob", "age": 42}
    assert result.rows_affected == 4
    assert result.get_first() == {"name": "ann", "age": 31}


def test_empty_result_keeps_its_columns(people: Any) -> None:
    result = people.execute("SELECT name, age FROM people WHERE age > ?", 100)
    assert result.column_names == ("name", "age")
    assert result.returns_rows
    assert len(result) == 0
    assert result.all() == []
    assert result.get_first() is None
    assert result.one_or_none() is None
    assert result.scalar_or_none() is None
    with pytest.raises(NotFoundError):
        result.one()
    with pytest.raises(NotFoundError):
        result.scalar()


def test_single_row_accessors(people: Any) -> None:
    result = people.execute("SELECT age, name FROM people WHERE name = ?", "bob")
    assert result.one() == {"age": 42, "name": "bob"}
    assert result.one_or_none() == {"age": 42, "name": "bob"}
    assert result.scalar() == 42  # the first column, whatever its name
    assert result.scalar_or_none() == 42
    null = people.execute("SELECT age FROM people WHERE name = ?", "dee")
    assert null.scalar() is None
    assert null.scalar_or_none() is None


def test_several_rows_are_refused_by_single_row_accessors(people: Any) -> None:
    result = people.execute("SELECT name FROM people WHERE age = ?", 42)
    for accessor in (result.one, result.one_or_none, result.scalar, result.scalar_or_none):
        with pytest.raises(MultipleResultsFoundError, match="2"):
            accessor()
    assert result.get_first() in ({"name": "bob"}, {"name": "cid"})
    assert issubclass(MultipleResultsFoundError, SQLSpecError)
    assert issubclass(NotFoundError, SQLSpecError)


def test_select_helpers(people: Any) -> None:
    assert len(people.select("SELECT * FROM people")) == 4
    assert people.select("SELECT name FROM people WHERE age > :a", a=99) == []
    assert people.select_one("SELECT name FROM people WHERE age = ?", 31) == {"name": "ann"}
    assert people.select_one_or_none("SELECT name FROM people WHERE age = ?", 31) == {"name": "ann"}
    assert people.select_one_or_none("SELECT name FROM people WHERE age = ?", 1) is None
    assert people.select_value("SELECT count(*) FROM people WHERE age = %s", 42) == 2
    assert people.select_value_or_none("SELECT age FROM people WHERE name = ?", "x") is None
    assert people.select_value_or_none("SELECT age FROM people WHERE name = ?", "ann") == 31
    with pytest.raises(NotFoundError):
        people.select_one("SELECT name FROM people WHERE age = ?", 1)
    with pytest.raises(NotFoundError):
        people.select_value("SELECT name FROM people WHERE age = ?", 1)
    with pytest.raises(MultipleResultsFoundError):
        people.select_one("SELECT name FROM people WHERE age = ?", 42)
    with pytest.raises(MultipleResultsFoundError):
        people.select_one_or_none("SELECT name FROM people WHERE age = ?", 42)
    with pytest.raises(MultipleResultsFoundError):
        people.select_value("SELECT name FROM people")
    with pytest.raises(MultipleResultsFoundError):
        people.select_value_or_none("SELECT name FROM people")


@dataclasses.dataclass
class Person:
    name: str
    age: int | None


def test_schema_type_maps_rows(people: Any) -> None:
    # Every schema type on the sync backends: tests/integration/test_schema_types.py.
    sql = "SELECT name, age FROM people WHERE name = ?"
    assert people.select(sql, "ann", schema_type=Person) == [Person("ann", 31)]
    assert people.select_one(sql, "bob", schema_type=Person) == Person("bob", 42)
    assert people.execute(sql, "dee", schema_type=Person).one() == Person("dee", None)


def test_result_outlives_its_session(matrix: Matrix, config: Any) -> None:
    with matrix.open(config) as session:
        result = session.execute("SELECT 1 AS one UNION ALL SELECT 2")
    assert sorted(row["one"] for row in result) == [1, 2]


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1 AS a, 2 AS a", "SELECT 1 AS x, 2 AS y, 3 AS x, 4 AS y"],
)
def test_duplicate_column_names_are_refused(session: Any, sql: str) -> None:
    with pytest.raises(ProgrammingError, match=r"'x'|'a'"):
        session.execute(sql)
    # The same names twice, again: a cache must not let it through the second time.
    with pytest.raises(ProgrammingError):
        session.execute(sql)


def test_duplicate_column_names_from_a_join(session: Any) -> None:
    session.execute("CREATE TABLE l (id INTEGER, v INTEGER)")
    session.execute("CREATE TABLE r (id INTEGER, w INTEGER)")
    session.execute("INSERT INTO l VALUES (1, 10)")
    session.execute("INSERT INTO r VALUES (1, 20)")
    with pytest.raises(ProgrammingError, match="'id'"):
        session.select("SELECT l.id, r.id FROM l JOIN r ON l.id = r.id")
    assert session.select("SELECT l.id, r.id AS rid, v, w FROM l JOIN r ON l.id = r.id") == [
        {"id": 1, "rid": 1, "v": 10, "w": 20}
    ]
