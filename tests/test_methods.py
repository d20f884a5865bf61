"""Every engine (``method=``) against independent references (DESIGN.md §2).

"direct", "separable", "box" and "auto" must each give the correlation of
DESIGN.md §2 for every boundary mode, padding form, stride and dilation.  The
references never call cfilter:

* ``conftest.ref_correlate2d`` -- ``numpy.pad`` + sliding windows, from the
  definition (small kernels);
* ``ref_box`` below -- ``numpy.pad`` + float64 sliding-window sums one axis
  at a time, for the large box kernels (a 51x51 2-D einsum is too slow);
* ``scipy.ndimage.correlate`` / ``correlate1d`` for 'same' padding at stride 1,
  where the kernel is at most twice the image (beyond that scipy's 'reflect'
  departs from numpy.pad 'symmetric', which cfilter follows).

Tolerance: ``c * eps(working dtype) * L1(kernel) * max|x|`` (``conftest.tol``,
``cval`` counted in ``max|x|``) with ``c = conftest.TOL_FACTOR`` (8) for
kernels of up to 81 taps, as conftest argues.  Beyond that ``c`` is the
worst-case bound of recursive summation, ``(taps + 2) / 2`` (Higham, *Accuracy and
Stability of Numerical Algorithms*, §4.2: ``gamma_k`` for the k products and sums plus one rounding of the
weights): the direct engine adds the taps one by one in the working dtype,
and with 'nearest'/'full' padding most taps read the same border value, so
the errors are correlated and do not average out like ``sqrt(taps)``.  (For
the 51x51 box this is 1301 eps: about 0.4 times the ``1/2601`` change of one
misplaced tap in float32, far below the change of a misplaced row or column
of taps, which is what an offset or boundary error makes.)  The wide-image box test uses a fixed
``8 * eps32 * max|x|`` that does not grow with the image's width.
"""

import functools

import numpy as np
import pytest
import scipy.ndimage as ndi
from numpy.lib.stride_tricks import sliding_window_view

import cfilter
from cfilter import kernels
from cfilter._plan import plan_filter
from conftest import (MODES, NDI_MODE, NP_PAD_MODE, TOL_FACTOR, assert_matches,
                      out_len, random_image, random_kernel, ref_correlate2d,
                      resolve_padding, tol_with_cval)

CVAL = -0.375
PADDINGS = ("same", "valid", "full", 2, (1, 3), ((0, 2), (3, 1)))
STRIDES = (1, 2, (3, 1))
DILATIONS = (1, 2)


def _seeded(name):
    """A generator fixed by ``name``: the same data for every method."""
    return np.random.default_rng(sum((i + 1) * b for i, b in enumerate(name.encode())))


def _separable(name, kh, kw):
    g = _seeded(name)
    col, row = random_kernel(g, (kh,)), random_kernel(g, (kw,))
    return np.outer(col, row)


def _box(kh, kw=None):
    kw = kh if kw is None else kw
    return np.full((kh, kw), 1.0 / (kh * kw))


#: name -> (kernel, image shape): rank-1 random kernels (odd and even sides)
#: and box kernels from 1x1 to 51x51, on images from tiny to 64x80, several
#: kernels larger than their image.
SEPARABLE_CASES = {
    "sep1x5_on_9x13": (_separable("sep1x5", 1, 5), (9, 13)),
    "sep4x4_on_3x4": (_separable("sep4x4", 4, 4), (3, 4)),
    "sep7x3_on_64x80": (_separable("sep7x3", 7, 3), (64, 80)),
}
BOX_CASES = {
    "box1_on_5x7": (_box(1), (5, 7)),
    "box2_on_6x9": (_box(2), (6, 9)),
    "box3_on_17x23": (_box(3), (17, 23)),
    "box3x15_on_10x12": (_box(3, 15), (10, 12)),
    "box15_on_8x5": (_box(15), (8, 5)),
    "box15_on_64x80": (_box(15), (64, 80)),
    "box51_on_20x30": (_box(51), (20, 30)),
    "box51_on_64x80": (_box(51), (64, 80)),
}
CASES = {**SEPARABLE_CASES, **BOX_CASES}


def _grid():
    """(case, method, dilation): 'box' only for box kernels and dilation 1."""
    for case in CASES:
        methods = ("direct", "separable", "auto")
        if case in BOX_CASES:
            methods += ("box",)
        for method in methods:
            for dilation in DILATIONS:
                if method == "box" and dilation != 1:
                    continue
                yield pytest.param(case, method, dilation,
                                   id=f"{case}-{method}-dil{dilation}")


