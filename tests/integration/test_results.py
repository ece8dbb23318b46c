"""SQLResult facts of one sync adapter (the shared ones: ``tests/contract/test_results.py``)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import only


@only("sqlite")
def test_last_inserted_id_on_sqlite(session: Any) -> None:
    session.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    assert session.execute("INSERT INTO t (id, name) VALUES (?, ?)", 41, "x").last_inserted_id == 41
    result = session.execute("INSERT INTO t (name) VALUES (?)", "y")
    assert result.last_inserted_id == 42
    assert session.select_value("SELECT name FROM t WHERE id = ?", result.last_inserted_id) == "y"


@only("postgres")
def test_rows_affected_for_select_on_postgres(session: Any) -> None:
    assert session.execute("SELECT generate_series(1, 5)").rows_affected == 5
