"""execute_script facts of one sync adapter: trigger and function bodies (the shared
behaviour: ``tests/contract/test_execute_many_script.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec.exceptions import ProgrammingError
from tests.integration.conftest import only


@only("sqlite")
def test_sqlite_script_with_trigger_body(session: Any) -> None:
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


@only("postgres")
def test_postgres_script_with_function_and_trigger(session: Any) -> None:
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
