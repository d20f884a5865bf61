"""Integer images read, and integer outputs written, by the engines
themselves; interleaved (H, W, C) channels filtered in place.

References: numpy.pad + a valid correlation summed tap by tap in float64
(every mode, odd and even kernels, stride, dilation), and scipy.ndimage per
channel; integer results are that float64 value rounded with np.rint and
saturated with np.clip.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter

INTS = [np.uint8, np.int8, np.uint16, np.int16]
MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]
PAD_MODE = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
            "wrap": "wrap", "constant": "constant"}


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype) * 50
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _reference(image, kernel, mode, cval=0.0, stride=(1, 1),
               dilation=(1, 1)):
    """correlate with 'same' padding: numpy.pad, then the valid taps."""
    x = image.astype(np.float64)
    (kh, kw), (sy, sx), (dy, dx) = kernel.shape, stride, dilation
    tops = dy * (kh // 2), dx * (kw // 2)
    pads = [(tops[0], dy * (kh - 1) - tops[0]),
            (tops[1], dx * (kw - 1) - tops[1])]
    extra = {"constant_values": cval} if mode == "constant" else {}
    xp = np.pad(x, pads, mode=PAD_MODE[mode], **extra)
    h, w = x.shape
    out = np.zeros(((h - 1) // sy + 1, (w - 1) // sx + 1))
    for m in range(kh):
        for l in range(kw):
            out += kernel[m, l] * xp[m * dy: m * dy + h: sy,
                                     l * dx: l * dx + w: sx]
    return out


def _check(result, ref, dtype, scale):
    """Integers: np.rint(ref) saturated, exactly, except that a value within
    float32 rounding of a half may round either way.  Floats: close."""
    assert result.dtype == np.dtype(dtype)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(result, ref, rtol=1e-5,
                                   atol=1e-5 * scale)
        return
    info = np.iinfo(dtype)
    want = np.clip(np.rint(ref), info.min, info.max)
    got = result.astype(np.float64)
    near_half = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-5 * scale
    bad = (got != want) & ~(near_half & (np.abs(got - want) <= 1))
    assert not bad.any(), (got[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("method", ["direct", "separable"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("in_dtype", INTS)
def test_integer_in_and_out(method, mode, in_dtype):
    rng = np.random.default_rng(1)
    image = _image((19, 26), in_dtype)
    scale = float(np.abs(image.astype(np.float64)).max())
    info, low, high = np.iinfo(in_dtype), False, False
    for kshape, stride, dilation in [((3, 3), (1, 1), (1, 1)),
                                     ((4, 5), (1, 1), (1, 1)),
                                     ((3, 2), (2, 3), (1, 1)),
                                     ((5, 3), (1, 1), (2, 3)),
                                     ((2, 4), (3, 2), (2, 1))]:
        col = rng.standard_normal(kshape[0]) * 1.5
        row = rng.standard_normal(kshape[1]) * 1.5
        kernel = np.outer(col, row)
        ref = _reference(image, kernel, mode, 7.0, stride, dilation)
        for out_dtype in INTS + [np.float32]:
            result = cfilter.correlate(image, kernel, mode=mode, cval=7.0,
                                       stride=stride, dilation=dilation,
                                       method=method, output=out_dtype)
            _check(result, ref, out_dtype, scale * np.abs(kernel).sum())
        low |= (ref < info.min).any()
        high |= (ref > info.max).any()
    # the kernels push values past both limits: saturation is tested
    assert low and high


@pytest.mark.parametrize("method", ["direct", "separable", "box", "fft"])
def test_every_method_into_integer_array(method):
    image = _image((33, 40), np.uint8)
    kernel = np.full((3, 5), 0.25)   # sums exact in float32
    ref = _reference(image, kernel, "nearest")
    out = np.empty((33, 40), dtype=np.int16)
    got = cfilter.correlate(image, kernel, mode="nearest", method=method,
                            output=out)
    assert got is out
    # exact sums; FFT's rounding error may tip a half either way
    _check(out, ref, np.int16, 1.0 if method != "fft" else 1e3)
    out8 = cfilter.correlate(image, kernel, mode="nearest", method=method,
                             output=np.uint8)
    _check(out8, ref, np.uint8, 1.0 if method != "fft" else 1e3)


def test_float_output_of_integer_image_matches_scipy():
    image = _image((64, 70), np.uint16)
    kernel = np.random.default_rng(2).standard_normal((5, 5))
    got = cfilter.correlate(image, kernel, method="direct")
    assert got.dtype == np.float32
    ref = ndi.correlate(image.astype(np.float64), kernel, mode="reflect")
    np.testing.assert_allclose(got, ref, rtol=1e-5,
                               atol=2e-6 * 65535 * np.abs(kernel).sum())


@pytest.mark.parametrize("method", ["direct", "separable", "box", "fft"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int16])
def test_interleaved_channels_match_scipy_per_channel(method, dtype):
    image = _image((31, 45, 3), dtype)
    kernel = np.full((5, 4), 1 / 20) if method == "box" else \
        np.outer([1, 2, 3, 1, 0.5], [0.5, -1, 2, 1]) / 4
    for mode in MODES:
        ref = np.stack([ndi.correlate(image[..., ch].astype(np.float64),
                                      kernel, mode=mode, cval=3.0)
                        for ch in range(3)], axis=-1)
        out_dtype = np.uint8 if dtype == np.uint8 else np.float32
        got = cfilter.correlate(image, kernel, mode=mode, cval=3.0,
                                channel_axis=-1, method=method,
                                output=out_dtype)
        assert got.shape == image.shape
        if out_dtype == np.uint8:
            want = np.clip(np.rint(ref), 0, 255)
            near = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-3
            assert (np.abs(got - want) <= near).all()
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-5,
                                       atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("layout", ["sliced", "channel_first", "fortran",
                                    "strided"])
def test_other_channel_layouts(layout):
    base = _image((40, 52, 4), np.uint8, seed=3)
    kernel = np.outer([1, 2, 1], [1, 0, -1, 2]) / 8.0
    if layout == "sliced":
        image, axis = base[:, ::2, :3], -1
    elif layout == "channel_first":
        image, axis = np.ascontiguousarray(np.moveaxis(base, -1, 0)), 0
    elif layout == "fortran":
        image, axis = np.asfortranarray(base), -1
    else:
        image, axis = base, -1
    stride = (2, 3) if layout == "strided" else 1
    got = cfilter.correlate(image, kernel, channel_axis=axis, stride=stride,
                            output=np.int16)
    chans = np.moveaxis(image, axis, -1)
    sy, sx = (2, 3) if stride != 1 else (1, 1)
    ref = np.stack([ndi.correlate(chans[..., ch].astype(np.float64), kernel,
                                  mode="reflect")[::sy, ::sx]
                    for ch in range(chans.shape[-1])], axis=-1)
    np.testing.assert_array_equal(np.moveaxis(got, axis, -1), np.rint(ref))


@pytest.mark.parametrize("method", ["direct", "separable"])
def test_results_do_not_depend_on_threads(method):
    image = _image((97, 83, 3), np.uint8, seed=4)
    kernel = np.outer([1, 4, 6, 4, 1], [1, 2, 1]) / 48.0
    grey = image[..., 0].copy()
    for img, kw in ((image, {"channel_axis": -1}), (grey, {})):
        one = cfilter.correlate(img, kernel, method=method, output=np.uint8,
                                workers=1, **kw)
        two = cfilter.correlate(img, kernel, method=method, output=np.uint8,
                                workers=2, **kw)
        np.testing.assert_array_equal(one, two)


def test_input_not_modified_and_read_only_ok():
    image = _image((20, 30, 3), np.uint8)
    image.flags.writeable = False
    before = image.copy()
    cfilter.correlate(image, np.ones((3, 3)) / 9, channel_axis=-1,
                      output=np.uint8)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("in_dtype", INTS)
def test_equal_weight_kernels_on_integers(mode, in_dtype):
    """Equal weights over integer samples are summed exactly in integers
    (narrow boxes tap by tap, wide ones as running sums)."""
    for shape, ksize, stride, channels in [((23, 30), (3, 4), (1, 1), 0),
                                           ((26, 41), (2, 21), (3, 1), 0),
                                           ((40, 19), (17, 3), (2, 1), 3),
                                           ((9, 8), (12, 13), (1, 1), 2)]:
        full = shape + (channels,) if channels else shape
        image = _image(full, in_dtype, seed=5)
        kernel = np.full(ksize, 1.0 / (ksize[0] * ksize[1]))
        kw = {"channel_axis": -1} if channels else {}
        for out_dtype in (in_dtype, np.float32):
            got = cfilter.correlate(image, kernel, mode=mode, cval=-3,
                                    stride=stride, output=out_dtype, **kw)
            planes = image[..., None] if not channels else image
            ref = np.stack([_reference(planes[..., ch], kernel, mode, -3,
                                       stride)
                            for ch in range(planes.shape[-1])], axis=-1)
            if not channels:
                ref = ref[..., 0]
            _check(got, ref, out_dtype, np.abs(image.astype(float)).max())
    two = cfilter.correlate(image, kernel, output=in_dtype, workers=2, **kw)
    one = cfilter.correlate(image, kernel, output=in_dtype, workers=1, **kw)
    np.testing.assert_array_equal(one, two)


def _u8(ref):
    return np.clip(np.rint(ref), 0, 255)


@pytest.mark.parametrize("channels", [0, 3])
def test_named_filters_uint8_to_uint8(channels):
    """The named filters with output=np.uint8 against scipy.ndimage in
    float64, rounded and saturated (a half may tip where float32 rounds)."""
    shape = (45, 38, channels) if channels else (45, 38)
    image = _image(shape, np.uint8, seed=6)
    kw = {"channel_axis": -1} if channels else {}
    x = image.astype(np.float64)
    size = (3, 3, 1) if channels else 3

    def per_channel(f):
        if not channels:
            return f(x)
        return np.stack([f(x[..., ch]) for ch in range(channels)], axis=-1)

    cases = [
        (cfilter.gaussian_blur(image, 1.5, output=np.uint8, **kw),
         per_channel(lambda a: ndi.gaussian_filter(a, 1.5))),
        (cfilter.box_blur(image, 5, output=np.uint8, **kw),
         per_channel(lambda a: ndi.uniform_filter(a, 5))),
        (cfilter.sobel(image, axis=0, output=np.uint8, **kw),
         per_channel(lambda a: ndi.sobel(a, axis=0))),
        (cfilter.sharpen(image, 1.0, output=np.uint8, **kw),
         x + (x - ndi.uniform_filter(x, size))),
        (cfilter.unsharp_mask(image, 1.0, 1.5, output=np.uint8, **kw),
         x + 1.5 * (x - per_channel(lambda a: ndi.gaussian_filter(a, 1.0)))),
    ]
    for got, ref in cases:
        assert got.dtype == np.uint8 and got.shape == image.shape
        _check(got, ref, np.uint8, 255.0 * 4)


def test_cached_options_still_reject_bad_values():
    """The options cache of a repeated call never lets a bad value pass
    that the checks reject (True for 1, a bool in a pair)."""
    image = np.zeros((8, 8), dtype=np.float32)
    kernel = np.ones((3, 3))
    cfilter.correlate(image, kernel, stride=(1, 1))
    cfilter.correlate(image, kernel, stride=1)
    for bad in (True, (True, 1)):
        with pytest.raises(TypeError, match="stride"):
            cfilter.correlate(image, kernel, stride=bad)


def test_interleaved_channels_with_nan_ignored():
    """nan_policy='ignore' on an (H, W, C) image: per channel, the
    normalised convolution sum_valid(w*x) * sum(w) / sum_valid(w), from
    scipy.ndimage."""
    rng = np.random.default_rng(7)
    image = rng.random((30, 26, 3))
    image[rng.random(image.shape) < 0.1] = np.nan
    kernel = np.outer([1, 2, 1], [1, 3, 3, 1]) / 32.0
    got = cfilter.correlate(image, kernel, channel_axis=-1,
                            nan_policy="ignore")
    valid = ~np.isnan(image)
    for ch in range(3):
        num = ndi.correlate(np.where(valid[..., ch], image[..., ch], 0),
                            kernel)
        den = ndi.correlate(valid[..., ch].astype(float), kernel)
        np.testing.assert_allclose(got[..., ch], num * kernel.sum() / den,
                                   rtol=1e-9, atol=1e-12)
