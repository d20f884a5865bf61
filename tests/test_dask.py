"""cfilter.dask: lazy, chunked filtering equals the in-memory result.

The reference here is the in-memory cfilter function itself (the point of
cfilter.dask is to reproduce it chunk by chunk); a few cases are also checked
against independent references: scipy.ndimage and the numpy.pad +
sliding-window correlation of conftest (DESIGN.md §2).
"""
import itertools
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
import scipy.ndimage as ndi

da = pytest.importorskip("dask.array")
import dask                                    # noqa: E402

import cfilter                                 # noqa: E402
import cfilter.dask as cd                      # noqa: E402
from conftest import (MODES, NDI_MODE, NP_PAD_MODE,      # noqa: E402
                      ref_correlate2d)

SYNC = dict(scheduler="synchronous")

IMAGE = np.random.default_rng(14).random((23, 31))

#: Chunkings of IMAGE: regular, uneven with chunks smaller than every kernel
#: here, one chunk, and one pixel per chunk.
CHUNKINGS = [(5, 7), ((3, 10, 10), (2, 2, 27)), (23, 31),
             ((1,) * 23, (4, 1, 1, 25))]

PADDINGS = ["same", "valid", "full", 2, (1, 3), ((0, 2), (3, 1)), 12]

KERNELS = [np.arange(1.0, 10.0).reshape(3, 3),            # odd
           np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0], [-1.0, 4.0]]),
           np.random.default_rng(1).random((6, 5))]       # even x odd, big


def lazy_and_eager(image, chunks, dask_fn, eager_fn, *args, **kwargs):
    lazy = dask_fn(da.from_array(image, chunks=chunks), *args, **kwargs)
    return lazy, lazy.compute(**SYNC), eager_fn(image, *args, **kwargs)


def check(image, chunks, dask_fn, eager_fn, *args, **kwargs):
    lazy, got, want = lazy_and_eager(image, chunks, dask_fn, eager_fn,
                                     *args, **kwargs)
    assert lazy.shape == want.shape and lazy.dtype == want.dtype
    assert got.shape == want.shape and got.dtype == want.dtype
    assert sum(lazy.chunks[0]) == want.shape[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)
    return lazy


