"""``docs/observability.md``: its Python blocks run, in order, as one module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "observability.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(python_blocks()) >= 6


def test_the_examples_run(pytester: pytest.Pytester) -> None:
    module = "\n\n".join(python_blocks())
    pytester.makepyfile(docs_module=module + "\n\n\ndef test_ran():\n    pass\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "docs_module.py")
    result.assert_outcomes(passed=1)
