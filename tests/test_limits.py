"""Extreme strides, dilations and paddings (DESIGN section 2, "Limits").

Every engine and conv_transpose is run on geometry up to 2**62 in a child
process (a batch of cases per process, so a crash fails the test instead of
killing the run), and compared with the definition evaluated in pure Python
integers:

    correlate(x, w)[i, j] = sum w[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]

with ``x~`` the boundary mode written out below, and conv_transpose as its
adjoint (each input pixel spreads ``y[i, j] * w`` back onto the pixels the
forward call read).  Under the debug build (bounds checks on) the same
children run with bounds checks, so an out-of-range access fails here too.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import cfilter

# The child: run each case, compare with the Python-integer definition,
# report one line per case.
CHILD = r'''
import json, sys
import numpy as np
import cfilter

def source(c, n, mode):
    """The index mode reads for coordinate c, or None for the constant."""
    if mode == "constant":
        return c if 0 <= c < n else None
    if mode == "nearest":
        return min(max(c, 0), n - 1)
    if mode == "wrap":
        return c % n
    if mode == "reflect":
        c %= 2 * n
        return c if c < n else 2 * n - 1 - c
    if n == 1:
        return 0
    c %= 2 * n - 2
    return c if c < n else 2 * n - 2 - c

def reference(x, w, pads, s, d, mode, cval, out):
    res = np.zeros(out)
    for i in range(out[0]):
        for j in range(out[1]):
            acc = 0.0
            for m in range(w.shape[0]):
                r = source(i * s[0] + m * d[0] - pads[0][0], x.shape[0], mode)
                for l in range(w.shape[1]):
                    c = source(j * s[1] + l * d[1] - pads[1][0], x.shape[1], mode)
                    v = cval if r is None or c is None else x[r, c]
                    acc += w[m, l] * v
            res[i, j] = acc
    return res

def adjoint(y, w, pads, s, d, mode, target):
    res = np.zeros(target)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for m in range(w.shape[0]):
                r = source(i * s[0] + m * d[0] - pads[0][0], target[0], mode)
                for l in range(w.shape[1]):
                    c = source(j * s[1] + l * d[1] - pads[1][0], target[1], mode)
                    if r is not None and c is not None:
                        res[r, c] += y[i, j] * w[m, l]
    return res

for case in json.loads(sys.stdin.read()):
    x = np.array(case["x"], dtype=np.float64)
    w = np.array(case["w"], dtype=np.float64)
    pads = case["pads"]; s = case["stride"]; d = case["dilation"]
    try:
        if case["kind"] == "transpose":
            got = cfilter.conv_transpose(x, w, stride=s, dilation=d, padding=pads,
                                         mode=case["mode"], output_shape=case["target"])
            want = adjoint(x, w, pads, s, d, case["mode"], case["target"])
        else:
            got = cfilter.correlate(x, w, stride=s, dilation=d, padding=pads,
                                    mode=case["mode"], cval=case["cval"],
                                    method=case["method"])
            want = reference(x, w, pads, s, d, case["mode"], case["cval"], case["out"])
        ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9)
        print(json.dumps({"ok": bool(ok), "case": case, "got": got.tolist()}))
    except ValueError as exc:
        print(json.dumps({"error": str(exc), "case": case}))
    sys.stdout.flush()
'''

MODES = ["constant", "nearest", "wrap", "reflect", "mirror"]
METHODS = ["direct", "separable", "box", "fft", "auto"]
HUGE = [2**62, 2**62 - 1, 2**61 + 3, 2**40, 2**31 + 1, 2**27, 2**16 + 5]
SMALL = [1, 2, 3, 5]
extent = st.one_of(st.sampled_from(SMALL), st.sampled_from(HUGE))
pad_kind = st.sampled_from(["small", "huge", "full", "half"])


def draw_pad(draw, k, d):
    """Padding of some kind: small, huge, or the kernel's reach (so that a
    huge dilation still leaves outputs)."""
    kind = draw(pad_kind)
    if kind == "small":
        return draw(st.sampled_from([0, 1, 2, 7]))
    if kind == "huge":
        return draw(st.sampled_from(HUGE))
    return d * (k - 1) // (1 if kind == "full" else 2)


def out_len(n, b, a, k, s, d):
    span = n + b + a - (d * (k - 1) + 1)
    return span // s + 1 if span >= 0 else 0


@st.composite
def forward_case(draw):
    method = draw(st.sampled_from(METHODS))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    kshape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    x = draw(st.lists(st.integers(-9, 9), min_size=shape[0] * shape[1],
                      max_size=shape[0] * shape[1]))
    if method == "box":
        w = [[2] * kshape[1]] * kshape[0]
        dil = (1, 1)
    else:
        col = draw(st.lists(st.integers(-3, 3).filter(bool), min_size=kshape[0],
                            max_size=kshape[0]))
        row = draw(st.lists(st.integers(-3, 3).filter(bool), min_size=kshape[1],
                            max_size=kshape[1]))
        w = np.outer(col, row).tolist()
        dil = (draw(extent), draw(extent))
    stride = (draw(extent), draw(extent))
    pads = [[draw_pad(draw, kshape[a], dil[a]) for _ in range(2)]
            for a in range(2)]
    out = [out_len(shape[a], *pads[a], kshape[a], stride[a], dil[a])
           for a in range(2)]
    return {"kind": "forward", "method": method, "mode": draw(st.sampled_from(MODES)),
            "cval": 1.5, "x": np.reshape(x, shape).tolist(), "w": w,
            "pads": pads, "stride": stride, "dilation": dil, "out": out}


@st.composite
def transpose_case(draw):
    yshape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    kshape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    y = draw(st.lists(st.integers(-9, 9), min_size=yshape[0] * yshape[1],
                      max_size=yshape[0] * yshape[1]))
    w = draw(st.lists(st.integers(-3, 3), min_size=kshape[0] * kshape[1],
                      max_size=kshape[0] * kshape[1]))
    stride = (draw(extent), draw(extent))
    dil = (draw(extent), draw(extent))
    pads = [[draw_pad(draw, kshape[a], dil[a])] * 2 for a in range(2)]
    # The largest forward input that maps to y's shape.
    target = [stride[a] * (yshape[a] - 1) + dil[a] * (kshape[a] - 1) + 1
              - 2 * pads[a][0] + (stride[a] - 1 if stride[a] < 2**20 else 0)
              for a in range(2)]
    target = [t if t >= 1 and out_len(t, *pads[a], kshape[a], stride[a], dil[a])
              == yshape[a] else None for a, t in enumerate(target)]
    return {"kind": "transpose", "mode": draw(st.sampled_from(MODES)),
            "x": np.reshape(y, yshape).tolist(),
            "w": np.reshape(w, kshape).tolist(), "pads": pads, "stride": stride,
            "dilation": dil, "target": target}


def expectation(case):
    """'run' (small enough to check), 'error' (a ValueError is right) or
    None (a legitimate but large result: skipped)."""
    lengths = case["out"] if case["kind"] == "forward" else case["target"]
    if any(n is None for n in lengths):
        return None
    if min(lengths) < 1:
        return "error"
    if lengths[0] * lengths[1] > 2**40:
        return "error"
    return "run" if lengths[0] * lengths[1] <= 64 else None


def run_children(cases):
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(lines) == len(cases), (
        f"child died (rc={proc.returncode}) after {len(lines)} of {len(cases)} "
        f"cases; next case: {cases[len(lines)] if len(lines) < len(cases) else None}"
        f"\n{proc.stderr[-2000:]}")
    return lines


def check_batch(cases):
    cases = [c for c in cases if expectation(c) is not None]
    for line in run_children(cases):
        case = line["case"]
        if expectation(case) == "error":
            assert "error" in line, case
        else:
            assert line.get("ok"), line


@settings(max_examples=6, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate))  # a crash: no shrinking
@given(st.lists(forward_case(), min_size=20, max_size=20))
def test_extreme_geometry_every_engine(cases):
    # box needs equal weights, separable rank 1: the strategy builds both,
    # so every method can serve every case.
    check_batch(cases)


@settings(max_examples=5, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate))  # a crash: no shrinking
@given(st.lists(transpose_case(), min_size=20, max_size=20))
def test_extreme_geometry_conv_transpose(cases):
    check_batch(cases)


# The crashes of issue 11 (as reported), each in a child.
REPORTED = [
    {"kind": "forward", "method": "separable", "mode": "reflect", "cval": 0.0,
     "x": [[1.0, 1.0, 1.0]], "w": [[1.0, 1.0, 1.0]], "pads": [[0, 0], [2**61, 2**61]],
     "stride": [1, 1], "dilation": [1, 2**61], "out": [1, 3]},
    {"kind": "forward", "method": "direct", "mode": "mirror", "cval": 0.0,
     "x": np.ones((8, 6)).tolist(), "w": np.ones((4, 2)).tolist(),
     "pads": [[2**62, 2**62]] * 2, "stride": [2**62 - 1] * 2, "dilation": [1, 1],
     "out": [out_len(8, 2**62, 2**62, 4, 2**62 - 1, 1),
             out_len(6, 2**62, 2**62, 2, 2**62 - 1, 1)]},
    {"kind": "forward", "method": "box", "mode": "reflect", "cval": 0.0,
     "x": np.ones((8, 6)).tolist(), "w": np.ones((4, 2)).tolist(),
     "pads": [[2**61, 2**61]] * 2, "stride": [2**61] * 2, "dilation": [1, 1],
     "out": [out_len(8, 2**61, 2**61, 4, 2**61, 1),
             out_len(6, 2**61, 2**61, 2, 2**61, 1)]},
]


def test_reported_crashes():
    check_batch(REPORTED)


@pytest.mark.parametrize("method", ["direct", "separable", "box", "fft"])
def test_large_stride_costs_no_memory(method):
    # 2**27 stride on 16x16 once took 586 MB for a 1x1 result.
    code = ("import resource, numpy as np, cfilter\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"r = cfilter.correlate(np.ones((16, 16), 'f4'), np.ones((3, 3)), "
            f"stride=2**27, method={method!r})\n"
            "assert r.shape == (1, 1) and r[0, 0] == 9, r\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) < 50_000   # kB


def test_unallocatable_result_names_parameters():
    with pytest.raises(ValueError, match="padding"):
        cfilter.correlate(np.ones((8, 6)), np.ones((3, 3)), padding=2**40)
    with pytest.raises(ValueError, match="padding"):
        cfilter.correlate(np.ones((8, 6)), np.ones((3, 3)), padding=2**62,
                          method="fft")
    with pytest.raises(ValueError, match="padding"):
        cfilter.conv_transpose(np.ones((3, 3)), np.ones((3, 3)), stride=2**40)
