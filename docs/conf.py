"""Sphinx configuration for the cfilter documentation.

Build the site (this runs every gallery example) and then every doctest::

    sphinx-build -W -b html docs docs/_build/html
    sphinx-build -W -b doctest -D plot_gallery=0 docs docs/_build/doctest

``-D plot_gallery=0`` spares the doctest build from running the gallery a
second time (the HTML build has run it; the doctests are in the pages).

The package must be importable (``pip install .``, or ``PYTHONPATH`` at a
source tree with the compiled core built in place); autodoc, the doctests,
the ``.. plot::`` pictures and the gallery all import ``cfilter``.

The gallery's scripts live in ``docs/examples/``; sphinx-gallery runs them
and writes their pages and pictures into ``docs/auto_examples/``, a build
product that git ignores.

The performance page and the front page draw their tables and figures from
the recorded benchmark results in ``benchmarks/results/*.json`` with the
local extension ``docs/_ext/benchresults.py`` (its pictures go into
``docs/_generated/``, which git ignores); a missing results file fails the
build, naming the command that records it.

The formulas are typeset by MathJax, served from the site itself
(``sphinx-mathjax-offline`` copies it into ``_static/``), so the pages need
no network.
"""

import os
import sys
from importlib import metadata

sys.path.insert(0, os.path.abspath("_ext"))

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
    # MathJax from the site itself, not from a CDN
    "sphinx-mathjax-offline",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
    # tables and figures of benchmarks/results/*.json
    "benchresults",
]

exclude_patterns = ["_build", "_ext", "_generated", "examples",
                    "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip"]
root_doc = "index"
default_role = "code"

# -- maths: MathJax copied into the site (no CDN) ---------------------------
mathjax_path = "mathjax/tex-chtml.js"

# -- benchmark results (docs/_ext/benchresults.py) ----------------------------
benchresults_dir = "../benchmarks/results"

# -- numpydoc ----------------------------------------------------------------
numpydoc_show_class_members = False

# -- autodoc -----------------------------------------------------------------
autodoc_member_order = "bysource"
# The signatures' type annotations are for editors and type checkers; the
# numpydoc Parameters sections document the types, so the signatures are
# shown without them (and overloads as the one signature).
autodoc_typehints = "none"

# -- doctest -----------------------------------------------------------------
# Every page's examples start from these imports.
doctest_global_setup = """
import numpy as np
import cfilter
"""

# -- pictures: the plot directive ----------------------------------------------
# ``.. plot::`` runs the code under it at build time and shows its figures.
plot_pre_code = """
import numpy as np
import matplotlib.pyplot as plt
import cfilter
"""
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.autolayout": True}

# -- the gallery: sphinx-gallery -------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # every script whose name starts with plot_ is run, the others shown
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    # a failing example fails the build
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 0,
    "show_memory": False,
    # link the functions used in the examples to the API page
    "reference_url": {"cfilter": None},
    # thumbnails drawn at 400x280 and shown at up to 250x175 (cfilter.css)
    "thumbnail_size": (400, 280),
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cfilter {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Pages without sub-pages have nothing for the left column: give their width
# to the text (and to the code blocks on them).
html_sidebars = {
    "index": [],
    "install": [],
    "quickstart": [],
    "cli": [],
    "api": [],
    "performance": [],
    "migrating": [],
    "changes": [],
    "sanitizers": [],
    # the examples' code is as wide as a script's (79 columns)
    "auto_examples/*": [],
}
html_static_path = ["_static"]
html_css_files = ["cfilter.css"]
