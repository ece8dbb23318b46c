"""The README's Python examples run, in order, as one module under pytest (so its pytest
example runs as a real test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(python_blocks()) >= 8


def test_readme_examples_run(pytester: pytest.Pytester) -> None:
    module = "\n\n".join(python_blocks())
    pytester.makepyfile(test_readme_examples=module)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
