"""``method="lowrank"``: a kernel of numerical rank r as r separable terms.

A Laplacian of Gaussian, a difference of Gaussians and a rotated Gabor
kernel with an isotropic envelope are each a sum of two separable kernels
(rank 2; the Gabor is rank 1 when its stripes run along an axis), and a sum
of r outer products has rank r.  Every test here compares cfilter with a
reference that does not call it:

* ``conftest.ref_correlate2d`` -- ``numpy.pad`` + sliding windows in
  float64, from the definition (every mode, padding form, stride, dilation,
  kernels larger than the image);
* ``scipy.ndimage.correlate`` / ``convolve`` for "same" padding at stride 1
  (kernels at most as large as the image, where scipy's boundary rules
  agree with numpy.pad's);
* ``scipy.signal.correlate2d`` / ``convolve2d`` for "full" and "valid"
  padding with the constant 0;
* ``numpy.linalg.svd`` / ``matrix_rank`` for the rank;
* ``test_nan_policy.ignore_reference`` (the normalised convolution written
  from its definition on the numpy.pad reference) for ``nan_policy="ignore"``.

The kernels are built here with numpy, except the catalog's LoG, whose
weights are checked against a numpy LoG by ``tests/test_kernels.py``.

Tolerance (``atol`` below): the engine runs, for each of the r terms, a
column pass of kh taps and a row pass of kw taps, and adds the r terms;
with the two factors' rounding to the working dtype that is at most
``kh + kw + r + 1`` roundings of unit ``u = eps/2`` on each product
(Higham, *Accuracy and Stability of Numerical Algorithms*, section 4.2:
``gamma_n`` for n sums and products), applied to the magnitude the terms
carry, ``sum_t |c_t|_1 |r_t|_1 * max|x|`` (at least the kernel's own L1
norm; the terms of an SVD can cancel).  So ``c = (kh + kw + r + 1) / 2``
eps of the working dtype, or conftest's ``TOL_FACTOR`` if larger.  The
singular values the rank rule drops change each output by at most their
root-sum-square times the window's 2-norm, ``sqrt(kh * kw) * max|x|``; the
SVD itself is exact to a few ``max(kh, kw)`` float64 roundings of the
largest singular value.  ``max|x|`` counts ``cval`` in constant mode.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal

import cfilter
from conftest import (MODES, NDI_MODE, TOL_FACTOR, out_len, random_image,
                      random_kernel, ref_correlate2d, resolve_padding,
                      working_dtype)
from test_nan_policy import assert_ignore_equal, holed, ignore_reference

CVAL = -1.75
PADDINGS = ("same", "valid", "full", 3, (2, 5), ((0, 4), (6, 1)))


def _seeded(name):
    """A generator fixed by ``name``."""
    return np.random.default_rng(
        sum((i + 1) * b for i, b in enumerate(name.encode())))


# ---------------------------------------------------------------------------
# Kernels, built with numpy
# ---------------------------------------------------------------------------

def _grid(shape):
    """Row (y) and column (x) coordinates centred on the kernel's middle."""
    kh, kw = shape
    y = np.arange(kh) - (kh - 1) / 2
    x = np.arange(kw) - (kw - 1) / 2
    return np.meshgrid(y, x, indexing="ij")


def gaussian2d(sigma, size):
    """A sampled, normalised isotropic Gaussian of ``size x size``."""
    y, x = _grid((size, size))
    g = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def log_numpy(sigma, shape):
    """The Laplacian of the continuous Gaussian, sampled:
    ``(x^2 + y^2 - 2 sigma^2) / sigma^4 * exp(-(x^2 + y^2) / (2 sigma^2))
    / (2 pi sigma^2)`` = ``g''(x) g(y) + g(x) g''(y)``, rank 2."""
    y, x = _grid(shape)
    r2 = x ** 2 + y ** 2
    return ((r2 - 2 * sigma ** 2) / sigma ** 4
            * np.exp(-r2 / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2))


def dog(sigma1, sigma2, size):
    """Difference of two normalised Gaussians: rank 2."""
    return gaussian2d(sigma1, size) - gaussian2d(sigma2, size)


