"""A bad value only asyncmy has: a collection, which asyncmy would expand into a parenthesised
list, is refused before anything is sent. The bad values every backend refuses, and the
parameter limits, are in ``tests/contract/test_bad_values.py``."""

from __future__ import annotations

from typing import Any

import pytest

from sqlspec.exceptions import DataError


@pytest.mark.parametrize(
    "adapter", [pytest.param("asyncmy", id="asyncmy", marks=pytest.mark.mariadb)], indirect=True
)
async def test_asyncmy_refuses_a_collection_instead_of_expanding_it(config: Any) -> None:
    async with config.provide_session() as session:
        await session.execute("CREATE TABLE t (a VARCHAR(60), b VARCHAR(60))")
        await session.commit()
        with pytest.raises(DataError, match=r"parameter 1 \(tuple\)"):
            await session.execute("INSERT INTO t (a) VALUES (?)", ((1, 2),))
        assert await session.select_value("SELECT count(*) FROM t") == 0