def ref_box(x, shape, value, *, mode, cval, padding, stride):
    """Box correlation of the np.pad image by sliding-window sums in float64,
    one axis at a time (exact to a few float64 roundings for these sizes)."""
    kh, kw = shape
    (pt, pb), (pl, pr) = resolve_padding(padding, shape)
    pad_kw = {"constant_values": cval} if mode == "constant" else {}
    xp = np.pad(np.asarray(x, dtype=np.float64), ((pt, pb), (pl, pr)),
                mode=NP_PAD_MODE[mode], **pad_kw)
    sy, sx = np.broadcast_to(stride, 2)
    rows = sliding_window_view(xp, kw, axis=1)[:, ::sx].sum(axis=-1)
    sums = sliding_window_view(rows, kh, axis=0)[::sy].sum(axis=-1)
    return value * sums


def atol(dtype, kernel, x):
    """The module's tolerance (see the docstring): conftest's, grown for big kernels."""
    taps = np.size(kernel)
    c = TOL_FACTOR if taps <= 81 else max(TOL_FACTOR, (taps + 2) / 2)
    return tol_with_cval(dtype, kernel, x, CVAL) * (c / TOL_FACTOR)


def _image(case, dtype=np.float64):
    return random_image(_seeded(case), CASES[case][1], dtype)


def _output_is_empty(case, padding, stride, dilation):
    kernel, shape = CASES[case]
    pads = resolve_padding(padding, kernel.shape, dilation)
    return any(out_len(n, k, b, a, s, d) < 1 for n, k, (b, a), s, d in zip(
        shape, kernel.shape, pads, np.broadcast_to(stride, 2),
        np.broadcast_to(dilation, 2)))


@functools.lru_cache(maxsize=None)
def reference(case, mode, padding, stride, dilation, dtype=np.float64):
    """The float64 reference for one case (shared by every method)."""
    kernel, _ = CASES[case]
    x = _image(case, dtype).astype(np.float64)
    if case in BOX_CASES and dilation == 1 and kernel.size > 49:
        return ref_box(x, kernel.shape, kernel[0, 0], mode=mode, cval=CVAL,
                       padding=padding, stride=stride)
    return ref_correlate2d(x, kernel, mode=mode, cval=CVAL, padding=padding,
                           stride=stride, dilation=dilation)


# ---------------------------------------------------------------------------
# the full grid: method x kernel x mode x padding x stride x dilation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("stride", STRIDES, ids=lambda s: f"stride{s}")
@pytest.mark.parametrize("padding", PADDINGS, ids=lambda p: f"pad{p}")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case,method,dilation", list(_grid()))
def test_method_matches_reference(case, method, dilation, mode, padding, stride):
    kernel, _ = CASES[case]
    x = _image(case)
    options = dict(mode=mode, cval=CVAL, padding=padding, stride=stride,
                   dilation=dilation, method=method)
    if _output_is_empty(case, padding, stride, dilation):
        with pytest.raises(ValueError, match="empty"):
            cfilter.correlate(x, kernel, **options)
        return
    got = cfilter.correlate(x, kernel, **options)
    expected = reference(case, mode, padding, stride, dilation)
    assert_matches(got, expected, atol(np.float64, kernel, x),
                   dtype=np.float64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case,method,dilation",
                         [p for p in _grid() if p.values[2] == 1])
def test_method_float32_matches_reference(case, method, dilation, mode):
    kernel, _ = CASES[case]
    x = _image(case, np.float32)
    padding, stride = "full", (2, 3)
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, padding=padding,
                            stride=stride, method=method)
    expected = reference(case, mode, padding, stride, dilation, np.float32)
    assert_matches(got, expected, atol(np.float32, kernel, x),
                   dtype=np.float32)


def _fits_scipy(kernel_shape, image_shape):
    return all(k <= 2 * n for k, n in zip(kernel_shape, image_shape))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case,method,dilation",
                         [p for p in _grid() if p.values[2] == 1
                          and _fits_scipy(CASES[p.values[0]][0].shape,
                                          CASES[p.values[0]][1])])
def test_method_same_padding_matches_ndimage_correlate(case, method, dilation, mode):
    kernel, _ = CASES[case]
    x = _image(case)
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, method=method)
    expected = ndi.correlate(x, kernel, mode=NDI_MODE[mode], cval=CVAL)
    assert_matches(got, expected, atol(np.float64, kernel, x),
                   dtype=np.float64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["direct", "separable", "box", "auto"])
def test_method_with_channel_axis_matches_reference_per_channel(rng, method, mode):
    kernel = _box(4, 3)
    planes = random_image(rng, (3, 11, 14), np.float32)
    got = cfilter.correlate(np.moveaxis(planes, 0, -1), kernel, mode=mode, cval=CVAL,
                            padding="full", stride=2, channel_axis=-1, method=method)
    expected = np.stack([ref_correlate2d(p, kernel, mode=mode, cval=CVAL,
                                         padding="full", stride=2) for p in planes])
    assert_matches(np.moveaxis(got, -1, 0), expected,
                   tol_with_cval(np.float32, kernel, planes, CVAL), dtype=np.float32)


