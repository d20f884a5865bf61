"""convolution_matrix: C @ x == correlate(x) for every linear mode, checked
against the numpy.pad + sliding-window reference of conftest and against
cfilter.correlate itself."""
import numpy as np
import pytest
import scipy.sparse

import cfilter
from conftest import MODES, ref_correlate2d, random_kernel

PADDINGS = ["same", "valid", "full", 0, 2, (1, 3), ((0, 4), (2, 1))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("stride", [1, 2, (1, 3)], ids=str)
@pytest.mark.parametrize("dilation", [1, (2, 1)], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4)], ids=str)
def test_matrix_times_image_is_correlation(rng, mode, padding, stride, dilation,
                                           kshape):
    x = rng.standard_normal((6, 7))
    w = random_kernel(rng, kshape)
    kw = dict(mode=mode, padding=padding, stride=stride, dilation=dilation)
    C = cfilter.convolution_matrix(w, x.shape, **kw)
    expected = ref_correlate2d(x, w, **kw)
    assert C.shape == (expected.size, x.size)
    atol = 16 * np.finfo(np.float64).eps * np.abs(w).sum() * np.abs(x).max()
    np.testing.assert_allclose(C @ x.ravel(), expected.ravel(), rtol=0, atol=atol)
    np.testing.assert_allclose(C @ x.ravel(),
                               cfilter.correlate(x, w, **kw).ravel(), rtol=0,
                               atol=atol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", ["same", 1, ((2, 0), (0, 3))], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 2), (4, 1)], ids=str)
def test_flip_gives_convolve(rng, mode, padding, kshape):
    x = rng.standard_normal((5, 6))
    w = random_kernel(rng, kshape)
    C = cfilter.convolution_matrix(w, x.shape, mode=mode, padding=padding,
                                   stride=2, flip=True)
    expected = ref_correlate2d(x, w, mode=mode, padding=padding, stride=2,
                               convolve=True)
    np.testing.assert_allclose(C @ x.ravel(), expected.ravel(), atol=1e-12)
    got = cfilter.convolve(x, w, mode=mode, padding=padding, stride=2)
    np.testing.assert_allclose(C @ x.ravel(), got.ravel(), atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_kernel_larger_than_image_folds_many_times(rng, mode):
    # padding wider than the image: reflect/mirror bounce, wrap tiles
    x = rng.standard_normal((3, 2))
    w = random_kernel(rng, (7, 9))
    C = cfilter.convolution_matrix(w, x.shape, mode=mode, padding="same")
    np.testing.assert_allclose(C @ x.ravel(),
                               ref_correlate2d(x, w, mode=mode).ravel(),
                               atol=1e-12)


def test_seed_4x16_matrix():
    # seed 004: a 3x3 kernel on a 4x4 image without padding is a 4x16 matrix
    # whose rows are the kernel laid out on the flattened image.
    w = np.arange(1.0, 10.0).reshape(3, 3)
    C = cfilter.convolution_matrix(w, (4, 4), padding="valid")
    dense = np.zeros((4, 16))
    for row, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        plane = np.zeros((4, 4))
        plane[i:i + 3, j:j + 3] = w
        dense[row] = plane.ravel()
    np.testing.assert_array_equal(C.toarray(), dense)
    # and its 16x4 transpose takes a 2x2 map back to 4x4, one-to-nine
    y = np.zeros(4)
    y[0] = 1.0
    assert np.count_nonzero(C.T @ y) == 9


def test_returns_csr_float64_with_summed_duplicates():
    C = cfilter.convolution_matrix(np.ones((3, 3)), (4, 4), mode="nearest")
    assert scipy.sparse.issparse(C) and C.format == "csr"
    assert C.dtype == np.float64
    assert C.has_canonical_format
    # the corner output reads pixel 0 four times (nearest): one entry of 4
    assert C[[0], :].toarray()[0, 0] == 4.0
    # constant mode drops the outside taps
    C0 = cfilter.convolution_matrix(np.ones((3, 3)), (4, 4), mode="constant")
    assert C0.nnz == 4 * 4 + 4 * 6 * 2 + 4 * 9 and C0[[0], :].sum() == 4.0


def test_aliases_and_int_kernels():
    C1 = cfilter.convolution_matrix([[1, 2], [3, 4]], (3, 3), mode="edge")
    C2 = cfilter.convolution_matrix(np.array([[1.0, 2], [3, 4]]), (3, 3),
                                    mode="nearest")
    assert (C1 != C2).nnz == 0


BAD = [
    ("mode", dict(mode="reflec"), ValueError, r"mode='reflec'.*reflect"),
    ("padding", dict(padding="half"), ValueError, r"padding='half'"),
    ("padding-negative", dict(padding=-1), ValueError, r"padding"),
    ("stride", dict(stride=0), ValueError, r"stride"),
    ("dilation", dict(dilation=(1, 0)), ValueError, r"dilation"),
    ("input-shape-zero", dict(input_shape=(0, 4)), ValueError, r"input_shape"),
    ("input-shape-3d", dict(input_shape=(4, 4, 4)), ValueError, r"input_shape"),
    ("kernel-1d", dict(kernel=np.ones(3)), ValueError, r"kernel must be 2-D"),
    ("kernel-complex", dict(kernel=np.ones((2, 2), complex)), TypeError, r"kernel"),
    ("kernel-too-large", dict(kernel=np.ones((6, 6)), padding="valid"),
     ValueError, r"kernel"),
    ("flip-not-bool", dict(flip="yes"), TypeError, r"flip"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD, ids=[b[0] for b in BAD])
def test_errors_name_the_parameter(name, kwargs, exc, pattern):
    args = dict(kernel=np.ones((3, 3)), input_shape=(4, 4))
    args.update(kwargs)
    kernel, shape = args.pop("kernel"), args.pop("input_shape")
    with pytest.raises(exc, match=pattern):
        cfilter.convolution_matrix(kernel, shape, **args)
