"""Sphinx configuration for the cfilter documentation.

Build the site and run every example with::

    sphinx-build -W -b html docs docs/_build/html
    sphinx-build -W -b doctest docs docs/_build/doctest

The package must be importable (``pip install .``); autodoc and the doctests
import the installed ``cfilter``. Every build first runs ``gallery_images.py``,
which writes the kernel gallery's pictures into ``docs/_generated/`` (a build
product, not kept in git).
"""

import os
import sys
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
    "matplotlib.sphinxext.plot_directive",
]

exclude_patterns = ["_build", "_generated"]
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


# -- Kernel gallery ------------------------------------------------------------
# The gallery's pictures are made, not stored: gallery_images.py writes them
# into docs/_generated/ before any page is read (the image directive checks
# that its file exists, so this runs for every builder).
_HERE = os.path.dirname(os.path.abspath(__file__))


def _make_gallery_images(app):
    sys.path.insert(0, _HERE)
    try:
        import gallery_images
    finally:
        sys.path.remove(_HERE)
    gallery_images.main(os.path.join(_HERE, "_generated"))


def setup(app):
    app.connect("builder-inited", _make_gallery_images)
    return {"parallel_read_safe": True}
