"""Sphinx configuration for the fakemail documentation (MyST Markdown, furo, autodoc)."""

from __future__ import annotations

import fakemail

project = "fakemail"
author = "fakemail developers"
copyright = "fakemail developers"
release = fakemail.__version__
version = release

# No napoleon: the docstrings are reST, and napoleon would read a ``#:`` attribute comment that
# starts with "Word:" (``#: SMTP: refuse MAIL ...``) as a type annotation.
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]

# MyST: ``{ref}``-able heading anchors, ``:::`` fences, definition lists for option tables.
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

# Types in signatures, as in the source; defaults as values (``timeout=10.0``, not a constant).
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
add_module_names = False
python_use_unqualified_type_names = True

html_theme = "furo"
html_title = f"fakemail {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
pygments_dark_style = "monokai"
