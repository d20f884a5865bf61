#!/usr/bin/env bash
# Build the documentation (gallery included, warnings are errors), then open
# every page in headless Chromium: fail on a missing image or a failed
# example, and save screenshots of the key pages to docs/_build/screenshots.
# Run from anywhere, with cfilter importable (installed, or built in place):
#     tools/check_docs.sh [--full]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
sphinx-build -q -W -b html docs docs/_build/html
python tools/check_docs.py docs/_build/html --out docs/_build/screenshots "$@"
