"""cfilter.frequency_filter (issue 15, DESIGN section 8).

References: skimage.filters.butterworth (its own parameters: lowpass and
highpass, orders, npad, channel_axis), and an explicit numpy reference
written here: numpy.pad by the mode, numpy.fft.fft2, the transfer function
evaluated from DESIGN's formulas on the full frequency grid
(numpy.fft.fftfreq), numpy.fft.ifft2, crop.
"""
import numpy as np
import pytest
from skimage.filters import butterworth

import cfilter
from conftest import MODES, NP_PAD_MODE


def lowpass_reference(f, c, shape, order):
    if shape == "butterworth":
        return 1.0 / (1.0 + (f / c) ** (2 * order))
    if shape == "gaussian":
        return np.exp(-f ** 2 / (2 * c ** 2))
    return (f <= c).astype(float)


def transfer_reference(f, cutoff, kind, shape, order):
    if kind == "lowpass":
        return lowpass_reference(f, cutoff, shape, order)
    if kind == "highpass":
        return 1 - lowpass_reference(f, cutoff, shape, order)
    low, high = cutoff
    band = (lowpass_reference(f, high, shape, order)
            * (1 - lowpass_reference(f, low, shape, order)))
    return band if kind == "bandpass" else 1 - band


def frequency_reference(image, cutoff, kind, shape, order, np_mode, pad,
                        cval=0.0):
    """Pad, full complex FFT, multiply by H(f) on the fftfreq grid, invert,
    crop; float64 throughout."""
    x = np.asarray(image, dtype=np.float64)
    kw = {"constant_values": cval} if np_mode == "constant" else {}
    x = np.pad(x, pad, mode=np_mode, **kw)
    fy = np.fft.fftfreq(x.shape[0])[:, None]
    fx = np.fft.fftfreq(x.shape[1])[None, :]
    f = np.sqrt(fy ** 2 + fx ** 2)
    out = np.fft.ifft2(np.fft.fft2(x) * transfer_reference(f, cutoff, kind,
                                                           shape, order)).real
    return out[pad:pad + image.shape[0], pad:pad + image.shape[1]]


KIND_CUTOFFS = [("lowpass", 0.12), ("highpass", 0.2), ("bandpass", (0.05, 0.3)),
                ("bandstop", (0.1, 0.25)), ("lowpass", 0.5)]


@pytest.mark.parametrize("shape", ["butterworth", "gaussian", "ideal"])
@pytest.mark.parametrize("kind,cutoff", KIND_CUTOFFS)
@pytest.mark.parametrize("size", [(32, 32), (31, 40), (17, 9)])
def test_equals_explicit_fft_with_the_transfer_function(rng, shape, kind,
                                                        cutoff, size):
    image = rng.random(size)
    got = cfilter.frequency_filter(image, cutoff, kind=kind, shape=shape,
                                   order=3)
    expected = frequency_reference(image, cutoff, kind, shape, 3, "wrap", 0)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad", [1, 6, 40])
def test_padding_by_every_mode_then_crop(rng, mode, pad):
    image = rng.random((20, 27))
    got = cfilter.frequency_filter(image, (0.05, 0.2), kind="bandpass",
                                   shape="gaussian", mode=mode, cval=0.5,
                                   pad=pad)
    expected = frequency_reference(image, (0.05, 0.2), "bandpass", "gaussian",
                                   2, NP_PAD_MODE[mode], pad, 0.5)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("high_pass", [False, True])
@pytest.mark.parametrize("order", [1.0, 2.0, 3.5, 8])
@pytest.mark.parametrize("npad", [0, 7])
@pytest.mark.parametrize("size", [(48, 48), (33, 50)])
def test_butterworth_equals_skimage(rng, dtype, high_pass, order, npad, size):
    image = rng.random(size).astype(dtype)
    got = cfilter.frequency_filter(image, 0.08,
                                   kind="highpass" if high_pass else "lowpass",
                                   order=order, pad=npad)
    expected = butterworth(image, 0.08, high_pass=high_pass, order=order,
                           npad=npad)
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_allclose(got, expected,
                               atol=64 * np.finfo(dtype).eps)


def test_colour_equals_skimage_channel_axis(rng):
    image = rng.random((30, 26, 3))
    got = cfilter.frequency_filter(image, 0.15, channel_axis=-1, pad=4)
    expected = butterworth(image, 0.15, high_pass=False, channel_axis=-1,
                           npad=4)
    np.testing.assert_allclose(got, expected, atol=1e-13)
    first = cfilter.frequency_filter(np.moveaxis(image, -1, 0), 0.15,
                                     channel_axis=0, pad=4)
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), expected, atol=1e-13)


