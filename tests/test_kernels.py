"""Tests for cfilter.kernels against independent references.

Every kernel is checked by correlating a random image with ``k.array`` via
``scipy.ndimage.correlate`` and comparing with scipy.ndimage's own filter (or
OpenCV for Scharr), never with cfilter itself.
"""

import copy
import math
import pickle

import numpy as np
import pytest
import scipy.ndimage as ndi

from cfilter import kernels as K

MODES = ("reflect", "mirror", "nearest", "wrap", "constant")
SHAPES = ((17, 23), (23, 17), (6, 5))  # non-square; (6, 5) is smaller than big kernels
EPS = np.finfo(np.float64).eps


def _image(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)


def _tol(array, image, extra_taps=0):
    """Rounding bound for a sum of products: n * eps * ||k||_1 * max|x|.

    `n` counts the taps of the 2-D kernel plus `extra_taps` for the
    reference's own (separable) passes.
    """
    array = np.asarray(array)
    n = array.size + extra_taps
    return n * EPS * np.abs(array).sum() * np.abs(image).max()


def _assert_close(actual, expected, tol):
    err = np.max(np.abs(actual - expected))
    assert err <= tol, f"max error {err:.3g} > tolerance {tol:.3g}"


# ---------------------------------------------------------------------------
# agreement with scipy.ndimage / OpenCV
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sigma, truncate", [
    (1.0, 4.0), (2.5, 4.0), (0.6, 3.0), ((1.0, 3.0), 4.0), ((3.0, 0.7), 2.5),
])
def test_gaussian_matches_ndimage_gaussian_filter(mode, shape, sigma, truncate):
    x = _image(shape)
    k = K.gaussian(sigma, truncate=truncate)
    expected = ndi.gaussian_filter(x, sigma, mode=mode, truncate=truncate)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sigma, radius", [(2.0, 3), ((1.0, 2.0), (5, 1)), (0.8, 0)])
def test_gaussian_radius_matches_ndimage_gaussian_filter(mode, sigma, radius):
    x = _image((17, 23))
    k = K.gaussian(sigma, radius=radius)
    ry, rx = (radius, radius) if np.isscalar(radius) else radius
    assert k.shape == (2 * ry + 1, 2 * rx + 1)
    expected = ndi.gaussian_filter(x, sigma, mode=mode, radius=radius)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("sigma, truncate, shape", [
    (1.0, 4.0, (9, 9)), (2.0, 4.0, (17, 17)), (2.0, 1.0, (5, 5)),
    ((1.0, 2.0), 4.0, (9, 17)), (0.3, 4.0, (3, 3)),
])
def test_gaussian_radius_follows_scipy_truncate_rule(sigma, truncate, shape):
    assert K.gaussian(sigma, truncate=truncate).shape == shape
    assert K.log(sigma, truncate=truncate).shape == shape


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [1, 3, 4, 5, (3, 5), (4, 1), (2, 7)])
def test_box_matches_ndimage_uniform_filter(mode, shape, size):
    x = _image(shape)
    k = K.box(size)
    expected = ndi.uniform_filter(x, size, mode=mode)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("entry, reference", [
    (K.sobel, ndi.sobel), (K.prewitt, ndi.prewitt),
])
def test_gradient_matches_ndimage(entry, reference, axis, shape, mode):
    x = _image(shape)
    k = entry(axis)
    expected = reference(x, axis=axis, mode=mode)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_scharr_matches_opencv_scharr(axis, shape):
    cv2 = pytest.importorskip("cv2")
    x = _image(shape)
    dx, dy = (0, 1) if axis % 2 == 0 else (1, 0)
    expected = cv2.Scharr(x, cv2.CV_64F, dx, dy,
                          borderType=cv2.BORDER_REFLECT)
    k = K.scharr(axis)
    actual = ndi.correlate(x, k.array, mode="reflect")
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_laplacian_matches_ndimage_laplace(mode, shape):
    x = _image(shape)
    k = K.laplacian()
    expected = ndi.laplace(x, mode=mode)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, sum(k.shape)))


