"""Placeholders of one sync adapter: ``rewrite_parameters=False`` on psycopg (parameters go to
the driver in its own style) and DuckDB's list literals. The shared behaviour, and each family's
syntax on every backend of the family: ``tests/contract/test_parameters.py``."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec import StatementConfig
from sqlspec.exceptions import ParameterError
from tests.integration.conftest import MakeConfig, only


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


@only("duckdb")
def test_duckdb_list_literal_placeholders_are_real(session: Any) -> None:
    # On DuckDB [...] is a list, block comments nest and backticks quote identifiers.
    row = session.select_one("SELECT [?, ?] AS l, 1 AS `x?` /* a /* ? */ ? */, ? AS m", 1, 2, 3)
    assert row == {"l": [1, 2], "x?": 1, "m": 3}
