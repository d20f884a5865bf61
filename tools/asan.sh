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
cp -r "$repo/cfilter" "$repo/tests" "$repo/setup.py" "$repo/pyproject.toml" \
    "$repo/README.md" "$repo/LICENSE" "$repo/MANIFEST.in" "$work"/
find "$work/cfilter" \( -name '*.so' -o -name '*.c' -o -name '*.cpp' \) -delete
rm -rf "$work"/cfilter/_core/_v[0-9]

echo "asan.sh: building the core with -fsanitize=address in $work"
# The flags go into CC as well: setup.py's compiler probes link small
# executables with the compiler alone, and those links need the runtime too.
# One target (CFILTER_ARCH=native unless set): the portable build would
# compile every hot module three times, and ASan checks the same code.
(cd "$work" && CFILTER_ARCH=${CFILTER_ARCH:-native} \
    CC="$cc -fsanitize=address -fno-omit-frame-pointer" \
    CFLAGS="-fsanitize=address -fno-omit-frame-pointer" \
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
# Reports go to files: pytest captures stderr, and a process that ASan
# stops never gets to print what was captured.  A huge allocation returns
# NULL (numpy's MemoryError, which tests expect) instead of an ASan abort.
# libstdc++ is preloaded with the runtime so that ASan's __cxa_throw
# interceptor finds the real one: torch (a reference in the tests) throws
# C++ exceptions for bad arguments, and ASan aborts on them otherwise.
libstdcxx=$("$cc" -print-file-name=libstdc++.so)
export LD_PRELOAD="$libasan:$libstdcxx${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:allocator_may_return_null=1:log_path=$work/asan:${ASAN_OPTIONS:-}"
export PYTHONMALLOC=malloc
status=0
"$python" -m pytest -p no:cacheprovider "$@" || status=$?
if ls "$work"/asan.* > /dev/null 2>&1; then
    cat "$work"/asan.*
    echo "asan.sh: AddressSanitizer reported errors (build kept in $work)"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "asan.sh: pytest failed (status $status; build kept in $work)"
    exit "$status"
fi
rm -rf "$work"
echo "asan.sh: no AddressSanitizer report"
