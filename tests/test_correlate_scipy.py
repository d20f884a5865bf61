"""cfilter.correlate / convolve / sep_filter against scipy.ndimage and scipy.signal."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sps
from hypothesis import given, settings, strategies as st, HealthCheck

import cfilter
from conftest import (MODES, NDI_MODE, MODE_ALIASES, tol, tol_with_cval, assert_matches,
                      random_image, random_kernel)

IMAGE_SHAPES = [(1, 1), (1, 7), (5, 3), (17, 23), (32, 31)]
# odd, even, mixed and (for the small images) larger-than-image kernels
KERNEL_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 5), (5, 5), (2, 7), (9, 9)]
FLOATS = [np.float32, np.float64]


def _ndi_ref(fn, x, w, mode, cval=0.0):
    """scipy.ndimage result in float64 (no origin: even kernels use ndimage's default)."""
    return fn(np.asarray(x, np.float64), np.asarray(w, np.float64),
              mode=NDI_MODE[mode], cval=cval)


# ---------------------------------------------------------------------------
# padding="same" vs scipy.ndimage
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=str)
@pytest.mark.parametrize("ishape", IMAGE_SHAPES, ids=str)
def test_correlate_same_matches_ndimage_correlate(rng, ishape, kshape, mode, dtype):
    x = random_image(rng, ishape, dtype)
    w = random_kernel(rng, kshape)
    got = cfilter.correlate(x, w, mode=mode)
    expected = _ndi_ref(ndi.correlate, x, w, mode)
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=str)
@pytest.mark.parametrize("ishape", IMAGE_SHAPES, ids=str)
def test_convolve_same_matches_ndimage_convolve(rng, ishape, kshape, mode, dtype):
    x = random_image(rng, ishape, dtype)
    w = random_kernel(rng, kshape)
    got = cfilter.convolve(x, w, mode=mode)
    expected = _ndi_ref(ndi.convolve, x, w, mode)
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("cval", [0.0, 2.5, -7.0])
@pytest.mark.parametrize("kshape", [(2, 2), (3, 3), (4, 5), (9, 9)], ids=str)
@pytest.mark.parametrize("ishape", [(1, 7), (5, 3), (17, 23)], ids=str)
def test_constant_mode_uses_cval_like_ndimage(rng, fname, ishape, kshape, cval):
    x = random_image(rng, ishape, np.float64)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode="constant", cval=cval)
    expected = _ndi_ref(getattr(ndi, fname), x, w, "constant", cval)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, cval), dtype=np.float64)


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 5)], ids=str)
def test_constant_mode_ordinary_kernel_matches_ndimage_plain_constant(rng, fname, kshape):
    # For a kernel smaller than the image ndimage's plain 'constant' is the same as
    # 'grid-constant'; check against the name users actually type.
    x = random_image(rng, (17, 23), np.float64)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode="constant", cval=1.5)
    expected = getattr(ndi, fname)(x, w, mode="constant", cval=1.5)
    assert_matches(got, expected, tol_with_cval(np.float64, w, x, 1.5))


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("alias", sorted(MODE_ALIASES))
def test_mode_aliases_match_ndimage_of_canonical_mode(rng, fname, alias):
    x = random_image(rng, (5, 3), np.float64)
    w = random_kernel(rng, (4, 5))  # even + larger than the image on one axis
    got = getattr(cfilter, fname)(x, w, mode=alias)
    expected = _ndi_ref(getattr(ndi, fname), x, w, MODE_ALIASES[alias])
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
def test_default_mode_is_reflect_like_ndimage_default(rng, fname):
    x = random_image(rng, (6, 9), np.float64)
    w = random_kernel(rng, (3, 4))
    got = getattr(cfilter, fname)(x, w)
    expected = getattr(ndi, fname)(x, w)  # ndimage default mode is 'reflect'
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("kshape", [(2, 2), (2, 4), (4, 2), (6, 6), (2, 7), (8, 3)], ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_even_kernels_match_ndimage_with_default_origin(rng, fname, kshape, mode):
    """Even kernels: "same" uses ndimage's origin-0 centre, no manual origin needed.

    correlate's centre is index k//2 (extra tap before), convolve's is (k-1)//2,
    exactly as scipy.ndimage.correlate / convolve with origin=0.
    """
    x = random_image(rng, (11, 10), np.float64)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode=mode, padding="same")
    expected = getattr(ndi, fname)(x, w, mode=NDI_MODE[mode], origin=0)
    assert_matches(got, expected, tol(np.float64, w, x))