@pytest.mark.parametrize("mode", MODES)
def test_laplacian_diagonal_is_sum_of_axis_and_diagonal_differences(mode):
    # 8-neighbour Laplacian = 9 * box(3) - 9 * identity; the reference's
    # rounding error is 9 times uniform_filter's (two 3-tap passes)
    x = _image((17, 23))
    k = K.laplacian(diagonal=True)
    expected = 9.0 * ndi.uniform_filter(x, 3, mode=mode) - 9.0 * x
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, 6) * 9)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sigma, truncate", [
    (1.0, 4.0), (2.0, 3.0), ((1.0, 2.5), 4.0), ((2.2, 0.9), 2.0),
])
def test_log_matches_ndimage_gaussian_laplace(mode, shape, sigma, truncate):
    x = _image(shape)
    k = K.log(sigma, truncate=truncate)
    expected = ndi.gaussian_laplace(x, sigma, mode=mode, truncate=truncate)
    actual = ndi.correlate(x, k.array, mode=mode)
    # the reference adds two separable passes; bound by both terms' L1 norms,
    # taken from scipy's own order-2 Gaussian applied to a centred impulse
    delta = np.zeros(k.shape)
    delta[k.shape[0] // 2, k.shape[1] // 2] = 1.0
    l1 = sum(np.abs(ndi.gaussian_filter(delta, sigma, order=order, mode="constant",
                                        truncate=truncate)).sum()
             for order in ((2, 0), (0, 2)))
    tol = (k.array.size + sum(k.shape)) * EPS * l1 * np.abs(x).max()
    _assert_close(actual, expected, tol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 3, 4, 7, 8])
@pytest.mark.parametrize("angle, axis", [(0.0, 1), (180.0, 1), (90.0, 0), (-90.0, 0)])
def test_motion_blur_axis_aligned_matches_uniform_filter1d(mode, length, angle, axis):
    x = _image((17, 23))
    k = K.motion_blur(length, angle)
    expected = ndi.uniform_filter1d(x, length, axis=axis, mode=mode)
    actual = ndi.correlate(x, k.array, mode=mode)
    _assert_close(actual, expected, _tol(k.array, x, length))


# ---------------------------------------------------------------------------
# structural properties
# ---------------------------------------------------------------------------

SAMPLES = {
    "identity": lambda: K.identity(),
    "identity_even_pair": lambda: K.identity((2, 5)),
    "box": lambda: K.box(5),
    "box_pair": lambda: K.box((2, 7)),
    "gaussian": lambda: K.gaussian(1.5),
    "gaussian_pair": lambda: K.gaussian((0.8, 2.0), truncate=3.0),
    "gaussian_radius": lambda: K.gaussian(2.0, radius=(1, 4)),
    "sobel0": lambda: K.sobel(0),
    "sobel1": lambda: K.sobel(1),
    "prewitt": lambda: K.prewitt(-1),
    "scharr": lambda: K.scharr(0),
    "laplacian": lambda: K.laplacian(),
    "laplacian_diag": lambda: K.laplacian(diagonal=True),
    "log": lambda: K.log(1.2),
    "log_pair": lambda: K.log((1.0, 2.0), truncate=3.0),
    "sharpen": lambda: K.sharpen(),
    "sharpen_strong": lambda: K.sharpen(2.5),
    "emboss": lambda: K.emboss(),
    "motion_blur": lambda: K.motion_blur(9, 30),
    "motion_blur_h": lambda: K.motion_blur(6),
}
SEPARABLE = {"identity", "identity_even_pair", "box", "box_pair", "gaussian",
             "gaussian_pair", "gaussian_radius", "sobel0", "sobel1", "prewitt",
             "scharr", "motion_blur_h"}
sample_ids = pytest.mark.parametrize("sample", sorted(SAMPLES))


def test_samples_cover_every_catalog_entry():
    assert {SAMPLES[s]().name for s in SAMPLES} == set(K.names())


