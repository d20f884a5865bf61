"""Empty inputs give empty results of the computed shape (DESIGN.md §2),
as scipy.ndimage and torch give them: one table, every public function of
``cfilter``, ``cfilter.filters`` and ``cfilter.nn`` (a completeness test
checks that none is missing) x every layout with a zero-length axis --
2-D, channel-last colour, channel-first colour and stacks of planes.

The expected shapes come from independent references where they define
one: scipy.ndimage (the filters, with length-1 kernel axes along the
non-spatial axes), scipy.signal.convolve2d's 'full' output (the
transposed convolution at stride 1), scikit-image and numpy's shape rules,
and torch.nn.functional (zero batches and channels).

Ported cases: scipy.ndimage's ``test_filters.py`` empty inputs, torch's
``test_convolution.py`` ``test_conv_empty_channel`` and ``test_nn.py``'s
``_test_module_empty_input`` (zero batches).
"""
import numpy as np
import pytest
import scipy.signal as sps
from scipy import ndimage as ndi

import cfilter
import cfilter.filters
import cfilter.nn
from conftest import requires_torch

try:
    import torch
    import torch.nn.functional as F
except ImportError:          # the tests marked requires_torch skip
    torch = None

RNG = np.random.default_rng(7)
W = RNG.random((3, 3))
W5 = RNG.random((2, 5))            # an even, non-square kernel
COL, ROW = RNG.random(3), RNG.random(4)

# name: (shape, keywords that tell the layout, spatial axes)
LAYOUTS = {
    "2-D, no rows": ((0, 5), {}, (0, 1)),
    "2-D, no columns": ((5, 0), {}, (0, 1)),
    "2-D, nothing": ((0, 0), {}, (0, 1)),
    "channel-last, no rows": ((0, 5, 3), {"channel_axis": -1}, (0, 1)),
    "channel-last, no columns": ((5, 0, 3), {"channel_axis": -1}, (0, 1)),
    "channel-last, no channels": ((5, 6, 0), {"channel_axis": -1}, (0, 1)),
    "channel-first, no channels": ((0, 5, 6), {"channel_axis": 0}, (1, 2)),
    "channel-first, no rows": ((3, 0, 6), {"channel_axis": 0}, (1, 2)),
    "channel-first, no columns": ((3, 5, 0), {"channel_axis": 0}, (1, 2)),
    "stack, no planes": ((0, 6, 7), {"axes": (1, 2)}, (1, 2)),
    "stack, no rows": ((2, 0, 7), {"axes": (1, 2)}, (1, 2)),
    "4-D stack, no columns": ((2, 3, 6, 0), {"axes": (2, 3)}, (2, 3)),
}
# The layouts of the functions that take no ``axes`` (2-D and colour).
COLOUR_LAYOUTS = [name for name, (_, kw, _) in LAYOUTS.items()
                  if "axes" not in kw]


def nd(kernel, ndim, axes):
    """``kernel`` with length-1 axes along the non-spatial axes, for
    scipy.ndimage."""
    shape = [1] * ndim
    shape[axes[0]], shape[axes[1]] = kernel.shape
    return kernel.reshape(shape)


def spatial(values, ndim, axes, fill):
    """A per-axis tuple: ``values`` on the spatial axes, ``fill`` elsewhere."""
    out = [fill] * ndim
    out[axes[0]], out[axes[1]] = values
    return tuple(out)


def transposed(shape, axes, kernel_shape):
    """The stride-1 transposed correlation's shape: each plane's
    scipy.signal.convolve2d 'full' output."""
    full = sps.convolve2d(np.zeros([shape[a] for a in axes]),
                          np.ones(kernel_shape), mode="full").shape
    out = list(shape)
    out[axes[0]], out[axes[1]] = full
    return tuple(out)


