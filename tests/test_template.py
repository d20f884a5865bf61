"""cfilter.match_template (issue 15, DESIGN section 8).

References: skimage.feature.match_template (valid and pad_input=True, every
numpy.pad mode, colour), cv2.matchTemplate(TM_CCOEFF_NORMED), and a Pearson
correlation over numpy.pad + sliding_window_view windows written here from
the definition.  Ported peer cases: skimage's test_template.py
("test_normalization", "test_no_nans", "test_pad_input",
"test_3d_pad_input") in spirit.
"""
import cv2
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from skimage.feature import match_template as sk_match

import cfilter
from conftest import MODES, NP_PAD_MODE


def pearson_reference(image, template, pads, np_mode, cval=0.0):
    """Every window's Pearson correlation with the template, in float64,
    from numpy.pad and sliding windows (flat windows score 0)."""
    x = np.asarray(image, dtype=np.float64)
    t = np.asarray(template, dtype=np.float64)
    kw = {"constant_values": cval} if np_mode == "constant" else {}
    if x.ndim == 2:
        x, t = x[..., None], t[..., None]
    x = np.pad(x, tuple(pads) + ((0, 0),), mode=np_mode, **kw)
    win = sliding_window_view(x, t.shape)[:, :, 0]       # (oh, ow, h, w, C)
    wc = win - win.mean(axis=(2, 3, 4), keepdims=True)
    tc = t - t.mean()
    num = np.einsum("ijklm,klm->ij", wc, tc)
    den = np.sqrt((wc ** 2).sum(axis=(2, 3, 4)) * (tc ** 2).sum())
    return np.where(den > 1e-12, num / np.where(den > 0, den, 1), 0.0)


def tol(dtype):
    return 2e-4 if np.dtype(dtype) == np.float32 else 1e-10


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,tshape", [
    ((40, 50), (7, 9)), ((33, 31), (8, 6)), ((9, 12), (9, 3)), ((20, 20), (1, 5)),
])
def test_valid_equals_skimage_and_opencv(rng, method, dtype, shape, tshape):
    image = rng.random(shape).astype(dtype)
    template = rng.random(tshape).astype(dtype)
    got = cfilter.match_template(image, template, method=method)
    assert got.dtype == dtype
    expected = sk_match(image.astype(np.float64), template.astype(np.float64))
    np.testing.assert_allclose(got, expected, atol=tol(dtype))
    opencv = cv2.matchTemplate(image.astype(np.float32),
                               template.astype(np.float32),
                               cv2.TM_CCOEFF_NORMED)
    np.testing.assert_allclose(got, opencv, atol=2e-4)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tshape", [(5, 5), (4, 6), (6, 3)])
def test_same_equals_skimage_pad_input(rng, method, mode, tshape):
    image = rng.random((23, 29))
    template = rng.random(tshape)
    cval = 0.4
    got = cfilter.match_template(image, template, padding="same", mode=mode,
                                 cval=cval, method=method)
    kw = {"constant_values": cval} if mode == "constant" else {}
    expected = sk_match(image, template, pad_input=True,
                        mode=NP_PAD_MODE[mode], **kw)
    assert got.shape == image.shape
    np.testing.assert_allclose(got, expected, atol=1e-10)