@sample_ids
def test_array_is_2d_float64_and_finite(sample):
    k = SAMPLES[sample]()
    assert k.array.ndim == 2 and k.array.dtype == np.float64
    assert k.shape == k.array.shape
    assert np.all(np.isfinite(k.array))


@sample_ids
def test_factors_outer_product_equals_array(sample):
    k = SAMPLES[sample]()
    if sample not in SEPARABLE:
        assert k.factors is None
        return
    col, row = k.factors
    assert col.ndim == row.ndim == 1 and col.dtype == row.dtype == np.float64
    np.testing.assert_array_equal(np.outer(col, row), k.array)


@sample_ids
def test_arrays_are_read_only_and_cannot_be_made_writeable(sample):
    k = SAMPLES[sample]()
    arrays = [k.array] + list(k.factors or ())
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[(0,) * a.ndim] = 1.0
        with pytest.raises(ValueError):
            a.flags.writeable = True


@sample_ids
def test_each_call_returns_fresh_arrays(sample):
    a, b = SAMPLES[sample](), SAMPLES[sample]()
    assert a is not b
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.shares_memory(a.array, b.array)
    for fa, fb in zip(a.factors or (), b.factors or ()):
        assert not np.shares_memory(fa, fb)


@sample_ids
def test_kernel_attributes_and_params_are_immutable(sample):
    k = SAMPLES[sample]()
    for attr in ("array", "factors", "name", "params", "shape", "other"):
        with pytest.raises(AttributeError):
            setattr(k, attr, None)
    with pytest.raises(TypeError):
        k.params["x"] = 1


@sample_ids
def test_asarray_protocol(sample):
    k = SAMPLES[sample]()
    view = np.asarray(k)
    assert view.dtype == np.float64
    np.testing.assert_array_equal(view, k.array)
    copied = np.array(k)
    assert copied.flags.writeable and not np.shares_memory(copied, k.array)
    as32 = np.asarray(k, dtype=np.float32)
    assert as32.dtype == np.float32 and as32.shape == k.shape
    copy64 = k.__array__(np.float64, copy=True)
    assert not np.shares_memory(copy64, k.array)
    with pytest.raises(ValueError, match="copy"):
        k.__array__(np.float32, copy=False)
    # usable wherever an array is expected
    x = _image((7, 9))
    np.testing.assert_array_equal(ndi.correlate(x, k), ndi.correlate(x, k.array))


@sample_ids
def test_get_rebuilds_kernel_from_name_and_params(sample):
    k = SAMPLES[sample]()
    again = K.get(k.name, **k.params)
    np.testing.assert_array_equal(again.array, k.array)
    assert dict(again.params) == dict(k.params)


@sample_ids
def test_format_spec_then_get_rebuilds_kernel(sample):
    k = SAMPLES[sample]()
    spec = K.format_spec(k.name, k.params)
    assert K.parse_spec(spec) == (k.name, dict(k.params))
    np.testing.assert_array_equal(K.get(spec).array, k.array)


@sample_ids
def test_pickle_and_copy_round_trip(sample):
    k = SAMPLES[sample]()
    for other in (pickle.loads(pickle.dumps(k)), copy.deepcopy(k)):
        np.testing.assert_array_equal(other.array, k.array)
        assert other.name == k.name and dict(other.params) == dict(k.params)
        assert (other.factors is None) == (k.factors is None)
        assert not other.array.flags.writeable


@sample_ids
def test_repr_names_kernel_and_shape(sample):
    k = SAMPLES[sample]()
    text = repr(k)
    assert text.startswith("Kernel(") and repr(k.name) in text
    assert str(k.shape) in text


@pytest.mark.parametrize("build", [
    lambda: K.box(1), lambda: K.box(4), lambda: K.box((3, 8)),
    lambda: K.gaussian(0.5), lambda: K.gaussian(3.0),
    lambda: K.gaussian((0.7, 4.0), truncate=2.0),
    lambda: K.gaussian(5.0, radius=1),
], ids=["box1", "box4", "box3x8", "gauss0.5", "gauss3", "gauss_pair", "gauss_r1"])
def test_smoothing_kernels_sum_to_one(build):
    k = build()
    assert abs(k.array.sum() - 1.0) <= k.array.size * EPS
    assert np.all(k.array > 0)


