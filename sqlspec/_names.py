"""Settings keys and "did you mean" suggestions for the errors about unknown names (config
keys, extension names), shared by the configs and the Flask extension."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def settings_keys(settings: Any) -> frozenset[str]:
    """The keys of a settings TypedDict (such as :class:`FlaskConfig`)."""
    return frozenset(settings.__required_keys__ | settings.__optional_keys__)


def close_match(word: object, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (case-insensitively), when one is close enough."""
    if not isinstance(word, str):
        return None
    by_folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def unknown_names(names: Iterable[object], valid: Iterable[str]) -> str:
    """``'databse' (did you mean 'database'?), 'x'``: unknown names with their close matches."""
    choices = list(valid)
    shown = []
    for name in names:
        match = close_match(name, choices)
        shown.append(f"{name!r} (did you mean {match!r}?)" if match else repr(name))
    return ", ".join(shown)
