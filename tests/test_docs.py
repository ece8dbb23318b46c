"""The documentation site (``docs/``, Sphinx + MyST): it builds with warnings as errors, its
generated configuration reference names every key the code accepts, and the Python examples of
its pages run.

``docs/flask.md`` is left out of the example runs: ``tests/extensions/flask/test_guide.py``
runs its blocks.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlspec.adapters.aiosqlite import AiosqliteConfig
from sqlspec.adapters.asyncmy import AsyncmyConfig
from sqlspec.adapters.asyncpg import AsyncpgConfig
from sqlspec.adapters.duckdb import DuckDBConfig
from sqlspec.adapters.psycopg import PsycopgAsyncConfig, PsycopgSyncConfig
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.config import FlaskConfig

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONFIGS = [
    SqliteConfig,
    DuckDBConfig,
    PsycopgSyncConfig,
    PsycopgAsyncConfig,
    AiosqliteConfig,
    AsyncpgConfig,
    AsyncmyConfig,
]
PAGES = [
    "index",
    "quickstart",
    "configuration",
    "flask",
    "async",
    "transactions",
    "errors",
    "pooling",
    "testing",
    "api",
    "changelog",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "html"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


def literals_under_heading(page: Path, name: str) -> set[str]:
    """The inline literals (table cells of keys included) of the innermost section whose
    heading names ``name`` as code."""
    chunks = page.read_text(encoding="utf-8").split("<section id=")[1:]
    for chunk in chunks:
        body = chunk.split("</section>")[0]  # up to the next nested or closing section
        heading = re.search(r"<h[1-6]>(.*?)</h[1-6]>", body, re.S)
        if heading and f'<span class="pre">{html.escape(name)}</span>' in heading.group(1):
            return {
                html.unescape(text) for text in re.findall(r'<span class="pre">(.*?)</span>', body)
            }
    raise AssertionError(f"no section about {name} in {page.name}")


def test_docs_build_without_warnings(site: Path) -> None:
    for page in PAGES:
        assert (site / f"{page}.html").exists(), page


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_configuration_reference_names_every_key(site: Path, config: Any) -> None:
    shown = literals_under_heading(site / "configuration.html", config.__name__)
    keys = config.connection_keys | config.pool_keys | config.feature_keys
    assert sorted(keys - shown) == []


def test_configuration_reference_names_every_flask_key(site: Path) -> None:
    page = site / "configuration.html"
    shown = literals_under_heading(page, 'extension_config["flask"]')
    assert set(FlaskConfig.__annotations__) - shown == set()
    assert '"manual" (default)' in text_of(page)


def test_api_reference_documents_the_public_api(site: Path) -> None:
    text = text_of(site / "api.html")
    for name in (
        "SQLSpec",
        "SQLSpecPlugin",
        "SqliteConfig",
        "AsyncpgConfig",
        "UniqueViolationError",
        "PortalTimeoutError",
        "provide_session",
        "get_session",
    ):
        assert name in text, name


def test_changelog_page_includes_the_changelog(site: Path) -> None:
    first_entry = next(
        line.lstrip("#- ").strip()
        for line in (REPO / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()[1:]
        if line.strip().startswith(("##", "-"))
    )
    assert first_entry.split(":")[0] in text_of(site / "changelog.html")


def python_blocks(page: str) -> list[str]:
    text = (DOCS / f"{page}.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("page", ["quickstart", "async", "transactions", "errors", "pooling"])
def test_page_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": f"docs_{page}"}
    for block in blocks:
        exec(compile(block, str(DOCS / f"{page}.md"), "exec"), namespace)
    for value in namespace.values():  # close what the page left open (its Flask example)
        close = getattr(value, "close_all_pools", None)
        if callable(close) and not isinstance(value, type):
            close()


def test_testing_page_example_passes_under_pytest(tmp_path: Path) -> None:
    (blocks,) = python_blocks("testing")
    (tmp_path / "test_page.py").write_text(blocks, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_page.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
