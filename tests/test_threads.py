"""Thread count control, per-call workers and thread safety."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import (MODES, NDI_MODE, tol, assert_matches, random_image,
                      random_kernel, ref_correlate2d)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_threads():
    before = cfilter.get_num_threads()
    yield before
    cfilter.set_num_threads(before)


def test_get_num_threads_is_positive_int():
    n = cfilter.get_num_threads()
    assert isinstance(n, int) and n >= 1


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_set_num_threads_round_trip(restore_threads, n):
    cfilter.set_num_threads(n)
    assert cfilter.get_num_threads() == n


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["auto", "direct", "separable"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_workers_1_and_2_give_identical_results(rng, mode, method, dtype):
    x = random_image(rng, (131, 97), dtype)
    w = np.outer(random_kernel(rng, 5), random_kernel(rng, 4))
    kw = dict(mode=mode, cval=0.5, method=method)
    one = cfilter.correlate(x, w, workers=1, **kw)
    two = cfilter.correlate(x, w, workers=2, **kw)
    np.testing.assert_array_equal(one, two)
    assert_matches(one, ndi.correlate(x.astype(np.float64), w, mode=NDI_MODE[mode], cval=0.5),
                   tol(dtype, w, np.append(x, 0.5)))


@pytest.mark.parametrize("kwargs", [dict(stride=(2, 3)), dict(dilation=2, padding="full"),
                                    dict(padding=((5, 0), (1, 7)), mode="wrap")], ids=str)
def test_workers_do_not_change_strided_dilated_padded_results(rng, kwargs):
    x = random_image(rng, (53, 40), np.float64)
    w = random_kernel(rng, (3, 4))
    results = [cfilter.convolve(x, w, workers=n, **kwargs) for n in (1, 2, 4)]
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=(2, 3)),
                                    dict(stride=(1, 2), dilation=(2, 1))], ids=str)
@pytest.mark.parametrize("plane", [(19, 23), (2, 23), (1, 70), (9, 5), (300, 17)],
                         ids=str)
@pytest.mark.parametrize("method", ["direct", "separable", "box"])
def test_stacks_of_small_planes_share_out_their_rows(rng, mode, kwargs, plane,
                                                     method):
    # The engines hand the rows of all the planes of a stack to their
    # threads together: each plane must still be its own
    # image (a strided row split for one plane is never reused for the
    # next, a band never runs into the next plane), and the thread count
    # must not change a bit.
    x = random_image(rng, (7, 3) + plane, np.float32)
    w = np.outer(random_kernel(rng, 5), random_kernel(rng, 4))
    if method == "box":
        if "dilation" in kwargs:
            pytest.skip("the box engine takes no dilation")
        w = np.full((5, 4), 0.05)
    kw = dict(mode=mode, cval=0.5, method=method, axes=(-2, -1), **kwargs)
    results = [cfilter.correlate(x, w, workers=n, **kw) for n in (1, 2, 5)]
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            expected = ref_correlate2d(x[i, j], w, mode=mode, cval=0.5, **kwargs)
            assert_matches(results[0][i, j], expected,
                           tol(np.float32, w, np.append(x, 0.5)))


def test_global_thread_setting_does_not_change_results(rng, restore_threads):
    x = random_image(rng, (40, 33), np.float32)
    w = random_kernel(rng, (5, 5))
    cfilter.set_num_threads(1)
    one = cfilter.correlate(x, w)
    cfilter.set_num_threads(2)
    two = cfilter.correlate(x, w)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("fname", ["correlate", "convolve", "correlate1d", "sep_filter"])
def test_concurrent_python_threads_match_serial_calls(rng, fname):
    images = [random_image(rng, (192 + i, 160 - i), np.float32 if i % 2 else np.float64)
              for i in range(8)]
    if fname == "correlate1d":
        args = [(random_kernel(rng, 5),) for _ in range(8)]
    elif fname == "sep_filter":
        args = [(random_kernel(rng, 3), random_kernel(rng, 4)) for _ in range(8)]
    else:
        args = [(random_kernel(rng, (3 + i % 3, 4)),) for i in range(8)]
    modes = [MODES[i % len(MODES)] for i in range(8)]
    fn = getattr(cfilter, fname)

    def call(i):
        return fn(images[i], *args[i], mode=modes[i], workers=2)

    serial = [call(i) for i in range(8)]
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=8) as pool:
            parallel = list(pool.map(call, range(8)))
        for s, p in zip(serial, parallel):
            assert s.dtype == p.dtype
            np.testing.assert_array_equal(s, p)


def test_concurrent_threads_with_output_arrays(rng):
    x = random_image(rng, (160, 150), np.float64)
    w = random_kernel(rng, (7, 7))
    expected = ndi.correlate(x, w, mode="mirror")
    outs = [np.empty_like(x) for _ in range(8)]

    def call(i):
        return cfilter.correlate(x, w, mode="mirror", output=outs[i])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))
    for out, res in zip(outs, results):
        assert res is out
        assert_matches(out, expected, tol(np.float64, w, x))


def _run_with_env(value):
    env = dict(os.environ)
    env["CFILTER_NUM_THREADS"] = value
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", "import cfilter; print(cfilter.get_num_threads())"],
                          env=env, cwd=str(REPO), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["1", "3"])
def test_env_var_sets_thread_count_at_import(value):
    proc = _run_with_env(value)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == int(value)