def gabor(theta_deg, sigma=5.0, wavelength=8.0, size=31):
    """A Gabor kernel whose stripes run across direction ``theta`` (degrees
    from the x axis), isotropic Gaussian envelope: ``env(x) env(y) cos(a x +
    b y)`` = ``env cos(a x) env cos(b y) - env sin(a x) env sin(b y)``, rank 2
    (rank 1 when ``a`` or ``b`` is 0)."""
    y, x = _grid((size, size))
    t = np.deg2rad(theta_deg)
    along = x * np.cos(t) + y * np.sin(t)
    return (np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
            * np.cos(2 * np.pi * along / wavelength))


def random_rank(name, rank, shape):
    """A sum of ``rank`` outer products of random vectors."""
    g = _seeded(name)
    return sum(np.outer(random_kernel(g, (shape[0],)),
                        random_kernel(g, (shape[1],))) for _ in range(rank))


#: name -> (kernel, its rank in exact arithmetic)
KERNELS = {
    "log_catalog_s1": (cfilter.kernels.log(1.0).array, 2),        # 9x9
    "log_catalog_s1.6": (cfilter.kernels.log(1.6).array, 2),      # 13x13
    "log_catalog_s2.5": (cfilter.kernels.log(2.5).array, 2),      # 21x21
    "log_catalog_1.2x2": (cfilter.kernels.log((1.2, 2.0)).array, 2),  # 11x17
    "log_numpy_s2_13x13": (log_numpy(2.0, (13, 13)), 2),
    "log_numpy_s1.5_10x14": (log_numpy(1.5, (10, 14)), 2),       # even sides
    "dog_2_3.2_25x25": (dog(2.0, 3.2, 25), 2),
    "gabor_0": (gabor(0), 1),
    "gabor_30": (gabor(30), 2),
    "gabor_45": (gabor(45), 2),
    "gabor_60": (gabor(60), 2),
    "gabor_90": (gabor(90), 1),
    "rank2_7x5": (random_rank("rank2_7x5", 2, (7, 5)), 2),
    "rank2_6x8": (random_rank("rank2_6x8", 2, (6, 8)), 2),
    "rank3_9x9": (random_rank("rank3_9x9", 3, (9, 9)), 3),
    "rank3_4x11": (random_rank("rank3_4x11", 3, (4, 11)), 3),
}
#: A smaller set spanning odd, even, non-square, rank 2 and 3, for the
#: larger grids of options.
SOME = ("log_catalog_s1.6", "log_numpy_s1.5_10x14", "gabor_30", "rank2_6x8",
        "rank3_4x11")
#: The image every kernel above fits in (the 31x31 Gabor included).
SHAPE = (41, 47)


def _kernel(name):
    return KERNELS[name][0]


def _image(name, dtype=np.float64, shape=SHAPE):
    if np.dtype(dtype) == np.uint8:
        return random_image(_seeded(name), shape, dtype, 0, 255)
    return random_image(_seeded(name), shape, dtype)


def rank_tol(kernel):
    """The rank rule's tolerance relative to the largest singular value:
    16 * max(kh, kw) roundings of the kernel's own precision."""
    kernel = np.asarray(kernel)
    eps = np.finfo(kernel.dtype if kernel.dtype == np.float32
                   else np.float64).eps
    return 16 * max(kernel.shape) * eps


def numerical_rank(kernel):
    """numpy's rank of ``kernel`` with the rank rule's tolerance."""
    s0 = np.linalg.svd(np.asarray(kernel, np.float64), compute_uv=False)[0]
    return int(np.linalg.matrix_rank(np.asarray(kernel, np.float64),
                                     tol=rank_tol(kernel) * s0))


