"""Package metadata and the set-up scripts: licence, changelog, classifiers, the dev tools as a
dependency group, and which extras each command installs.

The script tests run ``scripts/demo.sh`` in a scratch copy of the repository whose ``python3``
is a stand-in that records the commands it is given (no network, nothing installed), to check
what the demo command installs and what it prints.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sqlspec

ROOT = Path(sqlspec.__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_licence_file_is_the_mit_licence_the_metadata_declares() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_classifiers_cover_the_supported_pythons_and_the_status() -> None:
    classifiers = PROJECT["classifiers"]
    assert PROJECT["requires-python"] == ">=3.10"
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Development Status :: 3 - Alpha" in classifiers
    assert "Framework :: Flask" in classifiers
    assert "Typing :: Typed" in classifiers
    assert PROJECT["authors"]


def test_changelog_has_an_unreleased_section_and_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    assert any(heading.startswith(sqlspec.__version__) for heading in headings)
    assert PROJECT["version"] == sqlspec.__version__


def test_dev_tools_are_a_dependency_group_not_a_published_extra() -> None:
    assert "dev" not in PROJECT["optional-dependencies"]
    group = " ".join(PYPROJECT["dependency-groups"]["dev"])
    for tool in ("pytest", "ruff", "mypy"):
        assert tool in group


def test_the_test_command_installs_every_extra_and_the_dev_group() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r'venv_install dev -e "\.\[([a-z,]+)\]"\s+--group dev', script)
    assert match, "scripts/test.sh must install the driver extras and the dev group"
    wanted = {extra for extra, requires in PROJECT["optional-dependencies"].items() if requires}
    assert set(match.group(1).split(",")) == wanted


# -- scripts/demo.sh, with a recording stand-in for python3 ------------------------------------

FAKE_PYTHON = """#!/usr/bin/env bash
# Records its arguments; "-m venv DIR" makes DIR/bin/python (this script) and DIR/bin/flask.
echo "$0 $*" >> "$FAKE_LOG"
if [[ "$1" == "--version" ]]; then echo "Python 3.x (stand-in)"; exit 0; fi
if [[ "$1 $2" == "-m venv" ]]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    printf '#!/usr/bin/env bash\\necho "flask $*" >> "$FAKE_LOG"\\n' > "$3/bin/flask"
    chmod +x "$3/bin/python" "$3/bin/flask"
fi
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    for name in ("_venv.sh", "demo.sh"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    return tmp_path


def _run_demo(scratch: Path, **env: str) -> tuple[str, list[str]]:
    log = scratch / "commands.log"
    log.unlink(missing_ok=True)
    environment = dict(os.environ, FAKE_LOG=str(log), **env)
    environment["PATH"] = f"{scratch / 'fakebin'}{os.pathsep}{environment['PATH']}"
    if "USERS_POSTGRES_DSN" not in env:
        environment.pop("USERS_POSTGRES_DSN", None)
    completed = subprocess.run(
        ["bash", str(scratch / "scripts" / "demo.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    commands = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return completed.stdout, commands


@pytest.mark.skipif(sys.platform == "win32", reason="bash scripts")
def test_demo_installs_only_the_demo_extras_and_says_what_it_does(scratch: Path) -> None:
    output, commands = _run_demo(scratch)
    installs = [c for c in commands if " -m pip install " in c and "--upgrade pip" not in c]
    assert installs == [
        ".venv/bin/python -m pip install --disable-pip-version-check -e .[duckdb,flask]"
    ]
    assert not any("--group" in command or "[dev" in command for command in commands)
    assert not any(" -q" in command for command in installs)  # pip shows its progress
    for step in ("creating .venv", "upgrading pip", "installing into .venv", "==> demo on"):
        assert step in output
    assert any(command.endswith("python3 -m venv .venv") for command in commands)
    assert commands[-1].startswith("flask --app examples.demo.app run")

    output, commands = _run_demo(scratch)  # second run: nothing to install
    assert "up to date" in output
    assert not any("pip install" in command for command in commands)


@pytest.mark.skipif(sys.platform == "win32", reason="bash scripts")
def test_demo_on_postgresql_adds_the_psycopg_extra(scratch: Path) -> None:
    _, commands = _run_demo(scratch, USERS_POSTGRES_DSN="postgresql://localhost/demo")
    assert any(command.endswith("-e .[duckdb,flask,psycopg]") for command in commands)


@pytest.mark.skipif(sys.platform == "win32", reason="bash scripts")
def test_demo_reuses_the_test_commands_full_install(scratch: Path) -> None:
    _run_demo(scratch)  # makes the stand-in .venv
    (scratch / ".venv" / ".installed-dev").touch()
    (scratch / ".venv" / ".installed-demo-duckdb-flask").unlink()
    output, commands = _run_demo(scratch)
    assert "up to date" in output
    assert not any("pip install" in command for command in commands)


# -- README: install instructions, links, tables -----------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_installs_this_project_not_the_index_name() -> None:
    # The bare name on PyPI is another project: every install command must name a path.
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.DOTALL))
    assert "pip install" in commands
    assert re.findall(r"pip install [\"']?sqlspec\b", commands) == []
    assert 'pip install "./sqlspec-checkout[sqlite,flask]"' in README
    assert "another project" in README


def test_readme_links_stay_inside_the_repository() -> None:
    assert "../" not in README
    for target in re.findall(r"\]\(([^)]+)\)", README):
        assert not target.startswith(("http:", "https:")), target
        assert (ROOT / target.partition("#")[0]).exists(), target


def test_readme_tables_are_not_broken_by_blank_lines() -> None:
    lines = README.splitlines()
    for number, line in enumerate(lines[2:], start=2):
        if line.startswith("|") and not lines[number - 1].strip():
            # A table starts here: its next line must be the header separator.
            assert re.match(r"\|[-| :]+\|$", lines[number + 1]), (number + 1, line)
