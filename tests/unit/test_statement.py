"""Placeholder rewriting and parameter binding (sqlspec.statement)."""

from __future__ import annotations

import re
from collections import OrderedDict, UserList
from collections.abc import Iterator, Mapping
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from sqlspec.exceptions import ParameterError, SQLSpecError
from sqlspec.statement import Dialect, ParamStyle, PreparedStatement, prepare

Q = ParamStyle.QMARK
N = ParamStyle.NUMERIC
F = ParamStyle.FORMAT


# --------------------------------------------------------------------------------------------
# Each input style to each target style


@pytest.mark.parametrize(
    ("source", "style", "sql", "order", "named", "expected", "identity"),
    [
        # ? input
        (
            "SELECT * FROM t WHERE a = ? AND b = ?",
            Q,
            "SELECT * FROM t WHERE a = ? AND b = ?",
            (0, 1),
            False,
            2,
            True,
        ),
        (
            "SELECT * FROM t WHERE a = ? AND b = ?",
            F,
            "SELECT * FROM t WHERE a = %s AND b = %s",
            (0, 1),
            False,
            2,
            True,
        ),
        (
            "SELECT * FROM t WHERE a = ? AND b = ?",
            N,
            "SELECT * FROM t WHERE a = $1 AND b = $2",
            (0, 1),
            False,
            2,
            True,
        ),
        # %s input
        (
            "INSERT INTO t VALUES (%s, %s, %s)",
            Q,
            "INSERT INTO t VALUES (?, ?, ?)",
            (0, 1, 2),
            False,
            3,
            True,
        ),
        (
            "INSERT INTO t VALUES (%s, %s, %s)",
            F,
            "INSERT INTO t VALUES (%s, %s, %s)",
            (0, 1, 2),
            False,
            3,
            True,
        ),
        (
            "INSERT INTO t VALUES (%s, %s, %s)",
            N,
            "INSERT INTO t VALUES ($1, $2, $3)",
            (0, 1, 2),
            False,
            3,
            True,
        ),
        # $n input
        ("SELECT $1, $2", Q, "SELECT ?, ?", (0, 1), False, 2, True),
        ("SELECT $1, $2", F, "SELECT %s, %s", (0, 1), False, 2, True),
        ("SELECT $1, $2", N, "SELECT $1, $2", (0, 1), False, 2, True),
        ("SELECT $2, $1", Q, "SELECT ?, ?", (1, 0), False, 2, False),
        ("SELECT $2, $1", F, "SELECT %s, %s", (1, 0), False, 2, False),
        ("SELECT $2, $1", N, "SELECT $2, $1", (0, 1), False, 2, True),
        ("SELECT $2, $1, $1", Q, "SELECT ?, ?, ?", (1, 0, 0), False, 2, False),
        ("SELECT $1 + $1", N, "SELECT $1 + $1", (0,), False, 1, True),
        ("SELECT $1 + $1", Q, "SELECT ? + ?", (0, 0), False, 1, False),
        # :name input
        ("SELECT :a, :b", Q, "SELECT ?, ?", ("a", "b"), True, 2, False),
        ("SELECT :a, :b", F, "SELECT %s, %s", ("a", "b"), True, 2, False),
        ("SELECT :a, :b", N, "SELECT $1, $2", ("a", "b"), True, 2, False),
        # %(name)s input
        ("SELECT %(a)s, %(b)s", Q, "SELECT ?, ?", ("a", "b"), True, 2, False),
        ("SELECT %(a)s, %(b)s", F, "SELECT %s, %s", ("a", "b"), True, 2, False),
        ("SELECT %(a)s, %(b)s", N, "SELECT $1, $2", ("a", "b"), True, 2, False),
        # named reused: repeated for QMARK / FORMAT, one $k for NUMERIC
        ("SELECT :a, :b, :a", Q, "SELECT ?, ?, ?", ("a", "b", "a"), True, 2, False),
        ("SELECT :a, :b, :a", F, "SELECT %s, %s, %s", ("a", "b", "a"), True, 2, False),
        ("SELECT :a, :b, :a", N, "SELECT $1, $2, $1", ("a", "b"), True, 2, False),
        ("SELECT %(x)s + %(x)s", N, "SELECT $1 + $1", ("x",), True, 1, False),
        ("SELECT %(x)s + %(x)s", F, "SELECT %s + %s", ("x", "x"), True, 1, False),
        # both named spellings may be combined
        ("SELECT :a, %(b)s, %(a)s", N, "SELECT $1, $2, $1", ("a", "b"), True, 2, False),
        # no placeholders
        ("SELECT 1", Q, "SELECT 1", (), False, 0, True),
        ("SELECT 1", F, "SELECT 1", (), False, 0, True),
        ("SELECT 1", N, "SELECT 1", (), False, 0, True),
        ("", N, "", (), False, 0, True),
        # placeholder at the very start / end, adjacent
        ("?", N, "$1", (0,), False, 1, True),
        ("??", F, "%s%s", (0, 1), False, 2, True),
        (":a:b", N, "$1$2", ("a", "b"), True, 2, False),
        ("(:_x1,:_x1)", Q, "(?,?)", ("_x1", "_x1"), True, 1, False),
    ],
)
def test_rewrite_each_style(
    source: str,
    style: ParamStyle,
    sql: str | None,
    order: tuple[Any, ...] | None,
    named: bool,
    expected: int,
    identity: bool,
) -> None:
    stmt = prepare(source, style)
    assert isinstance(stmt, PreparedStatement)
    if sql is not None:
        assert stmt.sql == sql
    if order is not None:
        assert stmt.order == order
    assert stmt.source == source
    assert stmt.named is named
    assert stmt.expected == expected
    assert stmt.identity is identity