def atol(dtype, kernel, x, cval=0.0):
    """See the module's docstring."""
    w = np.asarray(kernel, dtype=np.float64)
    kh, kw = w.shape
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    r = max(1, int(np.count_nonzero(s > rank_tol(kernel) * s[0])))
    terms = float(sum(s[t] * np.abs(u[:, t]).sum() * np.abs(vt[t]).sum()
                      for t in range(r)))
    scale = max(terms, float(np.abs(w).sum()))
    xmax = max(float(np.max(np.abs(np.asarray(x, np.float64)), initial=0.0)),
               abs(float(cval)))
    c = max(TOL_FACTOR, (kh + kw + r + 1) / 2)
    rounding = c * np.finfo(working_dtype(dtype)).eps * scale * xmax
    dropped = (np.sqrt(np.sum(s[r:] ** 2))
               + 4 * max(kh, kw) * np.finfo(np.float64).eps * s[0])
    return (rounding + dropped * np.sqrt(kh * kw) * xmax
            + np.finfo(np.float64).tiny)


def assert_close(got, expected, tolerance, dtype=None):
    got = np.asarray(got)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=0,
                               atol=tolerance)


def assert_rounded(got, ref, dtype, tolerance):
    """An integer result is ``clip(rint(ref))``; an exact value within the
    tolerance of a tie may round either way."""
    info = np.iinfo(dtype)
    assert got.dtype == np.dtype(dtype)
    expected = np.clip(np.rint(ref), info.min, info.max)
    clear = np.abs(np.abs(ref - np.floor(ref)) - 0.5) > tolerance
    np.testing.assert_array_equal(got[clear].astype(np.float64),
                                  expected[clear])
    assert np.all(np.abs(got.astype(np.float64) - expected) <= 1)


def _empty(shape, kernel, padding, stride=1, dilation=1):
    pads = resolve_padding(padding, kernel.shape, dilation)
    return any(out_len(n, k, b, a, s, d) < 1 for n, k, (b, a), s, d in zip(
        shape, kernel.shape, pads, np.broadcast_to(stride, 2),
        np.broadcast_to(dilation, 2)))


# ---------------------------------------------------------------------------
# The rank
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", KERNELS)
def test_plan_rank_is_the_numerical_rank(name):
    kernel, exact = KERNELS[name]
    x = _image(name)
    assert numerical_rank(kernel) == exact
    # the gap is wide: numpy's default tolerance agrees
    assert np.linalg.matrix_rank(kernel) == exact
    p = cfilter.plan(x, kernel, method="lowrank")
    assert p.method == "lowrank"
    assert p.rank == exact


@pytest.mark.parametrize("name", ["log_catalog_s2.5", "dog_2_3.2_25x25",
                                  "gabor_30", "gabor_45", "gabor_60"])
def test_log_dog_and_oblique_gabor_are_rank_two(name):
    kernel = _kernel(name)
    s = np.linalg.svd(kernel, compute_uv=False)
    assert s[1] > 1e-3 * s[0] and s[2] < 1e-14 * s[0]
    assert cfilter.plan(_image(name), kernel, method="lowrank").rank == 2


@pytest.mark.parametrize("name", ["log_catalog_s1.6", "dog_2_3.2_25x25",
                                  "gabor_45", "rank3_9x9"])
def test_float32_kernel_keeps_its_rank(name):
    """A kernel given in float32 carries float32 rounding in every weight;
    the rule's tolerance follows the kernel's dtype, so the rounding is not
    taken for further terms."""
    kernel = _kernel(name)
    k32 = kernel.astype(np.float32)
    assert numerical_rank(k32) == KERNELS[name][1]
    x = _image(name, np.float32)
    p = cfilter.plan(x, k32, method="lowrank")
    assert p.rank == KERNELS[name][1]
    got = cfilter.correlate(x, k32, method="lowrank")
    assert_close(got, ndi.correlate(x.astype(np.float64),
                                    k32.astype(np.float64)),
                 atol(np.float32, k32, x), np.float32)


@pytest.mark.parametrize("shape", [(5, 7), (8, 8), (12, 3), (3, 31)])
def test_explicit_lowrank_on_full_rank_kernel_runs_at_full_rank(shape):
    kernel = random_kernel(_seeded(f"full{shape}"), shape)
    assert np.linalg.matrix_rank(kernel) == min(shape)
    x = _image(f"full{shape}")
    p = cfilter.plan(x, kernel, method="lowrank")
    assert p.rank == min(shape) == numerical_rank(kernel)
    got = cfilter.correlate(x, kernel, method="lowrank")
    assert_close(got, ndi.correlate(x, kernel), atol(np.float64, kernel, x),
                 np.float64)