# function name: (call(x, layout keywords, spatial axes), expected
# shape(x, spatial axes)).
# Each public function of the 2-D family, with the options that take other
# paths (strides, methods, NaN policy, output arrays and dtypes).
TABLE = {
    "correlate": (
        lambda x, kw, axes: cfilter.correlate(x, W, **kw),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes)).shape),
    "convolve": (
        lambda x, kw, axes: cfilter.convolve(x, W5, **kw),
        lambda x, axes: ndi.convolve(x, nd(W5, x.ndim, axes)).shape),
    "correlate, stride 2": (
        lambda x, kw, axes: cfilter.correlate(x, W, stride=2, **kw),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes))[
            spatial((slice(None, None, 2),) * 2, x.ndim, axes,
                    slice(None))].shape),
    "correlate, nan_policy='ignore'": (
        lambda x, kw, axes: cfilter.correlate(x, W, nan_policy="ignore", **kw),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes)).shape),
    "correlate, method='fft'": (
        lambda x, kw, axes: cfilter.correlate(x, W, method="fft", **kw),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes)).shape),
    "correlate, method='box'": (
        lambda x, kw, axes: cfilter.correlate(x, np.ones((3, 3)), method="box",
                                        **kw),
        lambda x, axes: ndi.uniform_filter(
            x, spatial((3, 3), x.ndim, axes, 1)).shape),
    "correlate, method='separable'": (
        lambda x, kw, axes: cfilter.correlate(x, np.outer(COL, ROW),
                                        method="separable", **kw),
        lambda x, axes: ndi.correlate(
            x, nd(np.outer(COL, ROW), x.ndim, axes)).shape),
    "correlate, output=uint8": (
        lambda x, kw, axes: cfilter.correlate(x, W, output=np.uint8, **kw),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes),
                                      output=np.uint8).shape),
    "correlate1d": (
        lambda x, kw, axes: cfilter.correlate1d(x, ROW, axis=axes[1]),
        lambda x, axes: ndi.correlate1d(x, ROW, axis=axes[1]).shape),
    "convolve1d": (
        lambda x, kw, axes: cfilter.convolve1d(x, COL, axis=axes[0]),
        lambda x, axes: ndi.convolve1d(x, COL, axis=axes[0]).shape),
    "sep_filter": (
        lambda x, kw, axes: cfilter.sep_filter(x, ROW, COL, **kw),
        lambda x, axes: ndi.correlate1d(ndi.correlate1d(x, COL, axes[0]),
                                        ROW, axes[1]).shape),
    "plan": (
        lambda x, kw, axes: np.empty(cfilter.plan(x, W, **kw).output_shape),
        lambda x, axes: ndi.correlate(x, nd(W, x.ndim, axes)).shape),
    "conv_transpose": (
        lambda x, kw, axes: cfilter.conv_transpose(x, W5, **kw),
        lambda x, axes: transposed(x.shape, axes, W5.shape)),
    "gaussian_blur": (
        lambda x, kw, axes: cfilter.gaussian_blur(x, 1.5, **kw),
        lambda x, axes: ndi.gaussian_filter(
            x, spatial((1.5, 1.5), x.ndim, axes, 0)).shape),
    "gaussian_blur, nan_policy='ignore'": (
        lambda x, kw, axes: cfilter.gaussian_blur(x, 1.5, nan_policy="ignore",
                                            **kw),
        lambda x, axes: ndi.gaussian_filter(
            x, spatial((1.5, 1.5), x.ndim, axes, 0)).shape),
    "box_blur": (
        lambda x, kw, axes: cfilter.box_blur(x, 3, **kw),
        lambda x, axes: ndi.uniform_filter(
            x, spatial((3, 3), x.ndim, axes, 1)).shape),
    "sobel": (
        lambda x, kw, axes: cfilter.sobel(x, **kw),
        lambda x, axes: ndi.sobel(x, axis=axes[0]).shape),
    "prewitt": (
        lambda x, kw, axes: cfilter.prewitt(x, axis=0, **kw),
        lambda x, axes: ndi.prewitt(x, axis=axes[0]).shape),
    "scharr": (
        lambda x, kw, axes: cfilter.scharr(x, **kw),
        lambda x, axes: ndi.correlate(
            x, nd(np.asarray(cfilter.kernels.scharr(0)), x.ndim,
                  axes)).shape),
    "laplace": (
        lambda x, kw, axes: cfilter.laplace(x, **kw),
        lambda x, axes: ndi.correlate(
            x, nd(np.asarray(cfilter.kernels.laplacian()), x.ndim,
                  axes)).shape),
    "sharpen": (
        lambda x, kw, axes: cfilter.sharpen(x, **kw),
        lambda x, axes: ndi.correlate(
            x, nd(np.asarray(cfilter.kernels.sharpen()), x.ndim,
                  axes)).shape),
    "unsharp_mask": (
        lambda x, kw, axes: cfilter.unsharp_mask(x, 1.0, output=np.uint8, **kw),
        lambda x, axes: ndi.gaussian_filter(
            x, spatial((1.0, 1.0), x.ndim, axes, 0)).shape),
}
# The functions without ``axes``: 2-D images and colour only.
COLOUR_TABLE = {
    "frequency_filter": (
        lambda x, kw, axes: cfilter.frequency_filter(x, 0.1, **kw),
        lambda x, axes: x.shape),
    "frequency_filter, pad=2, highpass, output=uint8": (
        lambda x, kw, axes: cfilter.frequency_filter(x, 0.1, kind="highpass",
                                               pad=2, output=np.uint8, **kw),
        lambda x, axes: x.shape),
    "frequency_filter, bandpass, steep": (
        lambda x, kw, axes: cfilter.frequency_filter(x, (0.1, 0.2),
                                               kind="bandpass", order=50,
                                               **kw),
        lambda x, axes: x.shape),
    "match_template, padding='same'": (
        lambda x, kw, axes: cfilter.match_template(x, _template(x, kw),
                                             padding="same", **kw),
        lambda x, axes: tuple(x.shape[a] for a in axes)),
    "match_template, padding='valid'": (
        lambda x, kw, axes: cfilter.match_template(x, _template(x, kw, (2, 3)),
                                             **kw),
        # (the 'valid' lengths, an empty axis staying empty)
        lambda x, axes: tuple(n and n - k + 1 for n, k in
                              zip((x.shape[a] for a in axes), (2, 3)))),
}


