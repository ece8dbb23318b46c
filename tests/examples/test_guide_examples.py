"""The Flask guide's complete programs (``examples/guide/``), run as a user would run them.

Each file runs in a subprocess from an empty temporary working directory (the programs use
relative database files), with nothing on the path but the repository: it must exit 0 and print
its ``ok:`` line. ``docs/flask.md`` must link each of them, and every section of the guide that
shows Python code must link its complete program.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUIDE_DIR = REPO / "examples" / "guide"
DOC = REPO / "docs" / "flask.md"
PROGRAMS = sorted(path.name for path in GUIDE_DIR.glob("*.py") if not path.name.startswith("test_"))


def run(
    args: list[str], cwd: Path, *, extra_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    paths = [str(extra_path)] if extra_path else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO)])}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_there_are_programs() -> None:
    assert len(PROGRAMS) >= 15, PROGRAMS


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs_from_an_empty_directory(name: str, tmp_path: Path) -> None:
    result = run([str(GUIDE_DIR / name)], tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: "), result.stdout
    assert "Traceback" not in result.stderr, result.stderr


def test_factory_package_runs(tmp_path: Path) -> None:
    result = run(["-m", "factory_app"], tmp_path, extra_path=GUIDE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: "), result.stdout


def test_testing_example_passes_under_pytest(tmp_path: Path) -> None:
    result = run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(GUIDE_DIR / "test_factory_app.py")],
        tmp_path,
        extra_path=GUIDE_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def linked_targets() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    return set(re.findall(r"\]\(\.\./examples/guide/([^)]*)\)", text))


def test_every_program_is_linked_from_the_guide() -> None:
    expected = {*PROGRAMS, "test_factory_app.py", "factory_app/__init__.py", "factory_app/views.py"}
    assert expected - linked_targets() == set()


def test_every_link_to_an_example_exists() -> None:
    missing = [target for target in linked_targets() if not (GUIDE_DIR / target).exists()]
    assert missing == []


def test_every_section_with_code_links_its_program() -> None:
    text = DOC.read_text(encoding="utf-8")
    # Sections at "##" or "###"; a "###" section belongs to its own text only.
    sections = re.split(r"\n(?=#{2,3} )", text.split("## Notes on this guide")[0])
    unlinked = [
        section.splitlines()[0]
        for section in sections
        if "```python" in section and "](../examples/guide/" not in section
    ]
    assert unlinked == []