@pytest.mark.parametrize("shape", [(1, 7), (6, 1), (1, 1)])
def test_one_row_or_column_kernel_is_one_term(shape):
    kernel = random_kernel(_seeded(f"line{shape}"), shape)
    x = _image(f"line{shape}")
    assert cfilter.plan(x, kernel, method="lowrank").rank == 1
    got = cfilter.correlate(x, kernel, method="lowrank", mode="mirror")
    assert_close(got, ndi.correlate(x, kernel, mode="mirror"),
                 atol(np.float64, kernel, x))


def test_zero_kernel_gives_zeros():
    x = _image("zero")
    got = cfilter.correlate(x, np.zeros((5, 4)), method="lowrank",
                            mode="constant", cval=3.0)
    np.testing.assert_array_equal(got, np.zeros_like(x))


# ---------------------------------------------------------------------------
# 'auto'
# ---------------------------------------------------------------------------

@pytest.fixture
def dear_fft(monkeypatch):
    """Whether the transform or two separable terms are cheaper for a LoG
    depends on the machine the cost model was calibrated on: the transform
    made dear, the model's choice is lowrank's.  (Plans made meanwhile are
    dropped before and after.)"""
    from cfilter import _api, _plan
    monkeypatch.setitem(_plan.COSTS, "fft", (1e6, 1e6))
    _api._PLANS.clear()
    yield
    _api._PLANS.clear()


def test_auto_picks_lowrank_for_a_large_log_on_a_large_image(dear_fft):
    image = np.zeros((2048, 2048), np.float32)
    kernel = cfilter.kernels.log(4.0)                # 33x33
    for k in (kernel, kernel.array, log_numpy(4.0, (33, 33))):
        p = cfilter.plan(image, k)
        assert "lowrank" in p.costs
        assert p.method == min(p.costs, key=p.costs.get) == "lowrank"
        assert p.rank == 2


@pytest.mark.parametrize("size", [16, 64, 256, 1024, 2048])
@pytest.mark.parametrize("name", ["log_catalog_s2.5", "dog_2_3.2_25x25",
                                  "gabor_30", "gabor_90", "rank3_9x9"])
def test_auto_method_is_the_cheapest_modelled(name, size):
    """Whatever 'auto' picks is the lowest of the costs plan() reports, and
    a lowrank pick reports the kernel's rank."""
    p = cfilter.plan(np.zeros((size, size), np.float32), _kernel(name))
    assert p.method == min(p.costs, key=p.costs.get)
    if p.method == "lowrank":
        assert p.rank == KERNELS[name][1]
    else:
        assert p.rank is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_lowrank_result_matches_scipy(dtype, dear_fft):
    # (an image large enough that auto takes the kernel's SVD: its cost
    # is then small next to the call's)
    kernel = cfilter.kernels.log(4.0).array            # 33x33
    x = random_image(_seeded("auto_log"), (1024, 900), dtype)
    p = cfilter.plan(x, kernel)
    assert "lowrank" in p.costs
    assert p.method == min(p.costs, key=p.costs.get)
    got = cfilter.correlate(x, kernel)
    assert_close(got, ndi.correlate(x.astype(np.float64), kernel),
                 atol(dtype, kernel, x), dtype)