# ----------------------------------------------------------- equality sweeps

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("convolve", [False, True])
def test_modes_and_padding_forms(mode, padding, convolve):
    # stride, dilation, kernel and chunking cycle through their values.
    case = MODES.index(mode) + 5 * PADDINGS.index(padding) + int(convolve)
    stride = 1 + case % 3
    dilation = 1 + (case // 3) % 2
    kernel = KERNELS[case % len(KERNELS)]
    chunks = CHUNKINGS[case % len(CHUNKINGS)]
    fns = (cd.convolve, cfilter.convolve) if convolve else \
        (cd.correlate, cfilter.correlate)
    check(IMAGE, chunks, *fns, kernel, mode=mode, cval=-0.75,
          padding=padding, stride=stride, dilation=dilation)


@pytest.mark.parametrize("stride", [1, 2, 3, (2, 3)])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("mode", ["wrap", "reflect"])
def test_stride_dilation_chunkings(stride, dilation, chunks, mode):
    for kernel in KERNELS[:2]:
        for padding in ("same", "valid"):
            check(IMAGE, chunks, cd.correlate, cfilter.correlate, kernel,
                  mode=mode, padding=padding, stride=stride,
                  dilation=dilation)


@pytest.mark.parametrize("mode", MODES)
def test_against_scipy_and_numpy_pad(mode):
    # Independent references: scipy.ndimage for 'same', stride 1, and the
    # numpy.pad + sliding-window correlation for strided, dilated 'full'.
    x = da.from_array(IMAGE, chunks=(4, 9))
    kernel = KERNELS[1]
    got = cd.correlate(x, kernel, mode=mode, cval=0.5).compute(**SYNC)
    want = ndi.correlate(IMAGE, kernel, mode=NDI_MODE[mode], cval=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = cd.convolve(x, kernel, mode=mode, cval=0.5, padding="full",
                      stride=2, dilation=2).compute(**SYNC)
    want = ref_correlate2d(IMAGE, kernel, mode=mode, cval=0.5,
                           padding="full", stride=2, dilation=2,
                           convolve=True)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = cd.gaussian_blur(x, 1.3, mode=mode, cval=0.5).compute(**SYNC)
    want = ndi.gaussian_filter(IMAGE, 1.3, mode=NDI_MODE[mode], cval=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_mode_aliases_and_wide_padding():
    small = IMAGE[:4, :5]
    for mode in ("symmetric", "reflect101", "edge", "periodic", "zeros"):
        check(small, (2, 3), cd.correlate, cfilter.correlate, KERNELS[0],
              mode=mode, padding=9, dilation=2)


@pytest.mark.parametrize("channel_axis", [-1, 0])
@pytest.mark.parametrize("stride", [1, 2])
def test_channel_axis(channel_axis, stride):
    rgb = np.random.default_rng(2).random((3, 17, 19)) if channel_axis == 0 \
        else np.random.default_rng(2).random((17, 19, 3))
    chunks = (1, 5, 6) if channel_axis == 0 else (5, 6, 2)
    kernel = KERNELS[1]
    lazy = check(rgb, chunks, cd.correlate, cfilter.correlate, kernel,
                 channel_axis=channel_axis, stride=stride, mode="wrap",
                 padding=((1, 0), (2, 3)))
    axis = channel_axis % 3
    assert lazy.chunks[axis] == da.from_array(rgb, chunks=chunks).chunks[axis]
    check(rgb, chunks, cd.gaussian_blur, cfilter.gaussian_blur, 1.0,
          channel_axis=channel_axis, stride=stride, mode="mirror")


@pytest.mark.parametrize("axes", [(1, 2), (2, 1)])
def test_stack_axes(axes):
    stack = np.random.default_rng(3).random((4, 15, 18)).astype(np.float32)
    check(stack, (3, 4, 7), cd.convolve, cfilter.convolve, KERNELS[2],
          axes=axes, mode="nearest", stride=(2, 1), dilation=(1, 2))
    check(stack, (3, 4, 7), cd.sobel, cfilter.sobel, axes=axes)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_named_filters(mode, stride):
    x = IMAGE[:19, :22]
    chunks = ((5, 2, 12), (3, 9, 10))
    opts = dict(mode=mode, cval=0.25, stride=stride)
    check(x, chunks, cd.gaussian_blur, cfilter.gaussian_blur, (1.0, 2.0),
          **opts)
    check(x, chunks, cd.gaussian_blur, cfilter.gaussian_blur, 1.0, radius=2,
          **opts)
    check(x, chunks, cd.box_blur, cfilter.box_blur, (4, 3), **opts)
    # Each gradient takes one axis per case; the cases cover all three.
    case = MODES.index(mode) + stride
    for j, name in enumerate(("sobel", "prewitt", "scharr")):
        axis = (0, 1, None)[(case + j) % 3]
        check(x, chunks, getattr(cd, name), getattr(cfilter, name), axis,
              **opts)
    check(x, chunks, cd.laplace, cfilter.laplace, diagonal=True, **opts)
    check(x, chunks, cd.sharpen, cfilter.sharpen, 0.7, **opts)
    check(x, chunks, cd.unsharp_mask, cfilter.unsharp_mask, 1.2, 1.5,
          **opts)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("mode", MODES)
def test_one_axis(axis, mode):
    vol = np.random.default_rng(4).random((9, 11, 13))
    chunks = (4, (2, 2, 7), 5)
    for fns, weights in (((cd.correlate1d, cfilter.correlate1d), [1, -2, 4]),
                         ((cd.convolve1d, cfilter.convolve1d),
                          [0.5, 1, -1, 2])):
        for padding, stride, dilation in (("same", 1, 1), ("valid", 2, 2),
                                          ((4, 1), 3, 1), (7, 2, 1)):
            check(vol, chunks, *fns, weights, axis, mode=mode, cval=2.0,
                  padding=padding, stride=stride, dilation=dilation)


def test_integer_images_and_outputs():
    img = (np.random.default_rng(5).random((20, 21)) * 255).astype(np.uint8)
    # uint8 in, float32 out by default; uint8 out rounded and saturated.
    check(img, (6, 8), cd.correlate, cfilter.correlate, KERNELS[0] / 4)
    check(img, (6, 8), cd.correlate, cfilter.correlate, KERNELS[0],
          output=np.uint8, stride=2)
    # A constant outside the uint8 range, or between integers.
    for cval in (0.5, -3.0, 300.0):
        check(img, (6, 8), cd.correlate, cfilter.correlate, KERNELS[1],
              mode="constant", cval=cval, padding="full")
    check(img.astype(np.int16), (6, 8), cd.unsharp_mask,
          cfilter.unsharp_mask, 1.0, output=np.int16)
    check(img.astype(np.float16), (6, 8), cd.laplace, cfilter.laplace)


def test_chunk_layout():
    x = da.from_array(np.zeros((64, 64), np.float32), chunks=16)
    # 'same', stride 1: the output chunks are the input chunks.
    assert cd.correlate(x, np.ones((5, 5))).chunks == x.chunks
    assert cd.gaussian_blur(x, 1.0).chunks == x.chunks
    # Stride 2: each chunk holds the outputs of its input chunk.
    assert cd.correlate(x, np.ones((5, 5)), stride=2).chunks == \
        ((8,) * 4, (8,) * 4)
    # Chunks smaller than the kernel's reach are merged.
    tiny = da.from_array(np.zeros((64, 64), np.float32), chunks=4)
    out = cd.correlate(tiny, np.ones((9, 9)))
    assert min(min(c) for c in out.chunks) >= 9
    assert out.chunks[0] == (12, 12, 12, 12, 16)


def test_empty_image_as_in_memory():
    # Whatever the in-memory function does with an empty image (an empty
    # result, or today a ValueError), the lazy call does at call time.
    try:
        want = cfilter.correlate(np.zeros((0, 7)), np.ones((3, 3)))
    except ValueError as err:
        with pytest.raises(ValueError, match=str(err).split("(")[0]):
            cd.correlate(da.zeros((0, 7), chunks=3), np.ones((3, 3)))
    else:
        got = cd.correlate(da.zeros((0, 7), chunks=3), np.ones((3, 3)))
        assert got.compute().shape == want.shape


# ---------------------------------------------------------------- nan_policy

#: A 23 x 27 image whose chunks (rows 6 | 2 | 9 | 6, columns 8 | 8 | 11) have
#: NaN on both sides of every chunk border, on the image's edges (which the
#: modes copy across: wrap brings the last row's NaN to the first chunk), a
#: hole over a chunk corner wider than the 3 x 3 kernel, and 10% scattered.
NAN_CHUNKS = ((6, 2, 9, 6), (8, 8, 11))


def holed_image(dtype=np.float64):
    rng = np.random.default_rng(21)
    x = rng.uniform(-1, 1, (23, 27))
    x[rng.random(x.shape) < 0.1] = np.nan
    for edge in (6, 8, 17):
        x[edge - 1, rng.integers(0, 27, 6)] = np.nan
        x[edge, rng.integers(0, 27, 6)] = np.nan
    for edge in (8, 16):
        x[rng.integers(0, 23, 6), edge - 1] = np.nan
        x[rng.integers(0, 23, 6), edge] = np.nan
    x[[0, -1], 3] = np.nan
    x[11, [0, -1]] = np.nan
    x[3:10, 4:12] = np.nan
    return x.astype(dtype)


def check_ignore(dask_fn, eager_fn, *args, image=None, **kwargs):
    image = holed_image() if image is None else image
    got = check(image, NAN_CHUNKS, dask_fn, eager_fn, *args,
                nan_policy="ignore", **kwargs).compute(**SYNC)
    # 'ignore' took effect in the chunks: it fills pixels that 'propagate'
    # leaves NaN, and leaves NaN only where no weight is valid.
    propagated = eager_fn(image, *args, **kwargs)
    assert np.isnan(got).sum() < np.isnan(propagated).sum()
    return got


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 2),
                                              ((2, 3), 2)])
