"""The engines' register blocks (cfilter/_core/_blocks.h): 64 outputs at a
time, the last block of a row overlapping its neighbour, rows narrower than
a block summed by the scalar loops, and the separable engine's column pass
run for GROUP rows a block of columns at a time.

Widths and heights straddle those sizes (1, 63, 64, 65, 127, 128, 129, ...;
heights that are not multiples of the 4-row group), for the direct and the
separable engines, float32 and float64, every mode, odd and even kernels,
row stride and dilation (the ungrouped column pass), interleaved channels
and integer samples.  References: numpy.pad + a valid correlation in float64
(``ref_correlate2d`` in conftest), scipy.ndimage.gaussian_filter, and
np.rint + np.clip for integer outputs.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import MODES, assert_matches, ref_correlate2d, tol

WIDTHS = [1, 7, 63, 64, 65, 127, 128, 129, 200]


def _image(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-1, 1, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _separable_kernel(kh, kw, seed):
    rng = np.random.default_rng(seed)
    return np.outer(rng.uniform(0.1, 1, kh), rng.uniform(-1, 1, kw))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["direct", "separable"])
def test_widths_around_a_block(width, dtype, method):
    # (kh, kw): odd and even, one row (no column pass), two rows (the
    # ungrouped column pass), and the grouped pass from three rows on.
    for k, (kh, kw) in enumerate([(3, 3), (2, 4), (1, 5), (5, 2), (7, 7)]):
        mode = MODES[(k + width) % len(MODES)]
        image = _image((9, width), dtype, seed=width + k)
        kernel = _separable_kernel(kh, kw, seed=k).astype(dtype)
        got = cfilter.correlate(image, kernel, mode=mode, cval=0.5,
                                method=method)
        ref = ref_correlate2d(image, kernel, mode=mode, cval=0.5)
        assert_matches(got, ref, tol(dtype, kernel, np.append(image, 0.5)),
                       dtype=dtype)


@pytest.mark.parametrize("height", [1, 2, 3, 4, 5, 8, 11])
@pytest.mark.parametrize("method", ["direct", "separable"])
def test_heights_around_a_group(height, method):
    for k, mode in enumerate(MODES):
        image = _image((height, 130), np.float32, seed=height * 7 + k)
        kernel = _separable_kernel(5, 3, seed=k).astype(np.float32)
        got = cfilter.correlate(image, kernel, mode=mode, method=method)
        ref = ref_correlate2d(image, kernel, mode=mode)
        assert_matches(got, ref, tol(np.float32, kernel, image),
                       dtype=np.float32)


@pytest.mark.parametrize("width", [63, 64, 65, 129])
@pytest.mark.parametrize("stride, dilation", [((2, 1), (1, 1)),
                                              ((1, 1), (2, 1)),
                                              ((3, 2), (2, 3))])
@pytest.mark.parametrize("method", ["direct", "separable"])
def test_stride_dilation(width, stride, dilation, method):
    for k, mode in enumerate(MODES):
        image = _image((17, width), np.float64, seed=width + k)
        kernel = _separable_kernel(4, 3, seed=k)
        got = cfilter.correlate(image, kernel, mode=mode, stride=stride,
                                dilation=dilation, method=method)
        ref = ref_correlate2d(image, kernel, mode=mode, stride=stride,
                              dilation=dilation)
        assert_matches(got, ref, tol(np.float64, kernel, image),
                       dtype=np.float64)


@pytest.mark.parametrize("width", [21, 22, 43, 65])
@pytest.mark.parametrize("method", ["direct", "separable"])
def test_interleaved_channels(width, method):
    # W * C samples cross the block sizes at other widths than planes do.
    image = _image((10, width, 3), np.float32, seed=width)
    kernel = _separable_kernel(3, 5, seed=1).astype(np.float32)
    got = cfilter.correlate(image, kernel, mode="mirror", channel_axis=-1,
                            method=method)
    for ch in range(3):
        ref = ref_correlate2d(image[..., ch], kernel, mode="mirror")
        assert_matches(got[..., ch], ref, tol(np.float32, kernel, image))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
@pytest.mark.parametrize("width", [63, 64, 65, 200])
@pytest.mark.parametrize("method", ["direct", "separable"])
def test_integer_samples(dtype, width, method):
    image = _image((13, width), dtype, seed=width)
    kernel = _separable_kernel(5, 5, seed=2)
    kernel = (kernel / np.abs(kernel).sum()).astype(np.float32)
    got = cfilter.correlate(image, kernel, output=dtype, method=method)
    ref = ref_correlate2d(image, kernel)
    info = np.iinfo(dtype)
    want = np.clip(np.rint(ref), info.min, info.max)
    scale = float(np.abs(image.astype(np.float64)).max())
    near_half = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-5 * scale
    bad = (got != want) & ~(near_half & (np.abs(got - want) <= 1))
    assert got.dtype == np.dtype(dtype)
    assert not bad.any(), (got[bad][:5], want[bad][:5])


@pytest.mark.parametrize("shape", [(5, 63), (37, 64), (64, 65), (31, 300)])
def test_gaussian_against_scipy(shape):
    image = _image(shape, np.float32, seed=shape[1])
    got = cfilter.gaussian_blur(image, 1.5, mode="nearest")
    ref = ndi.gaussian_filter(image.astype(np.float64), 1.5, mode="nearest",
                              truncate=4.0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["direct", "separable"])
def test_same_bits_for_any_thread_count(method):
    # Rows are grouped by fours from each plane's top whatever the threads,
    # and every block of a row (overlapping or not) sums its taps in the
    # same order, so the result does not change by a bit.
    image = _image((3, 29, 131), np.float32, seed=3)
    kernel = _separable_kernel(5, 4, seed=3).astype(np.float32)
    one = cfilter.correlate(image, kernel, axes=(1, 2), method=method,
                            workers=1)
    two = cfilter.correlate(image, kernel, axes=(1, 2), method=method,
                            workers=2)
    np.testing.assert_array_equal(one, two)


# The direct engine's edge segments: the outputs near each side are read
# from rows extended by the mode, each segment at least a block wide, kept
# per input row for the output rows that share it; the inside span between
# them is either empty or at least a block.  Widths where the segments
# overlap, touch or leave a short inside span, per-side padding (one side
# without a segment), dilated taps, row stride and dilation (rows shared by
# fewer outputs), and three channels (a block of 22 pixels).
@pytest.mark.parametrize("width", [64, 66, 67, 69, 70, 96, 130, 131, 140])
@pytest.mark.parametrize("channels", [1, 3])
def test_direct_edge_segments(width, channels):
    shape = (13, width) + ((channels,) if channels > 1 else ())
    cases = [((5, 5), "same", 1, 1), ((3, 4), ((1, 2), (0, 3)), 1, 1),
             ((5, 3), ((2, 2), (4, 0)), 1, (1, 2)),
             ((4, 5), ((0, 1), (7, 9)), (2, 1), (2, 1)),
             ((6, 2), ((3, 3), (1, 1)), (3, 1), 1)]
    for k, (ksize, padding, stride, dilation) in enumerate(cases):
        mode = MODES[(k + width) % len(MODES)]
        image = _image(shape, np.float32, seed=width * 5 + k)
        kernel = np.random.default_rng(k).uniform(-1, 1, ksize)
        kernel = kernel.astype(np.float32)
        got = cfilter.correlate(image, kernel, mode=mode, cval=0.25,
                                padding=padding, stride=stride,
                                dilation=dilation, method="direct",
                                channel_axis=-1 if channels > 1 else None)
        planes = image[None] if channels == 1 else np.moveaxis(image, -1, 0)
        ref = np.stack([ref_correlate2d(p, kernel, mode=mode, cval=0.25,
                                        padding=padding, stride=stride,
                                        dilation=dilation) for p in planes],
                       axis=-1)
        if channels == 1:
            ref = ref[..., 0]
        assert_matches(got, ref, tol(np.float32, kernel, np.append(image, 1)),
                       dtype=np.float32)