# ---------------------------------------------------------------------------
# Every mode, padding, stride and dilation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", KERNELS)
def test_lowrank_matches_scipy_ndimage_correlate(name, mode, dtype):
    kernel = _kernel(name)
    x = _image(name, dtype)
    original = x.copy()
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, method="lowrank")
    expected = ndi.correlate(x.astype(np.float64), kernel,
                             mode=NDI_MODE[mode], cval=CVAL)
    assert_close(got, expected, atol(dtype, kernel, x, CVAL), dtype)
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", KERNELS)
def test_lowrank_matches_scipy_ndimage_convolve(name, mode):
    kernel = _kernel(name)
    x = _image(name)
    got = cfilter.convolve(x, kernel, mode=mode, cval=CVAL, method="lowrank")
    expected = ndi.convolve(x, kernel, mode=NDI_MODE[mode], cval=CVAL)
    assert_close(got, expected, atol(np.float64, kernel, x, CVAL))


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize("padding", ["full", "valid"])
@pytest.mark.parametrize("name", KERNELS)
def test_full_and_valid_match_scipy_signal(name, padding, flip):
    kernel = _kernel(name)
    x = _image(name, np.float32)
    fn = cfilter.convolve if flip else cfilter.correlate
    ref = scipy.signal.convolve2d if flip else scipy.signal.correlate2d
    got = fn(x, kernel, mode="constant", padding=padding, method="lowrank")
    expected = ref(x.astype(np.float64), kernel, mode=padding)
    assert_close(got, expected, atol(np.float32, kernel, x), np.float32)


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", KERNELS)
def test_every_padding_form_matches_numpy_pad_reference(name, mode, padding,
                                                        flip):
    kernel = _kernel(name)
    x = _image(name, np.float32)
    if _empty(x.shape, kernel, padding):
        pytest.skip("no output pixels")
    fn = cfilter.convolve if flip else cfilter.correlate
    got = fn(x, kernel, mode=mode, cval=CVAL, padding=padding,
             method="lowrank")
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL,
                               padding=padding, convolve=flip)
    assert_close(got, expected, atol(np.float32, kernel, x, CVAL), np.float32)


@pytest.mark.parametrize("flip", [False, True], ids=["correlate", "convolve"])
@pytest.mark.parametrize("dilation", [1, 2, (1, 3), (2, 1)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 1), (1, 2), (2, 3)], ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SOME)
def test_stride_and_dilation_match_numpy_pad_reference(name, mode, stride,
                                                       dilation, flip):
    kernel = _kernel(name)
    x = _image(name)
    padding = "same" if stride != (2, 3) else ((1, 4), (5, 0))
    if _empty(x.shape, kernel, padding, stride, dilation):
        pytest.skip("no output pixels")
    fn = cfilter.convolve if flip else cfilter.correlate
    got = fn(x, kernel, mode=mode, cval=CVAL, padding=padding, stride=stride,
             dilation=dilation, method="lowrank")
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL,
                               padding=padding, stride=stride,
                               dilation=dilation, convolve=flip)
    assert_close(got, expected, atol(np.float64, kernel, x, CVAL), np.float64)


@pytest.mark.parametrize("padding", ["same", "full"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 1), (3, 17), (9, 4)],
                         ids=str)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["log_catalog_s1", "gabor_45", "rank3_4x11"])
def test_tiny_images_and_kernels_larger_than_the_image(name, mode, shape,
                                                       padding):
    """Padding wider than the image follows the mode as numpy.pad does
    (reflections repeat, wrap tiles)."""
    kernel = _kernel(name)
    x = _image(name, np.float64, shape)
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, padding=padding,
                            method="lowrank")
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL,
                               padding=padding)
    assert_close(got, expected, atol(np.float64, kernel, x, CVAL))


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SOME)
def test_uint8_image_gives_float32(name, mode):
    kernel = _kernel(name)
    x = _image(name, np.uint8)
    original = x.copy()
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, method="lowrank")
    expected = ndi.correlate(x.astype(np.float64), kernel,
                             mode=NDI_MODE[mode], cval=CVAL)
    assert_close(got, expected, atol(np.uint8, kernel, x, CVAL), np.float32)
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("stride", [1, (1, 2)], ids=str)
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("name", ["log_catalog_s1.6", "dog_2_3.2_25x25",
                                  "rank3_4x11"])
def test_uint8_output_rounds_and_saturates(name, in_dtype, stride):
    x = (_image(name, np.uint8) if in_dtype == np.uint8
         else random_image(_seeded(name), SHAPE, in_dtype, 0, 1))
    # scaled so the results reach 400 in magnitude: many fall inside
    # [0, 255], and some beyond it
    unit = ref_correlate2d(x, _kernel(name), stride=stride)
    kernel = _kernel(name) * (400 / np.abs(unit).max())
    got = cfilter.correlate(x, kernel, stride=stride, output=np.uint8,
                            method="lowrank")
    expected = ref_correlate2d(x, kernel, stride=stride)
    assert ((expected < -1) | (expected > 256)).any()
    assert ((expected > 1) & (expected < 254)).mean() > 0.25
    assert_rounded(got, expected, np.uint8, atol(in_dtype, kernel, x))