@pytest.mark.parametrize("mode", MODES[:-1])  # constant mode darkens the edges
@pytest.mark.parametrize("build", [
    K.sharpen, lambda: K.sharpen(0.0), lambda: K.sharpen(3.7),
    lambda: K.sharpen(-0.5), K.emboss,
], ids=["sharpen", "sharpen0", "sharpen3.7", "sharpen-0.5", "emboss"])
def test_sum_one_kernels_leave_flat_image_unchanged(build, mode):
    k = build()
    assert abs(k.array.sum() - 1.0) <= k.array.size * EPS * np.abs(k.array).max()
    flat = np.full((7, 9), 3.25)
    out = ndi.correlate(flat, k.array, mode=mode)
    _assert_close(out, flat, _tol(k.array, flat))


def test_sharpen_is_identity_plus_amount_times_identity_minus_box():
    amount = 1.7
    ident = np.zeros((3, 3))
    ident[1, 1] = 1.0
    expected = ident + amount * (ident - np.full((3, 3), 1.0 / 9.0))
    np.testing.assert_allclose(K.sharpen(amount).array, expected,
                               rtol=0, atol=4 * EPS * (1 + amount))


def test_identity_kernel_leaves_image_unchanged():
    x = _image((17, 23))
    for size in (1, 3, 4, (2, 5)):
        for mode in MODES:
            np.testing.assert_array_equal(
                ndi.correlate(x, K.identity(size).array, mode=mode), x)


def test_emboss_values():
    assert K.emboss().array.tolist() == [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]


def test_gradient_kernels_are_antisymmetric_and_sum_to_zero():
    for entry in (K.sobel, K.prewitt, K.scharr):
        for axis in (0, 1):
            a = entry(axis).array
            assert a.sum() == 0.0
            flipped = a[::-1, :] if axis == 0 else a[:, ::-1]
            np.testing.assert_array_equal(flipped, -a)


def test_scharr_uses_opencv_weights():
    assert K.scharr(1).array.tolist() == [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]


# ---------------------------------------------------------------------------
# motion blur geometry
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("length", range(1, 12))
@pytest.mark.parametrize("angle", [-135.0, -30.0, 0.0, 17.5, 45.0, 90.0, 123.0, 400.0])
def test_motion_blur_sums_to_one_with_equal_weights(length, angle):
    k = K.motion_blur(length, angle)
    a = k.array
    assert a.shape == (length, length)
    assert abs(a.sum() - 1.0) <= a.size * EPS
    weights = a[a > 0]
    np.testing.assert_array_equal(weights, weights[0])


