"""conv_output_shape / transposed_output_shape: the seed formulas, torch's
shapes, cfilter's own result shapes, and clear errors."""
import itertools
import numpy as np
import pytest

import cfilter
from conftest import requires_torch

try:
    import torch
except ImportError:          # the tests marked requires_torch skip
    torch = None
else:
    F = torch.nn.functional


# The convolution arithmetic guide's worked examples (seeds 001 and 004):
# (input, kernel, padding, stride, forward output, output_padding back).
SEED_EXAMPLES = [
    ((4, 4), 3, 0, 1, (2, 2), 0),     # 4x4, 3x3 -> 2x2 and back to 4x4
    ((5, 5), 3, 1, 2, (3, 3), 0),     # padding 1, stride 2: divisible case
    ((5, 5), 3, 0, 2, (2, 2), 0),     # stride 2, no padding -> 2x2 -> 5x5
    ((6, 6), 3, 1, 2, (3, 3), 1),     # (6 + 2 - 3) % 2 == 1: needs a = 1
    ((6, 6), 3, 0, 2, (2, 2), 1),     # (6 - 3) % 2 == 1
    ((5, 5), 3, 1, 1, (5, 5), 0),     # half padding keeps the size
    ((5, 5), 3, 2, 1, (7, 7), 0),     # full padding adds k - 1
]


@pytest.mark.parametrize("shape, k, p, s, out, a", SEED_EXAMPLES, ids=str)
def test_seed_examples_forward_and_back(shape, k, p, s, out, a):
    assert cfilter.conv_output_shape(shape, k, padding=p, stride=s) == out
    assert cfilter.transposed_output_shape(out, k, padding=p, stride=s,
                                           output_padding=a) == shape
    # the seed's a: (i + 2p - k) mod s
    assert a == (shape[0] + 2 * p - k) % s


def test_seed_table_no_padding_no_stride_rows():
    for i, k in itertools.product(range(3, 9), range(1, 4)):
        assert cfilter.conv_output_shape(i, k) == i - k + 1           # o = i - k + 1
        assert cfilter.transposed_output_shape(i, k) == i + k - 1     # o' = i' + k - 1
        assert cfilter.conv_output_shape(i, k, padding="full") == i + k - 1
        assert cfilter.transposed_output_shape(i, k, padding=k - 1) == i - k + 1


def _torch_forward(i, k, s, p, d):
    x, w = torch.zeros((1, 1) + i), torch.zeros((1, 1) + k)
    return tuple(F.conv2d(x, w, stride=s, padding=p, dilation=d).shape[2:])


def _torch_transposed(i, k, s, p, d, a):
    y, w = torch.zeros((1, 1) + i), torch.zeros((1, 1) + k)
    return tuple(F.conv_transpose2d(y, w, stride=s, padding=p, dilation=d,
                                    output_padding=a).shape[2:])


GRID = [(i, k, s, p, d)
        for i in [(1, 1), (5, 7), (8, 3)]
        for k in [(1, 1), (3, 2), (2, 3)]
        for s in [(1, 1), (2, 3)]
        for p in [(0, 0), (1, 2)]
        for d in [(1, 1), (2, 1)]]


@requires_torch
@pytest.mark.parametrize("i, k, s, p, d", GRID, ids=str)
def test_shapes_match_torch(i, k, s, p, d):
    try:
        torch_fwd = _torch_forward(i, k, s, p, d)
    except RuntimeError:
        with pytest.raises(ValueError, match="kernel"):
            cfilter.conv_output_shape(i, k, p, s, d)
        return
    assert cfilter.conv_output_shape(i, k, p, s, d) == torch_fwd
    for a in itertools.product(range(max(s[0], d[0])), range(max(s[1], d[1]))):
        try:
            torch_back = _torch_transposed(torch_fwd, k, s, p, d, a)
        except RuntimeError:
            with pytest.raises(ValueError, match="padding.*removes"):
                cfilter.transposed_output_shape(torch_fwd, k, p, s, d, a)
            continue
        assert cfilter.transposed_output_shape(torch_fwd, k, p, s, d, a) == torch_back


@pytest.mark.parametrize("padding", ["same", "valid", "full", 0, 2, (1, 3),
                                     ((0, 2), (3, 1))], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 1)], ids=str)
