"""Named SQL files: loading files and folders, descriptions, and every way loading can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlspec import SQLSpec
from sqlspec.exceptions import SQLFileError

USERS = """\
-- Queries on users (a file header: ignored).

-- name: get_user_by_id
-- One user by primary key.
-- Returns id and email.
SELECT id, email
FROM users
WHERE id = :id;

-- name: list_users
SELECT id, email FROM users ORDER BY id
"""


def make(tmp_path: Path, relative: str, text: str) -> Path:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_files_and_folders_load_recursively(tmp_path: Path) -> None:
    users = make(tmp_path, "users.sql", USERS)
    make(tmp_path, "queries/events.sql", "-- name: count_events\nSELECT COUNT(*) FROM events\n")
    make(tmp_path, "queries/reports/daily.sql", "-- name: daily\nSELECT 1")
    make(tmp_path, "queries/notes.txt", "-- name: not_loaded\nSELECT 1")
    spec = SQLSpec()

    assert spec.load_sql_files(users, tmp_path / "queries") == [
        "get_user_by_id",
        "list_users",
        "count_events",
        "daily",
    ]

    assert spec.sql_names() == ["count_events", "daily", "get_user_by_id", "list_users"]
    assert spec.get_sql("get_user_by_id") == "SELECT id, email\nFROM users\nWHERE id = :id"
    assert spec.get_sql("list_users") == "SELECT id, email FROM users ORDER BY id"
    query = spec.sql_files.get("get_user_by_id")
    assert query.description == "One user by primary key.\nReturns id and email."
    assert (query.path, query.line) == (users, 3)
    assert spec.sql_files.get("list_users").description == ""


def test_a_name_defined_twice_names_both_files_and_lines(tmp_path: Path) -> None:
    first = make(tmp_path, "a.sql", "-- name: shared\nSELECT 1\n")
    second = make(tmp_path, "b/c.sql", "-- name: other\nSELECT 2\n\n-- name: shared\nSELECT 3\n")
    spec = SQLSpec()

    with pytest.raises(SQLFileError) as caught:
        spec.load_sql_files(first, second)

    assert f"duplicate query name 'shared': {first}:1 and {second}:4" in str(caught.value)
    assert spec.sql_names() == []  # all or nothing


def test_a_duplicate_against_an_earlier_load_and_inside_one_file(tmp_path: Path) -> None:
    spec = SQLSpec()
    first = make(tmp_path, "a.sql", "-- name: q\nSELECT 1\n")
    spec.load_sql_files(first)
    spec.load_sql_files(first)  # the same file again: nothing to choose between
    second = make(tmp_path, "b.sql", "-- name: fresh\nSELECT 1\n-- name: q\nSELECT 2\n")
    with pytest.raises(SQLFileError, match=f"'q': {first}:1 and {second}:3"):
        spec.load_sql_files(second)
    assert spec.sql_names() == ["q"]  # "fresh" was not kept either

    same = make(tmp_path, "c.sql", "-- name: twice\nSELECT 1\n-- name: twice\nSELECT 2\n")
    with pytest.raises(SQLFileError, match=f"'twice': {same}:1 and {same}:3"):
        spec.load_sql_files(same)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: get-user\nSELECT 1", r"x\.sql:1: 'get-user' is not a valid query name"),
        ("-- name: 1st\nSELECT 1", "'1st' is not a valid query name"),
        ("-- name:\nSELECT 1", "'' is not a valid query name"),
        ("-- name: get_user!\nSELECT 1", "'get_user!' is not a valid query name"),
        ("SELECT 1\n-- name: q\nSELECT 2", r"x\.sql:1: SQL before the first '-- name:' line"),
        (
            "-- name: empty\n-- only a description\n\n-- name: q\nSELECT 1",
            "'empty' has no statement",
        ),
    ],
)
def test_invalid_files_are_refused_with_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = make(tmp_path, "x.sql", text)
    with pytest.raises(SQLFileError, match=message):
        SQLSpec().load_sql_files(path)


def test_missing_paths_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SQLFileError, match="no such file or directory"):
        SQLSpec().load_sql_files(tmp_path / "nope.sql")
    binary = tmp_path / "latin1.sql"
    binary.write_bytes(b"-- name: q\nSELECT '\xe9'")
    with pytest.raises(SQLFileError, match="cannot be read as UTF-8"):
        SQLSpec().load_sql_files(binary)


def test_unknown_names_list_close_matches(tmp_path: Path) -> None:
    spec = SQLSpec()
    with pytest.raises(SQLFileError, match="no SQL files are loaded"):
        spec.get_sql("get_user_by_id")
    spec.load_sql_files(make(tmp_path, "users.sql", USERS))

    with pytest.raises(SQLFileError) as caught:
        spec.get_sql("get_user_by_idd")
    assert "no SQL query named 'get_user_by_idd'" in str(caught.value)
    assert "did you mean 'get_user_by_id'?" in str(caught.value)
    with pytest.raises(SQLFileError) as far:
        spec.sql_files.get("zzz")
    assert "did you mean" not in str(far.value)


def test_names_are_case_sensitive_and_the_marker_is_not(tmp_path: Path) -> None:
    spec = SQLSpec()
    spec.load_sql_files(
        make(tmp_path, "q.sql", "--NAME:Upper\nSELECT 1\n--  name :lower\nSELECT 2")
    )
    assert spec.sql_names() == ["Upper", "lower"]
    with pytest.raises(SQLFileError, match="did you mean 'Upper'"):
        spec.get_sql("upper")
