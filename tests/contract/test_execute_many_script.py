"""execute_many (batches, bad rows refused up front) and execute_script (several statements,
inside the session's transaction; trigger and function bodies of SQLite and PostgreSQL) on every
backend reached every way (``tests.backends.matrix``)."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec.exceptions import ParameterError, ProgrammingError
from tests.backends import Matrix


@pytest.fixture
def table_m(session: Any) -> Any:
    session.execute("CREATE TABLE m (a INTEGER, b VARCHAR(20))")
    return session


@pytest.mark.parametrize(
    ("sql", "make_row"),
    [
        ("INSERT INTO m (a, b) VALUES (?, ?)", lambda i: (i, f"v{i}")),
        ("INSERT INTO m (a, b) VALUES (%s, %s)", lambda i: [i, f"v{i}"]),
        ("INSERT INTO m (b, a) VALUES ($2, $1)", lambda i: (i, f"v{i}")),
        ("INSERT INTO m (a, b) VALUES (:a, :b)", lambda i: {"a": i, "b": f"v{i}"}),
        ("INSERT INTO m (a, b) VALUES (%(a)s, %(b)s)", lambda i: {"b": f"v{i}", "a": i}),
    ],
    ids=["qmark-tuples", "format-lists", "numeric-reordered", "named-dicts", "pyformat-dicts"],
)
def test_execute_many_thousand_rows(table_m: Any, matrix: Matrix, sql: str, make_row: Any) -> None:
    result = table_m.execute_many(sql, [make_row(i) for i in range(1000)])
    assert result.rows_affected == (1000 if matrix.info.many_rowcount else -1)
    assert table_m.select_value("SELECT count(*) FROM m") == 1000
    assert table_m.select_value("SELECT sum(a) FROM m") == sum(range(1000))
    assert table_m.select_value("SELECT b FROM m WHERE a = ?", 999) == "v999"


def test_execute_many_from_a_generator(table_m: Any, matrix: Matrix) -> None:
    result = table_m.execute_many(
        "INSERT INTO m (a, b) VALUES (?, ?)", ((i, str(i)) for i in range(10))
    )
    assert result.rows_affected == (10 if matrix.info.many_rowcount else -1)
    assert table_m.select_value("SELECT count(*) FROM m") == 10


def test_execute_many_update_rows_affected(table_m: Any, matrix: Matrix) -> None:
    table_m.execute_many("INSERT INTO m (a, b) VALUES (?, ?)", [(i, "x") for i in range(10)])
    result = table_m.execute_many("UPDATE m SET b = ? WHERE a < ?", [("y", 3), ("z", 1)])
    assert result.rows_affected == (4 if matrix.info.many_rowcount else -1)
    assert table_m.select_value("SELECT count(*) FROM m WHERE b = 'y'") == 2


def test_execute_many_with_no_rows(table_m: Any) -> None:
    result = table_m.execute_many("INSERT INTO m (a, b) VALUES (?, ?)", [])
    assert result.rows_affected in (0, -1)
    assert table_m.select_value("SELECT count(*) FROM m") == 0


@pytest.mark.parametrize(
    ("sql", "bad_row"),
    [
        ("INSERT INTO m (a, b) VALUES (?, ?)", (5, "five", "extra")),
        ("INSERT INTO m (a, b) VALUES (?, ?)", (5,)),
        ("INSERT INTO m (a, b) VALUES (?, ?)", ()),
        ("INSERT INTO m (a, b) VALUES (?, ?)", {"a": 5, "b": "five"}),
        ("INSERT INTO m (a, b) VALUES (:a, :b)", {"a": 5}),
        ("INSERT INTO m (a, b) VALUES (:a, :b)", (5, "five")),
    ],
    ids=[
        "too-long",
        "too-short",
        "empty",
        "mapping-for-positional",
        "missing-key",
        "sequence-for-named",
    ],
)
def test_execute_many_bad_row_is_named_and_nothing_is_inserted(
    table_m: Any, sql: str, bad_row: Any
) -> None:
    named = ":a" in sql

    def row(i: int) -> Any:
        return {"a": i, "b": str(i)} if named else (i, str(i))

    rows = [row(i) for i in range(1000)]
    rows[5] = bad_row
    with pytest.raises(ParameterError, match=r"\brow 5\b") as error:
        table_m.execute_many(sql, rows)
    assert error.value.__cause__ is None
    assert table_m.select_value("SELECT count(*) FROM m") == 0


def test_execute_many_is_undone_by_rollback(matrix: Matrix, config: Any) -> None:
    with matrix.open(config) as session:
        session.execute("CREATE TABLE m (a INTEGER, b VARCHAR(20))")
        session.commit()
        result = session.execute_many(
            "INSERT INTO m (a, b) VALUES (:a, :b)", [{"a": n, "b": f"{n}@x"} for n in range(5)]
        )
        assert result.rows_affected == (5 if matrix.info.many_rowcount else -1)
        assert session.select_value("SELECT count(*) FROM m") == 5
        session.rollback()
        assert session.select_value("SELECT count(*) FROM m") == 0
    assert matrix.count(config, "m") == 0


def test_execute_many_refuses_a_single_row(table_m: Any) -> None:
    with pytest.raises(ParameterError):
        table_m.execute_many("INSERT INTO m (a, b) VALUES (:a, :b)", {"a": 1, "b": "x"})
    with pytest.raises(ParameterError):
        table_m.execute_many("INSERT INTO m (a, b) VALUES (?, ?)", "ab")
    assert table_m.select_value("SELECT count(*) FROM m") == 0


SCRIPT = """
    -- a comment; with a semicolon and a ? and :name
    CREATE TABLE s (id INTEGER PRIMARY KEY, v VARCHAR(60));
    INSERT INTO s (id, v) VALUES (1, 'a;b');
    INSERT INTO s (id, v) VALUES (2, '50% off; really? :x $1 it''s');
    /* block; comment */
    INSERT INTO s (id, v) VALUES (3, 'c')
