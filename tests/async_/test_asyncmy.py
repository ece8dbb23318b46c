"""asyncmy: values are bound by the driver, never pasted into SQL, and round-trip exactly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.async_.conftest import MakeConfig

pytestmark = pytest.mark.mariadb

TEXTS = [
    "a' OR 1=1 -- ",
    "x' OR '1'='1",
    "\\'; DROP TABLE vals; -- ",
    "it's",
    'double "quotes" and `backticks`',
    "back\\slash",
    "trailing backslash\\",
    "nul\x00byte",
    "new\nline\rand\ttab\x1a",
    "%s and %(name)s and %% and ? and :name and $1",
    "é中😀",
    "",
]
BLOBS = [
    b"\x00\x01\x02'\"\\\xff",
    b"",
    b"%s?:x$1",
    bytes(range(256)),
]


@pytest.fixture(params=[0, 16], ids=["text-protocol", "prepared-statements"])
def config(request: pytest.FixtureRequest, make_config: MakeConfig) -> Any:
    """``stmt_cache_size=0``: asyncmy escapes values client-side; ``16``: it binds them in
    server-side prepared statements."""
    return make_config(stmt_cache_size=request.param)


@pytest.mark.parametrize("adapter", ["asyncmy"])
async def test_text_and_bytes_round_trip_exactly(config: Any) -> None:
    async with config.provide_session() as session:
        await session.execute(
            "CREATE TABLE vals (id INTEGER AUTO_INCREMENT PRIMARY KEY, txt TEXT, bin BLOB)"
        )
        for text in TEXTS:
            for blob in BLOBS:
                new_id = (
                    await session.execute(
                        "INSERT INTO vals (txt, bin) VALUES (?, ?) RETURNING id", text, blob
                    )
                ).scalar()
                row = await session.select_one(
                    "SELECT txt, bin FROM vals WHERE id = :id", id=new_id
                )
                assert row["txt"] == text
                assert bytes(row["bin"]) == blob
            assert await session.select_value("SELECT %s", (text,)) == text
        await session.commit()
        total = len(TEXTS) * len(BLOBS)
        assert await session.select_value("SELECT count(*) FROM vals") == total


@pytest.mark.parametrize("adapter", ["asyncmy"])
async def test_injection_attempts_match_only_themselves(config: Any) -> None:
    async with config.provide_session() as session:
        await session.execute("CREATE TABLE vals (txt VARCHAR(100))")
        await session.execute_many(
            "INSERT INTO vals (txt) VALUES (?)", [("a' OR 1=1 -- ",), ("harmless",), ("x",)]
        )
        count = "SELECT count(*) FROM vals WHERE txt = ?"
        assert await session.select_value(count, "a' OR 1=1 -- ") == 1
        assert await session.select_value(count, "x' OR '1'='1") == 0
        assert await session.select_value(count, "\\' OR 1=1 -- ") == 0
        assert await session.select_value("SELECT count(*) FROM vals WHERE txt LIKE '%a%'") == 2
        await session.execute("DELETE FROM vals WHERE txt = ?", "nothing'; DELETE FROM vals; --")
        assert await session.select_value("SELECT count(*) FROM vals") == 3


@pytest.mark.parametrize("adapter", ["asyncmy"])
def test_round_trip_through_the_facade(config: Any) -> None:
    with config.provide_sync_session() as db:
        for text in TEXTS:
            assert db.select_value("SELECT :v", v=text) == text
        for blob in BLOBS:
            assert bytes(db.select_value("SELECT ?", blob)) == blob
