"""cfilter.correlate against torch.nn.functional.conv2d (a cross-correlation)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import cfilter  # noqa: E402
from conftest import tol, assert_matches, random_image, random_kernel  # noqa: E402

TORCH_PAD_MODE = {"mirror": "reflect", "nearest": "replicate", "wrap": "circular"}


def _torch_conv2d(x, w, **kw):
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None, None]
    wt = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64))[None, None]
    return F.conv2d(xt, wt, **kw)[0, 0].numpy()


def _both(p):
    return (p, p) if np.ndim(p) == 0 else tuple(p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [0, 1, 3, (2, 0), (0, 1), (1, 4)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 1), (1, 2)], ids=str)
@pytest.mark.parametrize("dilation", [1, 2, (1, 3)], ids=str)
@pytest.mark.parametrize("kshape", [(1, 1), (3, 3), (2, 4), (5, 2)], ids=str)
def test_zeros_padding_matches_torch_conv2d(rng, kshape, dilation, stride, padding, dtype):
    x = random_image(rng, (13, 12), dtype)
    w = random_kernel(rng, kshape)
    got = cfilter.correlate(x, w, mode="constant", cval=0.0, padding=padding, stride=stride,
                            dilation=dilation)
    expected = _torch_conv2d(x, w, padding=_both(padding), stride=_both(stride),
                             dilation=_both(dilation))
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


@pytest.mark.parametrize("alias", ["zeros", "constant"])
@pytest.mark.parametrize("kshape", [(3, 3), (5, 1), (3, 7)], ids=str)
@pytest.mark.parametrize("dilation", [1, 2], ids=str)
def test_same_padding_odd_kernel_matches_torch_same(rng, kshape, dilation, alias):
    # torch's padding="same" puts the odd extra pixel after; for odd kernels the
    # split is symmetric and equals cfilter's "same".
    x = random_image(rng, (9, 10), np.float64)
    w = random_kernel(rng, kshape)
    got = cfilter.correlate(x, w, mode=alias, padding="same", dilation=dilation)
    expected = _torch_conv2d(x, w, padding="same", dilation=dilation)
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kshape", [(2, 2), (4, 3), (2, 5)], ids=str)
def test_torch_same_with_even_kernel_equals_convolve_style_offset(rng, kshape):
    # torch "same" for even k pads (k-1)//2 before and k//2 after: that is
    # per-side padding ((k-1)//2, k//2) in cfilter.
    x = random_image(rng, (9, 10), np.float64)
    w = random_kernel(rng, kshape)
    pad = tuple(((k - 1) // 2, k // 2) for k in kshape)
    got = cfilter.correlate(x, w, mode="constant", padding=pad)
    expected = _torch_conv2d(x, w, padding="same")
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["mirror", "nearest", "wrap"])
@pytest.mark.parametrize("padding", [1, 2, (0, 3), ((1, 3), (2, 0))], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (1, 3)], ids=str)
@pytest.mark.parametrize("dilation", [1, (2, 1)], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4)], ids=str)
def test_padding_modes_match_torch_pad_then_conv2d(rng, kshape, dilation, stride, padding, mode,
                                                   dtype):
    """mirror/nearest/wrap == torch padding_mode reflect/replicate/circular."""
    x = random_image(rng, (9, 11), dtype)
    w = random_kernel(rng, kshape)
    if np.ndim(padding) == 0:
        (t, b), (l, r) = (padding, padding), (padding, padding)
    elif np.ndim(padding[0]) == 0:
        (t, b), (l, r) = (padding[0], padding[0]), (padding[1], padding[1])
    else:
        (t, b), (l, r) = padding
    got = cfilter.correlate(x, w, mode=mode, padding=padding, stride=stride, dilation=dilation)
    xt = torch.from_numpy(x.astype(np.float64))[None, None]
    xp = F.pad(xt, (l, r, t, b), mode=TORCH_PAD_MODE[mode])
    wt = torch.from_numpy(w)[None, None]
    expected = F.conv2d(xp, wt, stride=_both(stride), dilation=_both(dilation))[0, 0].numpy()
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_torch_conv2d_padding_mode_layer_matches(rng, mode):
    # Same check through torch.nn.Conv2d's own padding_mode machinery.
    x = random_image(rng, (10, 12), np.float64)
    w = random_kernel(rng, (3, 5))
    conv = torch.nn.Conv2d(1, 1, (3, 5), padding=(1, 2), padding_mode=mode, bias=False,
                           stride=(2, 1), dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w)[None, None])
        expected = conv(torch.from_numpy(x)[None, None])[0, 0].numpy()
    cf_mode = {"zeros": "constant", "reflect": "mirror", "replicate": "nearest",
               "circular": "wrap"}[mode]
    got = cfilter.correlate(x, w, mode=cf_mode, padding=(1, 2), stride=(2, 1))
    assert_matches(got, expected, tol(np.float64, w, x))
