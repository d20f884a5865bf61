"""Rank-1 detection at the kernel's own precision (DESIGN section 3) and
non-finite kernels (DESIGN section 2), against scipy.ndimage.correlate
and numpy's definition (np.pad + sliding windows)."""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_float32_outer_product_is_separable(dtype):
    kernel = np.outer(np.hanning(9), np.hanning(7)).astype(dtype)
    image = RNG.random((256, 256)).astype(np.float32)
    assert cfilter.plan(image, kernel).method == "separable"
    got = cfilter.correlate(image, kernel, method="separable")
    want = ndi.correlate(image.astype(np.float64), kernel.astype(np.float64))
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(kernel).sum(dtype=np.float64))


def test_user_gaussian_in_float32_runs_separable():
    g = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    kernel = (np.outer(g, g) / np.outer(g, g).sum()).astype(np.float32)
    image = RNG.random((512, 512)).astype(np.float32)
    assert cfilter.plan(image, kernel).method == "separable"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["auto", "separable"])
def test_near_rank1_kernel_is_not_separable(dtype, method):
    # Issue 10's guard: a 7x7 kernel 1e-4 (relative) away from rank 1 is
    # NOT separable; a rank-1 test loosened to 1e-3 would run it separable
    # and miss scipy by ~1e-4 of the kernel's mass.
    kernel = np.outer(np.hanning(9)[1:-1], np.hanning(9)[1:-1])
    kernel[2, 4] += 1e-4 * kernel.max()
    kernel = kernel.astype(dtype)
    image = RNG.random((64, 64))
    want = ndi.correlate(image, kernel.astype(np.float64))
    if method == "separable":
        with pytest.raises(ValueError, match="rank 1"):
            cfilter.correlate(image, kernel, method=method)
        return
    assert cfilter.plan(image, kernel).method != "separable"
    got = cfilter.correlate(image, kernel)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("shape", [(63, 63), (5, 5)])
def test_non_finite_kernel_avoids_fft(bad, shape):
    image = RNG.random((1024, 1024))
    kernel = RNG.random(shape)
    kernel[shape[0] // 2, 1] = bad
    p = cfilter.plan(image, kernel)
    assert p.method not in ("fft", "box")
    with pytest.raises(ValueError, match="NaN or Inf"):
        cfilter.correlate(image, kernel, method="fft")
    x = image[:96, :96]
    got = cfilter.correlate(x, kernel)
    # numpy's definition, not scipy: scipy.ndimage drops NaN weights.
    kh, kw = shape
    padded = np.pad(x, ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)),
                    mode="symmetric")
    with np.errstate(invalid="ignore"):
        want = np.einsum("ijkl,kl->ij",
                         np.lib.stride_tricks.sliding_window_view(padded, shape),
                         kernel)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9)


def test_infinite_box_kernel_is_not_box():
    image = RNG.random((512, 512))
    kernel = np.full((15, 15), np.inf)
    assert cfilter.plan(image, kernel).method not in ("fft", "box")
    with pytest.raises(ValueError):
        cfilter.correlate(image, kernel, method="box")
    np.testing.assert_array_equal(cfilter.correlate(image[:32, :32], kernel),
                                  ndi.correlate(image[:32, :32], kernel))