# ---------------------------------------------------------------------------
# sep_filter
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("lengths", [(5, 3), (4, 4), (1, 6), (7, 2), (3, 1)],
                         ids=lambda n: f"row{n[0]}_col{n[1]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("method", ["separable", "direct"])
@pytest.mark.parametrize("mode", MODES)
def test_sep_filter_matches_correlate1d_twice(rng, mode, method, dtype, lengths):
    row, col = random_kernel(rng, (lengths[0],)), random_kernel(rng, (lengths[1],))
    x = random_image(rng, (13, 18), dtype)
    got = cfilter.sep_filter(x, row, col, mode=mode, cval=CVAL, method=method)
    x64 = x.astype(np.float64)
    down = ndi.correlate1d(x64, col, axis=0, mode=NDI_MODE[mode], cval=CVAL)
    if mode == "constant":
        # ndi pads the intermediate with cval; the 2-D definition pads the image,
        # whose column filter outside the image is cval * sum(col).
        down = np.pad(down, ((0, 0), (len(row), len(row))),
                      constant_values=CVAL * col.sum())
        expected = ndi.correlate1d(down, row, axis=1, mode="grid-constant")
        expected = expected[:, len(row):-len(row)]
    else:
        expected = ndi.correlate1d(down, row, axis=1, mode=NDI_MODE[mode])
    assert_matches(got, expected, tol_with_cval(dtype, np.outer(col, row), x, CVAL),
                   dtype=dtype)


@pytest.mark.parametrize("stride,dilation", [(2, 1), ((3, 1), 2), (1, (1, 2))], ids=str)
@pytest.mark.parametrize("padding", ["valid", "full", ((2, 0), (1, 3))], ids=str)
@pytest.mark.parametrize("method", ["separable", "direct"])
@pytest.mark.parametrize("mode", MODES)
def test_sep_filter_padding_stride_dilation_match_reference(rng, mode, method, padding,
                                                            stride, dilation):
    row, col = random_kernel(rng, (4,)), random_kernel(rng, (3,))
    x = random_image(rng, (15, 19), np.float64)
    got = cfilter.sep_filter(x, row, col, mode=mode, cval=CVAL, padding=padding,
                             stride=stride, dilation=dilation, method=method)
    kernel = np.outer(col, row)
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL, padding=padding,
                               stride=stride, dilation=dilation)
    assert_matches(got, expected, atol(np.float64, kernel, x))


def test_sep_filter_rejects_box_method(rng):
    x = random_image(rng, (6, 6))
    with pytest.raises(ValueError, match="method"):
        cfilter.sep_filter(x, np.ones(3), np.ones(3), method="box")


# ---------------------------------------------------------------------------
# accuracy of the box path on a wide image
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [51, (3, 51), (1, 201)], ids=str)
@pytest.mark.parametrize("method", ["box", "auto"])
@pytest.mark.parametrize("mode", MODES)
def test_box_float32_on_wide_image_keeps_accuracy(rng, mode, method, size):
    """Moving sums must not drift along a 50000-pixel row.

    The box engine keeps its sums in float64 and rounds once, so the error
    is a few float32 roundings of the output: ``TOL_FACTOR * eps32 * max|x|``,
    a bound that does not depend on the width.  The data sit on an offset
    (99..101) so that a float32 running sum, whose error grows like
    ``sqrt(width) * eps32 * max|x|``, would exceed it."""
    kh, kw = np.broadcast_to(size, 2)
    x = random_image(rng, (3, 50000), np.float32, low=99.0, high=101.0)
    got = cfilter.box_blur(x, size, mode=mode, cval=100.0, method=method)
    expected = ref_box(x, (kh, kw), 1.0 / (kh * kw), mode=mode, cval=100.0,
                       padding="same", stride=1)
    atol = TOL_FACTOR * np.finfo(np.float32).eps * 101.0
    assert_matches(got, expected, atol, dtype=np.float32)


# ---------------------------------------------------------------------------
# explicit methods that cannot serve the request
# ---------------------------------------------------------------------------

def _non_separable(rng):
    k = random_kernel(rng, (3, 3))
    k[0, 0] = -k[0, 0] * 3  # break any accidental rank-1 structure
    return k


@pytest.mark.parametrize("kernel_kind", ["random3x3", "laplacian", "sharpen"])
def test_separable_method_on_non_separable_kernel_raises(rng, kernel_kind):
    kernel = {"random3x3": lambda: _non_separable(rng),
              "laplacian": lambda: kernels.laplacian().array,
              "sharpen": lambda: kernels.sharpen(1.0)}[kernel_kind]()
    x = random_image(rng, (9, 9))
    with pytest.raises(ValueError, match="method='separable'"):
        cfilter.correlate(x, kernel, method="separable")


