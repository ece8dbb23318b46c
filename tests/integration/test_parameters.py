"""Placeholders of one sync adapter: casts, dollar quoting, PostgreSQL escape strings and
JSONB operators, SQLite/DuckDB identifier and list syntax, ``rewrite_parameters=False`` (the
shared behaviour: ``tests/contract/test_parameters.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import StatementConfig
from sqlspec.exceptions import ParameterError
from tests.integration.conftest import MakeConfig, only


@pytest.fixture
def traps(session: Any) -> Any:
    """The contract suite's ``traps`` table (``tests/contract/test_parameters.py``)."""
    session.execute("CREATE TABLE p (a INTEGER, b VARCHAR(40))")
    session.execute_many("INSERT INTO p (a, b) VALUES (?, ?)", [(1, "abc"), (2, "bcd"), (7, "a")])
    return session


@only("duckdb", "postgres")
def test_double_colon_casts(traps: Any) -> None:
    assert traps.select_value("SELECT a::text FROM p WHERE a = :a", a=7) == "7"
    assert traps.select_value("SELECT a::varchar FROM p WHERE b = ?::varchar", "bcd") == "2"
    assert traps.select_value("SELECT %s::integer + 1", "41") == 42
    assert traps.select_value("SELECT :v::integer * 2", v="21") == 42


@only("duckdb", "postgres")
def test_dollar_quoted_strings(traps: Any) -> None:
    row = traps.select_one("SELECT $$a ? $1 :x %s %$$ AS s, b FROM p WHERE a = ?", 7)
    assert row == {"s": "a ? $1 :x %s %", "b": "a"}
    row = traps.select_one("SELECT $tag$it's ? $tag$ AS s, b FROM p WHERE a = $1", 2)
    assert row == {"s": "it's ? ", "b": "bcd"}


@only("postgres")
def test_postgres_function_body_with_placeholder_lookalikes(session: Any) -> None:
    session.execute(
        """
        CREATE FUNCTION add_one(x integer) RETURNS integer AS $body$
        BEGIN
            -- what? uses $1 and :x and 100 % 7
            RETURN ($1 + length('?')) % 1000;
        END;
        $body$ LANGUAGE plpgsql
        """
    )
    assert session.select_value("SELECT add_one(?)", 41) == 42
    assert session.select_value("SELECT add_one(:v)", v=999) == 0
    session.execute(
        "CREATE FUNCTION shout(t text) RETURNS text AS $$ SELECT t || '?!%' $$ LANGUAGE sql"
    )
    assert session.select_value("SELECT shout(%s)", "hey") == "hey?!%"


@only("postgres")
def test_postgres_escape_string_literal(session: Any) -> None:
    row = session.select_one("SELECT E'it\\'s ? 50%' AS s, ? AS v", "x")
    assert row == {"s": "it's ? 50%", "v": "x"}


# ---------------------------------------------------------------------------------------------
# Bad input is refused before the driver runs


@only("postgres")
def test_postgres_jsonb_question_operator_with_rewrite_off(
    make_config: MakeConfig, spec: Any
) -> None:
    sql = """SELECT '{"a":1}'::jsonb ? 'a'"""
    raw = make_config(statement_config=StatementConfig(rewrite_parameters=False))
    with spec.provide_session(raw) as session:
        assert session.select_value(sql) is True
        assert session.select_value("""SELECT '{"a":1}'::jsonb ? 'b'""") is False
        # Parameters go to psycopg as given, in its own style.
        assert session.select_value("""SELECT '{"a":1}'::jsonb ? %s""", ("a",)) is True
        assert session.select_value("SELECT %(k)s::text", {"k": "v"}) == "v"
    rewriting = make_config()
    with spec.provide_session(rewriting) as session, pytest.raises(ParameterError):
        session.execute(sql)


@only("postgres")
def test_postgres_rewrite_off_statement_without_parameters_keeps_percent(
    make_config: MakeConfig, spec: Any
) -> None:
    raw = make_config(statement_config=StatementConfig(rewrite_parameters=False))
    with spec.provide_session(raw) as session:
        assert session.select_value("""SELECT '{"a":1}'::jsonb ? 'a' AND 'ab' LIKE 'a%'""")
        assert session.select_value("SELECT 7 % 4") == 3


@only("sqlite")
def test_sqlite_bracket_and_backtick_identifiers_hide_placeholders(session: Any) -> None:
    row = session.select_one("SELECT 1 AS [a?b], 2 AS `c:d`, ? AS e /* x /* y */ , ? AS f", 3, 4)
    assert row == {"a?b": 1, "c:d": 2, "e": 3, "f": 4}


@only("duckdb")
def test_duckdb_list_literal_placeholders_are_real(session: Any) -> None:
    # On DuckDB [...] is a list, block comments nest and backticks quote identifiers.
    row = session.select_one("SELECT [?, ?] AS l, 1 AS `x?` /* a /* ? */ ? */, ? AS m", 1, 2, 3)
    assert row == {"l": [1, 2], "x?": 1, "m": 3}
