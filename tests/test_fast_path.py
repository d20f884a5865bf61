"""The fast path of repeated calls: a call whose every argument but the
image's values is what an earlier call had runs the engine call that call
was planned into, skipping validation and planning (cfilter._api).

It must give what the normal path gives, bit for bit, and raise where it
raises.  Every result is checked against an independent reference: numpy.pad
and a sliding-window correlation (conftest.ref_correlate2d), or
scipy.ndimage for the named filters; the first call of each pair runs the
normal path (and fills the cache), the second the fast path, on an image of
other values, and a spy on the planning step proves which path ran.
"""
import numpy as np
import pytest
from scipy import ndimage

import cfilter
from cfilter import _api
from cfilter import _validate as V
from conftest import (MODES, assert_matches, random_image, random_kernel,
                      ref_correlate2d, tol_with_cval)


@pytest.fixture
def prepared(monkeypatch):
    """Empties the caches and counts the calls that were validated and
    planned (the normal path): ``prepared()`` is that count so far."""
    monkeypatch.setattr(_api, "_FAST", V.RecentCache(_api.FAST_CACHE_SIZE))
    monkeypatch.setattr(_api, "_PLANS", V.RecentCache(_api.PLAN_CACHE_SIZE))
    calls = []
    normal = _api._prepare

    def spy(*args, **kwargs):
        calls.append(1)
        return normal(*args, **kwargs)

    monkeypatch.setattr(_api, "_prepare", spy)
    return lambda: len(calls)


def _pair_of_calls(prepared, f, first, second):
    """``f(first)`` by the normal path, then ``f(second)`` by the fast path,
    and ``f(second)`` again by the normal path once the cache is emptied."""
    before = prepared()
    got_first = f(first)
    assert prepared() == before + 1
    got_second = f(second)
    assert prepared() == before + 1, "the second call was not served fast"
    _api._FAST.clear()
    again = f(second)
    assert prepared() == before + 2
    assert got_second.dtype == again.dtype and got_second.shape == again.shape
    np.testing.assert_array_equal(got_second, again)
    return got_first, got_second