@pytest.mark.parametrize("length", range(1, 12))
def test_motion_blur_angle_zero_is_horizontal_line_in_middle_row(length):
    a = K.motion_blur(length, 0.0).array
    expected = np.zeros((length, length))
    expected[length // 2, :] = 1.0 / length
    np.testing.assert_allclose(a, expected, rtol=0, atol=EPS)
    np.testing.assert_allclose(K.motion_blur(length, 90.0).array, expected.T,
                               rtol=0, atol=EPS)


@pytest.mark.parametrize("length", range(2, 12))
@pytest.mark.parametrize("angle", np.linspace(-180.0, 180.0, 37))
def test_motion_blur_opposite_angles_agree_and_odd_is_point_symmetric(length, angle):
    a = K.motion_blur(length, angle).array
    np.testing.assert_array_equal(a, K.motion_blur(length, angle + 180.0).array)
    if length % 2:
        np.testing.assert_array_equal(a, a[::-1, ::-1])


@pytest.mark.parametrize("length, angle", [
    (5, 30.0), (5, 45.0), (5, 60.0), (8, 20.0), (8, 70.0), (15, 10.0), (15, 85.0),
])
def test_motion_blur_positive_angle_rises_to_the_right(length, angle):
    a = K.motion_blur(length, angle).array
    rows, cols = np.nonzero(a)
    # rows grow downward: a line rising to the right has rows decreasing in cols
    assert np.corrcoef(cols, rows)[0, 1] < 0
    b = K.motion_blur(length, -angle).array
    rows, cols = np.nonzero(b)
    assert np.corrcoef(cols, rows)[0, 1] > 0


@pytest.mark.parametrize("length", [3, 7, 12, 25])
@pytest.mark.parametrize("angle", [0.0, 20.0, 45.0, 70.0, 135.0])
def test_motion_blur_line_is_connected_and_follows_direction(length, angle):
    a = K.motion_blur(length, angle).array
    rows, cols = np.nonzero(a)
    centre = (length - 1) / 2
    theta = math.radians(angle)
    # distance of each pixel centre from the ideal line through the centre
    dist = np.abs((cols - centre) * math.sin(theta) + (rows - centre) * math.cos(theta))
    assert dist.max() <= math.sqrt(2) / 2 + 1e-9
    # 8-connected: labelling with a full 3x3 structure finds one component
    _, count = ndi.label(a > 0, structure=np.ones((3, 3)))
    assert count == 1
    # extent along the direction is length - 1, up to rounding each end pixel
    # (by at most half a pixel per coordinate, i.e. sqrt(2)/2 along the line)
    along = (cols - centre) * math.cos(theta) - (rows - centre) * math.sin(theta)
    assert abs((along.max() - along.min()) - (length - 1)) <= math.sqrt(2) + 1e-9


# ---------------------------------------------------------------------------
# catalog, get, spec strings
# ---------------------------------------------------------------------------

def test_names_sorted_and_complete():
    expected = ["box", "emboss", "gaussian", "identity", "laplacian", "log",
                "motion_blur", "prewitt", "scharr", "sharpen", "sobel"]
    assert K.names() == expected
    assert set(K.names()) <= set(K.__all__)


@pytest.mark.parametrize("spec, name, params", [
    ("emboss", "emboss", {}),
    ("emboss:", "emboss", {}),
    ("gaussian:sigma=2", "gaussian", {"sigma": 2}),
    ("gaussian:sigma=2.5,truncate=3", "gaussian", {"sigma": 2.5, "truncate": 3}),
    ("gaussian:sigma=2x3", "gaussian", {"sigma": (2, 3)}),
    ("gaussian:sigma=(2,3)", "gaussian", {"sigma": (2, 3)}),
    ("gaussian:sigma=[1.5, 3],radius=none", "gaussian",
     {"sigma": (1.5, 3), "radius": None}),
    ("box:size=5", "box", {"size": 5}),
    ("box:size=3X5", "box", {"size": (3, 5)}),
    ("sobel:axis=-1", "sobel", {"axis": -1}),
    ("laplacian:diagonal=True", "laplacian", {"diagonal": True}),
    ("laplacian:diagonal=false", "laplacian", {"diagonal": False}),
    ("motion_blur:length=9,angle=30", "motion_blur", {"length": 9, "angle": 30}),
    ("motion_blur:length=9,angle=-1.5e1", "motion_blur",
     {"length": 9, "angle": -15.0}),
    ("  sharpen : amount = 0.5 ", "sharpen", {"amount": 0.5}),
    ("gaussian:sigma=abc", "gaussian", {"sigma": "abc"}),
])
def test_parse_spec_converts_values(spec, name, params):
    got_name, got_params = K.parse_spec(spec)
    assert (got_name, got_params) == (name, params)
    for key, value in params.items():
        assert type(got_params[key]) is type(value)


@pytest.mark.parametrize("name, params", [
    ("gaussian", {"sigma": 2.0, "truncate": 3.5, "radius": None}),
    ("gaussian", {"sigma": (1, 2.5)}),
    ("box", {"size": (3, 5)}),
    ("laplacian", {"diagonal": True}),
    ("motion_blur", {"length": 9, "angle": -30.25}),
    ("sharpen", {"amount": 1e-7}),
    ("emboss", {}),
    ("custom", {"label": "abc"}),
])
def test_format_spec_parse_spec_round_trip(name, params):
    assert K.parse_spec(K.format_spec(name, params)) == (name, params)


@pytest.mark.parametrize("spec, message", [
    (":sigma=2", "no kernel name"),
    ("gaussian:sigma", "not key=value"),
    ("gaussian:sigma=2,,truncate=3", "not key=value"),
    ("gaussian:sigma=", "has no value"),
    ("gaussian:sigma=2,sigma=3", "given twice"),
    ("gaussian:2=3", "not a parameter name"),
    ("gaussian:sigma=(2,3", "unbalanced"),
    ("gaussian:sigma=(2,)", "empty item"),
])
def test_parse_spec_rejects_malformed_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        K.parse_spec(spec)


def test_parse_spec_rejects_non_string():
    with pytest.raises(TypeError, match="must be a str"):
        K.parse_spec(3)


def test_format_spec_rejects_unwritable_value():
    with pytest.raises(ValueError, match="cannot be written"):
        K.format_spec("x", {"a": "1,2"})


@pytest.mark.parametrize("spec, kwargs, expected", [
    ("gaussian:sigma=2", {}, lambda: K.gaussian(2)),
    ("GAUSSIAN:sigma=2x3", {}, lambda: K.gaussian((2, 3))),
    ("gaussian:sigma=(2,3),truncate=2", {}, lambda: K.gaussian((2, 3), 2.0)),
    ("gaussian", {"sigma": 1.5}, lambda: K.gaussian(1.5)),
    ("gaussian:sigma=1.5", {"truncate": 2}, lambda: K.gaussian(1.5, 2)),
    ("box:size=5", {}, lambda: K.box(5)),
    ("sobel:axis=1", {}, lambda: K.sobel(1)),
    ("motion_blur:length=9,angle=30", {}, lambda: K.motion_blur(9, 30)),
    ("laplacian:diagonal=true", {}, lambda: K.laplacian(True)),
    ("log:sigma=2", {}, lambda: K.log(2)),
    ("emboss", {}, K.emboss),
])
def test_get_builds_same_kernel_as_direct_call(spec, kwargs, expected):
    k = K.get(spec, **kwargs)
    np.testing.assert_array_equal(k.array, expected().array)


# ---------------------------------------------------------------------------
# validation: (call, exception, message regex)
# ---------------------------------------------------------------------------

VALIDATION = [
    (lambda: K.identity(0), ValueError, r"identity: size=0 must be >= 1"),
    (lambda: K.identity(True), TypeError, r"identity: size=True must be an int.*not bool"),
    (lambda: K.identity((3, 0)), ValueError, r"identity: size=\(3, 0\) must be >= 1"),
    (lambda: K.box(0), ValueError, r"box: size=0 must be >= 1"),
    (lambda: K.box(-3), ValueError, r"box: size=-3 must be >= 1"),
    (lambda: K.box(2.0), TypeError, r"box: size=2.0 must be an int.*not float"),
    (lambda: K.box("3"), TypeError, r"box: size='3' must be an int.*not str"),
    (lambda: K.box((1, 2, 3)), ValueError, r"box: size=\(1, 2, 3\) must be an int or a pair"),
    (lambda: K.box((3, False)), TypeError, r"box: size=\(3, False\) must be an int.*not bool"),
    (lambda: K.gaussian(-1), ValueError, r"gaussian: sigma=-1 must be > 0"),
    (lambda: K.gaussian(0), ValueError, r"gaussian: sigma=0 must be > 0"),
    (lambda: K.gaussian((1, 0)), ValueError, r"gaussian: sigma=\(1, 0\) must be > 0"),
    (lambda: K.gaussian("2"), TypeError, r"gaussian: sigma='2' must be a real number.*not str"),
    (lambda: K.gaussian(True), TypeError, r"gaussian: sigma=True must be a real number.*not bool"),
    (lambda: K.gaussian(math.nan), ValueError, r"gaussian: sigma=nan must be finite"),
    (lambda: K.gaussian(math.inf), ValueError, r"gaussian: sigma=inf must be finite"),
    (lambda: K.gaussian(1, truncate=0), ValueError, r"gaussian: truncate=0 must be > 0"),
    (lambda: K.gaussian(1, truncate=-math.inf), ValueError,
     r"gaussian: truncate=-inf must be finite"),
    (lambda: K.gaussian(1, radius=-1), ValueError, r"gaussian: radius=-1 must be >= 0"),
    (lambda: K.gaussian(1, radius=1.5), TypeError, r"gaussian: radius=1.5 must be an int"),
    (lambda: K.gaussian((1, 2, 3)), ValueError,
     r"gaussian: sigma=\(1, 2, 3\) must be a real number or a pair"),
    (lambda: K.sobel(2), ValueError, r"sobel: axis=2 must be one of 0, 1, -1, -2"),
    (lambda: K.prewitt(-3), ValueError, r"prewitt: axis=-3 must be one of"),
    (lambda: K.scharr(True), TypeError, r"scharr: axis=True must be an int"),
    (lambda: K.sobel(0.0), TypeError, r"sobel: axis=0.0 must be an int"),
    (lambda: K.laplacian(1), TypeError, r"laplacian: diagonal=1 must be True or False"),
    (lambda: K.laplacian("yes"), TypeError, r"laplacian: diagonal='yes' must be True or False"),
    (lambda: K.log(0), ValueError, r"log: sigma=0 must be > 0"),
    (lambda: K.log(1, truncate=math.nan), ValueError, r"log: truncate=nan must be finite"),
    (lambda: K.log([1.0, -2.0]), ValueError, r"log: sigma=\[1.0, -2.0\] must be > 0"),
    (lambda: K.sharpen(math.nan), ValueError, r"sharpen: amount=nan must be finite"),
    (lambda: K.sharpen("1"), TypeError, r"sharpen: amount='1' must be a real number"),
    (lambda: K.sharpen(False), TypeError, r"sharpen: amount=False must be a real number.*bool"),
    (lambda: K.motion_blur(0), ValueError, r"motion_blur: length=0 must be >= 1"),
    (lambda: K.motion_blur(5.0), TypeError, r"motion_blur: length=5.0 must be an int"),
    (lambda: K.motion_blur(True), TypeError, r"motion_blur: length=True must be an int"),
    (lambda: K.motion_blur(5, math.inf), ValueError, r"motion_blur: angle=inf must be finite"),
    (lambda: K.motion_blur(5, "30"), TypeError, r"motion_blur: angle='30' must be a real number"),
    (lambda: K.get("gausian"), ValueError,
     r"'gausian' is not in the catalog; use one of: box, emboss, gaussian"),
    (lambda: K.get(3), TypeError, r"must be a str"),
    (lambda: K.get("gaussian", sigma=1, sigm=2), ValueError,
     r"gaussian: unknown parameter\(s\) 'sigm'; valid parameters: sigma, truncate, radius"),
    (lambda: K.get("emboss:size=3"), ValueError,
     r"emboss: unknown parameter\(s\) 'size'; valid parameters: \(none\)"),
    (lambda: K.get("gaussian"), ValueError, r"gaussian: missing required parameter\(s\) 'sigma'"),
    (lambda: K.get("motion_blur:angle=3"), ValueError,
     r"motion_blur: missing required parameter\(s\) 'length'"),
    (lambda: K.get("gaussian:sigma=2", sigma=3), ValueError, r"sigma given both in the spec"),
    (lambda: K.get("gaussian:sigma=abc"), TypeError,
     r"gaussian: sigma='abc' must be a real number"),
    (lambda: K.get("box:size=0x3"), ValueError, r"box: size=\(0, 3\) must be >= 1"),
    (lambda: K.Kernel([1.0, 2.0]), ValueError, r"Kernel: array with shape \(2,\) must be 2-D"),
    (lambda: K.Kernel(np.zeros((0, 3))), ValueError, r"must not be empty"),
    (lambda: K.Kernel([[1j]]), TypeError, r"complex"),
    (lambda: K.Kernel([["a"]]), TypeError, r"not numeric"),
    (lambda: K.Kernel([[np.nan]]), ValueError, r"must be finite"),
    (lambda: K.Kernel([[1.0, 2.0]], factors=([1.0], [1.0, 3.0])), ValueError,
     r"does not equal array"),
    (lambda: K.Kernel([[1.0, 2.0]], factors=([1.0, 1.0], [1.0, 2.0])), ValueError,
     r"must be 1-D of lengths \(1, 2\)"),
]


@pytest.mark.parametrize("call, exc, message", VALIDATION,
                         ids=[m[:40] for _, _, m in VALIDATION])
def test_invalid_parameters_raise_clear_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_numpy_scalars_are_accepted_and_normalised():
    k = K.gaussian(np.float32(1.5), truncate=np.int64(3))
    assert k.params["sigma"] == 1.5 and type(k.params["sigma"]) is float
    assert K.box(np.int64(3)).shape == (3, 3)
    assert K.sobel(np.int8(-1)).params["axis"] == 1
    assert K.laplacian(np.bool_(True)).params["diagonal"] is True


def test_custom_kernel_copies_input():
    src = np.arange(6.0).reshape(2, 3)
    k = K.Kernel(src, name="mine", params={"a": 1})
    src[0, 0] = 99.0
    assert k.array[0, 0] == 0.0
    assert k.name == "mine" and dict(k.params) == {"a": 1} and k.factors is None


# The array methods of a Kernel, each against numpy on np.asarray(k); the
# kernel stays immutable (views are read-only, copies are new data).
ARRAY_METHODS = {
    "sum": lambda a: a.sum(),
    "sum(axis=0)": lambda a: a.sum(axis=0),
    "sum(axis=1, keepdims)": lambda a: a.sum(axis=1, keepdims=True),
    "mean": lambda a: a.mean(),
    "min": lambda a: a.min(),
    "max(axis=1)": lambda a: a.max(axis=1),
    "shape": lambda a: a.shape,
    "dtype": lambda a: a.dtype,
    "ndim": lambda a: a.ndim,
    "size": lambda a: a.size,
    "T": lambda a: a.T,
    "len": len,
    "[0]": lambda a: a[0],
    "[-1, 0]": lambda a: a[-1, 0],
    "[:, ::2]": lambda a: a[:, ::2],
    "[mask]": lambda a: a[np.asarray(a) > 0],
    "astype(float32)": lambda a: a.astype(np.float32),
    "copy": lambda a: a.copy(),
    "tolist": lambda a: a.tolist(),
    "iteration": lambda a: [list(row) for row in a],
}


@pytest.mark.parametrize("method", list(ARRAY_METHODS))
@sample_ids
def test_kernel_array_methods_answer_as_numpy(sample, method):
    k = SAMPLES[sample]()
    before = np.array(k)
    call = ARRAY_METHODS[method]
    got, want = call(k), call(np.asarray(k).copy())
    assert type(got) is type(want)
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want
    if isinstance(got, np.ndarray) and np.shares_memory(got, k.array):
        assert not got.flags.writeable     # a view: read-only
        with pytest.raises(ValueError):
            got[...] = 0
    elif isinstance(got, np.ndarray):
        got[...] = 0                       # new data: the kernel keeps its
    np.testing.assert_array_equal(k.array, before)


def test_kernel_item_assignment_is_refused():
    k = K.gaussian(1.0)
    with pytest.raises(TypeError):
        k[0, 0] = 1.0
    with pytest.raises(ValueError):
        k.T[0, 0] = 1.0
    assert k.astype(np.float64, copy=False) is k.array
    with pytest.raises(ValueError):
        k.astype(np.float64, copy=False)[0, 0] = 1.0