def test_nan_ignore_filters_equal_in_memory(mode, stride, dilation):
    # NaN next to chunk borders reaches the neighbouring chunk's slab.
    opts = dict(mode=mode, cval=0.5, stride=stride)
    for kernel in (KERNELS[0], KERNELS[2]):
        for padding in ("same", "valid", ((2, 0), (1, 3))):
            check_ignore(cd.correlate, cfilter.correlate, kernel,
                         padding=padding, dilation=dilation, **opts)
    check_ignore(cd.convolve, cfilter.convolve, KERNELS[1],
                 padding="full", dilation=dilation, **opts)
    check_ignore(cd.gaussian_blur, cfilter.gaussian_blur, 1.2, **opts)
    check_ignore(cd.box_blur, cfilter.box_blur, (3, 4), **opts)
    check_ignore(cd.unsharp_mask, cfilter.unsharp_mask, 1.0, 1.5, **opts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1])
def test_nan_ignore_one_axis_equal_in_memory(mode, axis):
    for fns, weights in (((cd.correlate1d, cfilter.correlate1d), [1, 2, 3]),
                         ((cd.convolve1d, cfilter.convolve1d),
                          [0.5, 1, 2, 0.25])):
        for padding, stride, dilation in (("same", 1, 1), ("valid", 2, 2),
                                          ((4, 1), 3, 1)):
            check_ignore(*fns, weights, axis, mode=mode, cval=-2.0,
                         padding=padding, stride=stride, dilation=dilation)


