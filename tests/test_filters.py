"""Named filters (DESIGN.md §3) against independent references.

Every convenience filter in :mod:`cfilter.filters` is compared with a library
that does not share code with cfilter: ``scipy.ndimage`` (gaussian_filter,
uniform_filter, sobel, prewitt, laplace, correlate), OpenCV (``cv2.Scharr``)
and, for kernels much larger than the image, the ``numpy.pad`` +
sliding-window reference of ``conftest.ref_correlate2d`` (``scipy.ndimage``'s
'reflect' departs from numpy.pad 'symmetric' once a kernel is more than twice
the image's size; cfilter follows numpy.pad).

Tolerance: ``conftest.tol`` = ``c * eps(working dtype) * L1(kernel) * max|x|``
with ``c = conftest.TOL_FACTOR`` (8; see its comment), ``max|x|`` including
``cval`` for mode 'constant'.  Filters that combine responses use the L1 norm
of the combined linear operator (e.g. ``1 + 2*amount`` for unsharp masking).
"""

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import (MODES, NDI_MODE, assert_matches,
                      random_image, ref_correlate2d, tol)

DTYPES = (np.float32, np.float64)
#: Non-square images: one larger than the 3x3 kernels, one small enough that
#: the Gaussians below are wider than twice its size.
SHAPES = ((31, 47), (8, 5))
CVAL = 0.625


# ---------------------------------------------------------------------------
# independent kernels and references (written from the definitions, float64)
# ---------------------------------------------------------------------------

def gauss1d(sigma, radius):
    """Sampled Gaussian, normalised to sum 1 (scipy.ndimage's construction)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * x * x / (sigma * sigma))
    return w / w.sum()


def gauss2d(sigma, truncate=4.0, radius=None):
    sy, sx = np.broadcast_to(np.asarray(sigma, dtype=np.float64), 2)
    if radius is None:
        ry, rx = int(truncate * sy + 0.5), int(truncate * sx + 0.5)
    else:
        ry, rx = np.broadcast_to(radius, 2)
    return np.outer(gauss1d(sy, ry), gauss1d(sx, rx))


SOBEL0 = np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0])
PREWITT0 = np.outer([-1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
SCHARR_L1 = 32.0
LAPLACE4 = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
LAPLACE8 = np.array([[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]])


def sharpen_kernel(amount):
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    return identity + amount * (identity - np.ones((3, 3)) / 9.0)


def fits_scipy(kernel_shape, image_shape):
    """scipy.ndimage agrees with numpy.pad for kernels up to twice the image."""
    return all(k <= 2 * n for k, n in zip(kernel_shape, image_shape))


def ndi_or_pad(x, kernel, mode, cval, scipy_call):
    """``scipy_call(x)`` where scipy follows numpy.pad, else the np.pad reference."""
    if fits_scipy(kernel.shape, x.shape):
        return scipy_call(x)
    return ref_correlate2d(x, kernel, mode=mode, cval=cval)


_CV_BORDER = {"reflect": cv2.BORDER_REFLECT, "mirror": cv2.BORDER_REFLECT_101,
              "nearest": cv2.BORDER_REPLICATE}


def cv2_scharr(x, axis, mode, cval):
    """``cv2.Scharr`` (CV_64F) with cfilter's ``axis``: axis 0 is dy=1."""
    dx, dy = (0, 1) if axis == 0 else (1, 0)
    if mode in _CV_BORDER:
        return cv2.Scharr(x, cv2.CV_64F, dx, dy, borderType=_CV_BORDER[mode])
    # cv2 filters reject BORDER_WRAP and take no border value: let OpenCV
    # build the one-pixel border itself, filter, and crop it off again.
    border = cv2.BORDER_WRAP if mode == "wrap" else cv2.BORDER_CONSTANT
    padded = cv2.copyMakeBorder(x, 1, 1, 1, 1, border, value=(cval,) * 4)
    return cv2.Scharr(padded, cv2.CV_64F, dx, dy,
                      borderType=cv2.BORDER_REPLICATE)[1:-1, 1:-1]


# ---------------------------------------------------------------------------
# The filter table: (cfilter call, float64 reference on one plane, L1 norm)
# ---------------------------------------------------------------------------

