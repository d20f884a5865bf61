"""Explicit padding, stride and dilation against the numpy.pad + sliding-window reference."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings, strategies as st

import cfilter
from conftest import (MODES, NDI_MODE, NP_PAD_MODE, tol, tol_with_cval, assert_matches,
                      random_image, random_kernel, ref_correlate2d, resolve_padding, out_len)

FUNCS = ["correlate", "convolve"]


def _check(rng, fname, ishape, kshape, *, mode="reflect", cval=0.0, padding="same",
           stride=1, dilation=1, dtype=np.float64, **kw):
    x = random_image(rng, ishape, dtype)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode=mode, cval=cval, padding=padding,
                                  stride=stride, dilation=dilation, **kw)
    expected = ref_correlate2d(x, w, mode=mode, cval=cval, padding=padding, stride=stride,
                               dilation=dilation, convolve=(fname == "convolve"))
    assert_matches(got, expected, tol_with_cval(dtype, w, x, cval), dtype=dtype)
    return got


# ---------------------------------------------------------------------------
# the reference itself (so a reference bug cannot hide a cfilter bug)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", [(2, 3), (4, 4), (9, 9)], ids=str)
def test_reference_helper_matches_ndimage_for_same_padding(rng, fname, mode, kshape):
    x = rng.normal(size=(5, 3))
    w = rng.normal(size=kshape)
    ref = ref_correlate2d(x, w, mode=mode, cval=1.25, convolve=(fname == "convolve"))
    expected = getattr(ndi, fname)(x, w, mode=NDI_MODE[mode], cval=1.25)
    np.testing.assert_allclose(ref, expected, rtol=0, atol=1e-12)


def test_reference_helper_resolves_padding_forms():
    assert resolve_padding("same", (3, 4)) == ((1, 1), (2, 1))
    assert resolve_padding("same", (3, 4), convolve=True) == ((1, 1), (1, 2))
    assert resolve_padding("same", (3, 4), (2, 3)) == ((2, 2), (6, 3))
    assert resolve_padding("full", (3, 4), 2) == ((4, 4), (6, 6))
    assert resolve_padding("valid", (3, 4)) == ((0, 0), (0, 0))
    assert resolve_padding(2, (3, 4)) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), (3, 4)) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), (3, 4)) == ((0, 1), (2, 3))
    assert out_len(10, 3, 1, 1, 2, 1) == 5
    assert out_len(7, 3, 0, 0, 1, 3) == 1


# ---------------------------------------------------------------------------
# explicit padding forms
# ---------------------------------------------------------------------------

PADDINGS = [0, 1, 2, (1, 2), (0, 3), (2, 0), ((0, 2), (1, 0)), ((3, 1), (2, 2)),
            ((0, 0), (0, 4)), "valid", "full", "same"]


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 5)], ids=str)
@pytest.mark.parametrize("ishape", [(5, 6), (7, 8)], ids=str)
def test_explicit_padding_matches_numpy_pad_reference(rng, fname, ishape, kshape, padding, mode):
    _check(rng, fname, ishape, kshape, mode=mode, cval=-1.5, padding=padding)


@pytest.mark.parametrize("padding", [2, (1, 3), ((0, 1), (2, 3))], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4)], ids=str)
def test_convolve_explicit_padding_equals_correlate_reference_with_flipped_kernel(
        rng, kshape, padding):
    # DESIGN: convolve(x, w, padding=P) == correlate(x, w[::-1, ::-1], padding=P)
    x = random_image(rng, (6, 7))
    w = random_kernel(rng, kshape)
    got = cfilter.convolve(x, w, mode="mirror", padding=padding)
    expected = ref_correlate2d(x, w[::-1, ::-1], mode="mirror", padding=padding)
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [10, (10, 7), ((10, 0), (3, 11))], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 2), (1, 4)], ids=str)
def test_padding_wider_than_image_follows_mode_like_numpy_pad(rng, kshape, padding, mode,
                                                              fname, dtype):
    _check(rng, fname, (3, 4), kshape, mode=mode, cval=3.0, padding=padding, dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ishape", [(1, 1), (1, 3), (2, 1)], ids=str)
def test_padding_on_tiny_images_follows_numpy_pad(rng, ishape, mode):
    _check(rng, "correlate", ishape, (2, 3), mode=mode, cval=0.5, padding=4)


@pytest.mark.parametrize("mode", MODES)
def test_identity_kernel_with_padding_reproduces_numpy_pad(mode):
    # A 1x1 kernel of 1 with padding p returns exactly the padded image.
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    got = cfilter.correlate(x, [[1.0]], mode=mode, cval=-2.0, padding=((5, 2), (0, 9)))
    kw = {"constant_values": -2.0} if mode == "constant" else {}
    expected = np.pad(x, ((5, 2), (0, 9)), mode=NP_PAD_MODE[mode], **kw)
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------------------
# stride
# ---------------------------------------------------------------------------

STRIDES = [1, 2, 3, (2, 1), (1, 3), (3, 2)]


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", STRIDES, ids=str)
@pytest.mark.parametrize("padding", ["same", "valid", "full", 1, ((2, 0), (0, 1))], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4)], ids=str)
def test_stride_matches_numpy_pad_reference(rng, fname, kshape, padding, stride, mode):
    _check(rng, fname, (11, 10), kshape, mode=mode, cval=0.75, padding=padding, stride=stride)


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [2, 3, (2, 1), (1, 4), 7], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (4, 2), (9, 9)], ids=str)
def test_stride_same_equals_ndimage_subsampled(rng, fname, kshape, stride, mode):
    x = random_image(rng, (13, 9), np.float32)
    w = random_kernel(rng, kshape)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    got = getattr(cfilter, fname)(x, w, mode=mode, stride=stride)
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode=NDI_MODE[mode])[::sh, ::sw]
    assert_matches(got, expected, tol(np.float32, w, x), dtype=np.float32)


@pytest.mark.parametrize("stride,shape", [(20, (1, 1)), ((1, 50), (5, 1)), ((6, 2), (1, 3))],
                         ids=str)
def test_stride_larger_than_image_gives_one_sample(rng, stride, shape):
    got = _check(rng, "correlate", (5, 6), (3, 3), stride=stride)
    assert got.shape == shape


# ---------------------------------------------------------------------------
# dilation
# ---------------------------------------------------------------------------

DILATIONS = [1, 2, 3, (2, 1), (1, 3)]


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dilation", DILATIONS, ids=str)
@pytest.mark.parametrize("padding", ["same", "valid", "full", 2, ((0, 3), (1, 2))], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 2), (1, 3)], ids=str)
def test_dilation_matches_numpy_pad_reference(rng, fname, kshape, padding, dilation, mode):
    _check(rng, fname, (12, 11), kshape, mode=mode, cval=-0.5, padding=padding,
           dilation=dilation)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dilation", [2, (3, 2)], ids=str)
def test_dilation_same_with_odd_kernel_equals_ndimage_with_zero_inserted_kernel(
        rng, mode, dilation):
    # For odd kernels the dilated kernel (zeros inserted) has the same centre.
    x = random_image(rng, (10, 9), np.float64)
    w = random_kernel(rng, (3, 5))
    dh, dw = (dilation, dilation) if np.ndim(dilation) == 0 else dilation
    big = np.zeros((dh * 2 + 1, dw * 4 + 1))
    big[::dh, ::dw] = w
    got = cfilter.correlate(x, w, mode=mode, dilation=dilation)
    # Weights are exactly 0 in `big`, which ndimage skips -- fine for finite data.
    expected = ndi.correlate(x, big, mode=NDI_MODE[mode])
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("mode", MODES)
def test_dilated_kernel_wider_than_image(rng, mode):
    # extent d*(k-1)+1 = 9 > 4 columns
    _check(rng, "correlate", (5, 4), (3, 3), mode=mode, cval=1.0, dilation=4)


# ---------------------------------------------------------------------------
# combined
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", [
    ("same", 2, 2),
    ("full", (2, 3), (1, 2)),
    ("valid", 2, (2, 1)),
    (3, (3, 1), 2),
    ((1, 4), 2, (2, 3)),
    (((0, 5), (4, 1)), (1, 2), 3),
    (((7, 7), (6, 6)), 3, 2),
], ids=str)
def test_padding_stride_dilation_combined_match_reference(rng, fname, mode, padding, stride,
                                                          dilation, dtype):
    _check(rng, fname, (9, 8), (3, 2), mode=mode, cval=2.0, padding=padding, stride=stride,
           dilation=dilation, dtype=dtype)


@pytest.mark.parametrize("method", ["auto", "direct", "separable"])
@pytest.mark.parametrize("mode", MODES)
def test_methods_agree_with_reference_under_stride_dilation_padding(rng, method, mode):
    x = random_image(rng, (10, 13), np.float64)
    w = np.outer(random_kernel(rng, 3), random_kernel(rng, 4))
    kw = dict(mode=mode, cval=1.0, padding=((2, 5), (1, 3)), stride=(2, 3), dilation=(2, 1))
    got = cfilter.correlate(x, w, method=method, **kw)
    expected = ref_correlate2d(x, w, **kw)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, 1.0))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", [
    ("same", 1, 1), ("full", 2, 1), (((1, 2), (3, 0)), (1, 2), (2, 1)), (4, 3, 2)], ids=str)
def test_sep_filter_matches_reference_with_padding_stride_dilation(rng, mode, padding, stride,
                                                                    dilation):
    x = random_image(rng, (9, 11), np.float64)
    col, row = random_kernel(rng, 2), random_kernel(rng, 5)
    got = cfilter.sep_filter(x, row, col, mode=mode, cval=0.5, padding=padding, stride=stride,
                             dilation=dilation)
    w = np.outer(col, row)
    expected = ref_correlate2d(x, w, mode=mode, cval=0.5, padding=padding, stride=stride,
                               dilation=dilation)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, 0.5))


# ---------------------------------------------------------------------------
# column stride on wide rows: the phase-split path (rows split into stride
# phases, full blocks of 64 outputs plus an overlapping tail, split rows
# reused across output rows); the small images above only reach its tail
# ---------------------------------------------------------------------------

WIDE_STRIDES = [(1, 2), 2, 3, (2, 4), (3, 5), (1, 7), (5, 2), (2, 40)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", WIDE_STRIDES, ids=str)
@pytest.mark.parametrize("dilation", [1, (1, 2), (2, 3), (1, 4)], ids=str)
@pytest.mark.parametrize("kshape", [(3, 3), (4, 6), (1, 7), (7, 2)], ids=str)
def test_column_stride_on_wide_rows_matches_reference(rng, kshape, dilation, stride,
                                                      mode, dtype):
    # widths give 64 * k outputs, a few more, and fewer than 64
    _check(rng, "correlate", (17, 269), kshape, mode=mode, cval=-0.75, stride=stride,
           dilation=dilation, dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", ["valid", "full", ((3, 0), (9, 2)), ((0, 4), (0, 13))],
                         ids=str)
@pytest.mark.parametrize("stride", [2, (3, 3), (1, 4)], ids=str)
def test_column_stride_on_wide_rows_with_padding_matches_reference(rng, padding, stride,
                                                                   mode):
    _check(rng, "convolve", (9, 200), (3, 5), mode=mode, cval=1.5, padding=padding,
           stride=stride, dilation=(1, 2))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", [1, 2, 3, 5], ids=str)
@pytest.mark.parametrize("stride", [2, 3, (1, 5)], ids=str)
def test_column_stride_on_rows_narrower_than_kernel(rng, width, stride, mode):
    # every column of every output is read through the mode
    _check(rng, "correlate", (6, width), (3, 7), mode=mode, cval=0.25, stride=stride,
           dilation=(1, 2), padding="full")


@pytest.mark.parametrize("method", ["direct", "separable"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride,dilation", [(2, 1), ((1, 3), 1), ((3, 2), (2, 3)),
                                             (4, (1, 2)), ((2, 6), (1, 4)), ((1, 50), 1)],
                         ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_methods_with_column_stride_on_wide_rows_match_reference(rng, method, mode, stride,
                                                                 dilation, dtype):
    x = random_image(rng, (21, 333), dtype)
    w = np.outer(random_kernel(rng, 5), random_kernel(rng, 6))
    kw = dict(mode=mode, cval=0.5, stride=stride, dilation=dilation)
    got = cfilter.correlate(x, w, method=method, **kw)
    expected = ref_correlate2d(x, w, **kw)
    assert_matches(got, expected, tol_with_cval(dtype, w, x, 0.5), dtype=dtype)


@pytest.mark.parametrize("method", ["direct", "separable"])
@pytest.mark.parametrize("stride", [(1, 2), (2, 3), (5, 2)], ids=str)
def test_workers_do_not_change_column_strided_results_on_wide_rows(rng, method, stride):
    x = random_image(rng, (67, 301), np.float32)
    w = np.outer(random_kernel(rng, 7), random_kernel(rng, 7))
    results = [cfilter.correlate(x, w, method=method, stride=stride, mode="reflect",
                                 workers=n) for n in (1, 2, 3)]
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)
    assert_matches(results[0], ref_correlate2d(x, w, stride=stride), tol(np.float32, w, x))


def test_column_stride_propagates_nan_only_to_windows_holding_it(rng):
    x = random_image(rng, (9, 260), np.float64)
    x[4, 131] = np.nan
    w = random_kernel(rng, (3, 5))
    got = cfilter.correlate(x, w, stride=(1, 2), mode="constant")
    expected = ref_correlate2d(x, w, stride=(1, 2), mode="constant")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert_matches(got, expected, tol(np.float64, w, np.nan_to_num(x)))


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(h=st.integers(1, 14), w=st.integers(1, 14), kh=st.integers(1, 5), kw=st.integers(1, 5),
       sh=st.integers(1, 4), sw=st.integers(1, 4), mode=st.sampled_from(MODES),
       fname=st.sampled_from(FUNCS), seed=st.integers(0, 2**32 - 1))
def test_property_stride_same_equals_stride_one_subsampled(h, w, kh, kw, sh, sw, mode, fname,
                                                          seed):
    rng = np.random.default_rng(seed)
    x = random_image(rng, (h, w), np.float64)
    k = rng.normal(size=(kh, kw))
    fn = getattr(cfilter, fname)
    got = fn(x, k, mode=mode, cval=0.5, stride=(sh, sw))
    full = fn(x, k, mode=mode, cval=0.5)
    # property (DESIGN §2): the strided "same" result is the stride-1 result [::s, ::s] ...
    np.testing.assert_allclose(got, full[::sh, ::sw], rtol=0, atol=tol_with_cval(
        np.float64, k, x, 0.5))
    # ... and both are scipy.ndimage's result
    expected = getattr(ndi, fname)(x, k, mode=NDI_MODE[mode], cval=0.5)[::sh, ::sw]
    assert_matches(got, expected, tol_with_cval(np.float64, k, x, 0.5))


@settings(max_examples=50, deadline=None)
@given(h=st.integers(1, 10), w=st.integers(1, 10), kh=st.integers(1, 4), kw=st.integers(1, 4),
       pads=st.tuples(*[st.integers(0, 12)] * 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 3), dw=st.integers(1, 3), mode=st.sampled_from(MODES),
       seed=st.integers(0, 2**32 - 1))
def test_property_explicit_padding_stride_dilation_match_reference(h, w, kh, kw, pads, sh, sw,
                                                                   dh, dw, mode, seed):
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    if (out_len(h, kh, pads[0], pads[1], sh, dh) < 1
            or out_len(w, kw, pads[2], pads[3], sw, dw) < 1):
        return  # empty output: not covered by the contract
    rng = np.random.default_rng(seed)
    x = random_image(rng, (h, w), np.float64)
    k = rng.normal(size=(kh, kw))
    got = cfilter.correlate(x, k, mode=mode, cval=-1.0, padding=padding, stride=(sh, sw),
                            dilation=(dh, dw))
    expected = ref_correlate2d(x, k, mode=mode, cval=-1.0, padding=padding, stride=(sh, sw),
                               dilation=(dh, dw))
    assert_matches(got, expected, tol_with_cval(np.float64, k, x, -1.0))


@pytest.mark.parametrize("method", ["auto", "box"])
@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding,stride,dilation", [
    ("same", 1, 1), ("same", 2, 1), ("full", (1, 3), 1), ("valid", 2, 1),
    (((0, 4), (3, 1)), (2, 1), 1), (9, 1, 1), ("same", 1, 2), ((1, 2), 2, (1, 3))], ids=str)
def test_box_method_matches_reference_with_padding_stride_dilation(rng, method, fname, mode,
                                                                   padding, stride, dilation):
    x = random_image(rng, (12, 10), np.float64)
    w = np.full((3, 4), 0.125)
    kw = dict(mode=mode, cval=-1.0, padding=padding, stride=stride, dilation=dilation)
    if method == "box" and dilation != 1:
        # DESIGN §2: a method that cannot serve a request is a clear ValueError
        with pytest.raises(ValueError, match="box"):
            getattr(cfilter, fname)(x, w, method=method, **kw)
        return
    got = getattr(cfilter, fname)(x, w, method=method, **kw)
    expected = ref_correlate2d(x, w, convolve=(fname == "convolve"), **kw)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, -1.0))
