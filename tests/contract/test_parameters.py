"""Placeholders and parameter values on every backend reached every way
(``tests.backends.matrix``): styles, value shapes, lexer traps, bad input refused before the
driver runs, and lookalikes in one family's syntax (``::`` casts, ``$$`` strings, PL/pgSQL bodies,
``[identifiers]``) on every backend of the family. psycopg's ``rewrite_parameters=False`` and
DuckDB's list literals: ``tests/integration/test_parameters.py``."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec.exceptions import ParameterError
from tests.backends import Matrix

POSITIONAL_STYLES = {
    "qmark": ("?", "?"),
    "numeric": ("$1", "$2"),
    "format": ("%s", "%s"),
}
NAMED_STYLES = {
    "named": (":a", ":b"),
    "pyformat": ("%(a)s", "%(b)s"),
}


def _call(session: Any, form: str, sql: str, values: dict[str, Any]) -> Any:
    """Run ``sql`` passing ``values`` in the shape ``form`` names."""
    ordered = list(values.values())
    if form == "tuple":
        return session.execute(sql, tuple(ordered))
    if form == "list":
        return session.execute(sql, ordered)
    if form == "args":
        return session.execute(sql, *ordered)
    if form == "dict":
        return session.execute(sql, dict(values))
    if form == "keywords":
        return session.execute(sql, **values)
    raise AssertionError(form)


@pytest.fixture
def table_p(session: Any) -> Any:
    session.execute("CREATE TABLE p (a INTEGER, b VARCHAR(40))")
    return session


@pytest.mark.parametrize("form", ["tuple", "list", "args"])
@pytest.mark.parametrize("style", sorted(POSITIONAL_STYLES))
def test_positional_styles_and_value_shapes(table_p: Any, style: str, form: str) -> None:
    first, second = POSITIONAL_STYLES[style]
    inserted = _call(
        table_p, form, f"INSERT INTO p (a, b) VALUES ({first}, {second})", {"a": 7, "b": "seven"}
    )
    assert inserted.rows_affected == 1
    _call(table_p, form, f"INSERT INTO p (a, b) VALUES ({first}, {second})", {"a": 8, "b": "x"})
    found = _call(table_p, form, f"SELECT b FROM p WHERE a = {first}", {"a": 7})
    assert found.all() == [{"b": "seven"}]
    assert table_p.select_value("SELECT count(*) FROM p") == 2


@pytest.mark.parametrize("form", ["dict", "keywords"])
@pytest.mark.parametrize("style", sorted(NAMED_STYLES))
def test_named_styles_and_value_shapes(table_p: Any, style: str, form: str) -> None:
    first, second = NAMED_STYLES[style]
    # Keys given in the opposite order to the placeholders: binding is by name.
    inserted = _call(
        table_p, form, f"INSERT INTO p (a, b) VALUES ({first}, {second})", {"b": "seven", "a": 7}
    )
    assert inserted.rows_affected == 1
    _call(table_p, form, f"INSERT INTO p (a, b) VALUES ({first}, {second})", {"a": 8, "b": "x"})
    found = _call(table_p, form, f"SELECT b FROM p WHERE a = {first}", {"a": 7})
    assert found.all() == [{"b": "seven"}]


@pytest.mark.parametrize("placeholder", [":lo", "%(lo)s"])
def test_named_parameter_used_twice(table_p: Any, placeholder: str) -> None:
    table_p.execute_many("INSERT INTO p (a, b) VALUES (?, ?)", [(1, "x"), (2, "y"), (3, "z")])
    sql = f"SELECT a FROM p WHERE a >= {placeholder} AND a <= {placeholder} + 1 ORDER BY a"
    assert [row["a"] for row in table_p.select(sql, lo=2)] == [2, 3]
    assert [row["a"] for row in table_p.select(sql, {"lo": 1})] == [1, 2]


def test_numeric_reordering_and_reuse(table_p: Any) -> None:
    table_p.execute("INSERT INTO p (a, b) VALUES ($2, $1)", ("two", 2))
    assert table_p.select_one("SELECT a, b FROM p") == {"a": 2, "b": "two"}
    table_p.execute("INSERT INTO p (a, b) VALUES ($1, $2)", 3, "three")
    rows = table_p.select("SELECT a FROM p WHERE a = $1 OR a = $1 + 1 ORDER BY a", 2)
    assert rows == [{"a": 2}, {"a": 3}]


def test_single_values_are_not_unpacked(table_p: Any) -> None:
    # One str/bytes argument is one value, not a sequence of characters.
    table_p.execute("INSERT INTO p (a, b) VALUES (1, ?)", "ab")
    assert table_p.select_value("SELECT a FROM p WHERE b = ?", "ab") == 1
    assert table_p.select_value("SELECT b FROM p WHERE a = ?", 1) == "ab"


def test_single_none_argument_binds_null(table_p: Any, matrix: Matrix) -> None:
    table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", 1, None)
    # A lone None is that placeholder's NULL value (not "no parameters").
    table_p.execute("INSERT INTO p (a, b) VALUES (2, 'two')")
    table_p.execute("UPDATE p SET b = ? WHERE a = 2", None)
    same = matrix.info.null_safe_equal
    assert table_p.select_value(f"SELECT count(*) FROM p WHERE b {same} ?", None) == 2


def test_values_are_bound_never_interpolated(table_p: Any) -> None:
    hostile = "x'); DROP TABLE p; --"
    table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", 1, hostile)
    assert table_p.select_value("SELECT b FROM p WHERE a = :a", a=1) == hostile
    assert table_p.select_value("SELECT count(*) FROM p WHERE b = %s", hostile) == 1


# ---------------------------------------------------------------------------------------------
# Lexer traps


@pytest.fixture
def traps(table_p: Any) -> Any:
    table_p.execute_many("INSERT INTO p (a, b) VALUES (?, ?)", [(1, "abc"), (2, "bcd"), (7, "a")])
    return table_p


def test_question_mark_inside_string_literal(traps: Any) -> None:
    row = traps.select_one("SELECT 'it''s ?' AS lit, b FROM p WHERE a = ?", 2)
    assert row == {"lit": "it's ?", "b": "bcd"}
    row = traps.select_one("SELECT 'it''s :x and %s' AS lit FROM p WHERE a = :a", a=2)
    assert row == {"lit": "it's :x and %s"}


def test_placeholders_inside_comments(traps: Any) -> None:
    sql = "SELECT b -- where a = ?\nFROM p WHERE a = ?"
    assert traps.select_value(sql, 1) == "abc"
    sql = "SELECT b /* :x and ? and %s */ FROM p WHERE a = ?"
    assert traps.select_value(sql, 2) == "bcd"
    sql = "SELECT b /* :x */ FROM p WHERE a = :a"
    assert traps.select_value(sql, a=7) == "a"


def test_placeholder_lookalikes_in_quoted_identifiers(session: Any, matrix: Matrix) -> None:
    if matrix.info.is_mysql:
        pytest.skip("MariaDB quotes identifiers with backticks (no ANSI_QUOTES)")
    session.execute('CREATE TABLE q ("weird?col" INTEGER, ":odd" INTEGER, "pct%s" INTEGER)')
    session.execute('INSERT INTO q ("weird?col", ":odd", "pct%s") VALUES (?, ?, ?)', 5, 6, 7)
    row = session.select_one(
        'SELECT "weird?col", ":odd", "pct%s" FROM q WHERE "weird?col" = :v', v=5
    )
    assert row == {"weird?col": 5, ":odd": 6, "pct%s": 7}
    session.execute_many('INSERT INTO q ("weird?col", "pct%s") VALUES (%s, %s)', [(1, 2)])
    assert session.select_value('SELECT "pct%s" FROM q WHERE "weird?col" = $1', 1) == 2


def test_like_percent_literal_with_parameter(traps: Any) -> None:
    assert traps.select("SELECT a FROM p WHERE b LIKE 'a%' AND a = ?", 1) == [{"a": 1}]
    rows = traps.select("SELECT a FROM p WHERE b LIKE '%c%' AND a > :a ORDER BY a", a=0)
    assert rows == [{"a": 1}, {"a": 2}]
    # A LIKE pattern given as a parameter is a value, not SQL.
    assert traps.select("SELECT a FROM p WHERE b LIKE ? ORDER BY a", "b%") == [{"a": 2}]


def test_percent_literal_in_execute_many(table_p: Any, matrix: Matrix) -> None:
    value = matrix.info.concat("'100% '", "?")
    result = table_p.execute_many(f"INSERT INTO p (a, b) VALUES (?, {value})", [(1, "x"), (2, "y")])
    assert result.rows_affected == (2 if matrix.info.many_rowcount else -1)
    assert table_p.select_value("SELECT b FROM p WHERE a = 2 AND b LIKE '100%'") == "100% y"


def test_percent_literals_survive(session: Any) -> None:
    assert session.select_value("SELECT '100%'") == "100%"
    row = session.select_one("SELECT 'a%%b' AS v, ? AS w", "%")
    assert row == {"v": "a%%b", "w": "%"}


def test_modulo_operator(traps: Any) -> None:
    assert traps.select_value("SELECT a % 4 FROM p WHERE a = ?", 7) == 3
    assert traps.select_value("SELECT a%2 AS m FROM p WHERE a = :a", a=7) == 1
    assert traps.select_value("SELECT 7 % 4") == 3
    assert traps.select_value("SELECT count(*) FROM p WHERE a % 2 = %s", 1) == 2


# ---------------------------------------------------------------------------------------------
# Placeholder lookalikes in one family's syntax


def test_double_colon_casts(traps: Any, matrix: Matrix) -> None:
    if not matrix.info.double_colon_casts:
        pytest.skip(f"{matrix.info.name}: no :: casts in the SQL")
    assert traps.select_value("SELECT a::text FROM p WHERE a = :a", a=7) == "7"
    assert traps.select_value("SELECT a::varchar FROM p WHERE b = ?::varchar", "bcd") == "2"
    text = matrix.info.casts_bound_text  # else the value must be an integer already
    assert traps.select_value("SELECT %s::integer + 1", "41" if text else 41) == 42
    assert traps.select_value("SELECT :v::integer * 2", v="21" if text else 21) == 42


def test_dollar_quoted_strings(traps: Any, matrix: Matrix) -> None:
    if not matrix.info.double_colon_casts:
        pytest.skip(f"{matrix.info.name}: no $$-quoted strings in the SQL")
    row = traps.select_one("SELECT $$a ? $1 :x %s %$$ AS s, b FROM p WHERE a = ?", 7)
    assert row == {"s": "a ? $1 :x %s %", "b": "a"}
    row = traps.select_one("SELECT $tag$it's ? $tag$ AS s, b FROM p WHERE a = $1", 2)
    assert row == {"s": "it's ? ", "b": "bcd"}


def test_function_body_with_placeholder_lookalikes(session: Any, matrix: Matrix) -> None:
    if not matrix.info.plpgsql:
        pytest.skip(f"{matrix.info.name}: no PL/pgSQL functions")
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


def test_escape_string_literal(session: Any, matrix: Matrix) -> None:
    if not matrix.info.plpgsql:
        pytest.skip(f"{matrix.info.name}: no E'...' escape strings")
    row = session.select_one("SELECT E'it\\'s ? 50%' AS s, ? AS v", "x")
    assert row == {"s": "it's ? 50%", "v": "x"}


def test_bracket_and_backtick_identifiers_hide_placeholders(session: Any, matrix: Matrix) -> None:
    if not matrix.info.sqlite_syntax:
        pytest.skip(f"{matrix.info.name}: no [bracket] identifiers")
    row = session.select_one("SELECT 1 AS [a?b], 2 AS `c:d`, ? AS e /* x /* y */ , ? AS f", 3, 4)
    assert row == {"a?b": 1, "c:d": 2, "e": 3, "f": 4}


def _assert_refused(session: Any, error: pytest.ExceptionInfo[ParameterError]) -> None:
    """The ParameterError was not caused by the driver, and nothing reached the database."""
    assert error.value.__cause__ is None
    assert error.value.__context__ is None
    # The session is still usable (on PostgreSQL a failed statement would abort the
    # transaction) and the INSERT left no row.
    assert session.select_value("SELECT count(*) FROM p") == 0


def test_refused_parameters_send_nothing(session: Any) -> None:
    with pytest.raises(ParameterError, match="expects 2 positional parameters, got 1"):
        session.execute("SELECT ?, ?", 1)
    with pytest.raises(ParameterError, match="missing: b"):
        session.execute("SELECT :a, :b", a=1)
    assert not session.in_transaction  # nothing was sent, not even BEGIN


def test_too_many_parameters(table_p: Any) -> None:
    with pytest.raises(ParameterError, match=r"2.*3") as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", (1, "x", 3))
    _assert_refused(table_p, error)
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES ($1, $2)", 1, "x", 3)
    _assert_refused(table_p, error)


def test_too_few_parameters(table_p: Any) -> None:
    with pytest.raises(ParameterError, match=r"2.*1") as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (%s, %s)", [1])
    _assert_refused(table_p, error)
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)")
    _assert_refused(table_p, error)


def test_missing_named_key_is_named(table_p: Any) -> None:
    sql = "INSERT INTO p (a, b) VALUES (:amount, :email_address)"
    with pytest.raises(ParameterError, match="email_address") as error:
        table_p.execute(sql, {"amount": 1})
    _assert_refused(table_p, error)
    with pytest.raises(ParameterError, match="email_address") as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (%(amount)s, %(email_address)s)", amount=1)
    _assert_refused(table_p, error)


def test_mapping_for_positional_sql(table_p: Any) -> None:
    with pytest.raises(ParameterError, match="mapping") as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", {"a": 1, "b": "x"})
    _assert_refused(table_p, error)
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", a=1, b="x")
    _assert_refused(table_p, error)


def test_sequence_for_named_sql(table_p: Any) -> None:
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (:a, :b)", (1, "x"))
    _assert_refused(table_p, error)


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("INSERT INTO p (a, b) VALUES (?, ?)", [(1, "x"), (2, "y")]),
        ("INSERT INTO p (a, b) VALUES (?, ?)", [[1, "x"], [2, "y"]]),
        ("INSERT INTO p (a) VALUES (?)", [(1,), (2,)]),
        ("INSERT INTO p (a, b) VALUES (:a, :b)", [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]),
    ],
)
def test_list_of_rows_points_to_execute_many(table_p: Any, sql: str, rows: list[Any]) -> None:
    with pytest.raises(ParameterError, match="execute_many") as error:
        table_p.execute(sql, rows)
    _assert_refused(table_p, error)


def test_mixing_positional_and_keyword_parameters(table_p: Any) -> None:
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, ?)", 1, b="x")
    _assert_refused(table_p, error)
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (:a, :b)", {"a": 1}, b="x")
    _assert_refused(table_p, error)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO p (a, b) VALUES ($0, $1)", (1, "x")),
        ("INSERT INTO p (a, b) VALUES ($1, $3)", (1, "x", "y")),
    ],
    ids=["dollar-zero", "numbering-gap"],
)
def test_bad_numeric_placeholders(table_p: Any, sql: str, params: tuple[Any, ...]) -> None:
    with pytest.raises(ParameterError, match=r"\$[02]") as error:
        table_p.execute(sql, params)
    _assert_refused(table_p, error)


def test_mixing_placeholder_styles(table_p: Any) -> None:
    with pytest.raises(ParameterError) as error:
        table_p.execute("INSERT INTO p (a, b) VALUES (?, :b)", 1, "x")
    _assert_refused(table_p, error)


# ---------------------------------------------------------------------------------------------
# rewrite_parameters=False
