"""Named SQL files on every backend: a schema from migrations, then queries by name, with a
named parameter used twice and the other placeholder styles."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import TransactionError
from tests.migrations.conftest import MakeConfig, write

QUERIES = """\
-- name: add_user
INSERT INTO users (id, email) VALUES (:id, :email)

-- name: find_user
-- Matches by id, or every user when id is 0: :id appears twice.
SELECT id, email FROM users WHERE id = :id OR :id = 0 ORDER BY id

-- name: count_like
SELECT COUNT(*) AS n FROM users WHERE email LIKE 'a%' AND id > ?
"""


def test_named_queries_with_a_repeated_parameter(
    spec: SQLSpec, make_config: MakeConfig, folder: Path, tmp_path: Path
) -> None:
    config = make_config()
    write(
        folder, "0001_users.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(50));"
    )
    spec.migrations(config).upgrade()
    (tmp_path / "queries.sql").write_text(QUERIES)
    spec.load_sql_files(tmp_path / "queries.sql")

    with spec.provide_sync_session(config) as db:
        db.execute(spec.get_sql("add_user"), id=1, email="ada@example.com")
        db.execute(spec.get_sql("add_user"), {"id": 2, "email": "bob@example.com"})
        db.commit()
        assert db.select(spec.get_sql("find_user"), id=2) == [{"id": 2, "email": "bob@example.com"}]
        assert [row["id"] for row in db.select(spec.get_sql("find_user"), id=0)] == [1, 2]
        assert db.select_value(spec.get_sql("count_like"), 0) == 1


def test_execute_script_outside_a_transaction_refuses_an_open_one(
    spec: SQLSpec, make_config: MakeConfig
) -> None:
    config = make_config()
    with spec.provide_sync_session(config) as db:
        db.execute_script("CREATE TABLE t (id INTEGER)", transaction=False)
        assert not db.in_transaction
        db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(TransactionError, match="commit\\(\\) or rollback\\(\\) first"):
            db.execute_script("DROP TABLE t", transaction=False)
        db.rollback()
    with spec.provide_sync_session(config) as db:  # the DDL was committed on its own
        assert db.select_value("SELECT COUNT(*) FROM t") == 0