def test_float32_stays_float32_and_agrees_with_float64(rng):
    image = rng.random((64, 48))
    got32 = cfilter.frequency_filter(image.astype(np.float32), 0.1,
                                     kind="highpass", shape="gaussian", pad=5)
    got64 = cfilter.frequency_filter(image, 0.1, kind="highpass",
                                     shape="gaussian", pad=5)
    assert got32.dtype == np.float32 and got64.dtype == np.float64
    np.testing.assert_allclose(got32, got64, atol=1e-5)


def test_uint8_image_and_integer_output(rng):
    image = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    got = cfilter.frequency_filter(image, 0.2, shape="gaussian")
    assert got.dtype == np.float32
    expected = frequency_reference(image, 0.2, "lowpass", "gaussian", 2,
                                   "wrap", 0)
    np.testing.assert_allclose(got, expected, atol=1e-3)
    as_uint8 = cfilter.frequency_filter(image, 0.2, shape="gaussian",
                                        output=np.uint8)
    np.testing.assert_array_equal(as_uint8,
                                  np.clip(np.rint(expected), 0, 255))
    out = np.empty((40, 40))
    assert cfilter.frequency_filter(image, 0.2, output=out) is out


def test_ideal_lowpass_separates_two_sines():
    x = np.arange(64)
    slow = np.sin(2 * np.pi * x / 32)[None, :] * np.ones((64, 1))
    fast = np.cos(2 * np.pi * x / 4)[:, None] * np.ones((1, 64))
    low = cfilter.frequency_filter(slow + fast, 0.1, shape="ideal")
    high = cfilter.frequency_filter(slow + fast, 0.1, shape="ideal",
                                    kind="highpass")
    np.testing.assert_allclose(low, slow, atol=1e-12)
    np.testing.assert_allclose(high, fast, atol=1e-12)


def test_lowpass_plus_highpass_is_the_image(rng):
    image = rng.random((25, 36))
    parts = [cfilter.frequency_filter(image, 0.1, kind=k, shape="butterworth",
                                      order=2.5, pad=3, mode="reflect")
             for k in ("lowpass", "highpass")]
    np.testing.assert_allclose(parts[0] + parts[1], image, atol=1e-12)


def test_workers_do_not_change_the_result(rng):
    image = rng.random((70, 64)).astype(np.float32)
    one = cfilter.frequency_filter(image, 0.1, workers=1)
    two = cfilter.frequency_filter(image, 0.1, workers=2)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(cutoff=0.0), ValueError, r"\(0, 0.5\]"),
    (dict(cutoff=0.6), ValueError, r"\(0, 0.5\]"),
    (dict(cutoff=(0.1, 0.2)), ValueError, "one cutoff"),
    (dict(kind="bandpass"), ValueError, "pair"),
    (dict(kind="bandpass", cutoff=(0.3, 0.2)), ValueError, "low < high"),
    (dict(kind="notch"), ValueError, "lowpass, highpass, bandpass, bandstop"),
    (dict(shape="chebyshev"), ValueError, "butterworth, gaussian, ideal"),
    (dict(order=0), ValueError, "order"),
    (dict(order="2"), TypeError, "order"),
    (dict(pad=-1), ValueError, "pad"),
    (dict(pad=1.5), TypeError, "pad"),
    (dict(mode="reflec"), ValueError, "boundary mode"),
    (dict(output=np.empty((3, 3))), ValueError, "shape"),
    (dict(output=complex), TypeError, "output"),
    (dict(channel_axis=5), ValueError, "channel_axis"),
])
def test_bad_input_is_a_clear_error(kwargs, error, words):
    args = dict(cutoff=0.1)
    args.update(kwargs)
    with pytest.raises(error, match=words):
        cfilter.frequency_filter(np.ones((10, 12)), args.pop("cutoff"), **args)


def test_nan_is_refused_and_input_untouched():
    image = np.ones((10, 10))
    image[3, 3] = np.nan
    keep = image.copy()
    with pytest.raises(ValueError, match="NaN"):
        cfilter.frequency_filter(image, 0.1)
    np.testing.assert_array_equal(image, keep)


