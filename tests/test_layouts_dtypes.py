"""Memory layouts, dtype rules, output= handling and multi-plane (channel / stack) inputs."""

import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from conftest import (MODES, NDI_MODE, tol, assert_matches, random_image, random_kernel,
                      ref_correlate2d)


def _ndi_corr(x, w, mode="reflect"):
    return ndi.correlate(np.asarray(x, np.float64), np.asarray(w, np.float64),
                         mode=NDI_MODE[mode])


# ---------------------------------------------------------------------------
# memory layouts of the image
# ---------------------------------------------------------------------------

def _layouts(base):
    """(name, array) pairs holding the same values as ``base`` in different layouts."""
    fortran = np.asfortranarray(base)
    padded = np.zeros((base.shape[0] * 2, base.shape[1] * 3), base.dtype)
    padded[::2, ::3] = base
    neg = base[::-1, ::-1].copy()[::-1, ::-1]  # negative strides on both axes
    ro = base.copy()
    ro.setflags(write=False)
    big = base.astype(base.dtype.newbyteorder(">"))
    big_neg = big[::-1].copy()[::-1]
    return [("fortran", fortran), ("strided", padded[::2, ::3]), ("negative", neg),
            ("readonly", ro), ("bigendian", big), ("bigendian_negative", big_neg),
            ("transposed_view", np.ascontiguousarray(base.T).T)]


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", range(7))
def test_image_layouts_give_ndimage_result(rng, layout, dtype, fname):
    base = random_image(rng, (9, 7), dtype)
    name, x = _layouts(base)[layout]
    np.testing.assert_array_equal(x, base)
    before = x.copy()
    w = random_kernel(rng, (3, 4))
    got = getattr(cfilter, fname)(x, w, mode="mirror")
    expected = getattr(ndi, fname)(base.astype(np.float64), w, mode="mirror")
    assert_matches(got, expected, tol(dtype, w, base))
    assert got.dtype.type is np.dtype(dtype).type, name
    np.testing.assert_array_equal(x, before)  # input unchanged


@pytest.mark.parametrize("step", [(-1, -2), (2, -1), (-3, 1)], ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_negative_and_step_views_give_ndimage_result(rng, step, mode):
    base = random_image(rng, (17, 23), np.float32)
    x = base[::step[0], ::step[1]]
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(x, w, mode=mode)
    assert_matches(got, _ndi_corr(np.ascontiguousarray(x), w, mode), tol(np.float32, w, x),
                   dtype=np.float32)


@pytest.mark.parametrize("layout", ["fortran", "negative", "bigendian", "readonly", "list",
                                    "int", "strided"])
def test_kernel_layouts_and_array_likes(rng, layout):
    x = random_image(rng, (8, 9), np.float64)
    w = random_kernel(rng, (3, 5))
    if layout == "int":
        w = np.round(w * 4)
    expected = _ndi_corr(x, w)
    k = {"fortran": lambda: np.asfortranarray(w),
         "negative": lambda: w[::-1, ::-1].copy()[::-1, ::-1],
         "bigendian": lambda: w.astype(">f8"),
         "readonly": lambda: np.require(w, requirements="C").copy(),
         "list": lambda: w.tolist(),
         "int": lambda: w.astype(np.int16),
         "strided": lambda: np.repeat(np.repeat(w, 2, 0), 2, 1)[::2, ::2]}[layout]()
    if layout == "readonly":
        k.setflags(write=False)
    before = np.array(k, copy=True)
    got = cfilter.correlate(x, k)
    assert_matches(got, expected, tol(np.float64, w, x), dtype=np.float64)
    np.testing.assert_array_equal(np.asarray(k), before)


def test_nested_list_image_and_kernel(rng):
    x = random_image(rng, (5, 6), np.float64)
    w = random_kernel(rng, (3, 2))
    got = cfilter.correlate(x.tolist(), w.tolist(), mode="nearest")
    # a list of Python floats is float64
    assert_matches(got, _ndi_corr(x, w, "nearest"), tol(np.float64, w, x), dtype=np.float64)


def test_nested_list_of_ints_gives_float64(rng):
    # A list of Python ints is int64, which float32 cannot hold exactly.
    xi = rng.integers(-50, 50, size=(6, 5))
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(xi.tolist(), w)
    assert_matches(got, _ndi_corr(xi, w), tol(np.float64, w, xi), dtype=np.float64)


# ---------------------------------------------------------------------------
# dtype rules
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("dtype,expected_dtype", [
    (np.uint8, np.float32), (np.uint16, np.float32), (np.int8, np.float32),
    # integers wider than 16 bits compute in float64: float32 would round them
    (np.int16, np.float32), (np.int32, np.float64), (np.int64, np.float64),
    (np.bool_, np.float32), (np.float16, np.float32), (np.float32, np.float32),
    (np.float64, np.float64)], ids=lambda v: np.dtype(v).name)
def test_input_dtype_gives_documented_output_dtype_and_values(rng, dtype, expected_dtype, fname):
    info_hi = {np.uint8: 255, np.uint16: 65535, np.int8: 127, np.int16: 32767,
               np.int32: 2**31 - 1, np.int64: 2**40}
    if dtype in info_hi:
        lo = 0 if np.dtype(dtype).kind == "u" else -info_hi[dtype]
        x = random_image(rng, (11, 10), dtype, low=lo, high=info_hi[dtype])
    else:
        x = random_image(rng, (11, 10), dtype, low=-4, high=4)
    w = random_kernel(rng, (3, 4))
    got = getattr(cfilter, fname)(x, w, mode="wrap")
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode="grid-wrap")
    assert_matches(got, expected, tol(expected_dtype, w, x.astype(np.float64)),
                   dtype=expected_dtype)


