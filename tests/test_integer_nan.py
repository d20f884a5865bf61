"""NaN written into an integer output is 0: every integer dtype, every
engine and route that takes ``output=``.

The reference is numpy's: the float64 result (scipy.ndimage, scipy.signal
or scikit-image, NaN included) rounded half to even, saturated at the
dtype's limits, and NaN made 0: ``np.where(isnan(ref), 0, clip(rint(ref)))``.
Values span beyond the 8- and 16-bit ranges, so rounding and saturation
are checked beside the NaN.  The compiled writers (direct, separable and
lowrank engines, output arrays filled in place) and the whole-array casts
(box and FFT engines, normalised convolution, wider integers) are both
covered.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal

import cfilter

INTEGER_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32,
                  np.uint32, np.int64, np.uint64]


def integer_reference(ref, dtype):
    """numpy's rounding and saturation of a float64 result; NaN is 0."""
    info = np.iinfo(dtype)
    rounded = np.rint(ref)
    return np.where(np.isnan(rounded), 0.0,
                    np.clip(rounded, float(info.min), float(info.max)))


def assert_integer_equal(got, ref, dtype, work=np.float64):
    """``got`` (of ``dtype``) equals numpy's integer reference, except
    where the float result is within the ``work`` dtype's rounding (16
    epsilons of the largest value) of a half: either way is right there."""
    assert got.dtype == np.dtype(dtype)
    expected = integer_reference(ref, dtype)
    frac = np.abs(ref - np.floor(ref) - 0.5)
    band = 16 * np.finfo(work).eps * np.nanmax(np.abs(ref))
    judged = np.isnan(ref) | (frac > band)
    assert np.isnan(ref).any() and judged.mean() > 0.9
    np.testing.assert_array_equal(got.astype(np.float64)[judged],
                                  expected[judged])


def image(rng, shape=(40, 37)):
    """float64 values in [-50000, 90000) with NaN blocks wider than the
    kernels (so that some windows hold no number) and scattered NaNs."""
    x = rng.uniform(-50000, 90000, shape)
    x[rng.random(shape) < 0.05] = np.nan
    x[10:22, 5:17] = np.nan
    x[-5:, :10] = np.nan
    return x


def normalised(x, w, mode="reflect"):
    """The float64 normalised convolution (scipy.ndimage), NaN where no
    weight is valid."""
    valid = ~np.isnan(x)
    num = ndi.correlate(np.where(valid, x, 0.0), w, mode=mode)
    den = ndi.correlate(valid.astype(np.float64), w, mode=mode)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num * w.sum() / den, np.nan)


def test_the_reported_case():
    x = np.array([[np.nan, 1.0]] * 3)
    for dtype in INTEGER_DTYPES:
        got = cfilter.correlate(x, [[1.0]], output=dtype)
        np.testing.assert_array_equal(got, [[0, 1]] * 3)
        assert got.dtype == dtype


KERNELS = {
    "direct": lambda rng: rng.uniform(0.2, 1, (3, 4)),
    "separable": lambda rng: np.outer(rng.uniform(0.2, 1, 3),
                                      rng.uniform(0.2, 1, 5)),
    "lowrank": lambda rng: (np.outer(rng.uniform(0.2, 1, 4),
                                     rng.uniform(0.2, 1, 4))
                            + np.outer(rng.uniform(0.2, 1, 4),
                                       rng.uniform(0.2, 1, 4))),
    "box": lambda rng: np.full((3, 3), 1 / 9),
    "fft": lambda rng: rng.uniform(0.2, 1, (5, 5)),
}


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
@pytest.mark.parametrize("method", ["direct", "separable", "lowrank"])
@pytest.mark.parametrize("as_array", [False, True])
def test_propagated_nan_is_zero(rng, dtype, method, as_array):
    x = image(rng)
    w = KERNELS[method](rng)
    output = np.full(x.shape, 7, dtype) if as_array else dtype
    got = cfilter.correlate(x, w, method=method, output=output)
    if as_array:
        assert got is output
    assert_integer_equal(got, ndi.correlate(x, w, mode="reflect"), dtype)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
@pytest.mark.parametrize("method", ["direct", "separable", "lowrank", "box",
                                    "fft"])
def test_ignored_nan_without_valid_weight_is_zero(rng, dtype, method):
    x = image(rng)
    w = KERNELS[method](rng)
    got = cfilter.correlate(x, w, method=method, nan_policy="ignore",
                            output=dtype)
    assert_integer_equal(got, normalised(x, w), dtype)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_float32_work_and_colour_channels(rng, dtype):
    # float32 work (a float32 image), interleaved channels filled in place
    x = np.stack([image(rng) / 4 for _ in range(3)], axis=-1)
    x32 = x.astype(np.float32)
    w = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16
    got = cfilter.correlate(x32, w, channel_axis=-1, output=dtype)
    for c in range(3):
        ref = ndi.correlate(x32[..., c].astype(np.float64), w,
                            mode="reflect")
        assert_integer_equal(got[..., c], ref, dtype, np.float32)
    got = cfilter.gaussian_blur(x32, 1.0, channel_axis=-1,
                                nan_policy="ignore", output=dtype)
    k = cfilter.kernels.gaussian(1.0).array
    for c in range(3):
        assert_integer_equal(got[..., c],
                             normalised(x32[..., c].astype(np.float64), k),
                             dtype, np.float32)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_one_dimensional(rng, dtype):
    x = image(rng)
    w = np.array([0.5, 1.0, 0.25])
    got = cfilter.correlate1d(x, w, axis=0, output=dtype)
    assert_integer_equal(got, ndi.correlate1d(x, w, axis=0, mode="reflect"),
                         dtype)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_conv_transpose(rng, dtype):
    # stride 1, no padding: the full convolution (scipy.signal)
    x = image(rng, (12, 15))
    w = rng.uniform(0.2, 1, (3, 4))
    got = cfilter.conv_transpose(x, w, output=dtype)
    assert_integer_equal(got, scipy.signal.convolve2d(x, w, mode="full"),
                         dtype)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_frequency_filter_rounds_and_saturates(dtype):
    # frequency_filter refuses NaN input (the transform would spread it),
    # and its transfer function stays finite, so no NaN reaches its
    # output: its integer output is the same rounding and saturation.
    filters = pytest.importorskip("skimage.filters")
    x = np.random.default_rng(5).uniform(-40000, 90000, (16, 20))
    with pytest.raises(ValueError, match="NaN"):
        cfilter.frequency_filter(np.where(x > 80000, np.nan, x), 0.2,
                                 output=dtype)
    ref = filters.butterworth(x, 0.2, high_pass=True, order=2.0, npad=0)
    got = cfilter.frequency_filter(x, 0.2, kind="highpass", output=dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, integer_reference(ref, dtype))
