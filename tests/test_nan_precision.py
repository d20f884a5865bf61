"""nan_policy='ignore' keeps the work dtype's digits where few weights are
valid, and reads an infinite ``cval`` as plain arithmetic does.

The normalised convolution ``sum_valid(w*x) * sum(w) / sum_valid(w)`` is
computed here in float64, independently of cfilter: with
``scipy.ndimage.correlate`` for the "same" padding (a stride taken as the
stride-1 result's ``[::s, ::s]``), and with conftest's numpy.pad + sliding
window correlation for the other paddings and dilations.  The numerator
correlates the image with NaN set to 0 (the mode's values outside the
image, ``cval`` included, are data), the denominator the validity mask (1
outside in constant mode).

The tolerance is the rounding of the two sums in the work dtype, per
pixel: ``c * eps * (sum_valid |w x| + |out| * sum_valid |w|) * |sum w| /
sum_valid w`` with ``c`` growing like the square root of the taps (see
conftest's TOL_FACTOR).  Summing the valid weights as ``sum(w) -
sum_nan(w)`` in float32 misses it by the total's rounding divided by the
valid sum: up to 0.7 grey levels at a hole's edge on the camera image.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import MODES, NDI_MODE, ref_correlate2d

NAN_WEIGHT_EPS = 64     # "no valid weight": work-dtype epsilons of sum|w|


def normalised(x, w, *, mode="reflect", cval=0.0, padding="same", stride=1,
               dilation=1):
    """``(out, num_abs, den, den_abs)`` in float64: the normalised
    convolution and the magnitudes its sums add up (for the tolerance).
    ``out`` is NaN where no weight is valid (``sum_valid |w|`` within
    NAN_WEIGHT_EPS float32 epsilons of 0 is left out by the caller)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    valid = ~np.isnan(x)
    y = np.where(valid, x, 0.0)
    m = valid.astype(np.float64)
    m_cval = 0.0 if np.isnan(cval) else 1.0
    y_cval = 0.0 if np.isnan(cval) else cval
    sy, sx = (stride, stride) if np.ndim(stride) == 0 else stride
    if padding == "same" and dilation == 1:
        def corr(image, weights, c):
            return ndi.correlate(image, weights, mode=NDI_MODE[mode],
                                 cval=c)[::sy, ::sx]
    else:
        def corr(image, weights, c):
            return ref_correlate2d(image, weights, mode=mode, cval=c,
                                   padding=padding, stride=stride,
                                   dilation=dilation)
    with np.errstate(invalid="ignore"):
        num = corr(y, w, y_cval)
    num_abs = corr(np.abs(y), np.abs(w), abs(y_cval))
    den = corr(m, w, m_cval)
    den_abs = corr(m, np.abs(w), m_cval)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num * w.sum() / den
    return np.where(den_abs > 0, out, np.nan), num_abs, den, den_abs