def explicit_pads(padding, template_shape):
    """Per-side pads of a padding form, written out by hand."""
    h, w = template_shape
    if padding == "full":
        return ((h - 1, h - 1), (w - 1, w - 1))
    if padding == "same":
        return ((h // 2, h - 1 - h // 2), (w // 2, w - 1 - w // 2))
    if isinstance(padding, int):
        return ((padding, padding),) * 2
    return padding


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [2, ((1, 3), (0, 2)), "full"])
def test_other_paddings_equal_pearson_of_padded_windows(rng, mode, padding):
    image = rng.random((15, 18))
    template = rng.random((4, 5))
    got = cfilter.match_template(image, template, padding=padding, mode=mode,
                                 cval=-0.5)
    pads = explicit_pads(padding, template.shape)
    expected = pearson_reference(image, template, pads, NP_PAD_MODE[mode], -0.5)
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_planted_template_is_found_with_score_one(rng, method):
    image = rng.normal(size=(120, 90)).astype(np.float32)
    template = image[70:85, 20:31].copy()
    # Elsewhere, a brighter and stronger copy: the score ignores gain and offset.
    image[10:25, 50:61] = 3.0 * template + 7.0
    scores = cfilter.match_template(image, template, method=method)
    peaks = np.argsort(scores, axis=None)[-2:]
    found = {tuple(int(v) for v in np.unravel_index(p, scores.shape))
             for p in peaks}
    assert found == {(70, 20), (10, 50)}
    assert scores[70, 20] == pytest.approx(1.0, abs=1e-5)
    assert scores[10, 50] == pytest.approx(1.0, abs=1e-5)
    same = cfilter.match_template(image, template, padding="same",
                                  method=method)
    assert same[70 + 15 // 2, 20 + 11 // 2] == pytest.approx(1.0, abs=1e-5)


def test_every_method_equals_every_other(rng):
    image = rng.random((64, 70))
    template = rng.random((11, 12))
    results = [cfilter.match_template(image, template, padding=p, mode="wrap",
                                      method=m)
               for p in ("valid", "same") for m in ("direct", "fft", "auto")]
    for a, b in ((0, 1), (0, 2), (3, 4), (3, 5)):
        np.testing.assert_allclose(results[a], results[b], atol=1e-11)


def test_float32_agrees_with_float64_and_stays_float32(rng):
    image = rng.random((50, 60)) * 100 + 1000     # offset: cancellation bait
    template = image[5:20, 7:19] + rng.normal(scale=0.5, size=(15, 12))
    got32 = cfilter.match_template(image.astype(np.float32),
                                   template.astype(np.float32))
    got64 = cfilter.match_template(image, template)
    assert got32.dtype == np.float32 and got64.dtype == np.float64
    np.testing.assert_allclose(got32, got64, atol=1e-4)
    np.testing.assert_allclose(got64, sk_match(image, template), atol=1e-10)


def test_uint8_image_gives_float32_scores(rng):
    image = rng.integers(0, 256, (40, 45), dtype=np.uint8)
    template = image[3:10, 4:12].copy()
    got = cfilter.match_template(image, template)
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, sk_match(image.astype(np.float64), template.astype(np.float64)),
        atol=1e-5)
    np.testing.assert_allclose(
        got, cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED), atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("channel_axis", [-1, 0])
def test_colour_windows_span_all_channels_as_skimage(rng, padding, channel_axis):
    image = rng.random((30, 34, 3))
    template = rng.random((6, 7, 3))
    expected = sk_match(image, template, pad_input=(padding == "same"))
    # skimage matches in 3-D; the channel-aligned slice is the colour score.
    expected = expected[..., 0] if padding == "valid" else expected[..., 3 // 2]
    img, tpl = (np.moveaxis(a, -1, channel_axis) for a in (image, template))
    got = cfilter.match_template(img, tpl, padding=padding,
                                 channel_axis=channel_axis)
    np.testing.assert_allclose(got, expected, atol=1e-10)
    # (OpenCV's colour TM_CCOEFF_NORMED removes each channel's own mean: a
    # different score, so it is no reference here.)


def test_flat_windows_and_flat_template_score_zero(rng):
    image = rng.random((40, 40))
    image[5:25, 5:25] = 0.3                       # a flat patch
    template = rng.random((6, 6))
    scores = cfilter.match_template(image, template)
    assert np.all(scores[5:20, 5:20] == 0)
    assert np.all(np.abs(scores) <= 1)
    assert np.all(np.isfinite(scores))
    flat = cfilter.match_template(image, np.full((5, 5), 2.0), padding="same")
    assert flat.shape == image.shape and np.all(flat == 0)


def test_scores_stay_within_minus_one_and_one(rng):
    image = np.tile(rng.random((1, 30)), (30, 1)).astype(np.float32)
    template = image[:5, 3:9].copy()
    scores = cfilter.match_template(image, template, padding="same",
                                    mode="reflect")
    assert scores.max() <= 1 and scores.min() >= -1


def test_inputs_are_not_modified(rng):
    image = rng.random((20, 20))
    template = rng.random((5, 5))
    keep = image.copy(), template.copy()
    image.flags.writeable = template.flags.writeable = False
    cfilter.match_template(image, template, padding="same")
    np.testing.assert_array_equal(image, keep[0])
    np.testing.assert_array_equal(template, keep[1])


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(template=np.ones((30, 3))), ValueError, "larger than"),
    (dict(template=np.ones((3, 3, 3))), ValueError, "2-D"),
    (dict(method="box"), ValueError, "direct, fft"),
    (dict(mode="reflec"), ValueError, "boundary mode"),
    (dict(padding="middle"), ValueError, "padding"),
    (dict(channel_axis=-1), ValueError, "3-D"),
    (dict(template=np.ones((3, 3), complex)), TypeError, "complex"),
    (dict(cval="zero"), TypeError, "cval"),
    (dict(workers=0), ValueError, "workers"),
])
def test_bad_input_is_a_clear_error(kwargs, error, words):
    args = dict(image=np.ones((20, 20)), template=np.eye(3))
    args.update(kwargs)
    with pytest.raises(error, match=words):
        cfilter.match_template(args.pop("image"), args.pop("template"), **args)


