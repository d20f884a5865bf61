"""cfilter.nn layers against torch.nn.functional / torch.nn.Conv2d."""
import numpy as np
import pytest

import cfilter
from cfilter import nn
from conftest import requires_torch

try:
    import torch
except ImportError:          # the tests marked requires_torch skip
    torch = None
else:
    F = torch.nn.functional
    T = torch.from_numpy


def _torch_conv2d(x, w, b, stride, padding, dilation, groups, padding_mode):
    if padding_mode == "zeros":
        return F.conv2d(T(x), T(w), None if b is None else T(b), stride, padding,
                        dilation, groups).numpy()
    c_out, _, kh, kw = w.shape
    layer = torch.nn.Conv2d(x.shape[1], c_out, (kh, kw), stride, padding, dilation,
                            groups, b is not None, padding_mode).to(T(x).dtype)
    with torch.no_grad():
        layer.weight.copy_(T(w))
        if b is not None:
            layer.bias.copy_(T(b))
        return layer(T(x)).numpy()


def _atol(dtype, w, x, fan_in):
    return 8 * np.finfo(dtype).eps * np.abs(w).max() * np.abs(x).max() * fan_in


CHANNELS = [(2, 4, 6, 1), (1, 4, 4, 2), (2, 3, 6, 3)]


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("n, c_in, c_out, groups", CHANNELS, ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 3)], ids=str)
@pytest.mark.parametrize("stride", [1, (2, 1)], ids=str)
@pytest.mark.parametrize("padding", [0, (2, 1), "same", "valid"], ids=str)
@pytest.mark.parametrize("dilation, padding_mode", [
    (1, "zeros"), (2, "zeros"), (1, "reflect"), (2, "replicate"), (1, "circular"),
    (2, "circular")], ids=str)
def test_conv2d_matches_torch(rng, n, c_in, c_out, groups, kshape, stride, padding,
                              dilation, padding_mode):
    x = rng.standard_normal((n, c_in, 7, 8))
    w = rng.standard_normal((c_out, c_in // groups) + kshape)
    b = rng.standard_normal(c_out)
    try:
        expected = _torch_conv2d(x, w, b, stride, padding, dilation, groups,
                                 padding_mode)
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            nn.conv2d(x, w, b, stride, padding, dilation, groups, padding_mode)
        return
    got = nn.conv2d(x, w, b, stride, padding, dilation, groups, padding_mode)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=_atol(np.float64, w, x, w[0].size) + 1e-15)


@requires_torch
@pytest.mark.parametrize("n, c_in, c_out, groups", CHANNELS, ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 1)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 1)], ids=str)
@pytest.mark.parametrize("padding", [0, (2, 1)], ids=str)
@pytest.mark.parametrize("dilation", [1, (1, 2)], ids=str)
@pytest.mark.parametrize("output_padding", [0, "max"])
def test_conv_transpose2d_matches_torch(rng, n, c_in, c_out, groups, kshape, stride,
                                        padding, dilation, output_padding):
    s = (stride, stride) if np.ndim(stride) == 0 else stride
    d = (dilation, dilation) if np.ndim(dilation) == 0 else dilation
    op = 0 if output_padding == 0 else tuple(max(a, b) - 1 for a, b in zip(s, d))
    x = rng.standard_normal((n, c_in, 4, 5))
    w = rng.standard_normal((c_in, c_out // groups) + kshape)
    b = rng.standard_normal(c_out)
    try:
        expected = F.conv_transpose2d(T(x), T(w), T(b), stride, padding, op, groups,
                                      dilation).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            nn.conv_transpose2d(x, w, b, stride, padding, op, groups, dilation)
        return
    got = nn.conv_transpose2d(x, w, b, stride, padding, op, groups, dilation)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=_atol(np.float64, w, x, w[:, 0].size) + 1e-15)


@requires_torch
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_pointwise_kernels_and_padding_modes(rng, padding_mode):
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((4, 3, 1, 1))
    expected = _torch_conv2d(x, w, None, 1, 1, 1, 1, padding_mode)
    np.testing.assert_allclose(nn.conv2d(x, w, padding=1, padding_mode=padding_mode),
                               expected, atol=1e-12)


@requires_torch
def test_float32_batch_stays_float32_and_matches_torch(rng):
    x = rng.standard_normal((2, 16, 32, 32), dtype=np.float32)
    w = rng.standard_normal((8, 16, 3, 3), dtype=np.float32)
    wt = rng.standard_normal((16, 8, 3, 3), dtype=np.float32)
    b = rng.standard_normal(8, dtype=np.float32)
    got = nn.conv2d(x, w, b, padding=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, F.conv2d(T(x), T(w), T(b), padding=1).numpy(),
                               rtol=0, atol=_atol(np.float32, w, x, w[0].size))
    got = nn.conv_transpose2d(x, wt, b, stride=2, padding=1, output_padding=1)
    assert got.dtype == np.float32 and got.shape == (2, 8, 64, 64)
    expected = F.conv_transpose2d(T(x), T(wt), T(b), 2, 1, 1).numpy()
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=_atol(np.float32, wt, x, wt[:, 0].size))