"""


def test_execute_script_runs_every_statement(session: Any) -> None:
    assert session.execute_script(SCRIPT) is None
    assert session.select("SELECT id, v FROM s ORDER BY id") == [
        {"id": 1, "v": "a;b"},
        {"id": 2, "v": "50% off; really? :x $1 it's"},
        {"id": 3, "v": "c"},
    ]


def test_execute_script_runs_inside_the_session_transaction(matrix: Matrix, config: Any) -> None:
    with matrix.open(config) as session:
        session.execute_script(SCRIPT)
        assert session.in_transaction
        session.rollback()
        if matrix.info.transactional_ddl:
            with pytest.raises(ProgrammingError):
                session.execute("SELECT * FROM s")
        else:  # MariaDB committed the CREATE TABLE, and the INSERTs after it rolled back
            assert session.select_value("SELECT count(*) FROM s") == 0
            session.execute("DROP TABLE s")
    with matrix.open(config) as session:
        session.execute("CREATE TABLE keep (a INTEGER)")
        session.commit()
        session.execute("INSERT INTO keep (a) VALUES (1)")
        # The script joins the transaction the INSERT opened, and ends with it.
        session.execute_script("INSERT INTO keep (a) VALUES (2); INSERT INTO keep (a) VALUES (3);")
        assert session.select_value("SELECT count(*) FROM keep") == 3
        session.rollback()
        assert session.select_value("SELECT count(*) FROM keep") == 0
        session.execute_script("INSERT INTO keep (a) VALUES (4); INSERT INTO keep (a) VALUES (5)")
        session.commit()
    with matrix.open(config) as session:
        assert session.select_value("SELECT count(*) FROM keep") == 2
        with pytest.raises(ProgrammingError):
            session.execute("SELECT * FROM s")


def test_execute_script_left_uncommitted_is_rolled_back_at_exit(
    matrix: Matrix, config: Any
) -> None:
    if not matrix.info.transactional_ddl:
        pytest.skip(f"{matrix.info.name}: DDL commits implicitly (MySQL/MariaDB)")
    with matrix.open(config) as session:
        session.execute_script(SCRIPT)
    with matrix.open(config) as session, pytest.raises(ProgrammingError):
        session.execute("SELECT * FROM s")


def test_script_with_trigger_body(session: Any, matrix: Matrix) -> None:
    if not matrix.info.sqlite_syntax:
        pytest.skip(f"{matrix.info.name}: no BEGIN ... END trigger bodies")
    session.execute_script(
        """
        CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE audit (item_id INTEGER, note TEXT);
        CREATE TRIGGER item_audit AFTER INSERT ON item
        BEGIN
            INSERT INTO audit (item_id, note) VALUES (NEW.id, 'added; ok');
            INSERT INTO audit (item_id, note) VALUES (NEW.id, 'twice');
        END;
        INSERT INTO item (id, name) VALUES (1, 'x');
        """
    )
    session.execute("INSERT INTO item (id, name) VALUES (?, ?)", 2, "y")
    assert session.select_value("SELECT count(*) FROM audit") == 4
    assert session.select_value("SELECT note FROM audit WHERE item_id = 2 LIMIT 1") == "added; ok"
    session.rollback()
    with pytest.raises(ProgrammingError):
        session.execute("SELECT * FROM audit")


def test_script_with_function_and_trigger(session: Any, matrix: Matrix) -> None:
    if not matrix.info.plpgsql:
        pytest.skip(f"{matrix.info.name}: no PL/pgSQL functions")
    session.execute_script(
        """
        CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE audit (item_id INTEGER, note TEXT);
        CREATE FUNCTION audit_item() RETURNS trigger AS $$
        BEGIN
            INSERT INTO audit (item_id, note) VALUES (NEW.id, 'added; 100% ok?');
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER item_audit AFTER INSERT ON item
            FOR EACH ROW EXECUTE FUNCTION audit_item();
        INSERT INTO item (id, name) VALUES (1, 'x');
        """
    )
    session.execute("INSERT INTO item (id, name) VALUES (?, ?)", 2, "y")
    assert session.select("SELECT item_id, note FROM audit ORDER BY item_id") == [
        {"item_id": 1, "note": "added; 100% ok?"},
        {"item_id": 2, "note": "added; 100% ok?"},
    ]