def test_convolve_differs_from_correlate_for_asymmetric_kernel(rng):
    # Guards against convolve silently not flipping: compare each with its own
    # scipy reference and check the two references differ.
    x = random_image(rng, (8, 9), np.float64)
    w = random_kernel(rng, (3, 3))
    conv_ref = ndi.convolve(x, w, mode="reflect")
    corr_ref = ndi.correlate(x, w, mode="reflect")
    assert not np.allclose(conv_ref, corr_ref)
    assert_matches(cfilter.convolve(x, w), conv_ref, tol(np.float64, w, x))
    assert_matches(cfilter.correlate(x, w), corr_ref, tol(np.float64, w, x))


# ---------------------------------------------------------------------------
# padding "full" / "valid" vs scipy.signal (mode constant, cval 0)
# ---------------------------------------------------------------------------

SIGNAL_IMAGE_SHAPES = [(1, 7), (5, 3), (17, 23), (32, 31)]
SIGNAL_KERNEL_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 5), (5, 5), (2, 7), (9, 9)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fname,sfname", [("correlate", "correlate2d"),
                                          ("convolve", "convolve2d")])
@pytest.mark.parametrize("kshape", SIGNAL_KERNEL_SHAPES, ids=str)
@pytest.mark.parametrize("ishape", SIGNAL_IMAGE_SHAPES, ids=str)
def test_full_padding_matches_scipy_signal(rng, ishape, kshape, fname, sfname, dtype):
    x = random_image(rng, ishape, dtype)
    w = random_kernel(rng, kshape)
    got = getattr(cfilter, fname)(x, w, mode="constant", cval=0.0, padding="full")
    expected = getattr(sps, sfname)(x.astype(np.float64), w, mode="full")
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


# scipy.signal 'valid' swaps the inputs when the kernel is the larger one: only
# test shapes where the kernel fits (the too-large case is an error, see test_errors).
VALID_PAIRS = [(i, k) for i in SIGNAL_IMAGE_SHAPES for k in SIGNAL_KERNEL_SHAPES
               if k[0] <= i[0] and k[1] <= i[1]]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("fname,sfname", [("correlate", "correlate2d"),
                                          ("convolve", "convolve2d")])
@pytest.mark.parametrize("ishape,kshape", VALID_PAIRS, ids=str)
def test_valid_padding_matches_scipy_signal(rng, ishape, kshape, fname, sfname, dtype):
    x = random_image(rng, ishape, dtype)
    w = random_kernel(rng, kshape)
    # "valid" never reads the border, so the mode must not matter: use the default.
    got = getattr(cfilter, fname)(x, w, padding="valid")
    expected = getattr(sps, sfname)(x.astype(np.float64), w, mode="valid")
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


# ---------------------------------------------------------------------------
# methods and sep_filter
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["auto", "direct", "separable"])
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", [(1, 1), (2, 2), (3, 5), (9, 9)], ids=str)
def test_methods_with_separable_kernel_match_ndimage(rng, method, fname, mode, kshape):
    x = random_image(rng, (13, 7), np.float32)
    col = random_kernel(rng, kshape[0])
    row = random_kernel(rng, kshape[1])
    w = np.outer(col, row)
    got = getattr(cfilter, fname)(x, w, mode=mode, cval=0.5, method=method)
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode=NDI_MODE[mode], cval=0.5)
    assert_matches(got, expected, tol_with_cval(np.float32, w, x, 0.5), dtype=np.float32)


@pytest.mark.parametrize("method", ["auto", "direct"])
@pytest.mark.parametrize("mode", MODES)
def test_methods_with_nonseparable_kernel_match_ndimage(rng, method, mode):
    x = random_image(rng, (13, 7), np.float64)
    w = random_kernel(rng, (3, 4))
    assert np.linalg.matrix_rank(w) > 1
    got = cfilter.correlate(x, w, mode=mode, method=method)
    expected = _ndi_ref(ndi.correlate, x, w, mode)
    assert_matches(got, expected, tol(np.float64, w, x))


