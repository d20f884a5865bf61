"""Output delivery: exact saturation of integer outputs (issue 11 item 2),
``output=`` arrays filled in place or through a cast, and outputs that
overlap the input.

The references are exact Python integers: ``round`` (half to even, as
``np.rint``) clamped to the dtype's limits, computed without any float.
"""
from fractions import Fraction

import numpy as np
import pytest

import cfilter
from cfilter._output import cast_into

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
              np.int64, np.uint64]
FLOAT_DTYPES = [np.float32, np.float64]


def _exact(value, dtype):
    """The saturated, rounded integer for a float ``value``; NaN gives 0."""
    info = np.iinfo(dtype)
    if np.isnan(value):
        return 0
    if np.isinf(value):
        return info.max if value > 0 else info.min
    r = round(Fraction(float(value)))        # exact, half to even
    return max(info.min, min(info.max, r))


def _probes(src, dst):
    """Values at, just inside and beyond both limits of ``dst`` as ``src``
    floats, plus halves, huge values, infinities and NaN."""
    info = np.iinfo(dst)
    f = np.dtype(src).type
    vals = []
    for limit in (info.min, info.max):
        x = f(limit)
        vals += [x, np.nextafter(x, f(np.inf)), np.nextafter(x, f(-np.inf)),
                 f(limit) * f(2), f(limit) + f(0.5), f(limit) - f(0.5)]
    vals += [f(0), f(-0.5), f(0.5), f(1.5), f(2.5), f(-1.5), f(3e9), f(5e9),
             f(1e19), f(1e20), f(-1e20), f(3e38), f(-3e38), f(np.inf),
             f(-np.inf), f(np.nan)]
    return np.array(vals, dtype=src)


