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

    if _subclass_of(schema_type, "msgspec", "Struct"):
        msgspec = sys.modules["msgspec"]
        list_type = list[schema_type]  # type: ignore[valid-type]
        return _validating(
            schema_type,
            lambda rows: msgspec.convert(rows, list_type, strict=False),
            msgspec.ValidationError,
        )
    if _subclass_of(schema_type, "pydantic", "BaseModel"):
        pydantic = sys.modules["pydantic"]
        adapter = pydantic.TypeAdapter(list[schema_type])  # type: ignore[valid-type]
        return _validating(schema_type, adapter.validate_python, pydantic.ValidationError)

    if dataclasses.is_dataclass(schema_type) or hasattr(schema_type, "__attrs_attrs__"):
        return _keyword_converter(schema_type)
    if callable(schema_type):
        return _keyword_converter(schema_type)
    raise TypeError(f"schema_type must be a class, got {schema_type!r}")


def _subclass_of(schema_type: Any, module: str, base: str) -> bool:
    """True when ``schema_type`` subclasses ``module.base``; a library the application has not
    imported cannot be the base of its classes, so it is never imported here."""
    loaded = sys.modules.get(module)
    return (
        loaded is not None
        and isinstance(schema_type, type)
        and issubclass(schema_type, getattr(loaded, base))
    )


def _validating(
    schema_type: type[Any], convert: _Converter, invalid: type[Exception]
) -> _Converter:
    """``convert`` with the library's validation error raised as a :class:`DataError`."""

    def checked(rows: list[dict[str, Any]]) -> list[Any]:
        try:
            return convert(rows)
        except invalid as exc:
            raise DataError(f"rows do not fit {schema_type.__name__}: {exc}") from exc

    return checked


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