@pytest.mark.parametrize(
    ("source", "style", "params", "bound"),
    [
        ("SELECT ?, ?", Q, (1, 2), (1, 2)),
        ("SELECT ?, ?", N, [1, 2], [1, 2]),
        ("SELECT $2, $1", Q, ("a", "b"), ("b", "a")),
        ("SELECT $2, $1, $1", F, ("a", "b"), ("b", "a", "a")),
        ("SELECT $2, $1", N, ("a", "b"), ("a", "b")),
        ("SELECT $1 + $1", Q, [7], (7, 7)),
        ("SELECT :a, :b, :a", Q, {"a": 1, "b": 2}, (1, 2, 1)),
        ("SELECT :a, :b, :a", F, {"b": 2, "a": 1}, (1, 2, 1)),
        ("SELECT :a, :b, :a", N, {"a": 1, "b": 2}, (1, 2)),
        ("SELECT :b, :a", N, {"a": 1, "b": 2}, (2, 1)),
        ("SELECT :a", N, {"a": None}, (None,)),
        ("SELECT %(a)s, %(b)s", F, {"a": 1, "b": 2, "extra": 3}, (1, 2)),  # extras ignored
        ("SELECT :a", Q, OrderedDict(a=1), (1,)),
        ("SELECT 1", Q, None, ()),
        ("SELECT 1", Q, (), ()),
        ("SELECT 1", F, [], ()),
        ("SELECT 1", N, {}, ()),
    ],
)
def test_bind(source: str, style: ParamStyle, params: Any, bound: Any) -> None:
    assert prepare(source, style).bind(params) == bound


# --------------------------------------------------------------------------------------------
# Regions copied verbatim