def assert_precise(got, x, w, dtype, **geometry):
    """``got`` equals the normalised convolution to the rounding of its
    two sums in ``dtype`` (not amplified by ``sum(w) / sum_valid(w)``),
    NaN where no weight is valid; pixels whose valid weights are within
    a factor 4 of the no-valid-weight threshold are not judged."""
    out, num_abs, den, den_abs = normalised(x, w, **geometry)
    w = np.asarray(w, dtype=np.float64)
    eps = np.finfo(dtype).eps
    tiny = NAN_WEIGHT_EPS * eps * np.abs(w).sum()
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == out.shape
    clear = (den_abs <= tiny / 4) | (den_abs >= 4 * tiny)
    none = den_abs <= tiny / 4
    np.testing.assert_array_equal(np.isnan(got[clear]), none[clear])
    judged = clear & ~none
    c = 4 * np.sqrt(w.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        atol = c * eps * (num_abs + np.abs(out) * den_abs) * abs(w.sum()) \
            / np.abs(den)
    err = np.abs(got - out)
    bad = judged & ~(err <= atol)
    assert not bad.any(), (
        f"{bad.sum()} pixels off; worst error {err[judged].max():.3g}, "
        f"its tolerance {atol[judged][np.argmax(err[judged])]:.3g}")


def _force_route(monkeypatch, route):
    """Make the NaN weights' sums take ``route`` (``"columns"`` only where
    the plan is separable)."""
    from cfilter import _engine
    real = _engine._flag_route
    chosen = []

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


def test_camera_hole_edges_within_float32_rounding():
    # The report: camera() in float32 with a 60 x 100 hole and 5% of its
    # pixels NaN, Gaussian sigma 2; the float64 normalised convolution.
    skdata = pytest.importorskip("skimage.data")
    image = skdata.camera().astype(np.float32)
    rng = np.random.default_rng(0)
    image[200:260, 150:250] = np.nan
    image[rng.random(image.shape) < 0.05] = np.nan
    got = cfilter.gaussian_blur(image, 2, nan_policy="ignore")
    w = cfilter.kernels.gaussian(2).array
    out, _, _, den_abs = normalised(image, w)
    judged = den_abs > 4 * NAN_WEIGHT_EPS * np.finfo(np.float32).eps
    assert np.isfinite(got[judged]).all()
    # Grey levels of 0..255: within float32's rounding of the values.
    assert np.max(np.abs(got[judged] - out[judged])) < 1e-3
    assert_precise(got, image, w, np.float32)


@pytest.mark.parametrize("method", ["fft", "lowrank", "auto"])
@pytest.mark.parametrize("kernel_name", ["dog", "big_gaussian"])
def test_camera_with_large_kernels_on_every_method(method, kernel_name):
    # The transform's float32 rounding is relative to a whole tile and
    # lowrank's to terms of both signs: at a hole's edge the division by a
    # small valid sum would magnify it, so they run in float64 there
    # (whether asked for or chosen by 'auto').
    skdata = pytest.importorskip("skimage.data")
    image = skdata.camera().astype(np.float32)
    rng = np.random.default_rng(1)
    image[200:260, 150:250] = np.nan
    image[rng.random(image.shape) < 0.05] = np.nan
    if kernel_name == "dog":
        # signed, of rank 2, summing to 1/2 (a zero-sum kernel makes the
        # normalised value ill-posed wherever a NaN is near)
        g = cfilter.kernels.gaussian(2.0, radius=12).array
        w = g - 0.5 * cfilter.kernels.gaussian(4.0, radius=12).array
    else:
        w = cfilter.kernels.gaussian(6.0).array
    got = cfilter.correlate(image, w, nan_policy="ignore", method=method)
    out, _, den, den_abs = normalised(image, w)
    # Where a signed kernel's valid weights nearly cancel, the division
    # magnifies any rounding (the direct sums' too): judged are the outputs
    # whose valid sum keeps a thousandth of its magnitude.
    judged = ((den_abs > 64 * NAN_WEIGHT_EPS * np.finfo(np.float32).eps)
              & (np.abs(den) > 1e-3 * den_abs))
    assert np.isfinite(got[judged]).all()
    # within the per-pixel rounding bound of the float32 sums
    assert_precise(got, image, w, np.float32)


def holes(rng, shape, dtype, fraction):
    """Values in [1, 2) (no cancellation in the numerator) with NaN
    blocks wider than the kernels, NaNs on the border and scattered."""
    x = rng.uniform(1, 2, shape).astype(dtype)
    x[rng.random(shape) < fraction] = np.nan
    h, w = shape
    x[h // 3:h // 3 + 9, w // 4:w // 4 + 11] = np.nan
    x[:5, -6:] = np.nan                   # a corner block, on two edges
    x[-1, :] = np.nan                     # a whole edge row
    return x


GEOMETRIES = [("same", 1, 1), ("same", 2, 1), ("same", 1, 2),
              ("valid", (2, 3), 1), ("full", 1, (2, 1)),
              (((3, 0), (1, 4)), 2, (1, 2))]


@pytest.mark.parametrize("route", ["engine", "scatter", "columns"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", GEOMETRIES)
@pytest.mark.parametrize("method,kernel_kind", [
    ("separable", "outer"), ("direct", "outer"), ("direct", "random"),
    ("box", "box")])
def test_every_route_keeps_float32_digits(rng, monkeypatch, route, mode,
                                          padding, stride, dilation, method,
                                          kernel_kind):
    if method == "box" and dilation != 1:
        pytest.skip("the box engine takes no dilation")
    chosen = _force_route(monkeypatch, route)
    x = holes(rng, (61, 57), np.float32,
              0.02 if route != "engine" else 0.2)
    if kernel_kind == "outer":
        w = np.outer(rng.uniform(0.05, 1, 5), rng.uniform(0.05, 1, 7))
        w[0] *= 1e-3                       # rows of small weights
    elif kernel_kind == "random":
        w = rng.uniform(0.05, 1, (5, 6)) ** 4
    else:
        w = np.full((4, 5), 1 / 20)
    geometry = dict(mode=mode, cval=1.5, padding=padding, stride=stride,
                    dilation=dilation)
    got = cfilter.correlate(x, w, method=method, nan_policy="ignore",
                            **geometry)
    assert got.dtype == np.float32
    assert len(chosen) == 1
    assert_precise(got, x, w, np.float32, **geometry)


@pytest.mark.parametrize("route", ["engine", "scatter", "columns"])
@pytest.mark.parametrize("mode", MODES)
def test_float64_and_nan_cval(rng, monkeypatch, route, mode):
    _force_route(monkeypatch, route)
    x = holes(rng, (40, 45), np.float64, 0.05)
    w = np.outer(rng.uniform(0.05, 1, 5), rng.uniform(0.05, 1, 3))
    for dtype in (np.float64, np.float32):
        for cval in (0.25, np.nan):
            if np.isnan(cval) and mode != "constant":
                continue
            got = cfilter.correlate(x.astype(dtype), w, mode=mode, cval=cval,
                                    nan_policy="ignore")
            assert_precise(got, x.astype(dtype), w, dtype, mode=mode,
                           cval=cval)


@pytest.mark.parametrize("route", ["engine", "scatter", "columns"])
def test_signed_image_and_planes(rng, monkeypatch, route):
    # Values of both signs (the numerator cancels; the tolerance follows
    # its magnitudes), several planes and colour channels.
    _force_route(monkeypatch, route)
    x = rng.uniform(-1, 1, (3, 50, 41)).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[:, 10:20, 5:15] = np.nan
    w = cfilter.kernels.gaussian(1.5)
    got = cfilter.correlate(x, w, axes=(1, 2), mode="mirror",
                            nan_policy="ignore")
    for p in range(3):
        assert_precise(got[p], x[p], w.array, np.float32, mode="mirror")
    colour = np.ascontiguousarray(x.transpose(1, 2, 0))
    got = cfilter.gaussian_blur(colour, 1.5, channel_axis=-1,
                                nan_policy="ignore")
    for p in range(3):
        assert_precise(got[..., p], x[p], w.array, np.float32)


def test_threads_and_routes_agree_bit_for_bit_per_route(rng, monkeypatch):
    x = holes(rng, (300, 280), np.float32, 0.01)
    for route in ("engine", "scatter", "columns"):
        _force_route(monkeypatch, route)
        runs = [cfilter.gaussian_blur(x, 2, nan_policy="ignore",
                                      workers=n) for n in (1, 2, 3)]
        np.testing.assert_array_equal(runs[0], runs[1])
        np.testing.assert_array_equal(runs[0], runs[2])


# ------------------------------------------------------------ infinite cval

def infinite_reference(x, w, cval, **geometry):
    """Plain arithmetic on the definition: the numerator correlates the
    image with NaN set to 0, padded with ``cval`` (``inf * w`` for the
    taps outside, ``0 * inf`` is NaN), the denominator the validity (1
    outside); NaN where no weight is valid; where valid weights of both
    signs cancel (a kernel whose sum is not 0) the numerator unscaled,
    as the documented rule for signed kernels says."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    valid = ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        num = ref_correlate2d(np.where(valid, x, 0.0), w, mode="constant",
                              cval=cval, **geometry)
    den = ref_correlate2d(valid.astype(float), w, mode="constant", cval=1.0,
                          **geometry)
    den_abs = ref_correlate2d(valid.astype(float), np.abs(w),
                              mode="constant", cval=1.0, **geometry)
    assert w.sum() != 0
    tiny = NAN_WEIGHT_EPS * np.finfo(np.float64).eps * np.abs(w).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.abs(den) > tiny, num * w.sum() / den, num)
    return np.where(den_abs > tiny, out, np.nan), den


def assert_same_non_finite(got, expected):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))


@pytest.mark.parametrize("cval", [np.inf, -np.inf])
@pytest.mark.parametrize("method", ["direct", "separable", "box", "fft",
                                    "lowrank", "auto"])
@pytest.mark.parametrize("padding,stride,dilation", GEOMETRIES)
def test_infinite_cval_is_a_valid_value(rng, cval, method, padding, stride,
                                        dilation):
    if method == "box" and dilation != 1:
        pytest.skip("the box engine takes no dilation")
    x = holes(rng, (23, 26), np.float64, 0.1)
    if method == "box":
        w = np.full((3, 4), 0.5)
    elif method == "lowrank":
        w = (np.outer(rng.uniform(0.1, 1, 3), rng.uniform(0.1, 1, 4))
             + np.outer(rng.uniform(0.1, 1, 3), rng.uniform(0.1, 1, 4)))
    else:
        w = np.outer(rng.uniform(0.1, 1, 3), rng.uniform(0.1, 1, 4))
    geometry = dict(padding=padding, stride=stride, dilation=dilation)
    got = cfilter.correlate(x, w, mode="constant", cval=cval, method=method,
                            nan_policy="ignore", **geometry)
    expected, den = infinite_reference(x, w, cval, **geometry)
    assert_same_non_finite(got, expected)
    if padding != "valid":
        # the outputs that read the cval are infinite
        assert np.isinf(got).any()
    finite = np.isfinite(expected)
    gain = (np.abs(w).sum() / np.abs(den[finite])) ** 2
    np.testing.assert_array_less(
        np.abs(got[finite] - expected[finite]),
        64 * np.finfo(np.float64).eps * np.abs(w).sum() * 2 * gain)


def test_infinite_cval_with_scipy_and_signed_or_zero_weights(rng):
    x = holes(rng, (20, 24), np.float64, 0.1)
    valid = ~np.isnan(x)
    kernels = {"direct": rng.uniform(0.2, 1, (3, 3)),
               "fft": rng.uniform(0.2, 1, (3, 3)),
               "separable": np.outer(rng.uniform(0.2, 1, 3),
                                     rng.uniform(0.2, 1, 3)),
               "box": np.full((3, 3), 0.25)}
    for method, w in kernels.items():
        # scipy.ndimage pads with the cval as plain arithmetic does
        num = ndi.correlate(np.where(valid, x, 0), w, mode="constant",
                            cval=np.inf)
        den = ndi.correlate(valid.astype(float), w, mode="constant",
                            cval=1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.where(den > 0, num * w.sum() / den, np.nan)
        got = cfilter.correlate(x, w, mode="constant", cval=np.inf,
                                method=method, nan_policy="ignore")
        assert_same_non_finite(got, expected)
        assert np.isposinf(got[0]).all() and np.isposinf(got[:, -1]).all()
        np.testing.assert_allclose(got[1:-1, 1:-1], expected[1:-1, 1:-1],
                                   rtol=1e-9)
    # Weights of both signs reading +inf give inf - inf (NaN); a zero
    # weight reading it gives 0 * inf (NaN); one sign gives that sign.
    signed = np.array([[1.0, 2.0, 1.0], [0.5, 1.0, 0.5], [-1.0, -2.0, -1.0]])
    zero = np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    for weights in (signed, zero):
        expected, _ = infinite_reference(x, weights, np.inf)
        for method in ("direct", "fft", "auto"):
            got = cfilter.correlate(x, weights, mode="constant", cval=np.inf,
                                    method=method, nan_policy="ignore")
            assert_same_non_finite(got, expected)
            assert np.isnan(got).any() and np.isinf(got).any()


def test_infinite_cval_without_nan_in_the_image(rng):
    # No NaN: the 'propagate' result, on every method (the box and FFT
    # engines never see the infinity).
    x = rng.uniform(0, 1, (30, 31))
    w = np.full((3, 5), 1 / 15)
    expected = ndi.correlate(x, w, mode="constant", cval=-np.inf)
    for method in ("direct", "separable", "box", "fft", "auto"):
        got = cfilter.correlate(x, w, mode="constant", cval=-np.inf,
                                method=method, nan_policy="ignore")
        assert_same_non_finite(got, expected)
        np.testing.assert_allclose(got[1:-1, 2:-2], expected[1:-1, 2:-2],
                                   rtol=1e-12)
