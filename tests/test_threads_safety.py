"""Threads: clamping, a bad environment value, and results that never
depend on the thread count (DESIGN section 2, ``workers``)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter

REPO = Path(__file__).resolve().parents[1]


def _child(code, **env_extra):
    env = dict(os.environ, **env_extra)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=str(REPO),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5"])
def test_bad_env_value_warns_instead_of_failing_import(value):
    proc = _child("import warnings; warnings.simplefilter('always')\n"
                  "import cfilter; print(cfilter.get_num_threads())",
                  CFILTER_NUM_THREADS=value)
    assert proc.returncode == 0, proc.stderr
    assert "CFILTER_NUM_THREADS" in proc.stderr and "Warning" in proc.stderr
    assert int(proc.stdout) >= 1


def test_absurd_worker_counts_are_clamped():
    # workers=100000 once made libgomp abort; in a child so an abort fails
    # this test only.  Checked against scipy.ndimage.correlate.
    code = ("import numpy as np, scipy.ndimage as ndi, cfilter\n"
            "x = np.random.default_rng(0).random((256, 256))\n"
            "w = np.random.default_rng(1).random((15, 15))\n"
            "for m in ('direct', 'fft'):\n"
            "    r = cfilter.correlate(x, w, method=m, workers=100000)\n"
            "    assert np.allclose(r, ndi.correlate(x, w)), m\n"
            "r = cfilter.conv_transpose(x[:50, :50], w, workers=100000)\n"
            "print('ok')")
    proc = _child(code, CFILTER_NUM_THREADS="100000")
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


CASES = [
    ("direct", np.random.default_rng(2).random((9, 7))),
    ("separable", np.outer(np.hanning(9), np.hanning(7))),
    ("box", np.ones((5, 8))),
    ("fft", np.random.default_rng(3).random((63, 63))),
]


@pytest.mark.parametrize("method, kernel", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 3])
def test_every_engine_bit_identical_across_thread_counts(method, kernel, dtype,
                                                         stride):
    x = np.random.default_rng(4).random((301, 517)).astype(dtype)
    one = cfilter.correlate(x, kernel, method=method, workers=1, stride=stride)
    two = cfilter.correlate(x, kernel, method=method, workers=2, stride=stride)
    np.testing.assert_array_equal(one, two)
    # and it is the right result (scipy.ndimage, float64 accumulation)
    want = ndi.correlate(x.astype(np.float64), kernel)[::stride, ::stride]
    tol = 2e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(one, want, atol=tol * np.abs(kernel).sum())


def test_fft_tiling_does_not_depend_on_threads():
    p1 = cfilter.plan(np.zeros((2048, 2048), np.float32), np.ones((63, 63)),
                      method="fft", workers=1)
    p2 = cfilter.plan(np.zeros((2048, 2048), np.float32), np.ones((63, 63)),
                      method="fft", workers=2)
    assert p1.fft_tiles == p2.fft_tiles


def test_conv_transpose_bit_identical_across_thread_counts():
    y = np.random.default_rng(5).random((3, 120, 130)).astype(np.float32)
    w = np.random.default_rng(6).random((5, 4))
    one = cfilter.conv_transpose(y, w, stride=2, padding=1, axes=(1, 2),
                                 workers=1)
    two = cfilter.conv_transpose(y, w, stride=2, padding=1, axes=(1, 2),
                                 workers=2)
    np.testing.assert_array_equal(one, two)
