"""cfilter.correlate1d / convolve1d against scipy.ndimage and the numpy.pad reference."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings, strategies as st

import cfilter
from conftest import (MODES, NDI_MODE, MODE_ALIASES, tol, tol_with_cval, assert_matches,
                      random_image, random_kernel, ref_correlate1d)

FUNCS = [("correlate1d", ndi.correlate1d), ("convolve1d", ndi.convolve1d)]
WEIGHT_LENGTHS = [1, 2, 3, 4, 5, 8, 11]  # 8 and 11 exceed some of the axes below


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname,ndi_fn", FUNCS, ids=[f for f, _ in FUNCS])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", WEIGHT_LENGTHS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_1d_on_2d_matches_ndimage(rng, axis, k, mode, fname, ndi_fn, dtype):
    x = random_image(rng, (5, 9), dtype)
    w = random_kernel(rng, k)
    got = getattr(cfilter, fname)(x, w, axis=axis, mode=mode, cval=1.5)
    expected = ndi_fn(x.astype(np.float64), w, axis=axis, mode=NDI_MODE[mode], cval=1.5)
    assert_matches(got, expected, tol_with_cval(dtype, w, x, 1.5), dtype=dtype)


@pytest.mark.parametrize("fname,ndi_fn", FUNCS, ids=[f for f, _ in FUNCS])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", [2, 3, 6])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_1d_on_3d_matches_ndimage(rng, axis, k, mode, fname, ndi_fn):
    x = random_image(rng, (4, 5, 6), np.float32)
    w = random_kernel(rng, k)
    got = getattr(cfilter, fname)(x, w, axis=axis, mode=mode)
    expected = ndi_fn(x.astype(np.float64), w, axis=axis, mode=NDI_MODE[mode])
    assert_matches(got, expected, tol(np.float32, w, x), dtype=np.float32)


@pytest.mark.parametrize("fname,ndi_fn", FUNCS, ids=[f for f, _ in FUNCS])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(1,), (7,), (3,), (1, 1), (1, 7)], ids=str)
def test_1d_on_1d_and_tiny_arrays_matches_ndimage(rng, shape, mode, fname, ndi_fn):
    x = random_image(rng, shape, np.float64)
    w = random_kernel(rng, 4)
    got = getattr(cfilter, fname)(x, w, mode=mode, cval=-2.0)
    expected = ndi_fn(x, w, mode=NDI_MODE[mode], cval=-2.0)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, -2.0), dtype=np.float64)


@pytest.mark.parametrize("alias", sorted(MODE_ALIASES))
def test_1d_mode_aliases(rng, alias):
    x = random_image(rng, (4, 6), np.float64)
    w = random_kernel(rng, 9)
    got = cfilter.correlate1d(x, w, axis=0, mode=alias)
    expected = ndi.correlate1d(x, w, axis=0, mode=NDI_MODE[MODE_ALIASES[alias]])
    assert_matches(got, expected, tol(np.float64, w, x))


def test_1d_default_axis_is_last(rng):
    x = random_image(rng, (3, 4, 8), np.float64)
    w = random_kernel(rng, 3)
    assert_matches(cfilter.correlate1d(x, w), ndi.correlate1d(x, w, axis=-1),
                   tol(np.float64, w, x))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.bool_, np.float16])
def test_1d_integer_and_half_inputs_give_float32(rng, dtype):
    x = random_image(rng, (6, 7), dtype, low=-100, high=200)
    w = random_kernel(rng, 3)
    got = cfilter.convolve1d(x, w, axis=0)
    expected = ndi.convolve1d(x.astype(np.float64), w, axis=0)
    assert_matches(got, expected, tol(np.float32, w, x.astype(np.float64)), dtype=np.float32)


def test_1d_layouts_and_lists(rng):
    base = random_image(rng, (7, 9), np.float64)
    w = random_kernel(rng, 4)
    expected = ndi.correlate1d(base, w, axis=0, mode="mirror")
    for x in (np.asfortranarray(base), base[::-1].copy()[::-1], base.astype(">f8"),
              base.tolist()):
        got = cfilter.correlate1d(x, w.tolist(), axis=0, mode="mirror")
        assert_matches(got, expected, tol(np.float64, w, base), dtype=np.float64)


def test_1d_output_uint8_and_in_place(rng):
    x = rng.uniform(-50, 300, size=(8, 9))
    w = np.array([0.25, 0.5, 0.25])
    ref = ndi.correlate1d(x, w, axis=1)
    out = np.zeros((8, 9), np.uint8)
    result = cfilter.correlate1d(x, w, axis=1, output=out)
    assert result is out
    tie = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-9
    np.testing.assert_array_equal(out[~tie], np.clip(np.rint(ref), 0, 255)[~tie])


# ---------------------------------------------------------------------------
# padding forms, stride and dilation vs the numpy.pad reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fname", ["correlate1d", "convolve1d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", ["same", "valid", "full", 0, 2, 9, (0, 3), (4, 1)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("axis", [0, -1])
def test_1d_padding_and_stride_match_reference(rng, axis, stride, padding, mode, fname):
    x = random_image(rng, (6, 7), np.float64)
    w = random_kernel(rng, 4)
    got = getattr(cfilter, fname)(x, w, axis=axis, mode=mode, cval=0.25, padding=padding,
                                  stride=stride)
    expected = ref_correlate1d(x, w, axis=axis, mode=mode, cval=0.25, padding=padding,
                               stride=stride, convolve=(fname == "convolve1d"))
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, 0.25))


@pytest.mark.parametrize("fname", ["correlate1d", "convolve1d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dilation", [2, 3])
@pytest.mark.parametrize("padding", ["same", "full", (1, 5)], ids=str)
def test_1d_dilation_matches_reference(rng, dilation, padding, mode, fname):
    x = random_image(rng, (3, 11, 2), np.float32)
    w = random_kernel(rng, 3)
    got = getattr(cfilter, fname)(x, w, axis=1, mode=mode, padding=padding, dilation=dilation,
                                  stride=2)
    expected = ref_correlate1d(x, w, axis=1, mode=mode, padding=padding, dilation=dilation,
                               stride=2, convolve=(fname == "convolve1d"))
    assert_matches(got, expected, tol(np.float32, w, x), dtype=np.float32)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", [2, 5])
def test_1d_same_stride_equals_ndimage_subsampled(rng, mode, k):
    x = random_image(rng, (9, 10), np.float64)
    w = random_kernel(rng, k)
    got = cfilter.convolve1d(x, w, axis=0, mode=mode, stride=3)
    expected = ndi.convolve1d(x, w, axis=0, mode=NDI_MODE[mode])[::3]
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("mode", MODES)
def test_1d_full_padding_constant_matches_numpy_correlate(rng, mode):
    x = random_image(rng, (13,), np.float64)
    w = random_kernel(rng, 4)
    if mode == "constant":
        got = cfilter.correlate1d(x, w, mode=mode, padding="full")
        assert_matches(got, np.correlate(x, w, mode="full"), tol(np.float64, w, x))
    got = cfilter.convolve1d(x, w, mode=mode, padding="valid")
    assert_matches(got, np.convolve(x, w, mode="valid"), tol(np.float64, w, x))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 15), other=st.integers(1, 4), k=st.integers(1, 8),
       axis=st.sampled_from([0, 1]), mode=st.sampled_from(MODES),
       fname=st.sampled_from(["correlate1d", "convolve1d"]), cval=st.floats(-2, 2),
       seed=st.integers(0, 2**32 - 1))
def test_property_1d_matches_ndimage(n, other, k, axis, mode, fname, cval, seed):
    rng = np.random.default_rng(seed)
    shape = (n, other) if axis == 0 else (other, n)
    x = rng.normal(size=shape)
    w = rng.normal(size=k)
    got = getattr(cfilter, fname)(x, w, axis=axis, mode=mode, cval=cval)
    expected = getattr(ndi, fname)(x, w, axis=axis, mode=NDI_MODE[mode], cval=cval)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, cval))
