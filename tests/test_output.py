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
