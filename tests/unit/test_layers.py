"""The package's import graph: no cycles (lazy imports included), and imports flow one way.

Adapters and extensions import the core; the core never imports them; no adapter imports another
adapter. Imports under ``if TYPE_CHECKING:`` are annotations only and are not counted. The implicit
import of a parent package (``sqlspec/__init__``) is not counted either: it re-exports the public
names and would otherwise make every module import every other one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sqlspec

PACKAGE_DIR = Path(sqlspec.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """sqlspec modules that ``path`` imports at run time (top-level or inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from sqlspec import portal` imports a module; `from x import name` imports x.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {module for module in found if module in modules and module != name}


def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _imports(path, modules) for path in paths}
    # Package __init__ modules re-export; importing a submodule runs them, which is not a
    # dependency of the submodule's code.
    packages = {name for name, path in zip(graph, paths, strict=True) if path.name == "__init__.py"}
    return {name: deps - packages for name, deps in graph.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (cycle := walk(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_the_graph_sees_lazy_imports() -> None:
    # config.py imports the sync facade inside provide_sync_session(): the walk must see it,
    # or the cycle test below could pass by not looking.
    assert "sqlspec.portal_session" in _graph()["sqlspec.config"]


def test_no_import_cycles() -> None:
    assert _find_cycle(_graph()) is None


def test_an_adapter_package_is_one_adapter() -> None:
    assert _adapter("sqlspec.adapters.psycopg._sync") == _adapter("sqlspec.adapters.psycopg")
    assert _adapter("sqlspec.adapters.psycopg._sync") != _adapter("sqlspec.adapters.asyncpg")


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_core_never_imports_adapters_or_extensions() -> None:
    outer = ("sqlspec.adapters", "sqlspec.extensions")
    offenders = {
        module: sorted(dep for dep in deps if dep.startswith(outer))
        for module, deps in _graph().items()
        if not module.startswith(outer)
    }
    assert {module: deps for module, deps in offenders.items() if deps} == {}


def _adapter(module: str) -> str:
    """The adapter a module belongs to: ``sqlspec.adapters.psycopg._sync`` is part of the
    ``sqlspec.adapters.psycopg`` package, not another adapter."""
    return ".".join(module.split(".")[:3])


def test_adapters_never_import_each_other() -> None:
    offenders = {
        module: sorted(
            dep
            for dep in deps
            if dep.startswith("sqlspec.adapters.") and _adapter(dep) != _adapter(module)
        )
        for module, deps in _graph().items()
        if module.startswith("sqlspec.adapters.")
    }
    assert {module: deps for module, deps in offenders.items() if deps} == {}


def test_extensions_never_import_adapters() -> None:
    offenders = {
        module: sorted(dep for dep in deps if dep.startswith("sqlspec.adapters"))
        for module, deps in _graph().items()
        if module.startswith("sqlspec.extensions")
    }
    assert {module: deps for module, deps in offenders.items() if deps} == {}