def test_float32_image_with_float64_kernel_stays_float32(rng):
    x = random_image(rng, (6, 6), np.float32)
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(x, w.astype(np.float64))
    assert_matches(got, _ndi_corr(x, w), tol(np.float32, w, x), dtype=np.float32)


@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32, np.float64])
def test_output_float_dtype_is_honoured(rng, in_dtype, out_dtype):
    x = random_image(rng, (7, 8), in_dtype, low=0, high=255)
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(x, w, output=out_dtype)
    # accuracy is bounded by the coarser of the working dtype and the output dtype
    coarse = np.float64 if (np.dtype(in_dtype) == np.float64
                            and np.dtype(out_dtype) == np.float64) else np.float32
    assert_matches(got, _ndi_corr(x, w), tol(coarse, w, x), dtype=out_dtype)


def _rounding_expected(ref, dtype):
    info = np.iinfo(dtype)
    return np.clip(np.rint(ref), info.min, info.max)


def _assert_rounded(got, ref, dtype):
    assert got.dtype == np.dtype(dtype)
    expected = _rounding_expected(ref, dtype)
    # pixels whose exact value sits within float error of a .5 tie may round either way
    frac = np.abs(np.abs(ref - np.floor(ref)) - 0.5)
    clear = frac > 1e-9
    np.testing.assert_array_equal(got[clear].astype(np.float64), expected[clear])
    assert np.all(np.abs(got.astype(np.float64) - expected) <= 1)


@pytest.mark.parametrize("out_dtype", [np.uint8, np.uint16, np.int16, np.int8])
@pytest.mark.parametrize("mode", MODES)
def test_integer_output_dtype_rounds_and_saturates(rng, out_dtype, mode):
    info = np.iinfo(out_dtype)
    span = float(info.max) - float(info.min)
    # float64 input: the reference is exact to ~1e-13, so rounding is unambiguous
    # a 3x3 average of values spread over 4x the range leaves ~20% of pixels on each side
    x = rng.uniform(info.min - 1.5 * span, info.max + 1.5 * span, size=(17, 23))
    w = np.abs(random_kernel(rng, (3, 3)))
    w /= w.sum()
    got = cfilter.correlate(x, w, mode=mode, cval=info.max + 50.0, output=out_dtype)
    ref = ndi.correlate(x, w, mode=NDI_MODE[mode], cval=info.max + 50.0)
    assert (ref < info.min).any() and (ref > info.max).any(), "test must exercise saturation"
    _assert_rounded(got, ref, out_dtype)


def test_uint8_output_matches_clip_rint_of_reference(rng):
    x = rng.uniform(-40, 300, size=(32, 31))
    w = random_kernel(rng, (5, 5))
    got = cfilter.correlate(x, w, output=np.uint8)
    ref = ndi.correlate(x, w, mode="reflect")
    _assert_rounded(got, ref, np.uint8)


def test_uint8_image_to_uint8_output_with_box_kernel(rng):
    x = rng.integers(0, 256, size=(20, 21)).astype(np.uint8)
    w = np.full((3, 3), 1 / 9)
    got = cfilter.correlate(x, w, output=np.uint8)
    ref = ndi.correlate(x.astype(np.float64), w, mode="reflect")
    # float32 working precision: allow ties within float32 error to go either way
    expected = np.clip(np.rint(ref), 0, 255)
    near_tie = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-3
    np.testing.assert_array_equal(got[~near_tie], expected[~near_tie])
    assert got.dtype == np.uint8
    assert np.all(np.abs(got.astype(int) - expected) <= 1)