CASES = [
    # image shape, kernel shape, options
    ((64, 64), (3, 3), {}),
    ((64, 64), (9, 9), {}),                   # Gaussian-sized, separable
    ((1, 1), (3, 3), {}),
    ((7, 3), (2, 4), {}),                     # even kernel, tiny image
    ((33, 70), (5, 1), {"padding": "full"}),
    ((40, 65), (3, 5), {"stride": 2}),
    ((40, 65), (3, 3), {"stride": (1, 3), "dilation": (2, 1)}),
    ((31, 129), (4, 3), {"padding": ((2, 0), (1, 3)), "dilation": 2}),
    ((64, 64), (3, 3), {"padding": "valid"}),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kshape, options", CASES)
@pytest.mark.parametrize("separable", [False, True])
def test_fast_path_matches_reference(prepared, rng, mode, dtype, shape,
                                     kshape, options, separable):
    if separable:       # rank 1: the planner picks the separable engine
        kernel = np.outer(random_kernel(rng, kshape[0]),
                          random_kernel(rng, kshape[1]))
    else:
        kernel = random_kernel(rng, kshape)
    first, second = (random_image(rng, shape, dtype) for _ in range(2))
    cval = 0.5 if mode == "constant" else 0.0

    def f(image):
        return cfilter.correlate(image, kernel, mode=mode, cval=cval,
                                 **options)

    got = _pair_of_calls(prepared, f, first, second)
    for image, result in zip((first, second), got):
        want = ref_correlate2d(image, kernel, mode=mode, cval=cval,
                               **options)
        assert_matches(result, want, tol_with_cval(dtype, kernel, image, cval),
                       dtype=dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
@pytest.mark.parametrize("output", [None, "same"])
def test_fast_path_integers(prepared, rng, dtype, output):
    kernel = random_kernel(rng, (3, 3))
    first, second = (random_image(rng, (50, 67), dtype, -300, 300)
                     for _ in range(2))
    out = dtype if output == "same" else None

    def f(image):
        return cfilter.correlate(image, kernel, mode="mirror", output=out)

    for image, result in zip((first, second),
                             _pair_of_calls(prepared, f, first, second)):
        want = ref_correlate2d(image, kernel, mode="mirror")
        if out is None:
            assert_matches(result, want, tol_with_cval(dtype, kernel, image, 0),
                           dtype=np.float32)
        else:
            info = np.iinfo(dtype)
            # float32 sums may round to the other side of a half
            assert_matches(result, np.clip(np.rint(want), info.min, info.max),
                           1, dtype=dtype)


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_fast_path_interleaved_colour(prepared, rng, channels):
    first, second = (random_image(rng, (21, 70, channels), np.uint8, 0, 255)
                     for _ in range(2))

    def f(image):
        return cfilter.gaussian_blur(image, 1, channel_axis=-1,
                                     output=np.uint8)

    for image, result in zip((first, second),
                             _pair_of_calls(prepared, f, first, second)):
        want = ndimage.gaussian_filter(image.astype(np.float64), (1, 1, 0),
                                       mode="reflect")
        assert_matches(result, np.clip(np.rint(want), 0, 255), 1,
                       dtype=np.uint8)


def test_fast_path_convolve(prepared, rng):
    kernel = random_kernel(rng, (4, 3))
    first, second = (random_image(rng, (30, 80), np.float32)
                     for _ in range(2))

    def f(image):
        return cfilter.convolve(image, kernel, mode="wrap")

    for image, result in zip((first, second),
                             _pair_of_calls(prepared, f, first, second)):
        want = ref_correlate2d(image, kernel, mode="wrap", convolve=True)
        assert_matches(result, want,
                       tol_with_cval(np.float32, kernel, image, 0))


def _check(got, image, kernel, **options):
    want = ref_correlate2d(image, kernel, **options)
    assert_matches(got, want, tol_with_cval(got.dtype, kernel, image,
                                            options.get("cval", 0.0)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_mutated_in_place(prepared, rng, dtype):
    image = random_image(rng, (64, 64), np.float32)
    kernel = random_kernel(rng, (3, 3)).astype(dtype)
    for change in (None, lambda k: k.__imul__(2),
                   lambda k: k.__setitem__((1, 1), 7),
                   lambda k: k.__setitem__(slice(None), np.outer(
                       [1.0, 2, 1], [1.0, 0, -1]))):      # rank 1 now
        if change is not None:
            change(kernel)
        for _ in range(2):
            _check(cfilter.correlate(image, kernel), image, kernel)
    assert prepared() == 4


def test_kernel_same_bytes_other_dtype_or_shape(prepared, rng):
    image = random_image(rng, (32, 40), np.float32)
    floats = random_kernel(rng, (3, 3)).astype(np.float32)
    ints = floats.view(np.int32)       # the same bytes, other weights
    for kernel in (ints, floats, ints, ints.reshape(1, 9), ints.reshape(9, 1),
                   floats):
        for _ in range(2):
            _check(cfilter.correlate(image, kernel), image, kernel)


def test_image_dtype_layout_and_shape_changes(prepared, rng):
    kernel = random_kernel(rng, (3, 3))
    base = random_image(rng, (64, 64), np.float32)
    images = [base, base.view(np.int32) >> 20, base, base.astype(">f4"),
              np.asfortranarray(base), base.T, base[:, ::2], base[::2],
              base.reshape(64, 32, 2)[..., 0], base.astype(np.float64), base]
    for image in images:
        before = image.copy()
        for _ in range(2):
            _check(cfilter.correlate(image, kernel), image, kernel)
        np.testing.assert_array_equal(image, before)


def test_options_and_outputs_change(prepared, rng):
    kernel = random_kernel(rng, (3, 3))
    image = random_image(rng, (48, 64), np.float32, 0, 100)
    want = ref_correlate2d(image, kernel)
    for output in (None, np.float64, np.uint8, np.int16, np.float64, None):
        for _ in range(2):
            got = cfilter.correlate(image, kernel, output=output)
            assert got.dtype == (np.float32 if output is None else output)
            if got.dtype.kind == "f":
                assert_matches(got, want, 1e-3)
            else:
                info = np.iinfo(got.dtype)
                assert_matches(got, np.clip(np.rint(want), info.min,
                                            info.max), 1)
    dest = np.empty((48, 64), np.float32)
    assert cfilter.correlate(image, kernel, output=dest) is dest
    assert_matches(dest, want, 1e-3)
    old = cfilter.set_num_threads(2)
    try:
        assert_matches(cfilter.correlate(image, kernel), want, 1e-3)
    finally:
        cfilter.set_num_threads(old)
    for mode in list(MODES) + ["symmetric", "edge"]:
        for _ in range(2):
            _check(cfilter.correlate(image, kernel, mode=mode, cval=3),
                   image, kernel, mode=mode, cval=3)


def test_new_kernel_objects_are_never_mistaken(prepared, rng):
    # Each Kernel is dropped before the next is made, so a new one may
    # reuse the address of an old one.
    image = random_image(rng, (40, 52), np.float32)
    for sigma in (1.0, 1.5, 2.0, 1.0, 0.8, 1.5):
        kernel = cfilter.kernels.gaussian(sigma, radius=4)
        for _ in range(2):
            _check(cfilter.correlate(image, kernel), image, kernel.array)
        del kernel


def test_plan_that_looked_at_the_image_is_not_reused(prepared, rng):
    # Equal weights on 64 x 64: 'auto' would take moving sums, which would
    # spread a NaN, so an image holding one is planned otherwise, and that
    # plan must not serve the next image.
    kernel = np.full((15, 15), 1 / 225)
    clean = random_image(rng, (64, 64), np.float32)
    dirty = clean.copy()
    dirty[5, 7] = np.nan
    for image in (dirty, dirty, clean, clean):
        got = cfilter.correlate(image, kernel)
        assert_matches(got, ref_correlate2d(image, kernel), 1e-5)
    # box, the clean image's engine, has no fast path: all four planned
    assert prepared() == 4


BAD = [
    ({"mode": "bogus"}, ValueError),
    ({"stride": True}, TypeError),
    ({"stride": 0}, ValueError),
    ({"padding": -1}, ValueError),
    ({"output": "complex64"}, TypeError),
    ({"output": np.empty((3, 3), np.float32)}, ValueError),
    ({"method": "box"}, ValueError),          # the kernel's weights differ
    ({"workers": 0}, ValueError),
    ({"nan_policy": "omit"}, ValueError),
]


@pytest.mark.parametrize("options, error", BAD)
def test_errors_are_the_same_after_a_good_call(prepared, rng, options,
                                               error):
    kernel = random_kernel(rng, (3, 3))
    image = random_image(rng, (16, 16), np.float32)
    with pytest.raises(error) as cold:
        cfilter.correlate(image, kernel, **options)
    cfilter.correlate(image, kernel)
    cfilter.correlate(image, kernel)
    with pytest.raises(error) as warm:
        cfilter.correlate(image, kernel, **options)
    assert str(warm.value) == str(cold.value)


def test_bad_images_and_kernels_after_a_good_call(prepared, rng):
    kernel = random_kernel(rng, (3, 3))
    image = random_image(rng, (16, 16), np.float32)
    cfilter.correlate(image, kernel)
    cfilter.correlate(image, kernel)
    with pytest.raises(TypeError, match="complex"):
        cfilter.correlate(image.astype(np.complex64), kernel)
    with pytest.raises(TypeError, match="kernel"):
        cfilter.correlate(image, kernel.astype(np.complex128))
    with pytest.raises(ValueError, match="kernel"):
        cfilter.correlate(image, kernel[None])
    with pytest.raises(ValueError, match="spatial axes"):
        cfilter.correlate(image[None], kernel)


# -- every field of the key: a convolve is never served a correlate's entry --

@pytest.mark.parametrize("as_kernel", [np.asarray, cfilter.kernels.Kernel])
@pytest.mark.parametrize("options", [{}, {"mode": "constant", "cval": 0.5},
                                     {"padding": "same", "stride": 2}])
def test_correlate_convolve_correlate_with_the_same_arguments(
        prepared, rng, as_kernel, options):
    # The same image shape, kernel and options: only the flip differs, so
    # each call must find its own entry (an even, asymmetric kernel, whose
    # flip also moves the 'same' centre).
    kernel = as_kernel(random_kernel(rng, (4, 3)))
    weights = np.asarray(kernel)
    images = [random_image(rng, (30, 41), np.float32) for _ in range(6)]
    names = ["correlate", "correlate", "convolve", "convolve", "correlate",
             "convolve"]
    for name, image in zip(names, images):
        got = getattr(cfilter, name)(image, kernel, **options)
        want = ref_correlate2d(image, weights, convolve=name == "convolve",
                               **options)
        assert_matches(got, want, tol_with_cval(
            np.float32, weights, image, options.get("cval", 0.0)))
    # each of the two was planned once, then served fast
    assert prepared() == 2


# -- a NaN cval is one key ---------------------------------------------------

@pytest.mark.parametrize("make_nan", [lambda: float("nan"),
                                      lambda: np.float64("nan"),
                                      lambda: -np.float32("nan")])
def test_nan_cval_calls_are_served_fast(prepared, rng, make_nan):
    # NaN != NaN, and two NaN objects hash apart: every call with a new
    # NaN object added a cache entry and was validated and planned again.
    kernel = random_kernel(rng, (3, 3))
    options_before = len(V._OPTIONS)
    for _ in range(5):
        image = random_image(rng, (20, 25), np.float64)
        got = cfilter.correlate(image, kernel, mode="constant",
                                cval=make_nan())
        want = ndimage.correlate(image, kernel, mode="constant", cval=np.nan)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                   equal_nan=True)
    assert prepared() == 1
    assert len(_api._FAST) == 1
    assert len(V._OPTIONS) <= options_before + 1


def test_nan_cval_never_stands_for_a_string(prepared, rng):
    kernel = random_kernel(rng, (3, 3))
    image = random_image(rng, (20, 25), np.float64)
    cfilter.correlate(image, kernel, mode="constant", cval=np.nan)
    with pytest.raises(TypeError, match="cval"):
        cfilter.correlate(image, kernel, mode="constant", cval="nan")


# -- the caches drop the least recently used entry ---------------------------

def test_recent_cache_drops_the_least_recently_used():
    cache = V.RecentCache(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"          # a is now the most recent
    cache.put("d", "D")                   # b, the least recent, goes
    assert "b" not in cache and len(cache) == 3
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    cache.put("c", "C2")                  # a new value for a key is a use
    cache.put("e", "E")
    assert "a" not in cache and cache.get("c") == "C2"
    with pytest.raises(TypeError):
        cache.get(["unhashable"])


def test_full_caches_keep_the_calls_in_use(prepared, rng, monkeypatch):
    # With room for three entries, a call repeated between three others
    # stays served fast (and planned once); a call not repeated since the
    # cache filled is planned again.  Emptying a full cache whole would
    # plan the repeated call again each time.
    monkeypatch.setattr(_api, "_FAST", V.RecentCache(3))
    monkeypatch.setattr(_api, "_PLANS", V.RecentCache(3))
    planned = []
    plan_filter = _api.plan_filter

    def spy(*args, **kwargs):
        planned.append(args[0])
        return plan_filter(*args, **kwargs)

    monkeypatch.setattr(_api, "plan_filter", spy)
    kernel = random_kernel(rng, (3, 3))
    shapes = [(20 + i, 30) for i in range(6)]
    keep = (50, 40)

    def call(shape):
        image = random_image(rng, shape, np.float32)
        _check(cfilter.correlate(image, kernel), image, kernel)

    call(keep)
    for shape in shapes:
        call(shape)
        call(keep)
    assert planned.count(keep) == 1
    assert prepared() == 1 + len(shapes)
    before = prepared()
    call(shapes[0])                       # long dropped: planned again
    assert prepared() == before + 1 and planned.count(shapes[0]) == 2
