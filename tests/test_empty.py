"""Empty inputs give empty results of the computed shape (DESIGN.md §2,
issue 11 item 3), as scipy.ndimage and torch give them.

Ported cases: scipy.ndimage's ``test_filters.py`` checks that its filters
return an empty array for an empty input (``test_correlate1d``-style zero
length inputs and the ``test_gaussian_filter`` / ``uniform_filter`` empty
cases); torch's ``test_convolution.py`` ``test_conv_empty_channel`` and
``test_nn.py``'s ``_test_module_empty_input`` cases for zero batches (a
(0, C, H, W) input) and zero input channels ((2, 0, 50, 100) into a
33-channel layer with stride 2).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

import cfilter
import cfilter.nn

EMPTY_2D = [(1, 0), (0, 5), (0, 0), (0, 1)]


@pytest.mark.parametrize("method", ["auto", "direct", "separable", "box", "fft"])
@pytest.mark.parametrize("shape", EMPTY_2D, ids=str)
def test_correlate_empty_matches_ndimage(shape, method):
    x = np.zeros(shape, np.float32)
    w = np.ones((3, 3))
    got = cfilter.correlate(x, w, method=method)
    want = ndi.correlate(x, w)
    assert got.shape == want.shape and got.dtype == np.float32
    assert cfilter.convolve(x, w, method=method).shape == want.shape


@pytest.mark.parametrize("shape", EMPTY_2D + [(0, 4, 5)], ids=str)
def test_named_filters_empty_match_ndimage(shape):
    x = np.zeros(shape)
    axes = (1, 2) if len(shape) == 3 else None
    size = (1, 3, 3) if len(shape) == 3 else 3
    assert cfilter.box_blur(x, 3, axes=axes).shape == \
        ndi.uniform_filter(x, size).shape
    sigma = (0, 1, 1) if len(shape) == 3 else 1
    assert cfilter.gaussian_blur(x, 1, axes=axes).shape == \
        ndi.gaussian_filter(x, sigma).shape
    assert cfilter.sobel(x, axes=axes).shape == x.shape


def test_empty_stack_of_planes():
    x = np.zeros((0, 6, 7))
    w = np.random.default_rng(0).random((3, 3))
    for method in ("auto", "direct", "fft"):
        assert cfilter.correlate(x, w, axes=(1, 2), method=method).shape == \
            (0, 6, 7)
    assert cfilter.conv_transpose(x, w, axes=(1, 2)).shape == (0, 8, 9)


@pytest.mark.parametrize("shape, axis", [((0,), -1), ((3, 0), 0), ((0, 4), 1),
                                         ((0, 4), 0), ((2, 0, 3), 1)])
def test_correlate1d_empty_matches_ndimage(shape, axis):
    x = np.zeros(shape)
    for fn, ref in ((cfilter.correlate1d, ndi.correlate1d),
                    (cfilter.convolve1d, ndi.convolve1d)):
        assert fn(x, [1.0, 2.0, 3.0], axis=axis).shape == \
            ref(x, [1.0, 2.0, 3.0], axis=axis).shape


def test_empty_output_dtype_and_array():
    x = np.zeros((1, 0), np.uint8)
    assert cfilter.correlate(x, np.ones((3, 3)), output=np.uint8).dtype == np.uint8
    out = np.empty((1, 0), np.int32)
    assert cfilter.correlate(x, np.ones((3, 3)), output=out) is out
    p = cfilter.plan(x, np.ones((3, 3)))
    assert p.output_shape == (1, 0) and "empty" in p.reason


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def test_nn_conv2d_zero_batch_matches_torch():
    # torch test_nn: _test_module_empty_input with a (0, C, H, W) batch.
    rng = np.random.default_rng(1)
    x = rng.random((0, 4, 9, 9)).astype(np.float32)
    w = rng.random((6, 2, 3, 3)).astype(np.float32)
    b = rng.random(6).astype(np.float32)
    for kw in (dict(groups=2, padding=1), dict(groups=2, stride=2),
               dict(groups=2, dilation=2)):
        got = cfilter.nn.conv2d(x, w, b, **kw)
        want = F.conv2d(_t(x), _t(w), _t(b), **kw)
        assert got.shape == tuple(want.shape)
    got = cfilter.nn.conv2d(x, w, groups=2, padding=1, padding_mode="reflect")
    assert got.shape == (0, 6, 9, 9)


def test_nn_conv_transpose2d_zero_batch_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.random((0, 4, 5, 6)).astype(np.float32)
    w = rng.random((4, 3, 3, 3)).astype(np.float32)
    for kw in (dict(stride=2), dict(stride=2, padding=1, output_padding=1)):
        got = cfilter.nn.conv_transpose2d(x, w, **kw)
        want = F.conv_transpose2d(_t(x), _t(w), **kw)
        assert got.shape == tuple(want.shape)


def test_nn_conv2d_zero_input_channels_give_the_bias():
    # torch test_convolution.test_conv_empty_channel: Conv2d(0, 33, 3,
    # stride=2) on a (2, 0, 50, 100) input.  The sum over no channels is 0,
    # so the layer gives its bias broadcast, (2, 33, 24, 49), as DESIGN.md
    # §2 asks.  (torch's own test passes check_size=False; torch 2.x itself
    # returns a (2, 0, 24, 49) array there, so only the spatial shape is
    # compared with it.)
    rng = np.random.default_rng(3)
    x = np.zeros((2, 0, 50, 100), np.float32)
    w = rng.random((33, 0, 3, 3)).astype(np.float32)
    b = rng.random(33).astype(np.float32)
    got = cfilter.nn.conv2d(x, w, b, stride=2)
    assert got.shape == (2, 33, 24, 49)
    assert np.array_equal(got, np.broadcast_to(b[:, None, None], got.shape))
    torch_out = F.conv2d(_t(x), _t(w), _t(b), stride=2)
    assert tuple(torch_out.shape[2:]) == got.shape[2:]
    assert not cfilter.nn.conv2d(x, w, stride=2).any()


def test_nn_zero_output_channels_give_an_empty_result():
    # torch refuses a weight with no output channels; the empty result of
    # the computed shape is what DESIGN.md §2 asks for.
    rng = np.random.default_rng(4)
    x = rng.random((2, 3, 5, 6)).astype(np.float32)
    w = rng.random((0, 3, 3, 3)).astype(np.float32)
    assert cfilter.nn.conv2d(x, w).shape == (2, 0, 3, 4)