def test_rounding_is_to_nearest_even_like_rint():
    # exact .5 results (dyadic fractions are exact in binary)
    x = np.array([[0.5, 1.5, 2.5, -0.5, 3.5, 254.5, 255.5, 300.0]])
    got = cfilter.correlate(x, [[1.0]], output=np.uint8)
    np.testing.assert_array_equal(got, np.clip(np.rint(x), 0, 255).astype(np.uint8))
    got = cfilter.correlate(x, [[1.0]], output=np.int16)
    np.testing.assert_array_equal(got, np.rint(x).astype(np.int16))


# ---------------------------------------------------------------------------
# output= array
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname", ["correlate", "convolve"])
def test_output_array_is_written_in_place_and_returned(rng, fname, out_dtype):
    x = random_image(rng, (9, 8), np.float32)
    w = random_kernel(rng, (4, 3))
    out = np.full((9, 8), 123.0, dtype=out_dtype)
    result = getattr(cfilter, fname)(x, w, mode="nearest", output=out)
    assert result is out
    expected = getattr(ndi, fname)(x.astype(np.float64), w, mode="nearest")
    assert_matches(out, expected, tol(np.float32, w, x))


def test_output_uint8_array_in_place_rounds_and_saturates(rng):
    x = rng.uniform(-100, 400, size=(10, 12))
    w = random_kernel(rng, (3, 3))
    out = np.zeros((10, 12), dtype=np.uint8)
    result = cfilter.correlate(x, w, output=out)
    assert result is out
    _assert_rounded(out, ndi.correlate(x, w, mode="reflect"), np.uint8)


def test_output_array_with_stride_has_strided_shape(rng):
    x = random_image(rng, (11, 10), np.float64)
    w = random_kernel(rng, (3, 3))
    out = np.empty((6, 4), dtype=np.float64)
    result = cfilter.correlate(x, w, stride=(2, 3), output=out)
    assert result is out
    assert_matches(out, ndi.correlate(x, w, mode="reflect")[::2, ::3], tol(np.float64, w, x))


def test_output_array_non_contiguous_view_is_filled(rng):
    x = random_image(rng, (9, 8), np.float64)
    w = random_kernel(rng, (3, 3))
    backing = np.full((9, 16), -7.0)
    out = backing[:, ::2]
    result = cfilter.correlate(x, w, output=out)
    assert result is out
    assert_matches(backing[:, ::2], ndi.correlate(x, w, mode="reflect"), tol(np.float64, w, x))
    assert np.all(backing[:, 1::2] == -7.0), "wrote outside the view"


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
def test_output_aliasing_input_gives_correct_result(rng, fname):
    x = random_image(rng, (12, 11), np.float64)
    w = random_kernel(rng, (5, 5))
    expected = getattr(ndi, fname)(x, w, mode="reflect")
    buf = x.copy()
    result = getattr(cfilter, fname)(buf, w, output=buf)
    assert result is buf
    assert_matches(buf, expected, tol(np.float64, w, x))


# ---------------------------------------------------------------------------
# channels, stacks and axes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("channel_axis", [-1, 2, 0])
def test_channel_axis_filters_each_channel_like_2d(rng, channel_axis, mode):
    hwc = random_image(rng, (9, 8, 3), np.float32)
    x = np.moveaxis(hwc, -1, channel_axis)
    w = random_kernel(rng, (3, 4))
    got = cfilter.correlate(x, w, mode=mode, channel_axis=channel_axis)
    assert got.shape == x.shape and got.dtype == np.float32
    got_hwc = np.moveaxis(got, channel_axis, -1)
    for c in range(3):
        expected = _ndi_corr(hwc[..., c], w, mode)
        assert_matches(got_hwc[..., c], expected, tol(np.float32, w, hwc))


def test_channel_axis_with_stride_and_padding_matches_reference(rng):
    x = random_image(rng, (10, 7, 4), np.float64)
    w = random_kernel(rng, (3, 2))
    kw = dict(mode="mirror", padding=((1, 2), (0, 3)), stride=(2, 1), dilation=(1, 2))
    got = cfilter.correlate(x, w, channel_axis=-1, **kw)
    for c in range(4):
        assert_matches(got[..., c], ref_correlate2d(x[..., c], w, **kw), tol(np.float64, w, x))


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("axes", [(1, 2), (-2, -1)], ids=str)
def test_stack_with_axes_filters_each_plane(rng, axes, fname):
    x = random_image(rng, (4, 9, 7), np.float64)
    w = random_kernel(rng, (2, 3))
    got = getattr(cfilter, fname)(x, w, mode="wrap", axes=axes)
    for n in range(4):
        expected = getattr(ndi, fname)(x[n], w, mode="grid-wrap")
        assert_matches(got[n], expected, tol(np.float64, w, x))