def test_colour_template_must_have_the_image_channels():
    with pytest.raises(ValueError, match="channels"):
        cfilter.match_template(np.ones((20, 20, 3)), np.ones((4, 4, 2)),
                               channel_axis=-1)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_threads_do_not_change_the_scores(rng, method):
    image = rng.random((300, 260)).astype(np.float32)
    template = image[40:61, 100:117].copy()
    one = cfilter.match_template(image, template, method=method, workers=1)
    two = cfilter.match_template(image, template, method=method, workers=2)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [2, ((1, 3), (0, 2)), "full", "same"])
def test_fft_numerator_with_padding_equals_pearson_of_padded_windows(
        rng, mode, padding):
    # The FFT numerator transforms the whole extended plane (its grid a fast
    # length at least as large): every padding form and mode must still be
    # the Pearson score of the padded windows.
    image = rng.random((23, 29))
    template = rng.random((6, 5))
    got = cfilter.match_template(image, template, padding=padding, mode=mode,
                                 cval=-0.5, method="fft")
    pads = explicit_pads(padding, template.shape)
    expected = pearson_reference(image, template, pads, NP_PAD_MODE[mode], -0.5)
    np.testing.assert_allclose(got, expected, atol=1e-10)
    # The scores are a new contiguous array, not a crop of the FFT grid.
    assert got.flags.c_contiguous and got.base is None


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_colour_fft_numerator_equals_skimage(rng, padding):
    image = rng.random((37, 41, 3)) + 5.0      # an offset the shift removes
    template = rng.random((9, 8, 3)) + 5.0
    expected = sk_match(image, template, pad_input=(padding == "same"))
    expected = expected[..., 0] if padding == "valid" else expected[..., 1]
    got = cfilter.match_template(image, template, padding=padding,
                                 channel_axis=-1, method="fft")
    np.testing.assert_allclose(got, expected, atol=1e-9)
    got32 = cfilter.match_template(image.astype(np.float32),
                                   template.astype(np.float32),
                                   padding=padding, channel_axis=-1,
                                   method="fft")
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, atol=2e-4)