def _gaussian_case(sigma, **kw):
    kernel = gauss2d(sigma, kw.get("truncate", 4.0), kw.get("radius"))

    def ref(x, mode, cval):
        return ndi_or_pad(x, kernel, mode, cval, lambda v: ndi.gaussian_filter(
            v, sigma, mode=NDI_MODE[mode], cval=cval, **kw))

    return (lambda x, **o: cfilter.gaussian_blur(x, sigma, **kw, **o)), ref, 1.0


def _box_case(size):
    kernel = np.ones(np.broadcast_to(size, 2)) / np.prod(np.broadcast_to(size, 2))

    def ref(x, mode, cval):
        return ndi_or_pad(x, kernel, mode, cval, lambda v: ndi.uniform_filter(
            v, size, mode=NDI_MODE[mode], cval=cval))

    return (lambda x, **o: cfilter.box_blur(x, size, **o)), ref, 1.0


def _ndi_gradient_case(name, axis):
    fn = getattr(cfilter, name)
    ndi_fn = getattr(ndi, name)

    kernel0 = SOBEL0 if name == "sobel" else PREWITT0

    def one(x, ax, mode, cval):
        if mode == "constant" and cval != 0:
            # ndi.sobel/prewitt pad the *intermediate* 1-D response with cval
            # too, which is not the cval-padded image of DESIGN.md §2; with
            # cval != 0 use the 2-D kernel on the padded image instead.
            kernel = kernel0 if ax == 0 else kernel0.T
            return ndi.correlate(x, kernel, mode=NDI_MODE[mode], cval=cval)
        return ndi_fn(x, axis=ax, mode=NDI_MODE[mode], cval=cval)

    def ref(x, mode, cval):
        if axis is None:
            return np.hypot(one(x, 0, mode, cval), one(x, 1, mode, cval))
        return one(x, axis, mode, cval)

    return (lambda x, **o: fn(x, axis=axis, **o)), ref, 2 * np.abs(kernel0).sum()


def _scharr_case(axis):
    def ref(x, mode, cval):
        if axis is None:
            return np.hypot(cv2_scharr(x, 0, mode, cval), cv2_scharr(x, 1, mode, cval))
        return cv2_scharr(x, axis, mode, cval)

    return (lambda x, **o: cfilter.scharr(x, axis=axis, **o)), ref, 2 * SCHARR_L1


def _laplace_case(diagonal):
    def ref(x, mode, cval):
        if diagonal:
            return ndi.correlate(x, LAPLACE8, mode=NDI_MODE[mode], cval=cval)
        return ndi.laplace(x, mode=NDI_MODE[mode], cval=cval)

    l1 = np.abs(LAPLACE8 if diagonal else LAPLACE4).sum()
    return (lambda x, **o: cfilter.laplace(x, diagonal=diagonal, **o)), ref, l1


def _sharpen_case(amount):
    kernel = sharpen_kernel(amount)

    def ref(x, mode, cval):
        return ndi.correlate(x, kernel, mode=NDI_MODE[mode], cval=cval)

    return (lambda x, **o: cfilter.sharpen(x, amount, **o)), ref, np.abs(kernel).sum()


def _unsharp_case(sigma, amount, **kw):
    kernel = gauss2d(sigma, kw.get("truncate", 4.0))

    def ref(x, mode, cval):
        blurred = ndi_or_pad(x, kernel, mode, cval, lambda v: ndi.gaussian_filter(
            v, sigma, mode=NDI_MODE[mode], cval=cval, **kw))
        return x + amount * (x - blurred)

    # L1 norm of the operator (1 + amount) * identity - amount * gaussian.
    return ((lambda x, **o: cfilter.unsharp_mask(x, sigma, amount, **kw, **o)),
            ref, 1.0 + 2.0 * abs(amount))