def _template(x, kw, spatial_shape=(3, 3)):
    """A random template with the image's channels."""
    shape = list(spatial_shape)
    if "channel_axis" in kw:
        shape.insert(kw["channel_axis"] % 3, x.shape[kw["channel_axis"]])
    return RNG.random(shape)


def _check(call, expected_shape, layout, dtype):
    shape, kw, axes = LAYOUTS[layout]
    x = np.zeros(shape, dtype)
    keep = x.copy()
    got = call(x, dict(kw), axes)
    want = expected_shape(x.astype(np.float64), axes)
    assert got.shape == tuple(want)
    assert not np.any(got)          # nothing but zeros (or nothing at all)
    np.testing.assert_array_equal(x, keep)
    return got


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("function", list(TABLE))
def test_empty_image_gives_the_computed_shape(function, layout, dtype):
    call, expected_shape = TABLE[function]
    got = _check(call, expected_shape, layout, dtype)
    if function.startswith(("correlate", "convolve", "sep", "gaussian",
                            "box")) and "output" not in function:
        # the dtype rules hold for empty results too
        want = np.float64 if dtype == np.float64 else np.float32
        assert got.dtype == want


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("layout", COLOUR_LAYOUTS)
@pytest.mark.parametrize("function", list(COLOUR_TABLE))
def test_empty_image_gives_the_computed_shape_without_axes(function, layout,
                                                           dtype):
    call, expected_shape = COLOUR_TABLE[function]
    _check(call, expected_shape, layout, dtype)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_empty_result_into_an_output_array(layout):
    shape, kw, axes = LAYOUTS[layout]
    x = np.zeros(shape, np.uint8)
    out = np.empty(ndi.correlate(x, nd(W, x.ndim, axes)).shape, np.int16)
    assert cfilter.correlate(x, W, output=out, **kw) is out


def test_plan_of_an_empty_image_says_why():
    p = cfilter.plan(np.zeros((1, 0), np.uint8), W)
    assert p.output_shape == (1, 0) and "empty" in p.reason


def test_zero_channels_score_zero_everywhere():
    # A window over no channels holds no values: no variance, score 0 (the
    # flat rule), on the spatial grid 'same' gives.
    got = cfilter.match_template(np.zeros((5, 6, 0)), np.zeros((3, 3, 0)),
                                 padding="same", channel_axis=-1)
    assert got.shape == (5, 6) and np.all(got == 0)


# -- cfilter.nn: NCHW batches, against torch ---------------------------------

def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


NN_CASES = {
    # name: (input shape, weight shape, keywords); torch defines the shape
    "conv2d, zero batch, groups": ((0, 4, 9, 9), (6, 2, 3, 3),
                                   dict(groups=2, padding=1)),
    "conv2d, zero batch, stride": ((0, 4, 9, 9), (6, 2, 3, 3),
                                   dict(groups=2, stride=2)),
    "conv2d, zero batch, dilation": ((0, 4, 9, 9), (6, 2, 3, 3),
                                     dict(groups=2, dilation=2)),
    "conv2d, zero batch, reflect": ((0, 4, 9, 9), (6, 4, 3, 3),
                                    dict(padding=1, padding_mode="reflect")),
}


@requires_torch
@pytest.mark.parametrize("case", list(NN_CASES))
def test_nn_conv2d_zero_batch_matches_torch(case):
    xs, ws, kw = NN_CASES[case]
    x = RNG.random(xs).astype(np.float32)
    w = RNG.random(ws).astype(np.float32)
    b = RNG.random(ws[0]).astype(np.float32)
    got = cfilter.nn.conv2d(x, w, b, **kw)
    want = F.conv2d(F.pad(_t(x), (1,) * 4, mode="reflect"), _t(w), _t(b)) \
        if kw.get("padding_mode") == "reflect" else \
        F.conv2d(_t(x), _t(w), _t(b), **kw)
    assert got.shape == tuple(want.shape)


