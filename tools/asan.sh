#!/usr/bin/env bash
# Build cfilter's compiled core with AddressSanitizer in a temporary copy of
# the checkout and run a representative part of the test suite under it.
#
#   tools/asan.sh                 # the default subset (a few minutes)
#   tools/asan.sh tests/test_x.py -k name   # any pytest arguments instead
#   CFILTER_DEBUG=1 tools/asan.sh # ASan on the debug build (bounds checks on too)
#
# Python itself is not instrumented, so the ASan runtime is preloaded
# (LD_PRELOAD) before the interpreter starts; PYTHONMALLOC=malloc sends
# Python's small objects through malloc too, so a buffer overrun that lands
# in one is still caught.  Leak detection is off: the interpreter keeps its
# allocations at exit by design, which would drown real reports.  Child
# processes (the extreme-geometry tests run their cases in children) inherit
# the settings, so their reports fail their tests as well.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python}
cc=${CC:-gcc}

libasan=$("$cc" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "asan.sh: $cc has no libasan.so (install libasan / gcc's sanitizer runtime)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cfilter-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$repo/cfilter" "$repo/tests" "$repo/setup.py" "$repo/pyproject.toml" \
    "$repo/README.md" "$work"/
find "$work/cfilter" \( -name '*.so' -o -name '*.c' \) -delete

echo "asan.sh: building the core with -fsanitize=address in $work"
(cd "$work" && CFLAGS="-fsanitize=address -fno-omit-frame-pointer" \
    LDFLAGS="-fsanitize=address" \
    "$python" setup.py -q build_ext --inplace > build.log 2>&1) || {
    tail -30 "$work/build.log"; exit 1; }

if [ $# -eq 0 ]; then
    set -- tests/test_limits.py tests/test_threads_safety.py \
        tests/test_kernel_precision.py tests/test_correlate_scipy.py \
        tests/test_transpose.py tests/test_onedim.py tests/test_fft.py \
        tests/test_layouts_dtypes.py -x -q
fi

cd "$work"
export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export PYTHONMALLOC=malloc
"$python" -m pytest -p no:cacheprovider "$@"
echo "asan.sh: no AddressSanitizer report"
