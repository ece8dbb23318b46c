"""Sphinx configuration of the sqlspec documentation.

Build:  python -m sphinx -W --keep-going -b html docs docs/_build/html
(``-W``: a warning fails the build; ``tests/test_docs.py`` runs exactly this.)
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # document this checkout, not an installed copy

import sqlspec  # noqa: E402

project = "sqlspec"
author = "the sqlspec authors"
release = version = sqlspec.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "sqlspec_docs",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
smartquotes = False  # keys and values in tables are code-like: keep straight quotes
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"show-inheritance": True}

# No network at build time: intersphinx inventories are optional extras, not fetched.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

html_theme = "alabaster"
html_title = f"sqlspec {release}"
html_theme_options = {
    "description": "A SQL execution layer with real adapters and Flask integration",
    "fixed_sidebar": True,
}
