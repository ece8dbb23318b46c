"""Property-based check of the placeholder lexer against SQLite itself.

Statements are generated from the pieces that can hide placeholder-like text -- string literals,
quoted identifiers in all three of SQLite's quoting styles, line and block comments -- mixed with
real placeholders. For each one, the number of parameters sqlspec expects must equal the number
``sqlite3`` reports for the same text, and every bound value must read back unchanged while every
literal reads back as written.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.statement import Dialect, ParamStyle, prepare

# Characters that mean something to a lexer somewhere: placeholders, quotes, comment openers.
_TRICKY = "?:$%'\"`[]/*-#@ ab1;\\"


@dataclass(frozen=True)
class Piece:
    """A fragment of a generated statement: its text, and what its column reads back."""

    text: str
    placeholders: int = 0  # 0 or 1
    literal: str | None = None  # the value a string literal column reads back


def _alias_text(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=1, max_size=6)


def _string_literal() -> st.SearchStrategy[Piece]:
    return st.text(alphabet=_TRICKY, max_size=8).map(
        lambda body: Piece("'" + body.replace("'", "''") + "'", literal=body)
    )


def _quoted_alias() -> st.SearchStrategy[str]:
    # SQLite's three identifier quotes; each may hold text that looks like placeholders.
    double = _alias_text(_TRICKY).map(lambda name: '"' + name.replace('"', '""') + '"')
    backtick = _alias_text(_TRICKY).map(lambda name: "`" + name.replace("`", "``") + "`")
    bracket = _alias_text(_TRICKY.replace("]", "")).map(lambda name: "[" + name + "]")
    return st.one_of(double, backtick, bracket)


def _comment() -> st.SearchStrategy[str]:
    block = st.text(alphabet=_TRICKY, max_size=8).filter(lambda body: "*/" not in body)
    line = st.text(alphabet=_TRICKY, max_size=8)
    return st.one_of(block.map(lambda body: f"/*{body}*/"), line.map(lambda body: f"--{body}\n"))


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, list[Piece], str]:
    """``(sql, columns, style)``: a SELECT whose columns are placeholders or literals."""
    style = draw(st.sampled_from(["qmark", "named", "numeric"]))
    columns: list[Piece] = []
    parts: list[str] = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.booleans()):
            number = sum(piece.placeholders for piece in columns) + 1
            marker = {"qmark": "?", "named": f":p{number}", "numeric": f"${number}"}[style]
            piece = Piece(marker, placeholders=1)
        else:
            piece = draw(_string_literal())
        columns.append(piece)
        comment = draw(st.one_of(st.just(""), _comment()))
        alias = draw(_quoted_alias())
        # A unique, position-tagged column name: the alias text is arbitrary, so the index
        # goes into the alias too (as a suffix inside the quotes).
        tagged = alias[:-1] + f"_{index}" + alias[-1]
        parts.append(f"{piece.text} {comment}AS {tagged}")
    return "SELECT " + ", ".join(parts) + "\n", columns, style


def _sqlite_parameter_count(sql: str) -> int:
    """How many parameters SQLite itself says the statement uses."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(sql, ())
    except sqlite3.ProgrammingError as error:
        message = str(error)
    else:
        return 0
    finally:
        conn.close()
    match = re.search(r"statement uses (\d+)", message)
    if match is None:
        raise AssertionError(f"sqlite3 refused the statement for another reason: {message}")
    return int(match.group(1))


@pytest.fixture(scope="module")
def spec_and_config() -> Iterator[tuple[SQLSpec, SqliteConfig]]:
    spec = SQLSpec()
    config = spec.add_config(SqliteConfig(pool_config={"database": ":memory:"}))
    yield spec, config
    spec.close_all_pools()


values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10),
    st.none(),
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(generated=statements(), data=st.data())
def test_sqlspec_counts_what_sqlite_counts_and_values_read_back(
    spec_and_config: tuple[SQLSpec, SqliteConfig],
    generated: tuple[str, list[Piece], str],
    data: st.DataObject,
) -> None:
    sql, columns, style = generated
    expected = sum(piece.placeholders for piece in columns)

    assert prepare(sql, ParamStyle.QMARK, Dialect.SQLITE).expected == expected
    assert _sqlite_parameter_count(sql) == expected

    bound = [data.draw(values) for _ in range(expected)]
    parameters: Any = (
        {f"p{number}": value for number, value in enumerate(bound, 1)}
        if style == "named"
        else tuple(bound)
    )
    spec, config = spec_and_config
    with spec.provide_session(config) as db:
        row = list(db.select_one(sql, parameters).values())
    values_iter = iter(bound)
    assert row == [next(values_iter) if piece.placeholders else piece.literal for piece in columns]