def test_nan_ignore_float32_and_constant_nan():
    check_ignore(cd.gaussian_blur, cfilter.gaussian_blur, 1.5,
                 image=holed_image(np.float32), mode="wrap")
    # A NaN cval is a NaN outside the image, left out like the others.
    for policy in ("ignore", "propagate"):
        check(holed_image(), NAN_CHUNKS, cd.correlate, cfilter.correlate,
              KERNELS[0], mode="constant", cval=np.nan, padding="full",
              nan_policy=policy)


@pytest.mark.parametrize("mode", MODES)
def test_nan_ignore_against_normalised_convolution(mode):
    # Independent reference, from the definition (DESIGN section 8) on
    # conftest's numpy.pad correlation: sum_valid(w*x) * sum(w) /
    # sum_valid(w), the mode extending the validity as it extends x.
    x = holed_image()
    w = np.outer([1.0, 2.0, 1.0], [1.0, 3.0, 2.0, 1.0])
    valid = ~np.isnan(x)
    num = ref_correlate2d(np.where(valid, x, 0.0), w, mode=mode, cval=0.5)
    den = ref_correlate2d(valid.astype(float), w, mode=mode, cval=1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(den > 0, num * w.sum() / den, np.nan)
    got = cd.correlate(da.from_array(x, chunks=NAN_CHUNKS), w, mode=mode,
                       cval=0.5, nan_policy="ignore").compute(**SYNC)
    assert np.isnan(want).any() and not np.isnan(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_nan_policy_checked_at_call_time():
    x = da.from_array(IMAGE, chunks=10)
    for fn, args in ((cd.correlate, (KERNELS[0],)),
                     (cd.convolve1d, ([1.0, 2.0],)),
                     (cd.gaussian_blur, (1.0,)), (cd.box_blur, (3,)),
                     (cd.unsharp_mask, (1.0,))):
        with pytest.raises(ValueError, match="nan_policy"):
            fn(x, *args, nan_policy="omit")


# ------------------------------------------------------------ match_template

TM_IMAGE = np.random.default_rng(22).random((29, 34))
TEMPLATES = [TM_IMAGE[4:11, 20:26].copy(),        # 7 x 6
             TM_IMAGE[10:15, 3:12].copy()]        # 5 x 9
#: Regular chunks, chunks smaller than the templates, and one chunk.
TM_CHUNKS = [(8, 10), ((3, 20, 6), (4, 4, 26)), (29, 34)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", ["valid", "same", "full", 3,
                                     ((0, 4), (2, 1))], ids=str)
def test_match_template_equals_in_memory(mode, padding):
    for case, chunks in enumerate(TM_CHUNKS):
        template = TEMPLATES[(case + MODES.index(mode)) % 2]
        lazy = cd.match_template(da.from_array(TM_IMAGE, chunks=chunks),
                                 template, padding=padding, mode=mode,
                                 cval=0.4)
        want = cfilter.match_template(TM_IMAGE, template, padding=padding,
                                      mode=mode, cval=0.4)
        got = lazy.compute(**SYNC)
        assert lazy.shape == want.shape == got.shape
        assert lazy.dtype == want.dtype == got.dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_match_template_against_skimage(mode):
    feature = pytest.importorskip("skimage.feature")
    x = da.from_array(TM_IMAGE, chunks=(8, 10))
    for template in TEMPLATES:
        got = cd.match_template(x, template).compute(**SYNC)
        want = feature.match_template(TM_IMAGE, template)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
        assert np.unravel_index(np.argmax(got), got.shape) == \
            np.unravel_index(np.argmax(want), want.shape)
        kw = {"constant_values": 0.4} if mode == "constant" else {}
        got = cd.match_template(x, template, padding="same", mode=mode,
                                cval=0.4).compute(**SYNC)
        want = feature.match_template(TM_IMAGE, template, pad_input=True,
                                      mode=NP_PAD_MODE[mode], **kw)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("channel_axis", [-1, 0])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_match_template_channels(channel_axis, padding):
    feature = pytest.importorskip("skimage.feature")
    rgb = np.random.default_rng(23).random((17, 19, 3))
    template = rgb[5:10, 8:15].copy()
    image, tpl, chunks = rgb, template, (5, 6, 2)
    if channel_axis == 0:
        image, tpl = np.moveaxis(rgb, -1, 0), np.moveaxis(template, -1, 0)
        chunks = (1, 5, 6)
    lazy = cd.match_template(da.from_array(image, chunks=chunks), tpl,
                             padding=padding, mode="mirror",
                             channel_axis=channel_axis)
    want = cfilter.match_template(image, tpl, padding=padding,
                                  mode="mirror", channel_axis=channel_axis)
    got = lazy.compute(**SYNC)
    assert lazy.ndim == 2 and lazy.shape == want.shape == got.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # skimage's 3-D match, its single channel position.
    ref = feature.match_template(rgb, template, pad_input=padding == "same",
                                 mode="reflect")
    ref = ref[..., 1] if padding == "same" else ref[..., 0]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def test_match_template_integer_image():
    img = (TM_IMAGE * 255).astype(np.uint8)
    for cval in (0.0, 0.5, 300.0):     # 0.5 and 300 do not fit in uint8
        lazy = cd.match_template(da.from_array(img, chunks=(8, 10)),
                                 img[4:11, 20:26], padding="same",
                                 mode="constant", cval=cval)
        want = cfilter.match_template(img, img[4:11, 20:26], padding="same",
                                      mode="constant", cval=cval)
        assert lazy.dtype == want.dtype == np.float32
        np.testing.assert_allclose(lazy.compute(**SYNC), want, rtol=0,
                                   atol=1e-5)


def test_match_template_is_lazy():
    calls, armed = [], []

    def source(block):
        if armed:
            calls.append(block.shape)
        return block * 2.0

    x = da.from_array(TM_IMAGE, chunks=(10, 12)).map_blocks(source)
    armed.append(True)
    lazy = cd.match_template(x, TEMPLATES[0] * 2.0, padding="same")
    assert calls == [] and lazy.shape == TM_IMAGE.shape
    want = cfilter.match_template(TM_IMAGE * 2.0, TEMPLATES[0] * 2.0,
                                  padding="same")
    np.testing.assert_allclose(lazy.compute(**SYNC), want, atol=1e-12)
    assert calls


def test_match_template_errors_as_in_memory():
    x = np.zeros((5, 6))
    small = da.from_array(x, chunks=2)
    template = np.random.default_rng(24).random((7, 3))
    cases = [(dict(), "template"),
             (dict(channel_axis=-1), "channel_axis"),
             (dict(mode="bogus"), "mode"),
             (dict(method="box"), "method"),
             (dict(padding="bogus"), "padding")]
    for kwargs, what in cases:
        with pytest.raises((ValueError, TypeError)) as want:
            cfilter.match_template(x, template, **kwargs)
        with pytest.raises(type(want.value)) as got:
            cd.match_template(small, template, **kwargs)
        assert str(got.value) == str(want.value), what
    # The message quotes the whole image's shape.
    with pytest.raises(ValueError, match=r"2-D \(got shape \(4, 5, 6\)\)"):
        cd.match_template(da.zeros((4, 5, 6), chunks=2), template)


def test_kernel_larger_than_image_raises_as_in_memory():
    # The in-memory message, not an IndexError from the chunk layout.
    x = np.random.default_rng(25).random((5, 6))
    for lazy_fn, eager_fn, args in (
            (cd.correlate, cfilter.correlate, (np.ones((7, 3)),)),
            (cd.convolve1d, cfilter.convolve1d, ([1.0] * 8, 1)),
            (cd.match_template, cfilter.match_template, (np.eye(7, 3),))):
        for padding in ("valid", 0):
            with pytest.raises(ValueError) as want:
                eager_fn(x, *args, padding=padding)
            with pytest.raises(ValueError) as got:
                lazy_fn(da.from_array(x, chunks=2), *args, padding=padding)
            assert str(got.value) == str(want.value)
    # Padding that makes up for the short axis: a one-row result.
    check(x, 2, cd.correlate, cfilter.correlate, np.ones((7, 3)),
          padding=((1, 1), (0, 0)))
    check(x, 2, cd.match_template, cfilter.match_template, np.eye(7, 3),
          padding=((1, 1), (0, 0)), mode="wrap")


# ------------------------------------------------------- module and helpers

def test_dir_lists_the_public_functions():
    import inspect
    names = dir(cd)
    assert names == sorted(cd.__all__)
    for leaked in ("np", "da", "functools", "itertools", "HighLevelGraph",
                   "tokenize", "cfilter", "kernels"):
        assert leaked not in names
    defined = {n for n, f in vars(cd).items()
               if inspect.isfunction(f) and f.__module__ == cd.__name__
               and not n.startswith("_")}
    assert defined == set(cd.__all__)
    assert "frequency_filter" not in names      # stays in memory


def test_index_maps_from_the_public_function(monkeypatch):
    # Building a graph filters nothing on the side (no correlate1d probe of
    # an arange): the slabs' index maps are cfilter.boundary_indices.
    probes, maps = [], []
    original_1d, original_map = cfilter.correlate1d, cfilter.boundary_indices

    def spy_1d(*args, **kwargs):
        probes.append(args)
        return original_1d(*args, **kwargs)

    def spy_map(*args, **kwargs):
        maps.append(args)
        return original_map(*args, **kwargs)

    monkeypatch.setattr(cfilter, "correlate1d", spy_1d)
    monkeypatch.setattr(cfilter, "boundary_indices", spy_map)
    x = da.from_array(IMAGE, chunks=(5, 7))
    for mode in MODES:
        cd.correlate(x, KERNELS[1], mode=mode, padding="full")
        cd.gaussian_blur(x, 1.0, mode=mode)
    assert probes == []
    assert len(maps) == 2 * 2 * len(MODES)
    # The map covers every coordinate the slabs read, image edges included.
    assert (23, -3, 23 + 3 + 3, "reflect") in maps


# ------------------------------------------------------------------ laziness

def test_nothing_runs_before_compute():
    calls, armed = [], []

    def source(block):
        if armed:                      # not dask's own meta probes
            calls.append(block.shape)
        return block + 1.0

    x = da.zeros((40, 50), chunks=(10, 20)).map_blocks(source)
    armed.append(True)
    results = [cd.correlate(x, KERNELS[0], mode="wrap", stride=2),
               cd.convolve1d(x, [1, 2], axis=0),
               cd.gaussian_blur(x, 2.0), cd.sobel(x), cd.unsharp_mask(x, 1)]
    assert calls == []
    for r in results:
        assert r.shape and r.dtype == np.float64 and r.chunks
    want = cfilter.gaussian_blur(np.ones((40, 50)), 2.0)
    np.testing.assert_allclose(results[2].compute(**SYNC), want)
    assert calls                                   # ran at compute time


def test_block_threads_policy(monkeypatch):
    seen = []
    original = cfilter.correlate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("workers"))
        return original(*args, **kwargs)

    monkeypatch.setattr(cfilter, "correlate", spy)
    x = da.from_array(IMAGE, chunks=10)
    cd.correlate(x, KERNELS[0]).compute(**SYNC)
    assert seen and set(seen) == {1}
    seen.clear()
    cd.correlate(x, KERNELS[0], workers=2).compute(**SYNC)
    assert set(seen) == {2}


