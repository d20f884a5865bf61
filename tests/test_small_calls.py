"""Repeated small calls: the option and plan caches and the 2-D fast path
must never hand a call the result of another.

Every result is checked against scipy.ndimage.correlate (the independent
reference), with the call made right after a call that filled the caches
with something close but different.
"""
import numpy as np
import pytest
from scipy import ndimage

import cfilter

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]


def _image(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).random(shape).astype(dtype)


def _check(got, image, kernel, mode="reflect", rtol=1e-6):
    want = ndimage.correlate(image.astype(np.float64),
                             np.asarray(kernel, dtype=np.float64), mode=mode)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_mutated_kernel_is_not_served_a_stale_plan():
    image = _image((64, 64))
    kernel = np.ones((9, 9))                  # equal weights: a box plan
    _check(cfilter.correlate(image, kernel), image, kernel)
    kernel *= 2.0                             # same array, other weight
    _check(cfilter.correlate(image, kernel), image, kernel)
    kernel[4, 4] = 5.0                        # no longer rank 1
    _check(cfilter.correlate(image, kernel), image, kernel)
    kernel[:] = np.outer(np.arange(9.0), np.ones(9))   # rank 1 again
    _check(cfilter.correlate(image, kernel), image, kernel)


def test_mutated_rank1_kernel_is_not_served_stale_factors():
    # A rank-1 kernel of unequal weights: a separable plan holding the
    # factors, planned (and cached) without looking at the image.
    image = _image((61, 57), seed=2)
    tent = np.array([1.0, 2, 3, 4, 5, 4, 3, 2, 1])
    kernel = np.outer(tent, tent)
    _check(cfilter.correlate(image, kernel), image, kernel)
    kernel[0, 0] = -7.0
    _check(cfilter.correlate(image, kernel), image, kernel)
    kernel[:] = np.outer(tent[::-1] * 2, tent + 1)
    _check(cfilter.correlate(image, kernel), image, kernel)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_shape_different_kernels(dtype):
    image = _image((64, 64), dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for seed in range(3):
        kernel = np.random.default_rng(seed).random((3, 3))
        _check(cfilter.correlate(image, kernel), image, kernel, rtol=rtol)
        gauss = cfilter.kernels.gaussian(1, radius=1)
        _check(cfilter.correlate(image, gauss), image, gauss.array,
               rtol=rtol)


def test_kernel_dtype_is_part_of_the_plan():
    image = _image((32, 48))
    kernel = np.random.default_rng(3).random((5, 5))
    for kdtype in (np.float64, np.float32, np.float16, np.int32):
        k = (kernel * 10).astype(kdtype)
        _check(cfilter.correlate(image, k), image, k)


@pytest.mark.parametrize("mode", MODES)
def test_modes_after_each_other(mode):
    image = _image((64, 64), seed=1)
    kernel = np.random.default_rng(4).random((3, 3))
    cfilter.correlate(image, kernel, mode="reflect")
    _check(cfilter.correlate(image, kernel, mode=mode), image, kernel, mode)


def test_shapes_after_each_other():
    kernel = np.random.default_rng(5).random((3, 3))
    for shape in [(64, 64), (40, 50), (64, 64), (50, 40), (7, 3), (64, 64)]:
        image = _image(shape, np.float32)
        got = cfilter.correlate(image, kernel)
        assert got.shape == shape and got.dtype == np.float32
        _check(got, image, kernel, rtol=1e-5)


def test_image_dtypes_after_each_other():
    kernel = np.random.default_rng(6).random((3, 3))
    for dtype in [np.float32, np.float64, np.float32, np.uint8, np.float32]:
        image = (_image((32, 32)) * 100).astype(dtype)
        got = cfilter.correlate(image, kernel)
        assert got.dtype == (np.float64 if dtype == np.float64
                             else np.float32)
        _check(got, image, kernel, rtol=1e-5)


def test_transposed_axes_of_a_2d_image():
    # A 2-D C-contiguous image whose axes are given swapped must not take
    # the untouched-2-D fast path.
    image = _image((40, 64), np.float32)
    kernel = np.random.default_rng(7).random((3, 5))
    cfilter.correlate(image, kernel)
    got = cfilter.correlate(image, kernel, axes=(1, 0))
    _check(got.T, np.ascontiguousarray(image.T), kernel, rtol=1e-5)


@pytest.mark.parametrize("layout", ["fortran", "strided", "big-endian"])
def test_non_contiguous_2d_images(layout):
    base = _image((64, 128), np.float32)
    image = {"fortran": np.asfortranarray(base[:, :64]),
             "strided": base[:, ::2],
             "big-endian": base.astype(">f4")}[layout]
    kernel = np.random.default_rng(8).random((3, 3))
    cfilter.correlate(np.ascontiguousarray(image, dtype=np.float32), kernel)
    before = image.copy()
    _check(cfilter.correlate(image, kernel), image, kernel, rtol=1e-5)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("name, good, bad", [
    ("stride", 1, True),
    ("stride", (1, 1), (1, True)),
    ("dilation", 1, True),
    ("workers", 1, True),
    ("stride", 2, 2.0),
])
def test_option_cache_never_takes_a_bad_value_for_a_good_one(name, good,
                                                            bad):
    image = _image((16, 16))
    kernel = np.ones((3, 3))
    cfilter.correlate(image, kernel, **{name: good})
    cfilter.correlate(image, kernel, **{name: good})
    with pytest.raises(TypeError, match=name):
        cfilter.correlate(image, kernel, **{name: bad})


def test_option_cache_tells_options_apart():
    image = _image((33, 30))
    kernel = np.random.default_rng(9).random((3, 3))
    full = cfilter.correlate(image, kernel)
    _check(full, image, kernel)
    np.testing.assert_allclose(cfilter.correlate(image, kernel, stride=2),
                               full[::2, ::2], rtol=1e-12)
    np.testing.assert_allclose(
        cfilter.correlate(image, kernel, stride=(1, 3)), full[:, ::3],
        rtol=1e-12)
    np.testing.assert_allclose(
        cfilter.correlate(image, kernel, padding="valid"), full[1:-1, 1:-1],
        rtol=1e-12)
    got = cfilter.correlate(image, kernel, mode="constant", cval=2.0)
    want = ndimage.correlate(image, kernel, mode="constant", cval=2.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = cfilter.correlate(image, kernel, mode="constant", cval=2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # A list (unhashable) is validated each time and works as a tuple.
    np.testing.assert_allclose(
        cfilter.correlate(image, kernel, stride=[2, 2]), full[::2, ::2],
        rtol=1e-12)


def test_gaussian_blur_repeated_matches_scipy():
    image = _image((64, 64), np.float32)
    for sigma in (1, 2, 1, 1.5, 1):
        got = cfilter.gaussian_blur(image, sigma)
        want = ndimage.gaussian_filter(image.astype(np.float64), sigma)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