@pytest.mark.parametrize("pad", [0, 3])
def test_result_is_a_fresh_contiguous_array(rng, pad):
    # The unpadded 2-D path returns the inverse transform itself: it must
    # not alias the image nor be a view of a larger buffer.
    image = rng.random((33, 40)).astype(np.float32)
    keep = image.copy()
    got = cfilter.frequency_filter(image, 0.2, pad=pad)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    assert got.flags.owndata or got.base is None or got.base.size == got.size
    assert not np.shares_memory(got, image)
    got[...] = 7
    np.testing.assert_array_equal(image, keep)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_blocks_equal_explicit_fft(rng, workers, dtype):
    # The column transforms run 16 columns at a time (dealt out to the
    # threads), the rows 16 at a time: an odd width spans several blocks,
    # the last one narrower, and every block must meet its own columns of
    # H (rows above H//2 mirrored), for several planes at once.
    image = rng.random((3, 37, 75)).astype(dtype)
    got = cfilter.frequency_filter(image, (0.08, 0.3), kind="bandstop",
                                   shape="butterworth", order=2.5, pad=3,
                                   mode="mirror", channel_axis=0,
                                   workers=workers)
    assert got.dtype == dtype
    for plane, out in zip(image, got):
        expected = frequency_reference(plane, (0.08, 0.3), "bandstop",
                                       "butterworth", 2.5, "reflect", 3)
        np.testing.assert_allclose(out, expected,
                                   atol=1e-12 if dtype == np.float64 else 2e-5)


@pytest.mark.parametrize("bad", [[np.nan], [np.inf], [-np.inf],
                                 [np.inf, -np.inf]])
