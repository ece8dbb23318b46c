"""``schema_type=``: rows mapped onto dataclasses, msgspec Structs, pydantic models, attrs classes
and TypedDicts on every adapter; rows that do not fit raise sqlspec's DataError."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import attrs
import msgspec
import pydantic
import pytest

from sqlspec.exceptions import DataError


@dataclasses.dataclass
class PersonDataclass:
    id: int
    name: str
    score: float | None = None


class PersonStruct(msgspec.Struct):
    id: int
    name: str
    score: float | None = None


class PersonModel(pydantic.BaseModel):
    id: int
    name: str
    score: float | None = None


@attrs.define
class PersonAttrs:
    id: int
    name: str
    score: float | None = None


class PersonDict(TypedDict):
    id: int
    name: str
    score: float | None


SCHEMA_TYPES = [PersonDataclass, PersonStruct, PersonModel, PersonAttrs]


@pytest.fixture
def people(session: Any) -> Any:
    session.execute("CREATE TABLE person (id INTEGER, name VARCHAR(20), score DOUBLE PRECISION)")
    session.execute_many(
        "INSERT INTO person (id, name, score) VALUES (?, ?, ?)",
        [(1, "ann", 1.5), (2, "bob", None)],
    )
    return session


@pytest.mark.parametrize("schema_type", SCHEMA_TYPES, ids=lambda t: t.__name__)
def test_rows_become_instances(people: Any, schema_type: type[Any]) -> None:
    rows = people.select("SELECT id, name, score FROM person ORDER BY id", schema_type=schema_type)
    assert [type(row) for row in rows] == [schema_type, schema_type]
    assert rows == [schema_type(id=1, name="ann", score=1.5), schema_type(id=2, name="bob")]

    one = people.select_one("SELECT * FROM person WHERE id = :id", id=2, schema_type=schema_type)
    assert one == schema_type(id=2, name="bob", score=None)
    assert (
        people.select_one_or_none("SELECT * FROM person WHERE id = ?", 3, schema_type=schema_type)
        is None
    )

    result = people.execute("SELECT name, id FROM person WHERE id = ?", 1, schema_type=schema_type)
    assert result.one() == schema_type(id=1, name="ann")
    assert result.get_first() == schema_type(id=1, name="ann")
    assert result.scalar() == "ann"  # the first column of the result
    assert result.column_names == ("name", "id")

    empty = people.execute("SELECT * FROM person WHERE id < 0", schema_type=schema_type)
    assert empty.all() == []


def test_typed_dict_rows_are_plain_dicts(people: Any) -> None:
    rows = people.select("SELECT id, name, score FROM person ORDER BY id", schema_type=PersonDict)
    assert rows == [{"id": 1, "name": "ann", "score": 1.5}, {"id": 2, "name": "bob", "score": None}]
    assert all(type(row) is dict for row in rows)


@pytest.mark.parametrize("schema_type", SCHEMA_TYPES, ids=lambda t: t.__name__)
def test_missing_column_raises_data_error(people: Any, schema_type: type[Any]) -> None:
    with pytest.raises(DataError, match=schema_type.__name__):
        people.select("SELECT id, score FROM person", schema_type=schema_type)


@pytest.mark.parametrize("schema_type", [PersonDataclass, PersonAttrs], ids=lambda t: t.__name__)
def test_unexpected_column_raises_data_error(people: Any, schema_type: type[Any]) -> None:
    with pytest.raises(DataError, match=schema_type.__name__):
        people.select("SELECT id, name, score, 1 AS extra FROM person", schema_type=schema_type)


@pytest.mark.parametrize("schema_type", [PersonStruct, PersonModel], ids=lambda t: t.__name__)
def test_validating_types_refuse_wrong_values(people: Any, schema_type: type[Any]) -> None:
    with pytest.raises(DataError, match=schema_type.__name__) as error:
        people.select("SELECT name AS id, name FROM person", schema_type=schema_type)
    assert error.value.__cause__ is not None
