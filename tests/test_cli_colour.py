"""The command line's filter over colour images, against scipy.ndimage.

``apply`` filters the colour channels of an (H, W, C) image in one call
(interleaved) when every step can, and plane by plane otherwise; both must
give, channel by channel, what scipy.ndimage.correlate gives on each plane,
with the alpha channel passed through (strided, cast).
"""
import numpy as np
import pytest
from scipy import ndimage

from cfilter.cli import filter_image, load_step

CONVEX = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1], [0, 1, 0]]) / 17.0
SIGNED = np.array([[1, 0, -1, 2], [2, -3, -2, 1], [1, 0, -1, 0]]) / 4.0


def _reference(image, kernel, mode, stride, dtype):
    """Per-plane float64 correlation, rounded and saturated into dtype."""
    colour = image[..., :3]
    planes = [ndimage.correlate(colour[..., c].astype(np.float64), kernel,
                                mode=mode)[::stride, ::stride]
              for c in range(3)]
    info = np.iinfo(dtype)
    planes = [np.clip(np.rint(p), info.min, info.max) for p in planes]
    if image.shape[2] == 4:
        planes.append(image[::stride, ::stride, 3].astype(np.float64))
    return np.stack(planes, axis=-1)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("mode", ["reflect", "nearest", "wrap", "constant"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [CONVEX, SIGNED], ids=["convex", "signed"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_colour_matches_scipy_per_plane(channels, mode, stride, kernel,
                                        dtype, tmp_path):
    rng = np.random.default_rng(channels + stride)
    image = rng.integers(0, np.iinfo(dtype).max, (23, 31, channels),
                         dtype=dtype)
    before = image.copy()
    path = tmp_path / "k.npy"
    np.save(path, kernel)
    step = load_step(f"file:{path}")
    got = filter_image(image, [step], mode=mode, stride=stride)
    np.testing.assert_array_equal(image, before)
    assert got.dtype == dtype and got.flags.c_contiguous
    want = _reference(image, kernel, mode, stride, dtype)
    assert got.shape == want.shape
    diff = np.abs(got.astype(np.float64) - want)
    # float32 sums against float64: a rounding tie may fall either way
    assert diff.max() <= 1
    assert np.mean(diff > 0) < 0.01


def test_gaussian_rgb_uint8_matches_scipy():
    """The benchmark's case: RGB uint8, Gaussian sigma 2 (radius 8)."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    got = filter_image(image, [load_step("gaussian:sigma=2")])
    want = np.stack([ndimage.gaussian_filter(image[..., c].astype(float), 2,
                                             mode="reflect", truncate=4.0)
                     for c in range(3)], axis=-1)
    want = np.clip(np.rint(want), 0, 255)
    assert got.dtype == np.uint8
    diff = np.abs(got - want)
    assert diff.max() <= 1 and np.mean(diff > 0) < 0.01


def test_interleaved_and_planar_steps_agree_in_a_chain():
    """A chain mixing a step without a channel axis (sobel magnitude) runs
    plane by plane; scipy's sobel magnitude is the reference."""
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (20, 26, 3), dtype=np.uint8)
    got = filter_image(image, [load_step("sobel")], dtype="float32")
    for c in range(3):
        plane = image[..., c].astype(np.float64)
        # cfilter's sobel: gradient magnitude, axis-0 and axis-1 kernels
        want = np.hypot(ndimage.sobel(plane, axis=0, mode="reflect"),
                        ndimage.sobel(plane, axis=1, mode="reflect"))
        np.testing.assert_allclose(got[..., c], want, rtol=1e-5, atol=1e-3)