@pytest.mark.parametrize(
    ("source", "sql", "expected"),
    [
        # '' doubling
        ("SELECT 'it''s ? :x $1 %s', ?", "SELECT 'it''s ? :x $1 %s', $1", 1),
        ("SELECT '''?''', ?", "SELECT '''?''', $1", 1),
        ("SELECT '', ?", "SELECT '', $1", 1),
        # E-strings: backslash escapes the next char
        ("SELECT E'it\\'s ?', ?", "SELECT E'it\\'s ?', $1", 1),
        ("SELECT e'\\\\', ?", "SELECT e'\\\\', $1", 1),
        ("SELECT E'a''?', ?", "SELECT E'a''?', $1", 1),
        # an E ending an identifier does not start an E-string: 'x' ends at the next quote
        ("SELECT namE'x\\', ?", "SELECT namE'x\\', $1", 1),
        # a plain string: the backslash is literal
        ("SELECT 'x\\', ?", "SELECT 'x\\', $1", 1),
        # quoted identifiers
        ('SELECT "col?" , "a"":x", ?', 'SELECT "col?" , "a"":x", $1', 1),
        # comments
        ("SELECT ? -- what ? :x $1\n, ?", "SELECT $1 -- what ? :x $1\n, $2", 2),
        ("SELECT ? -- trailing ?", "SELECT $1 -- trailing ?", 1),
        ("SELECT /* ? :x */ ?", "SELECT /* ? :x */ $1", 1),
        ("SELECT /* a /* ? */ :x */ ?", "SELECT /* a /* ? */ :x */ $1", 1),
        ("SELECT /* /* /* ? */ */ ? */ ?", "SELECT /* /* /* ? */ */ ? */ $1", 1),
        ("SELECT ? /* unterminated ?", "SELECT $1 /* unterminated ?", 1),
        ("SELECT /*/ ? */ ?", "SELECT /*/ ? */ $1", 1),
        # "/*/" inside a comment opens a nested comment (as PostgreSQL lexes it)
        ("SELECT /* x /*/ ? */ ? */ ?", "SELECT /* x /*/ ? */ ? */ $1", 1),
        # dollar-quoted bodies
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT ?, $1, :x, '?' $$ LANGUAGE sql; SELECT ?",
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT ?, $1, :x, '?' $$ LANGUAGE sql; "
            "SELECT $1",
            1,
        ),
        (
            "DO $body$ BEGIN x := ?; y := $1; RAISE ':x'; END $body$; SELECT ?",
            "DO $body$ BEGIN x := ?; y := $1; RAISE ':x'; END $body$; SELECT $1",
            1,
        ),
        ("SELECT $a$ $b$ ? $b$ $a$, ?", "SELECT $a$ $b$ ? $b$ $a$, $1", 1),
        ("SELECT $_t1$?$_t1$, ?", "SELECT $_t1$?$_t1$, $1", 1),
        ("SELECT $$ unterminated ?", "SELECT $$ unterminated ?", 0),
        # $tag$ versus $1
        ("SELECT $1, $q$ $2 $q$", "SELECT $1, $q$ $2 $q$", 1),
        # $ inside identifiers is neither a quote nor a parameter
        ("SELECT foo$bar, foo$$ ?, a$1 FROM t WHERE x = ?", None, 2),
        # casts
        ("SELECT x::text, ?", "SELECT x::text, $1", 1),
        ("SELECT x::name, ?", "SELECT x::name, $1", 1),
        ("SELECT a:::b, ?", "SELECT a:::b, $1", 1),
        # := and a lone colon
        ("SELECT f(a := ?), '10:30', x[1:2]", "SELECT f(a := $1), '10:30', x[1:2]", 1),
    ],
)
def test_skipped_regions(source: str, sql: str | None, expected: int) -> None:
    stmt = prepare(source, N)
    if sql is not None:
        assert stmt.sql == sql
    assert stmt.expected == expected
    assert not stmt.named


def test_dollar_in_identifier() -> None:
    stmt = prepare("SELECT foo$bar, foo$$ ?, a$1 FROM t WHERE x = ?", Q)
    assert stmt.sql == "SELECT foo$bar, foo$$ ?, a$1 FROM t WHERE x = ?"
    assert stmt.order == (0, 1)
    # foo$1 is an identifier, so this statement uses ? only (no mix with $n)
    assert prepare("SELECT foo$1, ?", N).sql == "SELECT foo$1, $1"


@pytest.mark.parametrize(
    ("source", "style", "sql", "order"),
    [
        ("SELECT x::int + :y", Q, "SELECT x::int + ?", ("y",)),
        ("SELECT x::int + :y", N, "SELECT x::int + $1", ("y",)),
        ("SELECT :y::int, :z", N, "SELECT $1::int, $2", ("y", "z")),
        ("SELECT :y::text", F, "SELECT %s::text", ("y",)),
        ("SELECT '{}'::jsonb ? 'k'", Q, "SELECT '{}'::jsonb ? 'k'", (0,)),
    ],
)
def test_casts(source: str, style: ParamStyle, sql: str, order: tuple[Any, ...]) -> None:
    stmt = prepare(source, style)
    assert stmt.sql == sql
    assert stmt.order == order