FILTERS = {
    "gaussian_sigma1": _gaussian_case(1.0),
    "gaussian_sigma_pair": _gaussian_case((1.5, 0.7)),
    "gaussian_sigma2_truncate2.5": _gaussian_case(2.0, truncate=2.5),
    "gaussian_sigma3_wider_than_image": _gaussian_case(3.0),
    "gaussian_radius3": _gaussian_case(1.2, radius=3),
    "gaussian_radius_pair": _gaussian_case((0.8, 1.6), radius=(2, 5)),
    "box_size1": _box_case(1),
    "box_size3": _box_case(3),
    "box_size4_even": _box_case(4),
    "box_size2x5_even_odd": _box_case((2, 5)),
    "box_size6x3_even_odd": _box_case((6, 3)),
    "sobel_axis0": _ndi_gradient_case("sobel", 0),
    "sobel_axis1": _ndi_gradient_case("sobel", 1),
    "sobel_magnitude": _ndi_gradient_case("sobel", None),
    "prewitt_axis0": _ndi_gradient_case("prewitt", 0),
    "prewitt_axis1": _ndi_gradient_case("prewitt", 1),
    "prewitt_magnitude": _ndi_gradient_case("prewitt", None),
    "scharr_axis0": _scharr_case(0),
    "scharr_axis1": _scharr_case(1),
    "scharr_magnitude": _scharr_case(None),
    "laplace": _laplace_case(False),
    "laplace_diagonal": _laplace_case(True),
    "sharpen_amount1": _sharpen_case(1.0),
    "sharpen_amount2.5": _sharpen_case(2.5),
    "sharpen_amount_negative": _sharpen_case(-0.5),
    "unsharp_sigma1_amount1": _unsharp_case(1.0, 1.0),
    "unsharp_sigma_pair_amount2": _unsharp_case((2.0, 0.8), 2.0),
    "unsharp_truncate2": _unsharp_case(1.5, 0.7, truncate=2.0),
}
FILTER_NAMES = tuple(FILTERS)


def atol_for(dtype, l1, x, mode, cval):
    """``c * eps * L1 * max|x|``, with cval counting as an image value in 'constant'."""
    xmax = np.abs(np.asarray(x, dtype=np.float64)).max()
    if mode == "constant":
        xmax = max(xmax, abs(cval))
    return tol(dtype, [l1], [xmax])


def assert_rounded(got, ref, atol, dtype):
    """``got == clip(rint(ref))`` for an integer dtype, except that a reference
    within ``atol`` of a rounding tie may round either way."""
    info = np.iinfo(dtype)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == ref.shape
    expected = np.clip(np.rint(ref), info.min, info.max)
    lower = np.clip(np.rint(ref - atol), info.min, info.max)
    upper = np.clip(np.rint(ref + atol), info.min, info.max)
    value = got.astype(np.float64)
    ok = (value == expected) | ((value >= lower) & (value <= upper))
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, (
        f"{bad.size} pixels differ from clip(rint(ref)); first at "
        f"{np.unravel_index(bad[0], ref.shape)}: got {value.flat[bad[0]]}, "
        f"reference {ref.flat[bad[0]]!r}")


# ---------------------------------------------------------------------------
# every filter x mode x dtype x shape
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_matches_independent_reference(rng, name, mode, dtype, shape):
    call, ref, l1 = FILTERS[name]
    x = random_image(rng, shape, dtype)
    got = call(x, mode=mode, cval=CVAL)
    expected = ref(x.astype(np.float64), mode, CVAL)
    assert_matches(got, expected, atol_for(dtype, l1, x, mode, CVAL), dtype=dtype)


