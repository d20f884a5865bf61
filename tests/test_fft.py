"""The FFT engine and the automatic method choice (issue 4).

References are independent of cfilter: scipy.ndimage for 'same' padding and
the numpy.pad + sliding-window reference of conftest for every padding form,
stride and dilation.  FFT rounding grows with the transform length, so the
tolerance carries a log2(n) factor on top of conftest's dot-product bound.
"""
import tracemalloc

import numpy as np
import pytest
import scipy.fft
import scipy.ndimage as ndi

import cfilter
from cfilter import _plan
from conftest import (MODES, NDI_MODE, assert_matches, random_image,
                      random_kernel, ref_correlate2d, tol_with_cval)

CVAL = 0.75


def fft_tol(dtype, kernel, image, shape):
    """Dot-product tolerance times log2 of the transform size."""
    return tol_with_cval(dtype, kernel, image, CVAL) * max(np.log2(np.prod(shape)), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("shape,kshape", [
    ((37, 53), (9, 9)), ((64, 40), (8, 11)), ((23, 31), (31, 31)),
    ((5, 7), (4, 6)), ((300, 170), (25, 24)), ((1, 9), (1, 3)),
])
def test_fft_matches_scipy_ndimage_same(rng, dtype, mode, fname, shape, kshape):
    if mode == "reflect" and (kshape[0] > 2 * shape[0] or kshape[1] > 2 * shape[1]):
        pytest.skip("scipy.ndimage's reflect departs from numpy.pad beyond one period")
    x = random_image(rng, shape, dtype)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode=mode, cval=CVAL, method="fft")
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode=NDI_MODE[mode],
                                   cval=CVAL)
    assert_matches(got, expected, fft_tol(dtype, w, x, shape), dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", [
    ("valid", 1, 1), ("full", 2, 1), (3, (2, 3), 2), (((0, 5), (7, 1)), 1, (1, 3)),
    ("same", 3, 2), (12, 1, 1),
])
def test_fft_padding_stride_dilation_match_reference(rng, mode, padding, stride, dilation):
    x = random_image(rng, (45, 38))
    w = random_kernel(rng, (6, 5))
    got = cfilter.correlate(x, w, mode=mode, cval=CVAL, padding=padding,
                            stride=stride, dilation=dilation, method="fft")
    expected = ref_correlate2d(x, w, mode=mode, cval=CVAL, padding=padding,
                               stride=stride, dilation=dilation)
    assert_matches(got, expected, fft_tol(np.float64, w, x, x.shape))


def test_fft_tiled_image_matches_scipy(rng):
    """Large enough that overlap-save uses many tiles, with ragged last ones."""
    x = random_image(rng, (1500, 1100), np.float32)
    w = random_kernel(rng, (41, 33))
    tiles = _plan.plan_filter(x.shape, w, "same", (1, 1), (1, 1), "fft", False,
                              nthreads=2).tiles
    assert tiles[0][1] < x.shape[0] and tiles[1][1] < x.shape[1]
    got = cfilter.correlate(x, w, mode="wrap", method="fft", stride=(1, 2))
    expected = ndi.correlate(x.astype(np.float64), w, mode="grid-wrap")[:, ::2]
    assert_matches(got, expected, fft_tol(np.float32, w, x, (256, 256)),
                   dtype=np.float32)


def test_fft_channels_and_stack_match_per_plane_scipy(rng):
    x = random_image(rng, (40, 30, 3), np.float32)
    w = random_kernel(rng, (7, 9))
    got = cfilter.correlate(x, w, channel_axis=-1, mode="nearest", method="fft")
    for c in range(3):
        expected = ndi.correlate(x[..., c].astype(np.float64), w, mode="nearest")
        assert_matches(got[..., c], expected, fft_tol(np.float32, w, x, x.shape[:2]))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_explicit_fft_refuses_non_finite_image(rng, value):
    x = random_image(rng, (20, 20))
    x[4, 5] = value
    with pytest.raises(ValueError, match=r"method='fft'.*NaN or Inf"):
        cfilter.correlate(x, random_kernel(rng, (5, 5)), method="fft")


def test_auto_never_uses_fft_for_non_finite_image(rng):
    x = random_image(rng, (300, 300), np.float32)
    w = random_kernel(rng, (41, 41))
    assert cfilter.plan(x, w).method == "fft"
    x[150, 150] = np.nan
    p = cfilter.plan(x, w)
    assert p.method == "direct" and "NaN" in p.reason
    got = cfilter.correlate(x, w, mode="constant")
    expected = ref_correlate2d(x, w, mode="constant")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = np.isfinite(expected)
    assert_matches(got[finite], expected[finite],
                   fft_tol(np.float32, w, np.nan_to_num(x), x.shape))


def test_fft_extra_memory_is_bounded():
    """Issue 4: peak extra memory for 2048x2048 float32 with a 63x63 kernel
    stays under 4x the image (the result itself not counted as extra)."""
    x = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    w = np.random.default_rng(1).random((63, 63))
    tracemalloc.start()
    try:
        out = cfilter.correlate(x, w, method="fft", workers=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    extra = peak - out.nbytes
    assert extra < 4 * x.nbytes, f"peak extra {extra / x.nbytes:.2f}x the image"


@pytest.mark.parametrize("k,expected", [(3, "direct"), (63, "fft")])
def test_auto_choice_for_random_kernels_on_a_large_image(k, expected):
    x = np.zeros((2048, 2048), dtype=np.float32)
    w = np.random.default_rng(k).random((k, k))
    assert cfilter.plan(x, w).method == expected


def test_plan_reports_shapes_costs_and_reason(rng):
    x = random_image(rng, (50, 40, 3))
    p = cfilter.plan(x, random_kernel(rng, (5, 4)), channel_axis=-1,
                     padding=((1, 2), (0, 3)), stride=(2, 1), method="direct")
    # output shape from the numpy.pad reference for one channel
    ref = ref_correlate2d(x[..., 0], np.ones((5, 4)), padding=((1, 2), (0, 3)),
                          stride=(2, 1))
    assert p.output_shape == ref.shape + (3,)
    assert p.method == "direct" and "asked for" in p.reason
    assert p.padding == ((1, 2), (0, 3)) and p.stride == (2, 1)
    assert "direct" in p.costs
    assert set(cfilter.plan(x, np.ones((5, 4)), channel_axis=-1).costs) >= \
        {"direct", "separable", "box", "fft"}


def test_plan_rejects_what_correlate_rejects(rng):
    with pytest.raises(ValueError, match="mode"):
        cfilter.plan(random_image(rng, (5, 5)), np.ones((3, 3)), mode="bogus")
    with pytest.raises(ValueError, match="separable"):
        cfilter.plan(random_image(rng, (5, 5)), random_kernel(rng, (3, 3)),
                     method="separable")


def test_next_fast_len_real_equals_scipy():
    # The planner computes FFT lengths itself so that it need not import
    # scipy.fft; the lengths must be scipy's own.
    import scipy.fft

    from cfilter._plan import next_fast_len_real
    rng = np.random.default_rng(7)
    lengths = list(range(1, 3000)) + [int(v) for v in
                                      rng.integers(1, 2**40, 2000)]
    for n in lengths + [2**40 + 1, 3**20 + 1, 5**13 - 1]:
        assert next_fast_len_real(n) == scipy.fft.next_fast_len(n, real=True), n