def test_named_inside_regions_not_parameters() -> None:
    stmt = prepare("SELECT ':no', \"x:no\", /* :no */ -- :no\n, $$:no$$, E'\\':no', :yes", F)
    assert stmt.order == ("yes",)
    assert stmt.sql.endswith(", %s")


# --------------------------------------------------------------------------------------------
# Percent signs


@pytest.mark.parametrize(
    ("source", "style", "sql"),
    [
        (
            "SELECT * FROM t WHERE name LIKE 'a%' AND id = ?",
            F,
            "SELECT * FROM t WHERE name LIKE 'a%%' AND id = %s",
        ),
        (
            "SELECT * FROM t WHERE name LIKE 'a%' AND id = ?",
            Q,
            "SELECT * FROM t WHERE name LIKE 'a%' AND id = ?",
        ),
        (
            "SELECT * FROM t WHERE name LIKE 'a%' AND id = ?",
            N,
            "SELECT * FROM t WHERE name LIKE 'a%' AND id = $1",
        ),
        # verbatim text: '%%' there is two percent chars
        ("SELECT 'a%%', ?", F, "SELECT 'a%%%%', %s"),
        ("SELECT 'a%%', ?", Q, "SELECT 'a%%', ?"),
        # modulo
        ("SELECT a % b, ?", F, "SELECT a %% b, %s"),
        ("SELECT a % b, ?", Q, "SELECT a % b, ?"),
        ("SELECT a%b", F, "SELECT a%%b"),
        ("SELECT 7 %", F, "SELECT 7 %%"),
        # %% outside literals is one percent
        ("SELECT a %% b, ?", F, "SELECT a %% b, %s"),
        ("SELECT a %% b, ?", Q, "SELECT a % b, ?"),
        ("SELECT a %% b, ?", N, "SELECT a % b, $1"),
        ("SELECT a %%s", Q, "SELECT a %s"),  # %% then a plain s, not a placeholder
        ("SELECT %%(x)s", N, "SELECT %(x)s"),
        # % in identifiers and comments
        (
            'SELECT "100%" FROM t -- 5% off\n WHERE x = ?',
            F,
            'SELECT "100%%" FROM t -- 5%% off\n WHERE x = %s',
        ),
        ("SELECT /* 5% */ $$ 50% $$, ?", F, "SELECT /* 5%% */ $$ 50%% $$, %s"),
        ("SELECT `a%`, ?", F, "SELECT `a%%`, %s"),
        # a % that starts no placeholder is a literal percent
        ("SELECT %d, %(x)d, %(bad name)s", F, "SELECT %%d, %%(x)d, %%(bad name)s"),
        ("SELECT %d, ?", Q, "SELECT %d, ?"),
        # named and FORMAT together
        ("SELECT :a WHERE n LIKE '%x%'", F, "SELECT %s WHERE n LIKE '%%x%%'"),
        ("SELECT %(a)s, 'x%'", F, "SELECT %s, 'x%%'"),
    ],
)
def test_percent(source: str, style: ParamStyle, sql: str) -> None:
    assert prepare(source, style).sql == sql


@pytest.mark.parametrize(
    "source",
    [
        "SELECT * FROM t WHERE name LIKE 'a%' AND id = ?",
        "SELECT a % b, 'a%%', a %% b, \"c%\" -- d%\n, ?",
        "SELECT 'x' -- 100%",
    ],
)
def test_format_output_survives_percent_formatting(source: str) -> None:
    """What FORMAT drivers do to the text (%-formatting) yields the SQL-verbatim text back."""
    stmt = prepare(source, F)
    placeholders = stmt.sql.count("%s") - stmt.sql.count("%%s")
    formatted = stmt.sql % tuple("?" for _ in range(placeholders))
    expected = prepare(source, Q).sql
    assert formatted == expected


# --------------------------------------------------------------------------------------------
# Dialects: the same text read by each database's own rules

S, D, P, M = Dialect.SQLITE, Dialect.DUCKDB, Dialect.POSTGRES, Dialect.MYSQL