@pytest.mark.parametrize("dilation", [1, (2, 1)], ids=str)
def test_forward_shape_is_correlate_shape(padding, stride, dilation):
    image, kernel = np.zeros((9, 8)), np.zeros((3, 2))
    got = cfilter.correlate(image, kernel, padding=padding, stride=stride,
                            dilation=dilation).shape
    assert cfilter.conv_output_shape(image.shape, kernel.shape, padding, stride,
                                     dilation) == got


@pytest.mark.parametrize("padding", ["same", "valid", "full", 1, ((0, 2), (3, 1))],
                         ids=str)
@pytest.mark.parametrize("s", [1, 2, 3])
def test_transposed_shape_inverts_forward(padding, s):
    # every output_padding a < s gives a distinct shape the forward call maps back
    for i in range(3, 12):
        o = cfilter.conv_output_shape((i, i), (3, 3), padding, s)
        backs = [cfilter.transposed_output_shape(o, (3, 3), padding, s, 1, a)
                 for a in itertools.product(range(s), repeat=2)]
        assert (i, i) in backs
        for b in backs:
            assert cfilter.conv_output_shape(b, (3, 3), padding, s) == o


def test_one_dimensional_and_scalar_forms():
    assert cfilter.conv_output_shape(10, 3, stride=3) == 3
    assert cfilter.conv_output_shape((10,), (3,), padding=(2, 0)) == (10,)
    assert cfilter.conv_output_shape([10], 3, padding="same", stride=4) == (3,)
    assert cfilter.transposed_output_shape(3, 3, stride=3, output_padding=1) == 10
    assert cfilter.transposed_output_shape((7, 5), 3, padding="same") == (7, 5)
    assert cfilter.conv_output_shape((7, 5), (3, 1), dilation=(2, 1)) == (3, 5)
    # torch's rule: output_padding may reach the dilation when stride is 1
    assert cfilter.transposed_output_shape(4, 3, dilation=3, output_padding=2) == 12


BAD = [
    ("input-zero", dict(input_shape=(0, 4)), ValueError, r"input_shape.*zero"),
    ("input-negative", dict(input_shape=(-3, 4)), ValueError, r"input_shape.*negative"),
    ("input-3d", dict(input_shape=(3, 4, 5)), ValueError, r"input_shape"),
    ("input-float", dict(input_shape=(3.5, 4)), TypeError, r"input_shape"),
    ("kernel-zero", dict(kernel_shape=0), ValueError, r"kernel_shape.*zero"),
    ("kernel-negative", dict(kernel_shape=(3, -1)), ValueError, r"kernel_shape.*negative"),
    ("kernel-wrong-length", dict(kernel_shape=(3, 3, 3)), TypeError, r"kernel_shape"),
    ("kernel-too-large", dict(kernel_shape=9), ValueError,
     r"kernel_shape.*reaches 9.*padded input's 6"),
    ("kernel-too-large-dilated", dict(kernel_shape=3, dilation=4), ValueError,
     r"kernel_shape.*reaches 9"),
    ("stride-zero", dict(stride=0), ValueError, r"stride.*zero"),
    ("stride-negative", dict(stride=(1, -2)), ValueError, r"stride.*negative"),
    ("dilation-zero", dict(dilation=0), ValueError, r"dilation"),
    ("padding-negative", dict(padding=-1), ValueError, r"padding"),
    ("padding-name", dict(padding="half"), ValueError, r"padding.*same"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD, ids=[b[0] for b in BAD])
def test_conv_output_shape_errors(name, kwargs, exc, pattern):
    args = dict(input_shape=(6, 6), kernel_shape=3)
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        cfilter.conv_output_shape(**args)


BAD_T = BAD[:7] + [
    ("output-padding-ge-stride", dict(stride=2, output_padding=2), ValueError,
     r"output_padding=2.*smaller than the stride \(2\)"),
    ("output-padding-stride-1", dict(output_padding=1), ValueError, r"output_padding"),
    ("output-padding-negative", dict(output_padding=-1), ValueError,
     r"output_padding.*negative"),
    ("padding-removes-all", dict(padding=5), ValueError, r"padding.*removes"),
    ("full-padding-removes-all", dict(input_shape=(1, 1), padding="full"),
     ValueError, r"padding.*removes"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD_T, ids=[b[0] for b in BAD_T])
def test_transposed_output_shape_errors(name, kwargs, exc, pattern):
    args = dict(input_shape=(2, 2), kernel_shape=3)
    args.update(kwargs)
    with pytest.raises(exc, match=pattern):
        cfilter.transposed_output_shape(**args)