@pytest.mark.parametrize("pad", [0, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_nan_or_inf_is_refused(rng, bad, pad, dtype):
    # The check reads each row's sum (its first coefficient): one NaN or
    # Inf anywhere, or an Inf and a -Inf on one row, must be found, in any
    # channel, with or without padding.
    image = rng.random((3, 12, 17)).astype(dtype)
    for k, value in enumerate(bad):
        image[2, 11, 3 + 5 * k] = value
    keep = image.copy()
    with pytest.raises(ValueError, match="NaN or Inf"):
        cfilter.frequency_filter(image, 0.1, pad=pad, channel_axis=0)
    np.testing.assert_array_equal(image, keep)


def gap_cutoff(shape, near, margin=1e-4):
    """A cutoff near ``near`` at least ``margin`` (relative) away from every
    radial frequency of the transform grid of ``shape``: a steep
    Butterworth is the ideal filter there, to rounding."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    f = np.unique(np.sqrt(fy ** 2 + fx ** 2))
    mids = (f[1:] + f[:-1]) / 2
    ok = mids[(f[1:] - f[:-1]) > 2 * margin * mids]
    return float(ok[np.argmin(np.abs(ok - near))])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("order", [13, 40])
@pytest.mark.parametrize("high_pass", [False, True])
def test_high_orders_equal_skimage(rng, dtype, order, high_pass):
    # (f/c)**(2*order) overflows float32 from order ~13 at this cutoff:
    # the filter must still be skimage's, evaluated in float64.
    image = (rng.random((64, 64)) * 255).astype(dtype)
    kind = "highpass" if high_pass else "lowpass"
    got = cfilter.frequency_filter(image, 0.02, kind=kind, order=order)
    expected = butterworth(image.astype(np.float64), 0.02,
                           high_pass=high_pass, order=order)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected,
                               atol=1e-11 if dtype == np.float64 else 2e-3)
    if dtype == np.uint8:
        as_uint8 = cfilter.frequency_filter(image, 0.02, kind=kind,
                                            order=order, output=np.uint8)
        want = np.clip(np.rint(expected), 0, 255)
        # (a value within float32 rounding of a half may round either way)
        assert np.max(np.abs(as_uint8 - want)) <= 1
        assert np.mean(as_uint8 == want) > 0.99


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind,near", [
    ("lowpass", 0.1), ("highpass", 0.02), ("bandpass", (0.05, 0.3)),
    ("bandstop", (0.1, 0.25))])
@pytest.mark.parametrize("order", [1e6, 1e300])
def test_steep_butterworth_is_the_ideal_filter(rng, dtype, kind, near,
                                               order):
    # A steep Butterworth tends to the ideal filter (never to NaN): with
    # the cutoffs between two grid frequencies, the ideal filter evaluated
    # in float64 is the reference.
    shape = (48, 40)
    image = rng.random(shape).astype(dtype)
    cutoff = (gap_cutoff(shape, near) if kind in ("lowpass", "highpass")
              else tuple(gap_cutoff(shape, c) for c in near))
    got = cfilter.frequency_filter(image, cutoff, kind=kind, order=order)
    expected = frequency_reference(image, cutoff, kind, "ideal", 0, "wrap", 0)
    np.testing.assert_allclose(got, expected,
                               atol=1e-9 if dtype == np.float64 else 1e-5)


@pytest.mark.skipif(np.finfo(np.longdouble).maxexp < 16000,
                    reason="needs an extended-precision long double")
@pytest.mark.parametrize("kind,cutoff", [
    ("lowpass", 0.02), ("highpass", 0.02), ("bandpass", (0.02, 0.3)),
    ("bandstop", (0.02, 0.3))])
def test_order_200_in_float64_equals_extended_precision(rng, kind, cutoff):
    # (f/c)**400 reaches 1e617 here, beyond float64 (which made NaN of
    # it); numpy's long double holds it, so the definition evaluated
    # there is the reference.
    image = rng.random((48, 40))
    got = cfilter.frequency_filter(image, cutoff, kind=kind, order=200)
    fy = np.fft.fftfreq(48)[:, None].astype(np.longdouble)
    fx = np.fft.fftfreq(40)[None, :].astype(np.longdouble)
    f = np.sqrt(fy ** 2 + fx ** 2)
    h = transfer_reference(f, cutoff, kind, "butterworth", 200)
    assert np.all(np.isfinite(h))
    expected = np.fft.ifft2(np.fft.fft2(image) * h.astype(np.float64)).real
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", ["butterworth", "gaussian", "ideal"])
@pytest.mark.parametrize("cutoff", [1e-200, 1e-30, 5e-324])
def test_tiny_cutoff_keeps_only_the_mean(rng, dtype, shape, cutoff):
    # 1/c**2 is not a number for these cutoffs: every frequency but 0 is
    # far above the cutoff, so the lowpass is the image's mean and the
    # highpass the rest; the band kinds follow.
    image = rng.random((20, 30)).astype(dtype)
    mean = image.astype(np.float64).mean()
    atol = 1e-12 if dtype == np.float64 else 1e-6
    low = cfilter.frequency_filter(image, cutoff, shape=shape)
    np.testing.assert_allclose(low, np.full(image.shape, mean), atol=atol)
    high = cfilter.frequency_filter(image, cutoff, kind="highpass",
                                    shape=shape)
    np.testing.assert_allclose(high, image - mean, atol=atol)
    band = cfilter.frequency_filter(image, (cutoff, 0.5), kind="bandpass",
                                    shape=shape, pad=3)
    expected = frequency_reference(image, (1e-3, 0.5), "bandpass", "ideal",
                                   0, "edge", 3)
    if shape == "ideal":       # (the smooth shapes still cut at 0.5)
        np.testing.assert_allclose(band, expected, atol=atol * 10)
    assert np.all(np.isfinite(band))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
def test_tiny_cutoff_with_a_gentle_order(rng, dtype, kind):
    # At order 0.01 a cutoff of 1e-200 still leaves (f/c)**0.02 ~ 1e4:
    # the filter is far from the mean alone; numpy's float64 evaluation of
    # the definition does not overflow there and is the reference.
    image = rng.random((24, 20)).astype(dtype)
    got = cfilter.frequency_filter(image, 1e-200, kind=kind, order=0.01)
    expected = frequency_reference(image, 1e-200, kind, "butterworth", 0.01,
                                   "wrap", 0)
    np.testing.assert_allclose(got, expected,
                               atol=1e-12 if dtype == np.float64 else 1e-5)


def test_thread_counts_beyond_the_cpus_are_clamped(rng):
    image = rng.random((40, 30))
    expected = frequency_reference(image, 0.1, "lowpass", "butterworth", 2,
                                   "wrap", 0)
    got = cfilter.frequency_filter(image, 0.1, workers=2 ** 64)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    old = cfilter.set_num_threads(10 ** 20)
    try:
        got = cfilter.frequency_filter(image, 0.1, pad=2)
    finally:
        cfilter.set_num_threads(old)
    expected = frequency_reference(image, 0.1, "lowpass", "butterworth", 2,
                                   "edge", 2)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_huge_thread_count_in_the_environment(tmp_path):
    # CFILTER_NUM_THREADS is read at import: a fresh interpreter.
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import numpy as np, cfilter\n"
            "x = np.random.default_rng(0).random((32, 32))\n"
            "got = cfilter.frequency_filter(x, 0.2, shape='ideal')\n"
            "fy = np.fft.fftfreq(32)[:, None]; fx = np.fft.fftfreq(32)\n"
            "h = np.sqrt(fy ** 2 + fx ** 2) <= 0.2\n"
            "want = np.fft.ifft2(np.fft.fft2(x) * h).real\n"
            "assert np.allclose(got, want, atol=1e-12, rtol=0)\n"
            "print('ok')\n")
    env = dict(os.environ, CFILTER_NUM_THREADS="99999999999999999999",
               PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