@pytest.mark.parametrize(
    ("source", "dialect", "expected"),
    [
        # [...] is a quoted identifier on SQLite only; on DuckDB it is a list literal, on
        # PostgreSQL a subscript or ARRAY[...]: the placeholders inside are real there.
        ("SELECT 1 AS [a?b], ? AS c", S, 1),
        ("SELECT [?, ?]", D, 2),
        ("SELECT ARRAY[?, ?]", P, 2),
        ("SELECT [a:b], :c", S, 1),
        # backtick identifiers: SQLite, DuckDB and MySQL; PostgreSQL has none
        ("SELECT 1 AS `a?b`, ?", S, 1),
        ("SELECT 1 AS `a?b`, ?", D, 1),
        ("SELECT 1 AS `a?b`, ?", M, 1),
        ("SELECT 1 AS `a?b`, ?", P, 2),
        # block comments nest on PostgreSQL and DuckDB only
        ("SELECT 1 /* x /* y */ ?", S, 1),
        ("SELECT 1 /* x /* y */ ?", M, 1),
        ("SELECT 1 /* x /* y */ ?", P, 0),
        ("SELECT 1 /* x /* y */ ?", D, 0),
        ("SELECT 1 /* x /* y */ */ ?", D, 1),
        # E'...' backslash escapes: PostgreSQL and DuckDB; on SQLite E is a name and the
        # backslash is literal, so the string ends at the second quote
        ("SELECT E'\\'', ?", D, 1),
        ("SELECT E'\\'', ?", P, 1),
        ("SELECT E'a\\', ?", S, 1),
        # dollar quoting: PostgreSQL and DuckDB; on SQLite $1 is a placeholder anywhere
        ("SELECT $$?$$, ?", D, 1),
        ("SELECT $tag$ ? $tag$, ?", D, 1),
        ("SELECT $1, $2", S, 2),
    ],
)
def test_dialect_rules(source: str, dialect: Dialect, expected: int) -> None:
    assert prepare(source, Q, dialect).expected == expected


def test_sqlite_bracket_identifier_is_copied_verbatim() -> None:
    assert prepare("SELECT 1 AS [a?b], ? AS c", N, S).sql == "SELECT 1 AS [a?b], $1 AS c"


def test_prepare_cache_is_per_dialect() -> None:
    sql = "SELECT 1 AS [x?], ?"
    assert prepare(sql, Q, S) is not prepare(sql, Q, P)
    assert prepare(sql, Q, S).expected == 1
    assert prepare(sql, Q, P).expected == 2


# --------------------------------------------------------------------------------------------
# MySQL mode


@pytest.mark.parametrize(
    ("source", "sql", "expected"),
    [
        ("SELECT 'it\\'s ?', ?", "SELECT 'it\\'s ?', %s", 1),
        ("SELECT 'a\\\\', ?", "SELECT 'a\\\\', %s", 1),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s", 1),
        ('SELECT "str \\" ?", ?', 'SELECT "str \\" ?", %s', 1),
        ('SELECT "a"" ?", ?', 'SELECT "a"" ?", %s', 1),
        ("SELECT ? # comment ? :x\n, ?", "SELECT %s # comment ? :x\n, %s", 2),
        ("SELECT ? # trailing ?", "SELECT %s # trailing ?", 1),
        ("SELECT ? -- comment ?\n, ?", "SELECT %s -- comment ?\n, %s", 2),
        ("SELECT ?-- ?", "SELECT %s-- ?", 1),
        ("SELECT 1 --?", "SELECT 1 --%s", 1),  # not a comment: no whitespace after --
        ("SELECT ? --", "SELECT %s --", 1),
        ("SELECT /* ? */ ?", "SELECT /* ? */ %s", 1),
        ("SELECT `col?`, ?", "SELECT `col?`, %s", 1),
        ("SELECT 'a%' LIKE ?", "SELECT 'a%%' LIKE %s", 1),
        ("SELECT 'x\\'%' # 5%\n, a % b", "SELECT 'x\\'%%' # 5%%\n, a %% b", 0),
        ("SELECT %(a)s, :b", "SELECT %s, %s", 2),
    ],
)
def test_mysql_mode(source: str, sql: str, expected: int) -> None:
    stmt = prepare(source, F, Dialect.MYSQL)
    assert stmt.sql == sql
    assert stmt.expected == expected


