"""Mapping dict rows onto user types: dataclasses, msgspec Structs, pydantic models, attrs classes,
TypedDicts, or any class constructible with the columns as keyword arguments.

Optional libraries are only consulted when the user already imported them, so a plain-dict user
never pays their import time.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any, is_typeddict

from sqlspec.exceptions import DataError

__all__ = ("rows_converter",)

_Converter = Callable[[list[dict[str, Any]]], list[Any]]


@lru_cache(maxsize=256)
def rows_converter(schema_type: type[Any]) -> _Converter:
    """Return a function turning a list of dict rows into a list of ``schema_type`` instances."""
    if schema_type is dict or is_typeddict(schema_type):
        return _identity

    msgspec = sys.modules.get("msgspec")
    if (
        msgspec is not None
        and isinstance(schema_type, type)
        and issubclass(schema_type, msgspec.Struct)
    ):
        list_type = list[schema_type]  # type: ignore[valid-type]

        def convert_msgspec(rows: list[dict[str, Any]]) -> list[Any]:
            try:
                return msgspec.convert(rows, list_type, strict=False)  # type: ignore[no-any-return]
            except msgspec.ValidationError as exc:
                raise DataError(f"rows do not fit {schema_type.__name__}: {exc}") from exc

        return convert_msgspec

    pydantic = sys.modules.get("pydantic")
    if (
        pydantic is not None
        and isinstance(schema_type, type)
        and issubclass(schema_type, pydantic.BaseModel)
    ):
        adapter = pydantic.TypeAdapter(list[schema_type])  # type: ignore[valid-type]

        def convert_pydantic(rows: list[dict[str, Any]]) -> list[Any]:
            try:
                return adapter.validate_python(rows)  # type: ignore[no-any-return]
            except pydantic.ValidationError as exc:
                raise DataError(f"rows do not fit {schema_type.__name__}: {exc}") from exc

        return convert_pydantic

    if dataclasses.is_dataclass(schema_type) or hasattr(schema_type, "__attrs_attrs__"):
        return _keyword_converter(schema_type)
    if callable(schema_type):
        return _keyword_converter(schema_type)
    raise TypeError(f"schema_type must be a class, got {schema_type!r}")


def _identity(rows: list[dict[str, Any]]) -> list[Any]:
    return rows


def _keyword_converter(schema_type: Callable[..., Any]) -> _Converter:
    name = getattr(schema_type, "__name__", repr(schema_type))

    def convert(rows: list[dict[str, Any]]) -> list[Any]:
        try:
            return [schema_type(**row) for row in rows]
        except TypeError as exc:
            columns = ", ".join(rows[0]) if rows else ""
            raise DataError(f"rows with columns ({columns}) do not fit {name}: {exc}") from exc

    return convert
