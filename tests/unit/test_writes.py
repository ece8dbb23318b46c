"""``PreparedStatement.writes``: whether a statement changes data or schema, decided once per
prepared statement from its leading keyword (the hint behind ``session.pending_writes``)."""

from __future__ import annotations

import pytest

from sqlspec.statement import ParamStyle, PreparedStatement, prepare

WRITES = [
    "INSERT INTO t VALUES (?)",
    "insert into t values (?)",
    "  \n\tUPDATE t SET a = ?",
    "DELETE FROM t",
    "-- a comment\nDELETE FROM t",
    "/* a comment */ UPDATE t SET a = 1",
    "/* a */ -- b\n /* c */ insert into t values (1)",
    "# MySQL comment\nREPLACE INTO t VALUES (1)",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    "CREATE TABLE t (a INTEGER)",
    "ALTER TABLE t ADD COLUMN b INTEGER",
    "DROP TABLE t",
    "TRUNCATE t",
    "WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved",
    "WITH x AS (SELECT 1) UPDATE t SET a = (SELECT * FROM x)",
    "(INSERT INTO t VALUES (1))",
    "CALL do_things()",
]
READS = [
    "SELECT * FROM t",
    "select 1",
    "-- INSERT\nSELECT 1",
    "/* DELETE FROM t */ SELECT 1",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "VALUES (1)",
    "EXPLAIN SELECT 1",
    "SHOW TABLES",
    "PRAGMA foreign_keys",
    "SELECT 'INSERT INTO t'",
    "",
    "   ",
    "-- only a comment",
    "/* unterminated",
]


@pytest.mark.parametrize("sql", WRITES)
def test_statements_that_write(sql: str) -> None:
    assert prepare(sql, ParamStyle.QMARK).writes is True


@pytest.mark.parametrize("sql", READS)
def test_statements_that_only_read(sql: str) -> None:
    assert prepare(sql, ParamStyle.QMARK).writes is False


def test_passthrough_statements_are_classified_too() -> None:
    assert PreparedStatement.passthrough("UPDATE t SET a = %s", ParamStyle.FORMAT).writes
    assert not PreparedStatement.passthrough("SELECT %s", ParamStyle.FORMAT).writes


def test_the_flag_is_not_part_of_equality_or_repr() -> None:
    stmt = prepare("INSERT INTO t VALUES (?)", ParamStyle.NUMERIC)
    assert "writes" not in repr(stmt)