def test_mysql_mode_differs_from_default() -> None:
    # Outside MySQL lexing the backslash is literal, so the string ends after the backslash
    # and the following ? is a placeholder.
    assert prepare("SELECT 'a\\' , ?", F).expected == 1
    assert prepare("SELECT 'a\\' , ?", F, Dialect.MYSQL).expected == 0
    # '#' is not a comment outside mysql mode.
    assert prepare("SELECT a # ?", Q).expected == 1
    assert prepare("SELECT a # ?", Q, Dialect.MYSQL).expected == 0


# --------------------------------------------------------------------------------------------
# Prepare-time errors


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("SELECT ?, :a", "statement mixes placeholder styles ? and :name"),
        ("SELECT :a, ?", "statement mixes placeholder styles :name and ?"),
        ("SELECT ?, %s", "statement mixes placeholder styles ? and %s"),
        ("SELECT ?, $1", "statement mixes placeholder styles ? and $n"),
        ("SELECT $1, %s", "statement mixes placeholder styles $n and %s"),
        ("SELECT %(a)s, %s", "statement mixes placeholder styles %(name)s and %s"),
        ("SELECT $1, :a", "statement mixes placeholder styles $n and :name"),
        ("SELECT $2", "parameter $1 is never used"),
        ("SELECT $1, $3", "parameter $2 is never used"),
        ("SELECT $0", "placeholder $0 is invalid"),
    ],
)
@pytest.mark.parametrize("style", list(ParamStyle))
def test_prepare_errors(source: str, message: str, style: ParamStyle) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)) as info:
        prepare(source, style)
    assert source in str(info.value)
    assert isinstance(info.value, SQLSpecError)


def test_error_message_truncates_sql() -> None:
    source = "SELECT ?, :a FROM " + "x" * 500
    with pytest.raises(ParameterError) as info:
        prepare(source, Q)
    message = str(info.value)
    assert message.endswith("...")
    assert len(message) < 200


# --------------------------------------------------------------------------------------------
# Bind errors


class _Seq(UserList[Any]):
    """A Sequence that is neither a tuple nor a list."""


@pytest.mark.parametrize(
    ("source", "params", "message"),
    [
        ("SELECT ?, ?", (1, 2, 3), "statement expects 2 positional parameters, got 3: SELECT ?, ?"),
        ("SELECT ?, ?", [1], "statement expects 2 positional parameters, got 1"),
        ("SELECT ?", (), "statement expects 1 positional parameter, got 0"),
        ("SELECT ?", None, "statement expects 1 positional parameter, got none"),
        ("SELECT $2, $1", (1,), "statement expects 2 positional parameters, got 1"),
        ("SELECT $2, $1", (1, 2, 3), "statement expects 2 positional parameters, got 3"),
        ("SELECT ?", {"a": 1}, "statement uses positional placeholders but got a mapping"),
        ("SELECT ?", "x", "statement expects 1 positional parameter as a sequence"),
        ("SELECT ?, ?", "ab", "got str"),
        ("SELECT ?", b"x", "got bytes"),
        ("SELECT ?", 5, "got int"),
        ("SELECT ?", {1}, "got set"),
        (
            "SELECT :a, :b",
            (1, 2),
            "statement uses named placeholders (:name / %(name)s) but got "
            "a sequence; pass a mapping",
        ),
        ("SELECT :a", [1], "but got a sequence; pass a mapping"),
        (
            "SELECT :a, :b",
            {"a": 1, "c": 3},
            "statement expects named parameters :a, :b; missing: b (given: a, c)",
        ),
        ("SELECT %(a)s, %(b)s", {}, "missing: a, b (given: none)"),
        ("SELECT :a", None, "statement expects named parameters :a, got none"),
        ("SELECT :a", "a", "statement expects named parameters :a as a mapping, got str"),
        ("SELECT 1", (1,), "statement has no parameters, got 1"),
        ("SELECT 1", [1, 2], "statement has no parameters, got 2"),
        ("SELECT 1", {"a": 1}, "statement has no parameters, got 1"),
        ("SELECT 1", "", "statement has no parameters"),
        ("SELECT 1", 0, "statement has no parameters"),
    ],
)
@pytest.mark.parametrize("style", list(ParamStyle))
def test_bind_errors(source: str, params: Any, message: str, style: ParamStyle) -> None:
    stmt = prepare(source, style)
    with pytest.raises(ParameterError, match=re.escape(message)):
        stmt.bind(params)