def test_axes_0_2_on_3d_array(rng):
    x = random_image(rng, (8, 3, 10), np.float64)
    w = random_kernel(rng, (3, 4))
    got = cfilter.correlate(x, w, mode="reflect", axes=(0, 2), stride=(2, 3))
    assert got.shape == (4, 3, 4)
    for j in range(3):
        expected = ndi.correlate(x[:, j, :], w, mode="reflect")[::2, ::3]
        assert_matches(got[:, j, :], expected, tol(np.float64, w, x))


def test_4d_batch_with_axes_filters_every_other_axis_independently(rng):
    x = random_image(rng, (2, 6, 7, 3), np.float32)
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(x, w, mode="nearest", axes=(1, 2))
    for n in range(2):
        for c in range(3):
            assert_matches(got[n, :, :, c], _ndi_corr(x[n, :, :, c], w, "nearest"),
                           tol(np.float32, w, x))


def test_channel_axis_on_fortran_bigendian_input(rng):
    x = random_image(rng, (7, 6, 3), np.float64)
    xf = np.asfortranarray(x.astype(">f8"))
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(xf, w, channel_axis=-1)
    for c in range(3):
        assert_matches(got[..., c], _ndi_corr(x[..., c], w), tol(np.float64, w, x))


@pytest.mark.parametrize("kwargs", [dict(channel_axis=-1), dict(axes=(0, 1)),
                                    dict(output=np.uint8), dict(stride=2, padding=1),
                                    dict(mode="wrap", method="direct")], ids=str)
def test_input_never_modified(rng, kwargs):
    x = random_image(rng, (8, 9, 3) if "channel_axis" in kwargs or "axes" in kwargs
                     else (8, 9), np.float64, low=0, high=200)
    w = random_kernel(rng, (3, 3))
    xb, wb = x.copy(), w.copy()
    cfilter.correlate(x, w, **kwargs)
    cfilter.convolve(x, w, **kwargs)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(w, wb)


# ---------------------------------------------------------------------------
# non-finite values
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["auto", "direct"])
def test_nan_in_kernel_propagates_everywhere(rng, method):
    x = random_image(rng, (6, 7), np.float64)
    w = random_kernel(rng, (3, 3))
    w[1, 2] = np.nan
    got = cfilter.correlate(x, w, method=method)
    assert got.shape == x.shape
    assert np.isnan(got).all()


@pytest.mark.parametrize("mode", MODES)
def test_nan_and_inf_in_image_propagate_like_ndimage(rng, mode):
    x = random_image(rng, (10, 11), np.float64)
    x[3, 4] = np.nan
    x[8, 1] = np.inf
    w = random_kernel(rng, (3, 3))  # all weights non-zero
    got = cfilter.correlate(x, w, mode=mode)
    expected = ndi.correlate(x, w, mode=NDI_MODE[mode])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    assert_matches(got[finite], expected[finite], tol(np.float64, w, x[np.isfinite(x)]))


# ---------------------------------------------------------------------------
# unaligned arrays and big-endian input
# ---------------------------------------------------------------------------

def _unaligned(a):
    """A C-contiguous copy of ``a`` at an odd address (as ``np.frombuffer``
    gives at an odd offset): unaligned for every itemsize above 1."""
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, offset=1,
                        count=a.size).reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