# -------------------------------------------------------------------- errors

def test_errors():
    x = da.from_array(IMAGE, chunks=10)
    with pytest.raises(ValueError, match="mode"):
        cd.correlate(x, KERNELS[0], mode="bogus")
    with pytest.raises(TypeError, match="output"):
        cd.correlate(x, KERNELS[0], output=np.empty((23, 31)))
    with pytest.raises(ValueError):
        cd.correlate(da.zeros((2, 3, 4, 5)), KERNELS[0])
    with pytest.raises(ValueError, match="stride"):
        cd.gaussian_blur(x, 1.0, stride=0)
    with pytest.raises(ValueError):
        cd.correlate(x, KERNELS[0], padding="bogus")


def test_import_is_lazy_and_optional():
    code = ("import sys, cfilter; assert 'dask' not in sys.modules; "
            "sys.modules['dask'] = None\n"
            "try:\n    import cfilter.dask\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert "pip install cfilter[dask]" in out


# ---------------------------------------------------------------- a cluster

def test_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2,
                                  processes=False, host="127.0.0.1",
                                  protocol="tcp://", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        x = da.from_array(IMAGE, chunks=(7, 9))
        lazy = cd.correlate(x, KERNELS[1], mode="wrap", stride=2,
                            dilation=2, padding="full")
        got = client.compute(lazy).result()
        want = cfilter.correlate(IMAGE, KERNELS[1], mode="wrap", stride=2,
                                 dilation=2, padding="full")
        np.testing.assert_allclose(got, want, rtol=1e-12)
        got = cd.gaussian_blur(x, 1.5).compute()      # the default client
        np.testing.assert_allclose(got, cfilter.gaussian_blur(IMAGE, 1.5))


# ------------------------------------------------------------ out of core

def _peak(write):
    tracemalloc.start()
    try:
        with dask.config.set(scheduler="threads", num_workers=2):
            write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zarr_to_zarr_bounded_memory(tmp_path):
    # cfilter.dask.to_zarr holds a few chunk rows, whatever the height:
    # a 24 x 4 grid of 128 x 128 float32 chunks (6 MB), bound 8 chunk rows.
    zarr = pytest.importorskip("zarr")
    rows, cols, chunk = 24, 4, 128
    src = zarr.open_array(str(tmp_path / "in.zarr"), mode="w",
                          shape=(rows * chunk, cols * chunk),
                          chunks=(chunk, chunk), dtype="float32")
    rng = np.random.default_rng(6)
    for i in range(0, rows * chunk, chunk):        # written a band at a time
        src[i:i + chunk] = rng.random((chunk, cols * chunk), dtype=np.float32)
    image = da.from_zarr(str(tmp_path / "in.zarr"))
    # Warm up (imports, the planner's first call) outside the measurement.
    cd.to_zarr(cd.gaussian_blur(image[:256, :256], 3.0),
               zarr.storage.MemoryStore())
    lazy = cd.gaussian_blur(image, 3.0, mode="mirror")
    peak = _peak(lambda: cd.to_zarr(lazy, str(tmp_path / "out.zarr")))
    chunk_row = cols * chunk * chunk * 4
    assert peak <= 8 * chunk_row, peak / chunk_row
    out = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert out.chunks == (chunk, chunk)
    want = ndi.gaussian_filter(src[:], 3.0, mode="mirror")
    np.testing.assert_allclose(out[:], want, rtol=1e-5, atol=1e-6)


def test_to_zarr_reads_each_chunk_once():
    zarr = pytest.importorskip("zarr")
    reads = []
    image = np.random.default_rng(7).random((100, 60))

    def source(block, block_info=None):
        reads.append(block_info[0]["chunk-location"])
        return block

    x = da.from_array(image, chunks=(20, 30)).map_blocks(source,
                                                         dtype=image.dtype)
    # (with "wrap" the first and last bands also read the opposite edge)
    lazy = cd.correlate(x, KERNELS[0], mode="reflect")
    for band in (1, 2, 7):
        reads.clear()
        out = cd.to_zarr(lazy, zarr.storage.MemoryStore(), band=band)
        assert len(reads) == 10, (band, len(reads))
        want = ndi.correlate(image, KERNELS[0], mode=NDI_MODE["reflect"])
        np.testing.assert_allclose(out[:], want, rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 3])