@pytest.mark.parametrize("stride", [2, (1, 3)], ids=str)
@pytest.mark.parametrize("channel_axis", [-1, 0])
@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_channels_and_stride_match_reference_per_plane(rng, name,
                                                              channel_axis, stride):
    """Each channel is filtered on its own; a stride keeps every s-th pixel."""
    call, ref, l1 = FILTERS[name]
    mode = "mirror"
    planes = random_image(rng, (3, 19, 26), np.float32)
    x = np.moveaxis(planes, 0, channel_axis)
    got = call(x, mode=mode, channel_axis=channel_axis, stride=stride)
    sy, sx = np.broadcast_to(stride, 2)
    expected = np.stack([ref(p.astype(np.float64), mode, 0.0)[::sy, ::sx]
                         for p in planes])
    assert_matches(np.moveaxis(got, channel_axis, 0), expected,
                   atol_for(np.float32, l1, x, mode, 0.0), dtype=np.float32)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_uint8_output_is_rounded_and_saturated(rng, name, mode):
    """output=np.uint8 rounds to nearest and clips to [0, 255], once, at the end."""
    call, ref, l1 = FILTERS[name]
    x = random_image(rng, (23, 17), np.float64, low=-60.0, high=320.0)
    x[:8] = -400.0          # flat blocks far outside [0, 255]: every filter
    x[-8:] = 700.0          # gives results below 0 and above 255
    got = call(x, mode=mode, cval=CVAL, output=np.uint8)
    expected = ref(x, mode, CVAL)
    assert_rounded(got, expected, atol_for(np.float64, l1, x, mode, CVAL), np.uint8)
    assert (got == 0).any() and (got == 255).any(), "test data should saturate"


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_uint8_image_into_uint8_output_array(rng, name):
    """A uint8 image (computed in float32) written into a given uint8 array."""
    call, ref, l1 = FILTERS[name]
    x = random_image(rng, (21, 30), np.uint8, low=0, high=255)
    out = np.full(x.shape, 7, dtype=np.uint8)
    got = call(x, mode="nearest", output=out)
    assert got is out
    assert_rounded(out, ref(x.astype(np.float64), "nearest", 0.0),
                   atol_for(np.float32, l1, x, "nearest", 0.0), np.uint8)


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_float64_output_from_float32_image(rng, name):
    call, ref, l1 = FILTERS[name]
    x = random_image(rng, (12, 9), np.float32)
    got = call(x, mode="reflect", output=np.float64)
    assert_matches(got, ref(x.astype(np.float64), "reflect", 0.0),
                   atol_for(np.float64, l1, x, "reflect", 0.0), dtype=np.float64)


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_filter_never_modifies_its_input(rng, name):
    call, _, _ = FILTERS[name]
    x = random_image(rng, (14, 11), np.float64)
    before = x.copy()
    call(x, mode="wrap")
    np.testing.assert_array_equal(x, before)
    x.flags.writeable = False           # a read-only input works too
    call(x, mode="reflect", output=np.float32)
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------------------
# filter-specific properties
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [2, 4, (2, 6), (5, 4)], ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_box_blur_even_size_is_centred_as_uniform_filter_and_correlate(rng, size, mode):
    """An even window covers [i - k//2, i + k - k//2 - 1], as both
    ndi.uniform_filter and ndi.correlate(x, ones/k) centre it."""
    x = random_image(rng, (13, 17), np.float64)
    kh, kw = np.broadcast_to(size, 2)
    got = cfilter.box_blur(x, size, mode=mode, cval=CVAL)
    by_uniform = ndi.uniform_filter(x, size, mode=NDI_MODE[mode], cval=CVAL)
    by_correlate = ndi.correlate(x, np.ones((kh, kw)) / (kh * kw),
                                 mode=NDI_MODE[mode], cval=CVAL)
    atol = atol_for(np.float64, 1.0, x, mode, CVAL)
    assert_matches(got, by_uniform, atol)
    assert_matches(got, by_correlate, atol)