def test_output_array_is_written_in_place():
    kernel = _kernel("gabor_60")
    x = _image("gabor_60", np.float32)
    out = np.full(SHAPE, np.nan, np.float32)
    result = cfilter.correlate(x, kernel, output=out, method="lowrank")
    assert result is out or np.shares_memory(result, out)
    assert_close(out, ndi.correlate(x.astype(np.float64), kernel),
                 atol(np.float32, kernel, x))


# ---------------------------------------------------------------------------
# Colour images and stacks
# ---------------------------------------------------------------------------

def _per_plane(x, kernel, axes, **options):
    """``ref_correlate2d`` of every plane of ``x`` over ``axes`` (kernel
    axis 0 along ``axes[0]``), the result's spatial axes back in place."""
    moved = np.moveaxis(np.asarray(x, np.float64), axes, (-2, -1))
    lead = moved.shape[:-2]
    planes = [ref_correlate2d(p, kernel, **options)
              for p in moved.reshape((-1,) + moved.shape[-2:])]
    out = np.stack(planes).reshape(lead + planes[0].shape)
    return np.moveaxis(out, (-2, -1), axes)


@pytest.mark.parametrize("stride", [1, (2, 1), (1, 2)], ids=str)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channel_axis", [-1, 0])
@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant"])
@pytest.mark.parametrize("name", ["log_catalog_s1.6", "gabor_30",
                                  "rank3_4x11"])
def test_colour_channels_filtered_independently(name, mode, channel_axis,
                                                dtype, stride):
    """Channel-last colour at column stride 1 runs the engine on the
    interleaved samples; the other layouts move the channels to planes."""
    kernel = _kernel(name)
    shape = (29, 34, 3) if channel_axis == -1 else (3, 29, 34)
    x = random_image(_seeded(name + "rgb"), shape, dtype,
                     0, 255 if dtype == np.uint8 else 1)
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, stride=stride,
                            channel_axis=channel_axis, method="lowrank")
    axes = (0, 1) if channel_axis == -1 else (1, 2)
    expected = _per_plane(x, kernel, axes, mode=mode, cval=CVAL,
                          stride=stride)
    assert_close(got, expected, atol(dtype, kernel, x, CVAL), np.float32)