@pytest.mark.parametrize("method", ["auto", "box", "direct"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", [(1, 1), (2, 2), (3, 3), (1, 5), (4, 3), (7, 7), (9, 9)],
                         ids=str)
@pytest.mark.parametrize("ishape", [(1, 7), (5, 3), (32, 31)], ids=str)
def test_box_kernels_match_ndimage_for_every_method(rng, ishape, kshape, mode, dtype, method):
    # "auto" may pick the O(1)-per-pixel box engine for an all-equal kernel.
    x = random_image(rng, ishape, dtype)
    w = np.full(kshape, 1.0 / (kshape[0] * kshape[1]))
    got = cfilter.correlate(x, w, mode=mode, cval=0.5, method=method)
    expected = ndi.correlate(x.astype(np.float64), w, mode=NDI_MODE[mode], cval=0.5)
    assert_matches(got, expected, tol_with_cval(dtype, w, x, 0.5), dtype=dtype)


@pytest.mark.parametrize("value", [1.0, -2.5])
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("mode", MODES)
def test_unnormalised_box_kernel_with_box_method_matches_ndimage(rng, mode, fname, value):
    x = random_image(rng, (17, 23), np.float32, low=0, high=255)
    w = np.full((4, 6), value)
    got = getattr(cfilter, fname)(x, w, mode=mode, method="box")
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode=NDI_MODE[mode])
    assert_matches(got, expected, tol(np.float32, w, x), dtype=np.float32)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("klens", [(1, 1), (3, 3), (2, 5), (4, 1), (9, 7)], ids=str)
@pytest.mark.parametrize("ishape", [(1, 7), (5, 3), (17, 23)], ids=str)
def test_sep_filter_matches_ndimage_correlate_with_outer_kernel(rng, ishape, klens, mode, dtype):
    x = random_image(rng, ishape, dtype)
    col = random_kernel(rng, klens[0])
    row = random_kernel(rng, klens[1])
    got = cfilter.sep_filter(x, row, col, mode=mode)
    w = np.outer(col, row)
    expected = _ndi_ref(ndi.correlate, x, w, mode)
    assert_matches(got, expected, tol(dtype, w, x), dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
def test_sep_filter_matches_two_ndimage_correlate1d_passes(rng, mode):
    x = random_image(rng, (12, 15), np.float64)
    col = random_kernel(rng, 4)
    row = random_kernel(rng, 3)
    expected = ndi.correlate1d(ndi.correlate1d(x, row, axis=1, mode=NDI_MODE[mode]),
                               col, axis=0, mode=NDI_MODE[mode])
    got = cfilter.sep_filter(x, row, col, mode=mode)
    assert_matches(got, expected, tol(np.float64, np.outer(col, row), x))


# ---------------------------------------------------------------------------
# property tests
# ---------------------------------------------------------------------------

@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(1, 12), w=st.integers(1, 12), kh=st.integers(1, 7), kw=st.integers(1, 7),
       mode=st.sampled_from(MODES + tuple(MODE_ALIASES)),
       fname=st.sampled_from(["correlate", "convolve"]),
       dtype=st.sampled_from(FLOATS), cval=st.floats(-3, 3), seed=st.integers(0, 2**32 - 1))
def test_property_same_padding_matches_ndimage(h, w, kh, kw, mode, fname, dtype, cval, seed):
    rng = np.random.default_rng(seed)
    x = random_image(rng, (h, w), dtype)
    k = rng.normal(size=(kh, kw))
    canonical = MODE_ALIASES.get(mode, mode)
    got = getattr(cfilter, fname)(x, k, mode=mode, cval=cval)
    expected = getattr(ndi, fname)(x.astype(np.float64), k, mode=NDI_MODE[canonical], cval=cval)
    assert_matches(got, expected, tol_with_cval(dtype, k, x, cval), dtype=dtype)


# ---------------------------------------------------------------------------
# A non-finite cval stays at the border (it reaches only the outputs whose
# window reads the padding), as scipy.ndimage's direct sums keep it
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cval", [np.nan, np.inf])
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("kshape", [(3, 3), (25, 25), (31, 1), (40, 9)],
                         ids=str)
def test_non_finite_cval_stays_at_the_border_like_ndimage(rng, kshape, fname,
                                                          cval):
    # (large and constant kernels are where 'auto' would pick the
    # transform or the moving sums, which spread the border everywhere)
    x = rng.random((60, 70))
    for w in (rng.random(kshape), np.ones(kshape)):
        got = getattr(cfilter, fname)(x, w, mode="constant", cval=cval)
        expected = getattr(ndi, fname)(x, w, mode="constant", cval=cval)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9,
                                   equal_nan=True)


@pytest.mark.parametrize("method", ["fft", "box"])
def test_transform_and_moving_sums_refuse_a_nan_cval(method):
    with pytest.raises(ValueError, match="cval"):
        cfilter.correlate(np.ones((20, 20)), np.ones((5, 5)),
                          mode="constant", cval=np.nan, method=method)
    # with no padding the constant is never read: nothing to refuse
    got = cfilter.correlate(np.ones((20, 20)), np.ones((5, 5)),
                            mode="constant", cval=np.nan, method=method,
                            padding="valid")
    np.testing.assert_allclose(got, sps.correlate2d(np.ones((20, 20)),
                                                    np.ones((5, 5)), "valid"))