@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest"])
def test_fft_numerator_with_explicit_padding_by_mode(rng, mode):
    # The FFT engine's tiles read the padding through the mode as they are
    # filled (the shift taken off there too).
    image = rng.random((23, 29)) + 50.0
    template = rng.random((6, 5))
    got = cfilter.match_template(image, template, padding=2, mode=mode,
                                 method="fft")
    expected = pearson_reference(image, template, ((2, 2),) * 2,
                                 NP_PAD_MODE[mode], 0.0)
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("channel_axis", [None, -1])
def test_fft_numerator_equals_skimage(rng, workers, channel_axis):
    # The numerator runs the FFT engine's tiles channel by channel, summed
    # into the result, the image shifted as the tiles are filled.
    shape = (45, 70) if channel_axis is None else (45, 70, 2)
    image = rng.random(shape)
    template = image[10:19, 30:41].copy() + 0.1 * rng.random(
        (9, 11) + shape[2:])
    got = cfilter.match_template(image, template, method="fft",
                                 channel_axis=channel_axis, workers=workers)
    expected = sk_match(image, template)
    if channel_axis is not None:
        expected = expected[..., 0]
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_large_offset_and_low_contrast_keep_their_precision(rng, method):
    # Moving sums of x and x**2 lose the variance to cancellation unless
    # they are taken about a value near the data; windows taller and wider
    # than the sums' restart period (64) check the restarts too.  The
    # reference centres every window on its own mean.
    image = 1e4 + rng.random((150, 140))
    image[20:90, 30:120] = 1e4 + 1e-3 * rng.random((70, 90))  # low contrast
    image[100:130, 5:40] = 1e4 + 0.25                          # flat
    template = image[3:10, 125:131].copy()
    got = cfilter.match_template(image, template, method=method)
    expected = pearson_reference(image, template, ((0, 0), (0, 0)),
                                 "constant")
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert np.all(got[100:124, 5:35] == 0)


@pytest.mark.parametrize("mode", MODES)
def test_uint8_image_same_padding_equals_pearson_of_padded_windows(rng, mode):
    # Integer planes are extended in float64 for the window statistics.
    image = rng.integers(0, 256, (37, 33), dtype=np.uint8)
    template = image[5:12, 8:13].copy()
    got = cfilter.match_template(image, template, padding="same", mode=mode,
                                 cval=3.0)
    assert got.dtype == np.float32
    expected = pearson_reference(image, template, ((3, 3), (2, 2)),
                                 NP_PAD_MODE[mode], 3.0)
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_nan_stays_in_the_windows_it_touches(rng):
    # Moving sums would carry a NaN along; such images take correlate's
    # means, and only the windows covering the NaN score NaN.
    image = rng.random((90, 80))
    image[30, 40] = np.nan
    template = rng.random((5, 6))
    got = cfilter.match_template(image, template)
    touched = np.zeros(got.shape, bool)
    touched[26:31, 35:41] = True
    assert np.all(np.isnan(got[touched]))
    clean = image.copy()
    clean[30, 40] = 0.5
    expected = sk_match(clean, template)
    np.testing.assert_allclose(got[~touched], expected[~touched], atol=1e-10)