@requires_torch
@pytest.mark.parametrize("kw", [dict(stride=2),
                                dict(stride=2, padding=1, output_padding=1)])
def test_nn_conv_transpose2d_zero_batch_matches_torch(kw):
    x = RNG.random((0, 4, 5, 6)).astype(np.float32)
    w = RNG.random((4, 3, 3, 3)).astype(np.float32)
    got = cfilter.nn.conv_transpose2d(x, w, **kw)
    want = F.conv_transpose2d(_t(x), _t(w), **kw)
    assert got.shape == tuple(want.shape)


def _no_input_channels():
    # torch test_convolution.test_conv_empty_channel: Conv2d(0, 33, 3,
    # stride=2) on a (2, 0, 50, 100) input.
    x = np.zeros((2, 0, 50, 100), np.float32)
    w = RNG.random((33, 0, 3, 3)).astype(np.float32)
    b = RNG.random(33).astype(np.float32)
    return x, w, b


def test_nn_conv2d_zero_input_channels_give_the_bias():
    # The sum over no channels is 0, so the layer gives its bias
    # broadcast, (2, 33, 24, 49), as DESIGN.md §2 asks.
    x, w, b = _no_input_channels()
    got = cfilter.nn.conv2d(x, w, b, stride=2)
    assert got.shape == (2, 33, 24, 49)
    assert np.array_equal(got, np.broadcast_to(b[:, None, None], got.shape))
    assert not cfilter.nn.conv2d(x, w, stride=2).any()


@requires_torch
def test_nn_conv2d_zero_input_channels_spatial_shape_matches_torch():
    # torch's own test passes check_size=False; torch 2.x itself returns a
    # (2, 0, 24, 49) array there, so only the spatial shape is compared.
    x, w, b = _no_input_channels()
    got = cfilter.nn.conv2d(x, w, b, stride=2)
    torch_out = F.conv2d(_t(x), _t(w), _t(b), stride=2)
    assert tuple(torch_out.shape[2:]) == got.shape[2:]


def test_nn_zero_output_channels_give_an_empty_result():
    # torch refuses a weight with no output channels; the empty result of
    # the computed shape is what DESIGN.md §2 asks for.
    x = RNG.random((2, 3, 5, 6)).astype(np.float32)
    w = RNG.random((0, 3, 3, 3)).astype(np.float32)
    assert cfilter.nn.conv2d(x, w).shape == (2, 0, 3, 4)
    assert cfilter.nn.conv_transpose2d(x, RNG.random((3, 0, 3, 3))).shape \
        == (2, 0, 7, 8)


@requires_torch
@pytest.mark.parametrize("fn", ["conv2d", "conv_transpose2d"])
def test_nn_zero_height_is_refused_as_torch_refuses_it(fn):
    # torch supports zero batches and channels only; a zero spatial length
    # is an error there, and a clear ValueError here.
    x = np.zeros((1, 1, 0, 5), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(RuntimeError):
        getattr(F, fn)(_t(x), _t(w), padding=1)
    with pytest.raises(ValueError, match="input_shape"):
        getattr(cfilter.nn, fn)(x, w, padding=1)


# -- every public function is covered ----------------------------------------

# Public names that take no image, each with the reason.
NO_IMAGE = {
    "FilterPlan": "the result type of plan()",
    "get_num_threads": "no array argument",
    "set_num_threads": "no array argument",
    "mode_names": "no array argument",
    "kernels": "a module of kernel builders (no image)",
    "nn": "a module, covered by the nn tests above",
    "show_config": "no array argument",
    "boundary_indices": "takes an axis length, no image; an empty axis is "
                        "covered by tests/test_boundary_indices.py",
    "conv_output_shape": "takes shapes; a zero length is refused with a "
                         "ValueError naming input_shape, as torch refuses "
                         "a zero spatial length",
    "transposed_output_shape": "takes shapes (as conv_output_shape)",
    "convolution_matrix": "takes the input's shape (as conv_output_shape)",
}
NN_FUNCTIONS = {"conv2d", "conv_transpose2d"}


def test_the_tables_cover_every_public_function():
    names = set(cfilter.__all__) | set(cfilter.filters.__all__)
    covered = {name.split(",")[0] for name in list(TABLE) + list(COLOUR_TABLE)}
    assert names - covered - set(NO_IMAGE) == set()
    assert set(cfilter.nn.__all__) == NN_FUNCTIONS
    for name in NO_IMAGE:
        assert name in names