def test_missing_names_with_a_mapping_that_is_not_a_dict() -> None:
    class Defaults(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return "default"

    stmt = prepare("SELECT :a, :b", Q)
    with pytest.raises(ParameterError, match=re.escape("missing: b (given: a)")):
        stmt.bind(Defaults(a=1))


def test_bind_accepts_any_mapping() -> None:
    class ReadOnly(Mapping[str, Any]):
        def __init__(self, **values: Any) -> None:
            self._values = values

        def __getitem__(self, key: str) -> Any:
            return self._values[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self._values)

        def __len__(self) -> int:
            return len(self._values)

    assert prepare("SELECT :b, :a, :b", F).bind(ReadOnly(a=1, b=2)) == (2, 1, 2)
    with pytest.raises(ParameterError, match="missing: a"):
        prepare("SELECT :a", F).bind(ReadOnly(b=2))


def test_bind_other_sequences() -> None:
    assert prepare("SELECT ?, ?", Q).bind(_Seq([1, 2])) == (1, 2)
    assert prepare("SELECT $2, $1", Q).bind(_Seq([1, 2])) == (2, 1)
    assert prepare("SELECT 1", Q).bind(_Seq()) == ()
    with pytest.raises(ParameterError, match="expects 2 positional parameters, got 1"):
        prepare("SELECT ?, ?", Q).bind(_Seq([1]))


# --------------------------------------------------------------------------------------------
# Fast path, immutability, cache


@pytest.mark.parametrize("style", list(ParamStyle))
@pytest.mark.parametrize("params", [(1, "a"), [1, "a"]])
def test_identity_fast_path_returns_same_object(style: ParamStyle, params: Any) -> None:
    stmt = prepare("SELECT * FROM t WHERE a = ? AND b = ?", style)
    assert stmt.identity
    assert stmt.bind(params) is params


def test_non_identity_returns_new_tuple() -> None:
    params = ("a", "b")
    bound = prepare("SELECT $2, $1", Q).bind(params)
    assert bound == ("b", "a")
    assert isinstance(bound, tuple)


def test_named_bind_returns_tuple() -> None:
    bound = prepare("SELECT :a", F).bind({"a": 1})
    assert bound == (1,)
    assert isinstance(bound, tuple)


def test_no_params_bind_returns_empty_tuple() -> None:
    stmt = prepare("SELECT 1", F)
    empty: tuple[Any, ...] = (None, (), [], {})
    for params in empty:
        assert stmt.bind(params) == ()
        assert isinstance(stmt.bind(params), tuple)


def test_cache_hit_returns_same_object() -> None:
    sql = "SELECT * FROM cache_test WHERE a = ?"
    first = prepare(sql, N)
    assert prepare(sql, N) is first
    assert prepare(sql, ParamStyle("numeric")) is first
    assert prepare(sql, Q) is not first
    assert prepare(sql, N, Dialect.MYSQL).sql == first.sql


def test_prepare_accepts_style_value() -> None:
    assert prepare("SELECT ?", "numeric").sql == "SELECT $1"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bogus"):
        prepare("SELECT ?", "bogus")  # type: ignore[arg-type]


def test_prepared_statement_is_immutable() -> None:
    stmt = prepare("SELECT ?", Q)
    with pytest.raises(FrozenInstanceError):
        stmt.sql = "DROP TABLE t"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        stmt.extra = 1  # type: ignore[attr-defined]
    assert stmt == prepare("SELECT ?", Q)
    assert hash(stmt) == hash(prepare("SELECT ?", Q))


def test_param_style_values() -> None:
    assert [style.value for style in ParamStyle] == ["qmark", "numeric", "format"]
    assert isinstance(ParamStyle.QMARK, str)
    assert ParamStyle("format") is ParamStyle.FORMAT