@pytest.mark.parametrize("magnitude", [1e-25, 1.0, 1e25])
def test_float32_scores_at_any_magnitude(rng, magnitude):
    # float32 scores take the square root and division in float32 on
    # variances scaled by a power of two from the data's spread: tiny and
    # huge images must score as in float64.
    image = (magnitude * rng.random((70, 80))).astype(np.float32)
    template = image[10:17, 20:29].copy()
    got = cfilter.match_template(image, template, padding="same",
                                 mode="reflect")
    assert got.dtype == np.float32
    # (Pearson scores do not change with scale; the reference's flat
    # threshold is absolute, so it reads the image brought back to 1.)
    expected = pearson_reference(image / magnitude, template / magnitude,
                                 ((3, 3), (4, 4)), "symmetric")
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_float32_windows_far_below_the_spread_score_in_float64(rng):
    # Windows whose variance is many decades below the image's spread (not
    # flat: their own values vary) leave float32's comfortable range; they
    # are scored in float64, as every other window.  The tiny block sits
    # where the moving sums restart (rows and columns 64..127), so no
    # rounding residue of the large values reaches its windows.
    image = np.where(rng.random((160, 160)) < 0.5, -1.0, 1.0)
    image[::8, ::8] = np.tile([-1.0, 1.0], 10)           # sampled mean ~0
    image[64:128, 64:128] = 1e-16 * rng.random((64, 64))
    image = image.astype(np.float32)
    template = image[80:86, 90:97].copy()
    got = cfilter.match_template(image, template)
    # (the reference's flat threshold is absolute: it reads the block
    # brought back to 1, Pearson scores being scale-free)
    expected = pearson_reference(image[64:128, 64:128] / 1e-16,
                                 template / 1e-16, ((0, 0), (0, 0)),
                                 "constant")
    np.testing.assert_allclose(got[64:123, 64:122], expected, atol=2e-4)
    assert got[80, 90] > 0.999


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,tshape", [
    ((70, 290), (5, 33)), ((130, 530), (3, 3)), ((66, 260), (3, 4)),
    ((200, 450), (9, 2)),
])
def test_wide_rows_span_several_groups_of_running_sums(rng, dtype, shape,
                                                       tshape):
    """Output rows longer than one group of four 64-wide segments (the
    window sums run four interleaved chains per group) and more than one
    64-row block, against skimage."""
    image = rng.random(shape).astype(dtype)
    template = rng.random(tshape).astype(dtype)
    got = cfilter.match_template(image, template)
    np.testing.assert_allclose(got, sk_match(image.astype(np.float64),
                                             template), atol=tol(dtype))


# Images far from zero: ZNCC does not change with an offset, and the scores
# must not either, beyond the rounding of the offset data themselves.  The
# reference is scikit-image (and OpenCV) on the same values with the offset
# taken off exactly (integers, or float64 values within a factor of two of
# the offset, whose difference is exact).
OFFSET_IMAGES = {
    "uint32 pedestal": (
        lambda rng: (rng.integers(0, 256, (40, 50))
                     + 4_000_000_000).astype(np.uint32),
        4_000_000_000, 1e-10),
    "float64 offset 1e7": (
        lambda rng: rng.random((40, 50)) + 1e7, 1e7, 1e-7),
    "1e4 + 1e-3 noise": (
        lambda rng: 1e4 + 1e-3 * rng.random((40, 50)), 1e4, 1e-7),
    "uint16 pedestal (float32 work)": (
        lambda rng: (rng.integers(0, 40, (40, 50)) + 60000).astype(np.uint16),
        60000, 2e-4),
    "int64 pedestal": (
        lambda rng: rng.integers(0, 1000, (40, 50)) + 10 ** 12,
        10 ** 12, 1e-9),
}


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("name", list(OFFSET_IMAGES))
def test_data_far_from_zero_is_not_flat(rng, name, method):
    make, offset, atol = OFFSET_IMAGES[name]
    image = make(rng)
    template = image[3:10, 4:12].copy()
    got = cfilter.match_template(image, template, method=method)
    i, j = np.unravel_index(np.argmax(got), got.shape)
    assert (i, j) == (3, 4) and got[i, j] == pytest.approx(1.0, abs=atol)
    # (the offset taken off in the data's own type or in float64: exact)
    if image.dtype.kind in "iu":
        bare = (image.astype(np.int64) - offset).astype(np.float64)
    else:
        bare = image - offset
    bare_t = bare[3:10, 4:12].copy()
    np.testing.assert_allclose(got, sk_match(bare, bare_t), atol=atol)
    opencv = cv2.matchTemplate(bare.astype(np.float32),
                               bare_t.astype(np.float32),
                               cv2.TM_CCOEFF_NORMED)
    np.testing.assert_allclose(got, opencv, atol=2e-4)


