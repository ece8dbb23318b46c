"""The import paths the Flask guide and the README use, and every module's ``__all__``.

``test_all_is_the_public_names``: every public module's ``__all__`` is exactly its public names.

Modules: every module of the ``sqlspec`` package found by :func:`pkgutil.walk_packages` whose
dotted name has no part starting with ``_`` (``sqlspec.__main__`` and private modules such as
``sqlspec._values`` are left out; their names are not public API).

A module's public names, read from its source (the top-level statements, also inside ``if`` and
``try`` blocks but not under ``if TYPE_CHECKING:``), are the names not starting with ``_`` that
the module itself binds:

- classes, functions and assigned names (constants, type aliases, type variables);
- an import written as an explicit re-export, ``from m import x as x`` / ``import m as m``
  (the PEP 484 convention for "this import is listed deliberately");
- in a package's ``__init__``, what it imports from its own submodules (a package exists to
  re-export them).

Any other import (a module, or an object another module defines) is not a public name of the
importing module, and neither is a dunder such as ``__version__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import sqlspec

PUBLIC_MODULES = [
    "sqlspec",
    "sqlspec.config",
    "sqlspec.exceptions",
    "sqlspec.result",
    "sqlspec.driver",
    "sqlspec.async_driver",
    "sqlspec.pool",
    "sqlspec.portal",
    "sqlspec.protocols",
    "sqlspec.statement",
    "sqlspec.testing",
    "sqlspec.adapters.sqlite",
    "sqlspec.adapters.duckdb",
    "sqlspec.adapters.psycopg",
    "sqlspec.adapters.aiosqlite",
    "sqlspec.adapters.asyncpg",
    "sqlspec.adapters.asyncmy",
    "sqlspec.extensions.flask",
    "sqlspec.extensions.flask.debugtoolbar",
    "sqlspec.extensions.opentelemetry",
    "sqlspec.observe",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize(
    ("module_name", "name"),
    [
        ("sqlspec", "SQLSpec"),
        ("sqlspec.config", "FlaskConfig"),
        ("sqlspec.extensions.flask", "SQLSpecPlugin"),
        ("sqlspec.adapters.sqlite", "SqliteConfig"),
        ("sqlspec.adapters.duckdb", "DuckDBConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgSyncConfig"),
        ("sqlspec.adapters.psycopg", "PsycopgAsyncConfig"),
        ("sqlspec.adapters.asyncpg", "AsyncpgConfig"),
        ("sqlspec.adapters.aiosqlite", "AiosqliteConfig"),
        ("sqlspec.adapters.asyncmy", "AsyncmyConfig"),
        ("sqlspec.extensions.flask", "RecordedQuery"),
        ("sqlspec.extensions.flask", "QueryCount"),
        ("sqlspec.extensions.flask.debugtoolbar", "SQLSpecPanel"),
        ("sqlspec.extensions.opentelemetry", "SQLSpecInstrumentor"),
    ],
)
def test_guide_import_paths(module_name: str, name: str) -> None:
    assert name in importlib.import_module(module_name).__all__


def test_psycopg_config_is_the_sync_config() -> None:
    from sqlspec.adapters.psycopg import PsycopgConfig, PsycopgSyncConfig

    assert PsycopgConfig is PsycopgSyncConfig


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("sqlspec").joinpath("py.typed").is_file()


def _public_modules() -> list[str]:
    names = ["sqlspec"]
    for info in pkgutil.walk_packages(sqlspec.__path__, "sqlspec."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _bound_names(body: list[ast.stmt], package: str | None) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                names |= _bound_names(node.body, package)
            names |= _bound_names(node.orelse, package)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                names |= _bound_names(block, package)
            for handler in node.handlers:
                names |= _bound_names(handler.body, package)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import):
            names |= {alias.asname for alias in node.names if alias.asname == alias.name}
        elif isinstance(node, ast.ImportFrom):
            own = package is not None and (
                node.level > 0 or (node.module or "").startswith(package + ".")
            )
            for alias in node.names:
                if alias.asname == alias.name or (own and alias.asname is None):
                    names.add(alias.asname or alias.name)
    return {name for name in names if not name.startswith("_")}


def public_names(module_name: str) -> set[str]:
    """The public names of a module, by the rule in this file's docstring."""
    module = importlib.import_module(module_name)
    package = module_name if hasattr(module, "__path__") else None
    source = Path(inspect.getfile(module)).read_text(encoding="utf-8")
    tree = ast.parse(source)
    return _bound_names(tree.body, package)


def test_modules_are_found() -> None:
    modules = _public_modules()
    assert "sqlspec.driver" in modules
    assert "sqlspec.adapters.psycopg" in modules
    assert "sqlspec.extensions.flask" in modules
    assert "sqlspec._values" not in modules


#: Modules another branch of issue 12 is rewriting (the adapters, the sync facade): their
#: ``__all__`` is fixed there. Strict, so the mark must go once they pass.
_PENDING: set[str] = set()


def _cases() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="fixed on its own branch"))
        if name in _PENDING
        else name
        for name in _public_modules()
    ]


@pytest.mark.parametrize("module_name", _cases())
def test_all_is_the_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    declared = set(getattr(module, "__all__", ()))
    assert sorted(declared - public_names(module_name)) == [], "in __all__ but not public"
    assert sorted(public_names(module_name) - declared) == [], "public but not in __all__"