@pytest.mark.parametrize("size", [9, (15, 3), 21], ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_box_blur_larger_than_image_follows_numpy_pad(rng, size, mode):
    x = random_image(rng, (4, 6), np.float32)
    kh, kw = np.broadcast_to(size, 2)
    kernel = np.ones((kh, kw)) / (kh * kw)
    got = cfilter.box_blur(x, size, mode=mode, cval=CVAL)
    assert_matches(got, ref_correlate2d(x, kernel, mode=mode, cval=CVAL),
                   atol_for(np.float32, 1.0, x, mode, CVAL), dtype=np.float32)


@pytest.mark.parametrize("amount", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("mode", MODES)
def test_sharpen_leaves_a_flat_image_unchanged(amount, mode):
    x = np.full((7, 10), 42.5, dtype=np.float32)
    got = cfilter.sharpen(x, amount, mode=mode, cval=42.5)
    l1 = np.abs(sharpen_kernel(amount)).sum()
    assert_matches(got, x.astype(np.float64), tol(np.float32, [l1], x), dtype=np.float32)


@pytest.mark.parametrize("name", ["gaussian_sigma1", "box_size3", "box_size4_even",
                                  "sharpen_amount1", "unsharp_sigma1_amount1"])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap"])
def test_smoothing_filters_preserve_a_constant_image(name, mode):
    call, _, l1 = FILTERS[name]
    x = np.full((9, 6), -3.25)
    assert_matches(call(x, mode=mode), x, tol(np.float64, [l1], x))


@pytest.mark.parametrize("stride", [2, 3, (2, 1)], ids=str)
@pytest.mark.parametrize("output", [None, np.uint8], ids=["float", "uint8"])
@pytest.mark.parametrize("mode", MODES)
def test_unsharp_mask_matches_its_definition_with_stride(rng, mode, output, stride):
    """image[::s, ::s] + amount * (image[::s, ::s] - gaussian_filter(image)[::s, ::s]);
    a float result is not clipped, a uint8 one is rounded and saturated once."""
    sigma, amount = 1.3, 1.7
    x = random_image(rng, (26, 33), np.float64, low=0.0, high=255.0)
    sy, sx = np.broadcast_to(stride, 2)
    blurred = ndi.gaussian_filter(x, sigma, mode=NDI_MODE[mode], cval=CVAL)
    expected = (x + amount * (x - blurred))[::sy, ::sx]
    got = cfilter.unsharp_mask(x, sigma, amount, mode=mode, cval=CVAL, stride=stride,
                               output=output)
    atol = atol_for(np.float64, 1 + 2 * amount, x, mode, CVAL)
    if output is None:
        assert_matches(got, expected, atol, dtype=np.float64)
        assert got.min() < 0 and got.max() > 255, "float output must not be clipped"
    else:
        assert_rounded(got, expected, atol, np.uint8)


def test_unsharp_mask_uint8_image_to_uint8(rng):
    x = random_image(rng, (20, 24), np.uint8, low=0, high=255)
    expected = x + 2.0 * (x - ndi.gaussian_filter(x.astype(np.float64), 2.0))
    got = cfilter.unsharp_mask(x, 2.0, 2.0, output=np.uint8)
    assert_rounded(got, expected, atol_for(np.float32, 5.0, x, "reflect", 0.0), np.uint8)


@pytest.mark.parametrize("name,scipy_name", [("sobel", "sobel"), ("prewitt", "prewitt")])
def test_gradient_magnitude_is_hypot_of_axis_responses(rng, name, scipy_name):
    x = random_image(rng, (16, 21), np.float64)
    fn = getattr(cfilter, name)
    g0 = getattr(ndi, scipy_name)(x, axis=0)
    g1 = getattr(ndi, scipy_name)(x, axis=1)
    l1 = 2 * np.abs(SOBEL0 if name == "sobel" else PREWITT0).sum()
    assert_matches(fn(x), np.hypot(g0, g1), tol(np.float64, [l1], x))
    assert_matches(fn(x, axis=None), np.sqrt(g0 ** 2 + g1 ** 2), tol(np.float64, [l1], x))


def test_gradient_axis_orientation_on_a_ramp():
    """axis=0 differentiates down the rows: a ramp along axis 1 has no axis-0 response."""
    ramp = np.tile(np.arange(6.0), (5, 1))
    for fn, slope in ((cfilter.sobel, 8.0), (cfilter.prewitt, 6.0), (cfilter.scharr, 32.0)):
        np.testing.assert_allclose(fn(ramp, axis=1, mode="nearest")[:, 1:-1], slope)
        np.testing.assert_allclose(fn(ramp, axis=0, mode="nearest"), 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# argument errors name the parameter
# ---------------------------------------------------------------------------

X = np.zeros((6, 7))

BAD_CALLS = [
    ("gaussian_negative_sigma", ValueError, "sigma",
     lambda: cfilter.gaussian_blur(X, -1.0)),
    ("gaussian_zero_sigma", ValueError, "sigma",
     lambda: cfilter.gaussian_blur(X, 0.0)),
    ("gaussian_negative_sigma_in_pair", ValueError, "sigma",
     lambda: cfilter.gaussian_blur(X, (1.0, -2.0))),
    ("gaussian_string_sigma", TypeError, "sigma",
     lambda: cfilter.gaussian_blur(X, "2")),
    ("gaussian_negative_truncate", ValueError, "truncate",
     lambda: cfilter.gaussian_blur(X, 1.0, truncate=-1.0)),
    ("gaussian_negative_radius", ValueError, "radius",
     lambda: cfilter.gaussian_blur(X, 1.0, radius=-1)),
    ("box_size0", ValueError, "size", lambda: cfilter.box_blur(X, 0)),
    ("box_size_pair_with_0", ValueError, "size", lambda: cfilter.box_blur(X, (3, 0))),
    ("box_float_size", TypeError, "size", lambda: cfilter.box_blur(X, 2.5)),
    ("sobel_axis2", ValueError, "axis", lambda: cfilter.sobel(X, axis=2)),
    ("prewitt_axis_minus3", ValueError, "axis", lambda: cfilter.prewitt(X, axis=-3)),
    ("scharr_axis2", ValueError, "axis", lambda: cfilter.scharr(X, axis=2)),
    ("sobel_string_axis", TypeError, "axis", lambda: cfilter.sobel(X, axis="x")),
    ("gaussian_unknown_mode", ValueError, "mode",
     lambda: cfilter.gaussian_blur(X, 1.0, mode="reflec")),
    ("box_unknown_mode", ValueError, "mode", lambda: cfilter.box_blur(X, 3, mode="bogus")),
    ("sobel_unknown_mode", ValueError, "mode", lambda: cfilter.sobel(X, mode="clamp")),
    ("laplace_unknown_mode", ValueError, "mode", lambda: cfilter.laplace(X, mode="")),
    ("sharpen_unknown_mode", ValueError, "mode", lambda: cfilter.sharpen(X, mode="mirr")),
    ("unsharp_unknown_mode", ValueError, "mode",
     lambda: cfilter.unsharp_mask(X, 1.0, mode="refl")),
    ("unsharp_negative_sigma", ValueError, "sigma",
     lambda: cfilter.unsharp_mask(X, -1.0)),
    ("sharpen_string_amount", TypeError, "amount", lambda: cfilter.sharpen(X, "1")),
    ("unsharp_string_amount", TypeError, "amount",
     lambda: cfilter.unsharp_mask(X, 1.0, "1")),
    ("laplace_string_cval", TypeError, "cval",
     lambda: cfilter.laplace(X, mode="constant", cval="0")),
    ("gaussian_stride0", ValueError, "stride", lambda: cfilter.gaussian_blur(X, 1.0, stride=0)),
    ("unsharp_stride0", ValueError, "stride", lambda: cfilter.unsharp_mask(X, 1.0, stride=0)),
    ("box_channel_axis3", ValueError, "channel_axis",
     lambda: cfilter.box_blur(np.zeros((4, 5, 3)), 3, channel_axis=3)),
    ("sobel_3d_without_channel_axis", ValueError, "channel_axis",
     lambda: cfilter.sobel(np.zeros((4, 5, 3)))),
    ("gaussian_bad_method", ValueError, "method",
     lambda: cfilter.gaussian_blur(X, 1.0, method="fastest")),
    ("box_output_wrong_shape", ValueError, "output",
     lambda: cfilter.box_blur(X, 3, output=np.empty((5, 5)))),
    ("sobel_output_wrong_shape", ValueError, "output",
     lambda: cfilter.sobel(X, output=np.empty((6, 6)))),
    ("unsharp_output_wrong_shape", ValueError, "output",
     lambda: cfilter.unsharp_mask(X, 1.0, output=np.empty((6, 6)))),
    ("gaussian_complex_image", TypeError, "complex",
     lambda: cfilter.gaussian_blur(X + 1j, 1.0)),
]


@pytest.mark.parametrize("error,match,call", [c[1:] for c in BAD_CALLS],
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_argument_raises_naming_the_parameter(error, match, call):
    with pytest.raises(error, match=match):
        call()