@pytest.mark.parametrize("kernel,dilation", [
    (np.array([[1.0, 1.0], [1.0, 2.0]]), 1),
    (kernels.gaussian(1.0).array, 1),
    (np.ones((3, 3)) / 9, 2),
    (np.ones((3, 3)) / 9, (1, 2)),
], ids=["unequal_weights", "gaussian", "box_dilation2", "box_dilation1x2"])
def test_box_method_on_non_box_request_raises(rng, kernel, dilation):
    x = random_image(rng, (12, 12))
    with pytest.raises(ValueError, match="method='box'"):
        cfilter.correlate(x, kernel, method="box", dilation=dilation)


# ---------------------------------------------------------------------------
# 'auto' choice (plan_filter is a pure function)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kernel,factors,expected", [
    (np.ones((15, 15)) / 225, None, "box"),
    (np.ones((51, 51)) / 2601, None, "box"),
    (np.full((9, 21), 0.5), None, "box"),
    (kernels.gaussian(3.0).array, None, "separable"),
    (kernels.gaussian(3.0).array, kernels.gaussian(3.0).factors, "separable"),
    (kernels.gaussian((2.0, 5.0)).array, None, "separable"),
    (kernels.log(2.0).array, None, "lowrank"),
    (np.random.default_rng(0).random((5, 5)), None, "direct"),
], ids=["box15", "box51", "box9x21_unnormalised", "gaussian3_svd",
        "gaussian3_factors", "gaussian_2x5", "log_rank2", "random_5x5"])
def test_auto_method_choice(kernel, factors, expected):
    plan = plan_filter((256, 256), np.asarray(kernel), "same", (1, 1), (1, 1),
                       "auto", convolve=False, factors=factors)
    assert plan.method == expected


def test_auto_does_not_pick_box_with_dilation():
    plan = plan_filter((256, 256), np.ones((15, 15)) / 225, "same", (1, 1), (2, 2),
                       "auto", convolve=False)
    assert plan.method != "box"


# ---------------------------------------------------------------------------
# non-finite values
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["direct", "separable"])
@pytest.mark.parametrize("mode", MODES)
def test_nan_and_inf_propagate_like_direct_arithmetic(rng, mode, method):
    """A NaN poisons exactly the outputs whose window holds it (per the
    reference's own arithmetic); far pixels stay finite."""
    x = random_image(rng, (24, 30), np.float64)
    x[10, 12] = np.nan
    x[0, 3] = np.nan            # on the border: reflected copies count too
    x[17, 22] = np.inf
    kernel = _separable("nan5x3", 5, 3)
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, method=method)
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    assert np.isnan(got[10, 12]) and np.isnan(got[8:13, 11:14]).all()
    assert np.isfinite(got[4:7, 18:28]).all() and np.isfinite(got[20:22, :8]).all()
    finite = np.isfinite(expected)
    assert_matches(got[finite], expected[finite],
                   tol_with_cval(np.float64, kernel, np.nan_to_num(x, posinf=0), CVAL))


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("mode", ["reflect", "constant"])
def test_box_path_non_finite_stays_local(rng, mode, value):
    """DESIGN.md §2: the direct paths propagate NaN/Inf like plain arithmetic.
    'auto' (which picks the moving-sum box path for finite box_blur(x, 5))
    must not spread one NaN/Inf beyond the windows that hold it (adding and
    then subtracting an Inf leaves NaN in a running sum)."""
    x = random_image(rng, (40, 200), np.float64)
    x[20, 100] = value
    got = cfilter.box_blur(x, 5, mode=mode, cval=CVAL, method="auto")
    expected = ref_correlate2d(x, _box(5), mode=mode, cval=CVAL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_explicit_box_method_refuses_non_finite_image(rng, value):
    """An explicit method that cannot serve the request says why (DESIGN §2)."""
    x = random_image(rng, (12, 15), np.float32)
    x[3, 4] = value
    with pytest.raises(ValueError, match=r"method='box'.*NaN or Inf"):
        cfilter.box_blur(x, 5, method="box")


@pytest.mark.parametrize("size,stride", [(15, 1), (4, 1), (51, 2), (3, (1, 3))])
def test_box_result_does_not_depend_on_thread_count(rng, size, stride):
    """Moving sums restart at the same rows and columns however the rows are
    shared among threads, so float64 results agree to the last bit."""
    x = random_image(rng, (300, 200), np.float64)
    kernel = _box(size)
    results = [cfilter.correlate(x, kernel, method="box", stride=stride,
                                 workers=w) for w in (1, 2, 3, 4)]
    expected = ref_correlate2d(x, kernel, stride=stride)
    assert_matches(results[0], expected, tol_with_cval(np.float64, kernel, x, 0.0))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
