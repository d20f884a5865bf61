#!/usr/bin/env bash
# Build the wheel with default settings (portable, run-time dispatch),
# install it into a fresh virtual environment and run a correctness probe
# (tools/cpu_probe.py) under emulated CPUs without AVX-512 (Haswell: AVX2,
# FMA) and without AVX (Nehalem: x86-64-v2), then check that a CPU below
# the lowest level is refused with an ImportError, not an illegal
# instruction.  Needs qemu-user (apt install qemu-user) and network access
# to the package registry for the dependencies.
#
#   bash tools/check_cpus.sh [WHEEL]    # WHEEL: test this wheel instead
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 > /dev/null || { echo "needs qemu-x86_64 (apt install qemu-user)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-python3}
if [ $# -ge 1 ]; then
    wheel=$1
else
    echo "building the wheel (default settings) ..."
    start=$(date +%s)
    "$python" -m pip wheel . --no-deps -w "$work/wheels" -q
    echo "built in $(( $(date +%s) - start )) s"
    wheel=$(ls "$work"/wheels/cfilter-*.whl)
fi
ls -l "$wheel"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
probe=$PWD/tools/cpu_probe.py
status=0
for cpu in Nehalem Haswell; do
    echo "== qemu-x86_64 -cpu $cpu"
    (cd "$work" && qemu-x86_64 -cpu "$cpu" "$work/venv/bin/python" "$probe" 2>&1 \
        | grep -v "^qemu-x86_64: warning") || status=1
done
# Below x86-64-v2 numpy itself stops (its own baseline is v2), so the probe
# loads cfilter's core alone, as an older numpy would let it.
echo "== qemu-x86_64 -cpu core2duo (below x86-64-v2)"
cat > "$work/below.py" <<'PY'
import importlib.util, os, sys, types
spec = importlib.util.find_spec("cfilter")
pkg = types.ModuleType("cfilter")
pkg.__path__ = list(spec.submodule_search_locations)
sys.modules["cfilter"] = pkg
try:
    import cfilter._core
except ImportError as exc:
    print("ImportError:", exc)
    sys.exit(0)
print("imported on a CPU below the lowest level")
sys.exit(1)
PY
(cd "$work" && qemu-x86_64 -cpu core2duo "$work/venv/bin/python" "$work/below.py" 2>&1 \
    | grep -v "^qemu-x86_64: warning") || status=1
exit $status