@pytest.mark.parametrize("value,dtype", [
    (4_000_000_000, np.uint32), (0.1, np.float64), (1e7 + 0.3, np.float64),
    (0.1, np.float32), (7, np.uint8)])
def test_flat_templates_at_any_offset_score_zero(rng, value, dtype):
    # A template of equal values (whose float64 mean may round off it) has
    # no variance: every score is 0, whatever the image.
    image = (rng.random((20, 24)) * 200).astype(dtype)
    flat = np.full((5, 6), value, dtype=dtype)
    for padding in ("valid", "same"):
        got = cfilter.match_template(image, flat, padding=padding)
        assert got.shape == (sk_match(image.astype(np.float64), flat.astype(
            np.float64), pad_input=(padding == "same"))).shape
        assert np.all(got == 0)


def test_flat_windows_far_from_zero_score_zero(rng):
    # A flat patch on a pedestal is flat; the noisy windows around it are
    # not, and score as scikit-image scores them without the pedestal.
    base = rng.random((50, 60))
    base[10:30, 10:35] = 0.25
    image = base + 1e7
    template = base[35:42, 40:47].copy()
    got = cfilter.match_template(image, template + 1e7)
    assert np.all(got[10:24, 10:29] == 0)
    np.testing.assert_allclose(got, sk_match(base, template), atol=1e-7)


@pytest.mark.parametrize("method", ["direct", "auto"])
@pytest.mark.parametrize("channel_axis", [None, -1])
@pytest.mark.parametrize("tshape", [(5, 7), (31, 29)])
def test_nan_cval_reaches_only_the_windows_that_read_it(rng, method,
                                                        channel_axis, tshape):
    # Windows inside the image never read the padding: their scores are the
    # 'valid' scores (scikit-image), finite; the others read NaN.  (A large
    # template would make 'auto' pick the transform, which would spread the
    # NaN padding over every window.)
    h, w = tshape
    shape = (60, 70) + ((2,) if channel_axis is not None else ())
    image = rng.random(shape)
    template = rng.random(tshape + shape[2:])
    got = cfilter.match_template(image, template, padding="same",
                                 mode="constant", cval=np.nan,
                                 channel_axis=channel_axis, method=method)
    valid = sk_match(image, template)
    if channel_axis is not None:
        valid = valid[..., 0]
    inside = (slice(h // 2, h // 2 + valid.shape[0]),
              slice(w // 2, w // 2 + valid.shape[1]))
    np.testing.assert_allclose(got[inside], valid, atol=1e-10)
    reads_padding = np.ones(got.shape, bool)
    reads_padding[inside] = False
    assert np.all(np.isnan(got[reads_padding]))


def test_nan_cval_with_a_nan_in_the_image(rng):
    image = rng.random((40, 45))
    image[20, 22] = np.nan
    template = rng.random((5, 5))
    got = cfilter.match_template(image, template, padding="same",
                                 cval=np.nan)
    clean = image.copy()
    clean[20, 22] = 0.5
    valid = sk_match(clean, template)
    touched = np.zeros(valid.shape, bool)
    touched[16:21, 18:23] = True
    inner = got[2:-2, 2:-2]
    np.testing.assert_allclose(inner[~touched], valid[~touched], atol=1e-10)
    assert np.all(np.isnan(inner[touched]))


def test_transform_with_a_nan_cval_is_refused():
    with pytest.raises(ValueError, match="cval"):
        cfilter.match_template(np.ones((20, 20)), np.eye(5), padding="same",
                               cval=np.nan, method="fft")


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap"])
def test_nan_cval_is_unread_by_the_other_modes(rng, mode):
    image = rng.random((30, 34))
    template = rng.random((5, 6))
    got = cfilter.match_template(image, template, padding="same", mode=mode,
                                 cval=np.nan)
    expected = sk_match(image, template, pad_input=True,
                        mode=NP_PAD_MODE[mode])
    np.testing.assert_allclose(got, expected, atol=1e-10)