@requires_torch
def test_unbatched_input_and_torch_tensors(rng):
    x = rng.standard_normal((3, 6, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    got = nn.conv2d(x, w, padding=1)
    assert got.shape == (2, 6, 6)
    np.testing.assert_allclose(got, nn.conv2d(x[None], w, padding=1)[0])
    np.testing.assert_allclose(nn.conv2d(T(x), T(w), padding=1), got)
    wt = rng.standard_normal((3, 2, 3, 3))
    assert nn.conv_transpose2d(x, wt, stride=2).shape == (2, 13, 13)


def test_a_bank_of_kernels_gives_one_feature_map_each(rng):
    # seed 003: each output channel is the correlation of the image with one kernel
    image = rng.standard_normal((9, 10))
    bank = np.stack([cfilter.kernels.sobel(0).array, cfilter.kernels.sobel(1).array,
                     cfilter.kernels.box(3).array])
    maps = nn.conv2d(image[None, None], bank[:, None], padding=1,
                     padding_mode="replicate")[0]
    for k, fmap in zip(bank, maps):
        np.testing.assert_allclose(fmap, cfilter.correlate(image, k, mode="nearest"),
                                   atol=1e-12)


@pytest.mark.parametrize("stride, padding, dilation, groups",
                         [(1, 1, 1, 1), (2, 1, 1, 2), ((2, 3), (0, 2), (2, 1), 1)],
                         ids=str)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng, stride, padding, dilation,
                                                   groups):
    x = rng.standard_normal((2, 4, 9, 11))
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    y0 = nn.conv2d(x, w, stride=stride, padding=padding, dilation=dilation,
                   groups=groups)
    y = rng.standard_normal(y0.shape)
    # torch's layouts make the adjoint use the very same weight array:
    # (C_out, C_in/g, ...) for conv2d is (C_in', C_out'/g, ...) for the transpose
    wt = w
    shape_in = x.shape[2:]
    s = (stride, stride) if np.ndim(stride) == 0 else stride
    p = (padding, padding) if np.ndim(padding) == 0 else padding
    d = (dilation, dilation) if np.ndim(dilation) == 0 else dilation
    op = tuple(n + 2 * pp - d_ * (k - 1) - 1 - s_ * (o - 1) for n, pp, d_, k, s_, o
               in zip(shape_in, p, d, w.shape[2:], s, y.shape[2:]))
    xt = nn.conv_transpose2d(y, wt, stride=stride, padding=padding, output_padding=op,
                             groups=groups, dilation=dilation)
    assert xt.shape == x.shape
    assert np.isclose(np.vdot(y0, y), np.vdot(x, xt), rtol=1e-12)


X = np.ones((1, 4, 6, 6))
W = np.ones((2, 4, 3, 3))
BAD = [
    ("x-2d", dict(x=np.ones((6, 6))), ValueError, r"x must be \(N, C, H, W\)"),
    ("x-complex", dict(x=np.ones((1, 4, 6, 6), complex)), TypeError, r"x is complex"),
    ("weight-3d", dict(weight=np.ones((2, 4, 3))), ValueError, r"weight.*4-D"),
    ("weight-channels", dict(weight=np.ones((2, 3, 3, 3))), ValueError,
     r"weight is shaped for 3 input channels.*x has 4"),
    ("groups-divide", dict(groups=3), ValueError, r"groups=3 must divide"),
    ("groups-zero", dict(groups=0), ValueError, r"groups"),
    ("bias-shape", dict(bias=np.ones(3)), ValueError, r"bias.*\(2,\)"),
    ("stride", dict(stride=0), ValueError, r"stride"),
    ("dilation", dict(dilation=(1, 0)), ValueError, r"dilation"),
    ("padding-name", dict(padding="full"), ValueError, r"padding='full'"),
    ("padding-negative", dict(padding=-1), ValueError, r"padding"),
    ("same-strided", dict(padding="same", stride=2), ValueError, r"padding='same'.*stride"),
    ("padding-mode", dict(padding_mode="mirror"), ValueError,
     r"padding_mode='mirror'.*zeros, reflect, replicate, circular"),
    ("kernel-too-large", dict(weight=np.ones((2, 4, 7, 7))), ValueError, r"kernel"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD, ids=[b[0] for b in BAD])
def test_conv2d_errors(name, kwargs, exc, pattern):
    args = dict(x=X, weight=W)
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        nn.conv2d(**args)


BAD_T = [
    ("weight-channels", dict(weight=np.ones((3, 2, 3, 3))), ValueError,
     r"weight is shaped for 3 input channels.*x has 4"),
    ("groups-divide", dict(groups=3), ValueError, r"groups=3 must divide"),
    ("bias-shape", dict(bias=np.ones(3)), ValueError, r"bias"),
    ("padding-str", dict(padding="same"), ValueError, r"padding='same'"),
    ("output-padding", dict(stride=2, output_padding=2), ValueError,
     r"output_padding=2.*stride \(2\)"),
    ("padding-removes-all", dict(padding=5), ValueError, r"padding.*removes"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD_T, ids=[b[0] for b in BAD_T])
def test_conv_transpose2d_errors(name, kwargs, exc, pattern):
    args = dict(x=X, weight=np.ones((4, 2, 3, 3)))
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        nn.conv_transpose2d(**args)