@pytest.fixture
def engines_see_aligned(monkeypatch):
    """Checks every array handed to the engine layer -- its run() and the
    calls bind() makes, template search's and frequency filtering's
    compiled steps, the transpose -- is aligned (scipy.ndimage refuses
    unaligned input at its C boundary too).  Returns the count of calls
    checked."""
    from cfilter import _api, _frequency, _template, _transpose
    seen = []

    def aligned(args):
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.aligned, "an unaligned array reached the core"
        seen.append(1)

    def spy(fn):
        def wrapper(*args, **kwargs):
            aligned(args)
            return fn(*args, **kwargs)
        return wrapper

    def bind_spy(fn):
        def wrapper(*args, **kwargs):
            call = fn(*args, **kwargs)
            return None if call is None else spy(call)
        return wrapper

    for module, name in ((_api, "run"), (_template, "window_scores"),
                         (_transpose, "run_transpose"),
                         (_frequency, "filter_spectra"),
                         (_template, "correlate_channels_fft")):
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    monkeypatch.setattr(_api, "bind", bind_spy(_api.bind))
    _api._FAST.clear()     # (entries bound before the spy was in place)
    return seen


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint16])
def test_unaligned_images_are_copied_before_the_core(rng, engines_see_aligned,
                                                     dtype):
    import scipy.signal as sps
    from skimage.feature import match_template as sk_match
    x = random_image(rng, (33, 40), dtype, 0, 1000)
    w = random_kernel(rng, (3, 4))
    t = tol(np.float32, w, x)
    # twice, the first aligned: the second may be served from the first's
    # bound call, which must not get the unaligned image either
    for image in (x, _unaligned(x), _unaligned(x)):
        assert_matches(cfilter.correlate(image, w), _ndi_corr(x, w), t)
    assert_matches(cfilter.correlate1d(_unaligned(x), w[0], axis=0),
                   ndi.correlate1d(x.astype(np.float64), w[0], axis=0), t)
    colour = random_image(rng, (21, 26, 3), dtype, 0, 1000)
    got = cfilter.correlate(_unaligned(colour), w, channel_axis=-1)
    for c in range(3):
        assert_matches(got[..., c], _ndi_corr(colour[..., c], w), t)
    stack = np.moveaxis(colour, -1, 0).copy()
    got = cfilter.correlate(_unaligned(stack), w, axes=(1, 2), method="fft")
    for c in range(3):
        assert_matches(got[c], _ndi_corr(stack[c], w), t)
    got = cfilter.conv_transpose(_unaligned(x), w)
    assert_matches(got, sps.convolve2d(x.astype(np.float64), w, "full"), t)
    template = x[5:12, 8:14].astype(np.float64)
    np.testing.assert_allclose(
        cfilter.match_template(_unaligned(x), _unaligned(template)),
        sk_match(x.astype(np.float64), template), atol=2e-4)
    f = np.sqrt(np.fft.fftfreq(33)[:, None] ** 2 + np.fft.fftfreq(40) ** 2)
    want = np.fft.ifft2(np.fft.fft2(x.astype(np.float64)) * (f <= 0.21)).real
    np.testing.assert_allclose(
        cfilter.frequency_filter(_unaligned(x), 0.21, shape="ideal"), want,
        atol=1e-3 if dtype != np.float64 else 1e-9)
    assert len(engines_see_aligned) >= 8


def test_unaligned_output_array_is_filled(rng, engines_see_aligned):
    x = random_image(rng, (30, 31), np.float32)
    w = random_kernel(rng, (3, 3))
    for out_dtype in (np.float32, np.uint16):
        out = _unaligned(np.zeros((30, 31), out_dtype))
        got = cfilter.correlate(x * 100, w, output=out)
        assert got is out
        want = _ndi_corr(x * 100, w)
        if out_dtype == np.uint16:
            want = np.clip(np.rint(want), 0, 65535)
            assert_matches(got, want, 1)
        else:
            assert_matches(got, want, tol(np.float32, w, x * 100))


@pytest.mark.parametrize("big", [">f4", ">f8", ">u2", ">i4"])
def test_big_endian_input_gives_a_native_result_like_ndimage(rng, big):
    # Big-endian images are read by value; the result, like scipy.ndimage's,
    # is in the machine's byte order (float32 for >f4 and >u2, float64 for
    # >f8 and >i4, as for the native types).
    x = random_image(rng, (19, 23), np.dtype(big).newbyteorder("="), 0, 500)
    xb = x.astype(big)
    w = random_kernel(rng, (3, 3))
    got = cfilter.correlate(xb, w)
    want = ndi.correlate(xb, w.astype(np.float64), output=np.float64)
    assert got.dtype.isnative and want.dtype.isnative
    assert got.dtype == cfilter.correlate(x, w).dtype
    assert_matches(got, want, tol(got.dtype, w, x))
    blurred = cfilter.gaussian_blur(xb, 1.5)
    assert blurred.dtype.isnative
    assert_matches(blurred, ndi.gaussian_filter(xb.astype(np.float64), 1.5),
                   tol(got.dtype, w, x))
    for out in (cfilter.frequency_filter(xb, 0.2),
                cfilter.match_template(xb, xb[2:7, 3:9].copy()),
                cfilter.conv_transpose(xb, w)):
        assert out.dtype.isnative