def test_to_zarr_irregular_chunks_and_existing_array(stride):
    zarr = pytest.importorskip("zarr")
    image = np.random.default_rng(8).random((95, 70))
    x = da.from_array(image, chunks=(23, 17))
    lazy = cd.gaussian_blur(x, 2.0, stride=stride, mode="nearest")
    want = cfilter.gaussian_blur(image, 2.0, stride=stride, mode="nearest")
    out = cd.to_zarr(lazy, zarr.storage.MemoryStore(), band=2)
    np.testing.assert_allclose(out[:], want, rtol=1e-6, atol=1e-9)
    target = zarr.open_array(zarr.storage.MemoryStore(), mode="w",
                             shape=want.shape, chunks=(10, 25),
                             dtype=want.dtype)
    assert cd.to_zarr(lazy, target) is target
    np.testing.assert_allclose(target[:], want, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="band"):
        cd.to_zarr(lazy, zarr.storage.MemoryStore(), band=0)
    with pytest.raises(ValueError, match="shape"):
        cd.to_zarr(lazy[1:], target)


def test_chunks_run_one_at_a_time():
    # Under the synchronous scheduler each output chunk's task holds only its
    # own slab: no task sees more than chunk + overlap.
    sizes = []
    lock = threading.Lock()
    original = cfilter.gaussian_blur

    def spy(slab, *args, **kwargs):
        with lock:
            sizes.append(slab.size)
        return original(slab, *args, **kwargs)

    x = da.zeros((256, 256), chunks=64, dtype=np.float32)
    try:
        cfilter.gaussian_blur = spy
        lazy = cd.gaussian_blur(x, 2.0)
    finally:
        cfilter.gaussian_blur = original
    lazy.compute(**SYNC)
    reach = 2 * int(4.0 * 2.0 + 0.5) + 1
    assert len(sizes) >= 16
    assert max(sizes) <= (64 + reach) ** 2


def test_example_script(tmp_path):
    # docs/examples_dask_zarr.py, end to end on a small image.
    zarr = pytest.importorskip("zarr")
    import runpy
    from pathlib import Path
    script = Path(__file__).parent.parent / "docs" / "examples_dask_zarr.py"
    main = runpy.run_path(str(script))["main"]
    dst = main(["--size", "300", "--chunk", "64", "--sigma", "2",
                "--dir", str(tmp_path)])
    src = zarr.open_array(str(tmp_path / "input.zarr"), mode="r")[:]
    got = zarr.open_array(dst, mode="r")[:]
    want = ndi.gaussian_filter(src, 2.0, mode="mirror")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