@pytest.mark.parametrize("dst", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("src", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_cast_saturates_exactly(src, dst):
    values = _probes(src, dst)
    with np.errstate(all="ignore"):      # the probes themselves overflow
        values = values.astype(src)
    got = cast_into(values, np.empty(values.shape, dst))
    want = [_exact(v, dst) for v in values]
    assert [int(v) for v in got] == want


@pytest.mark.parametrize("src, dst, value, want", [
    (np.float32, np.int32, 3e9, 2**31 - 1),
    (np.float32, np.uint32, 5e9, 2**32 - 1),
    (np.float64, np.int64, 1e19, 2**63 - 1),
    (np.float64, np.uint64, 1e20, 2**64 - 1),
    (np.float64, np.int64, -1e20, -2**63),
    (np.float32, np.int64, 1e19, 2**63 - 1),
])
def test_cast_issue_cases(src, dst, value, want):
    # The cases issue 11 reported wrapping (INT_MIN, 0) instead of saturating.
    out = cfilter.correlate(np.full((3, 4), value, src), np.ones((1, 1)),
                            output=dst)
    assert out.dtype == dst and all(int(v) == want for v in out.ravel())


def test_cast_large_block_and_layout():
    # More than one block, a transposed destination, values on both sides.
    rng = np.random.default_rng(0)
    src = (rng.standard_normal((300, 301)) * 4e9).astype(np.float32)
    dest = np.empty((301, 300), np.int32).T
    cast_into(src, dest)
    want = np.array([[_exact(v, np.int32) for v in row] for row in src[:5]])
    assert np.array_equal(dest[:5], want)
    assert dest.max() == 2**31 - 1 and dest.min() == -2**31


def test_output_array_in_place_and_overlap():
    rng = np.random.default_rng(1)
    x = rng.random((2, 9, 7))
    w = rng.random((3, 3))
    from scipy import ndimage
    want = np.stack([ndimage.correlate(p, w, mode="reflect") for p in x])
    out = np.empty_like(x)
    got = cfilter.correlate(x, w, axes=(1, 2), output=out)
    assert got is out
    np.testing.assert_allclose(out, want, rtol=1e-12)
    # The output is the input: the result must be computed from the
    # original values, not from rows already overwritten.
    y = x.copy()
    cfilter.correlate(y, w, axes=(1, 2), output=y)
    np.testing.assert_allclose(y, want, rtol=1e-12)


def test_output_1d_in_place_and_overlap():
    from scipy import ndimage
    x = np.random.default_rng(2).random((5, 8))
    want = ndimage.correlate1d(x, [1.0, 2.0, 3.0], axis=0)
    out = np.empty_like(x)
    assert cfilter.correlate1d(x, [1.0, 2.0, 3.0], axis=0, output=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-12)
    cfilter.correlate1d(x, [1.0, 2.0, 3.0], axis=0, output=x)
    np.testing.assert_allclose(x, want, rtol=1e-12)
    # A float64 output array asks for float64 work, as for the 2-D path.
    img = np.random.default_rng(3).random(50).astype(np.float32) * 1e4
    out64 = np.empty(50)
    cfilter.correlate1d(img, [1 / 3] * 3, output=out64)
    np.testing.assert_allclose(
        out64, ndimage.correlate1d(img.astype(np.float64), [1 / 3] * 3),
        rtol=1e-13)


# -- uint16 rounding on every path: a table ----------------------------------
#
# Every way a result reaches an integer output (the compiled writers of the
# direct and separable loops, plane by plane and interleaved, the exact
# integer box sums, the float box engine and the NaN-ignoring path through
# the engine's cast, the transposed correlation and the named filters
# through the delivery's cast) must round half to even, as numpy.rint, and
# saturate.  The images hold integers and the weights are multiples of
# 1/4, so the float results are exact and many land on halves: the
# reference is scipy (ndimage, signal) in float64, then numpy.rint and a
# clip.  A transform cannot land exactly on a half (its rounding moves it),
# so the FFT paths are checked where the reference is clear of one.

from scipy import ndimage as ndi, signal as sps  # noqa: E402

U16 = np.iinfo(np.uint16)
K_DIRECT = np.array([[0.5, -1.0, 1.5], [0.5, 0.25, 1.0]])    # rank 2
K_COL, K_ROW = np.array([0.5, 1.0, -0.5]), np.array([1.5, 0.5])
K_BOX = np.full((3, 3), 0.5)


def _u16_image(rng, shape):
    """Integers spread over uint16's range: small ones (halves of every
    parity) and some near the top (results past the maximum)."""
    x = rng.integers(0, 3000, shape)
    top = rng.random(shape) < 0.15
    x[top] = rng.integers(U16.max - 40, U16.max + 1, int(top.sum()))
    return x.astype(np.uint16)


def _rounded(reference):
    return np.clip(np.rint(reference), U16.min, U16.max).astype(np.uint16)


def _ndi(x, w, **kw):
    return ndi.correlate(np.asarray(x, np.float64), w, mode="reflect", **kw)


ROUNDING_PATHS = {
    # name: (call(x, output), reference(x) in float64, input dtype)
    "direct": (lambda x, out: cfilter.correlate(x, K_DIRECT, output=out,
                                                method="direct"),
               lambda x: _ndi(x, K_DIRECT), np.uint16),
    "direct, float input": (
        lambda x, out: cfilter.correlate(x, K_DIRECT, output=out,
                                         method="direct"),
        lambda x: _ndi(x, K_DIRECT), np.float32),
    "direct, stride and dilation": (
        lambda x, out: cfilter.correlate(x, K_DIRECT, output=out, stride=2,
                                         dilation=(1, 2), padding="valid",
                                         method="direct"),
        lambda x: sps.correlate2d(np.asarray(x, np.float64),
                                  np.kron(K_DIRECT, [[1, 0]])[:, :-1],
                                  "valid")[::2, ::2], np.uint16),
    "separable": (
        lambda x, out: cfilter.correlate(x, np.outer(K_COL, K_ROW),
                                         output=out, method="separable"),
        lambda x: _ndi(x, np.outer(K_COL, K_ROW)), np.uint16),
    "sep_filter": (
        lambda x, out: cfilter.sep_filter(x, K_ROW, K_COL, output=out),
        lambda x: _ndi(x, np.outer(K_COL, K_ROW)), np.uint16),
    "correlate1d": (
        lambda x, out: cfilter.correlate1d(x, K_COL, axis=0, output=out),
        lambda x: ndi.correlate1d(np.asarray(x, np.float64), K_COL, axis=0,
                                  mode="reflect"), np.uint16),
    "integer box sums": (
        lambda x, out: cfilter.correlate(x, K_BOX, output=out),
        lambda x: _ndi(x, K_BOX), np.uint16),
    "box engine": (
        lambda x, out: cfilter.correlate(x, K_BOX, output=out, method="box"),
        lambda x: _ndi(x, K_BOX), np.float32),
    "nan_policy='ignore'": (
        lambda x, out: cfilter.correlate(x, K_DIRECT, output=out,
                                         nan_policy="ignore"),
        lambda x: _ndi(x, K_DIRECT), np.float32),
    "conv_transpose": (
        lambda x, out: cfilter.conv_transpose(x, K_DIRECT, output=out),
        lambda x: sps.convolve2d(np.asarray(x, np.float64), K_DIRECT,
                                 "full"), np.uint16),
}


def _check_rounding(got, reference):
    want = _rounded(reference)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("form", ["dtype", "array", "fortran array"])
@pytest.mark.parametrize("path", list(ROUNDING_PATHS))
def test_uint16_rounds_half_to_even_on_every_path(rng, path, form):
    call, reference, dtype = ROUNDING_PATHS[path]
    x = _u16_image(rng, (37, 42)).astype(dtype)
    ref = reference(x)
    frac = ref - np.floor(ref)
    halves = np.floor(ref[frac == 0.5])
    # the table can tell half-to-even from any other rule: halves with
    # even and odd floors, and results past the maximum
    assert (halves % 2 == 0).sum() > 5 and (halves % 2 == 1).sum() > 5
    assert ref.max() > U16.max
    if form == "dtype":
        got = call(x, np.uint16)
    else:
        order = "F" if form == "fortran array" else "C"
        out = np.full(ref.shape, 7, np.uint16, order=order)
        got = call(x, out)
        assert got is out
    _check_rounding(got, ref)


def test_uint16_interleaved_colour_rounds_half_to_even(rng):
    x = _u16_image(rng, (23, 19, 3))
    got = cfilter.correlate(x, K_DIRECT, output=np.uint16, channel_axis=-1,
                            method="direct")
    ref = np.stack([_ndi(x[..., c], K_DIRECT) for c in range(3)], axis=-1)
    _check_rounding(got, ref)
    got = cfilter.correlate(x, K_BOX, output=np.uint16, channel_axis=-1)
    ref = np.stack([_ndi(x[..., c], K_BOX) for c in range(3)], axis=-1)
    _check_rounding(got, ref)


def _clear_of_halves(ref):
    frac = ref - np.floor(ref)
    return np.abs(frac - 0.5) > 1e-3


@pytest.mark.parametrize("form", ["dtype", "array"])
def test_uint16_fft_rounds_to_nearest_and_saturates(rng, form):
    # (a float64 image: float64 work, whose transform is good to 1e-9
    # here; float32's would blur the rounding itself)
    x = _u16_image(rng, (40, 44)).astype(np.float64)
    w = 3 * (rng.random((15, 13)) - 0.5)
    ref = _ndi(x, w)
    out = np.uint16 if form == "dtype" else np.empty(ref.shape, np.uint16)
    got = cfilter.correlate(x, w, method="fft", output=out)
    clear = _clear_of_halves(ref)
    assert clear.mean() > 0.99 and ref.max() > U16.max and ref.min() < 0
    np.testing.assert_array_equal(got[clear], _rounded(ref)[clear])


@pytest.mark.parametrize("form", ["dtype", "array"])
def test_uint16_frequency_filter_rounds_to_nearest_and_saturates(rng, form):
    x = 2.0 * _u16_image(rng, (32, 36))
    fy = np.fft.fftfreq(32)[:, None]
    fx = np.fft.fftfreq(36)[None, :]
    lowpass = 1 / (1 + (np.sqrt(fy ** 2 + fx ** 2) / 0.2) ** 4)
    ref = np.fft.ifft2(np.fft.fft2(x) * (1 - lowpass)).real
    out = np.uint16 if form == "dtype" else np.empty(x.shape, np.uint16)
    got = cfilter.frequency_filter(x, 0.2, kind="highpass", output=out)
    clear = _clear_of_halves(ref)
    assert clear.mean() > 0.99 and ref.max() > U16.max and ref.min() < 0
    np.testing.assert_array_equal(got[clear], _rounded(ref)[clear])


@pytest.mark.parametrize("form", ["dtype", "array"])
def test_uint16_unsharp_mask_rounds_to_nearest_and_saturates(rng, form):
    # (combined in floating point and cast once, by the delivery)
    x = _u16_image(rng, (30, 33))
    xf = x.astype(np.float64)
    ref = xf + 3.0 * (xf - ndi.gaussian_filter(xf, 1.5, mode="reflect"))
    out = np.uint16 if form == "dtype" else np.empty(x.shape, np.uint16)
    got = cfilter.unsharp_mask(x, 1.5, 3.0, output=out)
    clear = _clear_of_halves(ref)
    assert clear.mean() > 0.99 and ref.max() > U16.max and ref.min() < 0
    np.testing.assert_array_equal(got[clear], _rounded(ref)[clear])
