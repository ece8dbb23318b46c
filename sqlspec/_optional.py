"""Importing an adapter's optional driver: a missing one raises :class:`MissingDependencyError`
naming the extra that installs it, instead of a bare ``ModuleNotFoundError``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

from sqlspec.exceptions import MissingDependencyError

__all__ = ("driver_import",)


@contextmanager
def driver_import(extra: str, *modules: str) -> Iterator[None]:
    """Wrap an adapter's driver imports: ``with driver_import("duckdb", "duckdb"): import duckdb``.

    A ``ModuleNotFoundError`` for one of ``modules`` (or a submodule) becomes
    :class:`MissingDependencyError`; any other import failure (a driver that is installed but
    broken) propagates unchanged.
    """
    try:
        yield
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not any(missing == name or missing.startswith(name + ".") for name in modules):
            raise
        raise MissingDependencyError(_message(extra, missing), name=missing) from error


def _message(extra: str, missing: str) -> str:
    requirements = " ".join(f'"{r}"' for r in _extra_requirements(extra)) or f'"{missing}"'
    return (
        f"sqlspec.adapters.{extra} needs the {missing!r} package, which is not installed: "
        f"pip install {requirements} (the requirements of sqlspec's {extra!r} extra; installing "
        f'sqlspec from its checkout as pip install "<checkout>[{extra}]" installs them too)'
    )


def _extra_requirements(extra: str) -> list[str]:
    """The requirements of one of sqlspec's extras, from the installed package's metadata."""
    try:
        requires = metadata.requires("sqlspec") or []
    except metadata.PackageNotFoundError:
        return []
    marker = f'extra == "{extra}"'
    return [
        requirement.partition(";")[0].strip().replace(" ", "")
        for requirement in requires
        if marker in requirement.replace("'", '"')
    ]