@pytest.mark.parametrize("axes", [(1, 2), (0, 2), (2, 0), (2, 1)], ids=str)
@pytest.mark.parametrize("name", ["log_numpy_s1.5_10x14", "rank2_7x5"])
def test_stacks_with_axes(name, axes):
    """Every non-spatial axis is an independent plane, and the kernel's
    axis 0 runs along ``axes[0]``."""
    kernel = _kernel(name)
    x = random_image(_seeded(name + "stack"), (4, 23, 26), np.float32)
    got = cfilter.convolve(x, kernel, axes=axes, mode="mirror",
                           padding="full", method="lowrank")
    expected = _per_plane(x, kernel, axes, mode="mirror", padding="full",
                          convolve=True)
    assert_close(got, expected, atol(np.float32, kernel, x), np.float32)


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["plane", "colour", "stack"])
@pytest.mark.parametrize("stride", [1, (2, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["log_catalog_s2.5", "gabor_45",
                                  "rank3_9x9"])
def test_result_does_not_depend_on_thread_count(name, dtype, stride, layout):
    """The terms are summed in a fixed order into each output row, and the
    rows are grouped at fixed row numbers: the same bits on any number of
    threads."""
    kernel = _kernel(name)
    shape = {"plane": (301, 203), "colour": (151, 103, 3),
             "stack": (3, 151, 103)}[layout]
    x = random_image(_seeded(name + layout), shape, dtype)
    options = dict(stride=stride, mode="nearest", method="lowrank")
    if layout == "colour":
        options["channel_axis"] = -1
    elif layout == "stack":
        options["axes"] = (1, 2)
    results = [cfilter.correlate(x, kernel, workers=w, **options)
               for w in (1, 2, 3)]
    axes = (1, 2) if layout == "stack" else (0, 1)
    expected = _per_plane(x, kernel, axes, mode="nearest", stride=stride)
    assert_close(results[0], expected, atol(dtype, kernel, x), dtype)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


# ---------------------------------------------------------------------------
# Non-finite values and bad requests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_nan_in_the_image_stays_in_its_windows(mode):
    kernel = _kernel("rank2_7x5")
    x = _image("nan_image")
    x[20, 30] = np.nan
    x[0, 2] = np.nan            # on the border: its mirrored copies count
    got = cfilter.correlate(x, kernel, mode=mode, cval=CVAL, method="lowrank")
    expected = ref_correlate2d(x, kernel, mode=mode, cval=CVAL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(got[17:24, 28:33]).all()
    finite = np.isfinite(expected)
    assert_close(got[finite], expected[finite],
                 atol(np.float64, kernel, np.nan_to_num(x), CVAL))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rank", [2, 3])
def test_nan_policy_ignore_is_normalised_convolution(rank, mode, dtype):
    """The normalised convolution runs the planned lowrank engine on the
    image with NaN set to 0 (the reference and its tolerance are
    test_nan_policy's, written from the definition)."""
    g = _seeded(f"ignore{rank}")
    w = sum(np.outer(g.uniform(0.1, 1, 6), g.uniform(0.1, 1, 7))
            for _ in range(rank))
    x = holed(g, (25, 33), dtype)
    p = cfilter.plan(x, w, method="lowrank", nan_policy="ignore")
    assert (p.method, p.rank) == ("lowrank", rank)
    got = cfilter.correlate(x, w, mode=mode, cval=0.6, method="lowrank",
                            nan_policy="ignore")
    assert got.dtype == dtype
    expected, gain = ignore_reference(x, w, dtype, mode=mode, cval=0.6)
    assert_ignore_equal(got, expected, gain, w, x, dtype)


@pytest.mark.parametrize("stride,padding", [
    (2 ** 40, "same"), ((1, 2 ** 40), "same"), ((3, 2 ** 41), "full")],
    ids=str)
def test_extreme_stride_reads_only_the_samples_it_needs(stride, padding):
    """A stride far beyond the image: the samples read are gathered and the
    engine runs on them, with the same result as the definition."""
    kernel = _kernel("rank3_4x11")
    x = _image("extreme", np.float64, (16, 19))
    got = cfilter.correlate(x, kernel, stride=stride, padding=padding,
                            mode="wrap", method="lowrank")
    expected = ref_correlate2d(x, kernel, stride=stride, padding=padding,
                               mode="wrap")
    assert_close(got, expected, atol(np.float64, kernel, x))


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_repeated_call_gives_the_same_result(dtype, colour):
    """A repeated call takes the cached plan and bound loops: the same
    correct result again."""
    kernel = _kernel("gabor_45")
    shape = (64, 70, 3) if colour else (64, 70)
    x = _image("repeat", dtype, shape)
    options = dict(method="lowrank", channel_axis=-1 if colour else None)
    first = cfilter.correlate(x, kernel, **options)
    second = cfilter.correlate(x, kernel, **options)
    np.testing.assert_array_equal(first, second)
    expected = _per_plane(x, kernel, (0, 1)) if colour else \
        ref_correlate2d(x, kernel)
    assert_close(second, expected, atol(dtype, kernel, x), np.float32)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_lowrank_with_non_finite_kernel_is_a_value_error(value):
    kernel = _kernel("log_catalog_s1").copy()
    kernel[2, 3] = value
    with pytest.raises(ValueError, match=r"method='lowrank'.*NaN or Inf"):
        cfilter.correlate(_image("bad"), kernel, method="lowrank")
    with pytest.raises(ValueError, match=r"method='lowrank'"):
        cfilter.plan(_image("bad"), kernel, method="lowrank")


def test_separable_request_for_a_rank_two_kernel_points_to_lowrank():
    with pytest.raises(ValueError, match=r"method='separable'.*'lowrank'"):
        cfilter.correlate(_image("bad"), _kernel("dog_2_3.2_25x25"),
                          method="separable")
