"""nan_policy='ignore': normalised convolution (issue 15, DESIGN section 8).

The reference is written here from the definition, on conftest's
numpy.pad + sliding-window correlation (independent of cfilter): the
numerator ``sum_valid(w*x)`` correlates the image with NaN set to 0 (the
mode's outside values, cval included, count as valid), the denominator
``sum_valid(w)`` correlates the validity mask (extended by the same mode,
1 outside unless cval is NaN), and ``sum_valid(|w|)`` decides "no valid
weight".  Every engine is compared with it, and with every other.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import MODES, ref_correlate1d, ref_correlate2d

NAN_WEIGHT_EPS = 64     # DESIGN's "no valid weight", in work-dtype epsilons


def ignore_reference(x, w, dtype=np.float64, *, mode="reflect", cval=0.0,
                     padding="same", stride=1, dilation=1, convolve=False,
                     one_d_axis=None):
    """sum_valid(w*x) * sum(w) / sum_valid(w), NaN where no weight is valid
    (sum_valid(|w|) within the work dtype's rounding of 0); where every
    weight is valid, plain correlation; a zero-sum kernel gives 0 next to a
    NaN; otherwise valid weights that cancel leave the numerator unscaled."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    valid = ~np.isnan(x)
    finite_cval = not np.isnan(cval)    # a NaN cval leaves the outside out
    opts = dict(mode=mode, padding=padding, stride=stride, dilation=dilation,
                convolve=convolve)

    def corr(img, weights, c):
        if one_d_axis is not None:
            return ref_correlate1d(img, weights, one_d_axis, cval=c, **opts)
        return ref_correlate2d(img, weights, cval=c, **opts)

    num = corr(np.where(valid, x, 0.0), w, cval if finite_cval else 0.0)
    den = corr(valid.astype(float), w, 1.0 if finite_cval else 0.0)
    den_abs = corr(valid.astype(float), np.abs(w), 1.0 if finite_cval else 0.0)
    total, total_abs = w.sum(), np.abs(w).sum()
    tiny = NAN_WEIGHT_EPS * np.finfo(dtype).eps * total_abs
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(np.abs(den) > tiny, num * total / den, num)
    if total == 0:
        scaled = np.zeros_like(num)
    rescaled = (np.abs(den) > tiny) & (den_abs < total_abs - tiny) & (total != 0)
    out = np.where(den_abs >= total_abs - tiny, num, scaled)
    # How much the rescaling amplifies rounding errors of num and den.
    with np.errstate(divide="ignore"):
        gain = np.where(rescaled, (total_abs / np.abs(den)) ** 2, 1.0)
    return np.where(den_abs <= tiny, np.nan, out), gain


def assert_ignore_equal(got, expected, gain, w, x, dtype):
    """NaN exactly where expected; elsewhere within the rounding of a
    correlation, amplified by the rescaling (``gain``)."""
    got = np.asarray(got, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    w = np.abs(np.asarray(w, dtype=np.float64))
    scale = np.nanmax(np.abs(x)) * w.sum()
    atol = 64 * np.finfo(dtype).eps * scale * gain * np.sqrt(w.size)
    ok = ~np.isnan(expected)
    assert np.all(np.abs(got[ok] - expected[ok]) <= atol[ok]), \
        np.max(np.abs(got[ok] - expected[ok]) - atol[ok])


def holed(rng, shape, dtype=np.float64, fraction=0.2):
    x = rng.uniform(-1, 1, shape).astype(dtype)
    x[rng.random(shape) < fraction] = np.nan
    x[1:4, 2:6] = np.nan                        # a hole wider than one tap
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method,kernel_kind", [
    ("direct", "random"), ("fft", "random"), ("separable", "outer"),
    ("box", "box"), ("auto", "outer"), ("auto", "box")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_engine_equals_the_reference(rng, mode, method, kernel_kind,
                                           dtype):
    x = holed(rng, (23, 31), dtype)
    if kernel_kind == "random":
        w = rng.uniform(0.1, 1, (5, 4))
    elif kernel_kind == "outer":
        w = np.outer(rng.uniform(0.1, 1, 5), rng.uniform(0.1, 1, 6))
    else:
        w = np.full((4, 5), 0.05)
    cval = 0.6
    got = cfilter.correlate(x, w, mode=mode, cval=cval, method=method,
                            nan_policy="ignore")
    assert got.dtype == dtype
    expected, gain = ignore_reference(x, w, dtype, mode=mode, cval=cval)
    assert_ignore_equal(got, expected, gain, w, x, dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["direct", "fft", "separable"])
@pytest.mark.parametrize("padding,stride,dilation", [
    ("valid", 2, 1), ("full", (1, 3), (2, 1)), (((2, 0), (1, 3)), 2, 2),
    ("same", 3, (1, 2))])
def test_padding_stride_dilation(rng, mode, method, padding, stride, dilation):
    x = holed(rng, (26, 21))
    w = np.outer(rng.uniform(0.1, 1, 3), rng.uniform(0.1, 1, 4))
    got = cfilter.correlate(x, w, mode=mode, cval=-0.3, padding=padding,
                            stride=stride, dilation=dilation, method=method,
                            nan_policy="ignore")
    expected, gain = ignore_reference(x, w, mode=mode, cval=-0.3,
                                     padding=padding, stride=stride,
                                     dilation=dilation)
    assert_ignore_equal(got, expected, gain, w, x, np.float64)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_convolve_flips_as_ever(rng, method):
    x = holed(rng, (18, 19))
    w = rng.uniform(0.1, 1, (4, 3))
    got = cfilter.convolve(x, w, mode="mirror", method=method,
                           nan_policy="ignore")
    expected, gain = ignore_reference(x, w, mode="mirror", convolve=True)
    assert_ignore_equal(got, expected, gain, w, x, np.float64)


def test_nan_cval_makes_the_outside_invalid(rng):
    x = holed(rng, (12, 14))
    w = rng.uniform(0.1, 1, (5, 5))
    for method in ("direct", "fft"):
        got = cfilter.correlate(x, w, mode="constant", cval=np.nan,
                                method=method, nan_policy="ignore")
        expected, gain = ignore_reference(x, w, mode="constant", cval=np.nan)
        assert_ignore_equal(got, expected, gain, w, x, np.float64)
    # cval=0 counts as valid data: the border is pulled towards 0 instead.
    zero = cfilter.correlate(x, w, mode="constant", nan_policy="ignore")
    assert not np.allclose(zero[0], got[0], equal_nan=True)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("mode", MODES)
def test_one_dimensional_functions(rng, axis, mode):
    x = holed(rng, (9, 13, 4) if axis != 1 else (9, 13))
    w = rng.uniform(0.1, 1, 4)
    for fname, convolve in (("correlate1d", False), ("convolve1d", True)):
        got = getattr(cfilter, fname)(x, w, axis, mode=mode, cval=0.2,
                                      stride=2, nan_policy="ignore")
        expected, gain = ignore_reference(x, w, mode=mode, cval=0.2, stride=2,
                                         convolve=convolve, one_d_axis=axis)
        assert_ignore_equal(got, expected, gain, w[None], x, np.float64)


def test_sep_filter(rng):
    x = holed(rng, (20, 25))
    row, col = rng.uniform(0.1, 1, 5), rng.uniform(0.1, 1, 3)
    for method in ("separable", "direct"):
        got = cfilter.sep_filter(x, row, col, mode="wrap", method=method,
                                 nan_policy="ignore")
        expected, gain = ignore_reference(x, np.outer(col, row), mode="wrap")
        assert_ignore_equal(got, expected, gain, np.outer(col, row), x,
                            np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_smoothing_filters(rng, dtype):
    x = holed(rng, (40, 44), dtype, fraction=0.1)
    kernel = cfilter.kernels.gaussian(1.5)
    got = cfilter.gaussian_blur(x, 1.5, nan_policy="ignore")
    expected, gain = ignore_reference(x, kernel.array, dtype)
    assert_ignore_equal(got, expected, gain, kernel.array, x, dtype)
    got = cfilter.box_blur(x, 5, mode="nearest", nan_policy="ignore")
    expected, gain = ignore_reference(x, np.full((5, 5), 1 / 25), dtype,
                                     mode="nearest")
    assert_ignore_equal(got, expected, gain, np.full((5, 5), 1 / 25), x, dtype)
    sharp = cfilter.unsharp_mask(x, 1.5, amount=2.0, nan_policy="ignore")
    blur = cfilter.gaussian_blur(x, 1.5, nan_policy="ignore")
    np.testing.assert_allclose(sharp, x + 2.0 * (x - blur), equal_nan=True,
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_box_blur_of_a_holed_constant_is_the_constant(rng):
    x = np.full((30, 30), 3.25)
    x[rng.random(x.shape) < 0.5] = np.nan
    for method in ("box", "direct", "fft", "separable"):
        got = cfilter.box_blur(x, 3, method=method, nan_policy="ignore")
        finite = ~np.isnan(got)
        np.testing.assert_allclose(got[finite], 3.25, rtol=1e-12)
        # NaN only where the whole 3x3 window (reflected) is NaN.
        window_nan = ndi.uniform_filter(np.isnan(x).astype(float), 3,
                                        mode="reflect") > 1 - 1e-9
        np.testing.assert_array_equal(~finite, window_nan)


def test_every_method_equals_every_other(rng):
    x = holed(rng, (64, 70), np.float64, fraction=0.3)
    w = np.full((7, 7), 1 / 49)
    results = {m: cfilter.correlate(x, w, mode="reflect", method=m,
                                    nan_policy="ignore")
               for m in ("direct", "separable", "box", "fft")}
    for m, r in results.items():
        np.testing.assert_array_equal(np.isnan(r), np.isnan(results["direct"]))
        np.testing.assert_allclose(r, results["direct"], atol=1e-12,
                                   equal_nan=True, err_msg=m)


def test_without_nan_ignore_is_propagate(rng):
    x = rng.random((30, 40)).astype(np.float32)
    w = rng.random((5, 5))
    for method in ("direct", "fft"):
        np.testing.assert_array_equal(
            cfilter.correlate(x, w, method=method, nan_policy="ignore"),
            cfilter.correlate(x, w, method=method))


def test_propagate_is_the_default_and_spreads_nan(rng):
    x = rng.random((20, 20))
    x[10, 10] = np.nan
    out = cfilter.gaussian_blur(x, 1)
    assert np.isnan(out[8:13, 8:13]).all()
    ignored = cfilter.gaussian_blur(x, 1, nan_policy="ignore")
    assert not np.isnan(ignored).any()


def test_signed_kernel_nan_only_where_no_weight_is_valid(rng):
    x = rng.random((20, 20))
    x[5:12, 5:12] = np.nan
    sobel = cfilter.kernels.sobel(0)
    got = cfilter.correlate(x, sobel, nan_policy="ignore")
    expected, gain = ignore_reference(x, sobel.array)
    assert_ignore_equal(got, expected, gain, sobel.array, x, np.float64)
    # NaN exactly where every nonzero-weight tap is NaN (the centre row of a
    # Sobel kernel is 0); next to the hole a zero-sum kernel gives 0.
    taps = np.abs(sobel.array) > 0
    all_nan = ndi.correlate(np.isnan(x).astype(int), taps.astype(int),
                            mode="reflect") == taps.sum()
    np.testing.assert_array_equal(np.isnan(got), all_nan)
    assert got[4, 8] == 0 and got[12, 8] == 0
    # A signed kernel whose sum is not 0, with cancelling valid weights.
    w = np.array([[1.0, -1.0, 1.0]])
    y = np.array([[1.0, 2.0, np.nan, 4.0, 5.0]])
    got = cfilter.correlate(y, w, mode="nearest", nan_policy="ignore")
    expected, gain = ignore_reference(y, w, mode="nearest")
    assert_ignore_equal(got, expected, gain, w, y, np.float64)


def test_inf_still_spreads_and_auto_avoids_fft_and_box(rng):
    x = rng.random((30, 30))
    x[3, 3] = np.nan
    x[20, 20] = np.inf
    p = cfilter.plan(x, np.ones((15, 15)), nan_policy="ignore")
    assert p.method not in ("box", "fft")
    out = cfilter.box_blur(x, 3, nan_policy="ignore")
    assert np.isinf(out[20, 20]) and np.isfinite(out[3, 3])
    with pytest.raises(ValueError, match="NaN or Inf"):
        cfilter.correlate(x, np.ones((3, 3)), method="box", nan_policy="ignore")


def test_nan_images_may_use_box_and_fft_under_ignore(rng):
    x = holed(rng, (512, 512), np.float32, fraction=0.01)
    assert cfilter.plan(x, np.ones((31, 31)), nan_policy="ignore").method == "box"
    big = rng.random((63, 63))
    assert cfilter.plan(x, big, nan_policy="ignore").method == "fft"
    assert cfilter.plan(x, big).method != "fft"


def test_integer_output_and_input_untouched(rng):
    x = holed(rng, (16, 16)) * 100 + 100
    keep = x.copy()
    out = cfilter.gaussian_blur(x, 1, nan_policy="ignore", output=np.int16)
    expected = cfilter.gaussian_blur(x, 1, nan_policy="ignore")
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, np.rint(expected))
    np.testing.assert_array_equal(np.isnan(x), np.isnan(keep))
    np.testing.assert_array_equal(x[~np.isnan(x)], keep[~np.isnan(keep)])


def test_threads_do_not_change_the_result(rng):
    x = holed(rng, (300, 200), np.float32, fraction=0.05)
    one = cfilter.gaussian_blur(x, 2, nan_policy="ignore", workers=1)
    two = cfilter.gaussian_blur(x, 2, nan_policy="ignore", workers=2)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("kernel_kind,cval", [
    ("positive", 0.7), ("positive", np.nan), ("signed", -0.4),
    ("signed", np.nan)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_images_on_threads_equal_the_reference(rng, kernel_kind, cval,
                                                     dtype):
    # Large enough (about 5 x 2**16 samples, not a multiple of it) for the
    # compiled NaN steps to run in several chunks on two threads; NaN holes
    # and an Inf, which still spreads.
    x = holed(rng, (613, 541), dtype, fraction=0.1)
    x[300, 200] = np.inf
    w = rng.uniform(0.1, 1, (3, 4))
    if kernel_kind == "signed":
        w[1, 2] = -0.6
    runs = [cfilter.correlate(x, w, mode="constant", cval=cval,
                              method="direct", nan_policy="ignore",
                              workers=workers) for workers in (1, 2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    finite = np.isfinite(x) | np.isnan(x)
    expected, gain = ignore_reference(np.where(finite, x, np.nan), w, dtype,
                                      mode="constant", cval=cval)
    reached = ref_correlate2d(np.isinf(x).astype(float), np.abs(w),
                              mode="constant") > 0
    assert not np.isfinite(runs[0][reached & ~np.isnan(expected)]).any()
    keep = ~reached
    assert_ignore_equal(runs[0][keep], expected[keep], gain[keep], w,
                        np.where(finite, x, np.nan), dtype)


def sparse_holes(rng, shape, dtype=np.float64):
    """A few NaNs, in the corners, on every edge and inside: few enough
    that only the outputs near them need the weights' correction."""
    x = rng.uniform(-1, 1, shape).astype(dtype)
    h, w = shape[-2:]
    for r, c in ((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (0, w // 2),
                 (h // 2, 0), (h - 2, w // 3), (h // 3, w - 2),
                 (h // 2, w // 2)):
        x[..., r, c] = np.nan
    return x


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["direct", "separable", "box", "fft"])
@pytest.mark.parametrize("padding,stride,dilation", [
    ("same", 1, 1), ("valid", 2, 1), ("full", (1, 3), (2, 1)),
    (((2, 0), (1, 3)), 2, 2), ("same", 3, (1, 2))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_few_nans_on_the_border_every_geometry(rng, mode, method, padding,
                                               stride, dilation, dtype):
    # A few NaNs on a larger image: the path for sparse NaNs (their weights
    # added where they are read, under each mode's copies of the border).
    if method == "box" and dilation != 1:
        pytest.skip("the box engine takes no dilation")
    x = sparse_holes(rng, (57, 83), dtype)
    w = (np.full((3, 4), 1 / 12) if method == "box"
         else np.outer(rng.uniform(0.1, 1, 3), rng.uniform(0.1, 1, 4)))
    got = cfilter.correlate(x, w, mode=mode, cval=0.4, padding=padding,
                            stride=stride, dilation=dilation, method=method,
                            nan_policy="ignore")
    expected, gain = ignore_reference(x, w, dtype, mode=mode, cval=0.4,
                                      padding=padding, stride=stride,
                                      dilation=dilation)
    assert_ignore_equal(got, expected, gain, w, x, dtype)


@pytest.mark.parametrize("mode", MODES)
def test_few_nans_signed_kernel_and_channels(rng, mode):
    # |w| gets its own correction; channels are planes of their own.
    x = sparse_holes(rng, (3, 41, 45)).transpose(1, 2, 0).copy()
    x[20, 7, 1] = np.nan
    w = rng.uniform(0.1, 1, (4, 5))
    w[1, 2] = -0.9
    got = cfilter.correlate(x, w, mode=mode, cval=-0.2, channel_axis=-1,
                            nan_policy="ignore")
    for ch in range(3):
        expected, gain = ignore_reference(x[..., ch], w, mode=mode, cval=-0.2)
        assert_ignore_equal(got[..., ch], expected, gain, w, x[..., ch],
                            np.float64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
def test_all_nan(mode, method):
    x = np.full((9, 11), np.nan, dtype=np.float32)
    w = np.outer([1.0, 2.0, 1.0], [1.0, 1.0])
    got = cfilter.correlate(x, w, mode=mode, cval=0.5, method=method,
                            nan_policy="ignore")
    expected, gain = ignore_reference(x, w, np.float32, mode=mode, cval=0.5)
    assert_ignore_equal(got, expected, gain, w, np.full(x.shape, 0.5),
                        np.float32)
    if mode != "constant":
        assert np.isnan(got).all()


@pytest.mark.parametrize("mode", MODES)
def test_no_nan_is_propagate_on_every_engine(rng, mode):
    x = rng.random((33, 40)).astype(np.float32)
    w = np.full((3, 3), 1 / 9)
    for method in ("direct", "separable", "box", "fft"):
        np.testing.assert_array_equal(
            cfilter.correlate(x, w, mode=mode, cval=0.3, method=method,
                              nan_policy="ignore"),
            cfilter.correlate(x, w, mode=mode, cval=0.3, method=method))


@pytest.mark.parametrize("fraction", [0.004, 0.05])
@pytest.mark.parametrize("mode", ["reflect", "constant"])
def test_large_images_on_one_two_three_threads(rng, fraction, mode):
    # Across the NaN steps' chunks and the threads' bands of rows, with
    # few NaNs (their weights scattered) and many (the flags filtered).
    x = holed(rng, (701, 389), np.float32, fraction=fraction)
    x[0, :5] = np.nan
    x[-1, -3:] = np.nan
    sigma = 1.5
    runs = [cfilter.gaussian_blur(x, sigma, mode=mode, cval=0.25,
                                  nan_policy="ignore", workers=workers)
            for workers in (1, 2, 3)]
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    w = cfilter.kernels.gaussian(sigma).array
    expected, gain = ignore_reference(x, w, np.float32, mode=mode, cval=0.25)
    assert_ignore_equal(runs[0], expected, gain, w, x, np.float32)


@pytest.mark.parametrize("value", ["omit", "raise", None, 1])
def test_bad_nan_policy_is_a_clear_error(value):
    with pytest.raises(ValueError, match="propagate, ignore"):
        cfilter.correlate(np.ones((5, 5)), np.ones((3, 3)), nan_policy=value)


def _force_route(monkeypatch, route):
    """Make run_ignoring_nan take ``route`` for the flags' sums (where the
    plan allows it: 'columns' needs a separable plan)."""
    from cfilter import _engine
    chosen = []
    real = _engine._flag_route

    def forced(nnan, kernel_shape, plan, nplanes):
        pick = route
        if route == "columns" and plan.method != "separable":
            pick = real(nnan, kernel_shape, plan, nplanes)
        if plan.engine_geometry is not None:
            pick = "engine"
        chosen.append(pick)
        return pick

    monkeypatch.setattr(_engine, "_flag_route", forced)
    return chosen


@pytest.mark.parametrize("route", ["engine", "scatter", "columns"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", [
    ("same", 1, 1), ("valid", 2, 1), ("full", (1, 3), (2, 1)),
    (((2, 0), (1, 3)), 2, 2), ("same", 3, (1, 2))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_route_for_the_flags_equals_the_reference(
        rng, monkeypatch, route, mode, padding, stride, dilation, dtype):
    """The flags' correlation by the engine, by each NaN's weights
    scattered, and by each NaN's column weights scattered before the row
    pass: all equal the reference, signed separable kernel included."""
    chosen = _force_route(monkeypatch, route)
    x = holed(rng, (29, 22), dtype, fraction=0.08)
    w = np.outer(rng.uniform(-0.4, 1, 3), rng.uniform(0.1, 1, 4))
    got = cfilter.correlate(x, w, mode=mode, cval=-0.3, padding=padding,
                            stride=stride, dilation=dilation,
                            method="separable", nan_policy="ignore")
    assert chosen == [route]
    expected, gain = ignore_reference(x, w, dtype, mode=mode, cval=-0.3,
                                     padding=padding, stride=stride,
                                     dilation=dilation)
    assert_ignore_equal(got, expected, gain, w, x, dtype)


@pytest.mark.parametrize("route", ["scatter", "columns"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_scattered_routes_on_colour_planes_and_threads(rng, monkeypatch,
                                                       route, workers):
    """Several planes (each plane's NaNs to its own sums), and rows shared
    out among threads, bit for bit the same on every thread count."""
    _force_route(monkeypatch, route)
    x = holed(rng, (67, 45, 3), np.float32, fraction=0.03)
    x[0, 0, 2] = x[-1, -1, 0] = np.nan
    got = cfilter.gaussian_blur(x, 1.5, mode="mirror", channel_axis=-1,
                                nan_policy="ignore", workers=workers)
    one = cfilter.gaussian_blur(x, 1.5, mode="mirror", channel_axis=-1,
                                nan_policy="ignore", workers=1)
    np.testing.assert_array_equal(got, one)
    w = cfilter.kernels.gaussian(1.5).array
    for c in range(3):
        expected, gain = ignore_reference(x[..., c], w, np.float32,
                                          mode="mirror")
        assert_ignore_equal(got[..., c], expected, gain, w, x[..., c],
                            np.float32)


@pytest.mark.parametrize("n", [0, 7, 8, 65535, 65536, 65537, 200003])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.4, 1.0])
@pytest.mark.parametrize("nthreads", [1, 2, 3])
def test_flag_positions_equal_numpy_flatnonzero(rng, n, density, nthreads):
    """The NaN positions the scatters start from: every nonzero byte (any
    value), ascending, across words, chunks and threads; and the zeros of
    a validity mask of 0 and 1."""
    from cfilter._core import _nan
    flags = np.where(rng.random(n) < density,
                     rng.integers(1, 256, n), 0).astype(np.uint8)
    expected = np.flatnonzero(flags)
    got = _nan.flag_positions(flags, len(expected), nthreads)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="count differs"):
        _nan.flag_positions(flags, len(expected) + 1, nthreads)
    valid = (flags == 0).astype(np.uint8)
    got = _nan.flag_positions(valid, len(expected), nthreads, zeros=True)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="count differs"):
        _nan.flag_positions(valid, len(expected) + 1, nthreads, zeros=True)
