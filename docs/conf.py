"""Sphinx configuration for the cfilter documentation.

Build the site and run every example with::

    sphinx-build -W -b html docs docs/_build/html
    sphinx-build -W -b doctest docs docs/_build/doctest

The package must be importable (``pip install .``); autodoc and the doctests
import the installed ``cfilter``.
"""

from importlib import metadata

project = "cfilter"
author = "the cfilter developers"
copyright = "the cfilter developers"

try:
    release = metadata.version("cfilter")
except metadata.PackageNotFoundError:  # running from a source tree
    release = "0.1.0.dev0"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
]

exclude_patterns = ["_build"]
root_doc = "index"
default_role = "code"

# -- numpydoc ----------------------------------------------------------------
numpydoc_show_class_members = False

# -- autodoc -----------------------------------------------------------------
autodoc_member_order = "bysource"

# -- doctest -----------------------------------------------------------------
# Every page's examples start from these imports.
doctest_global_setup = """
import numpy as np
import cfilter
"""

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"cfilter {release}"
html_theme_options = {
    "description": "Fast, exact 2-D convolution and correlation compiled with Cython",
}
