"""Box filters of integer images into integer outputs, against independent
references.

* Exact: numpy.pad, then the window sums in int64 and the exact mean
  rounded half to even in integer arithmetic (numpy.rint of the exact mean),
  then saturated.  uint8 -> uint8 means are computed exactly, so they must
  match bit for bit; other types round ``sum * weight`` in floating point and
  may tip an exact half either way.
* scipy.ndimage.uniform_filter in float64, rounded with np.rint and
  saturated with np.clip (a value within rounding of a half may go either
  way).
* OpenCV's cv2.blur for odd box sizes (for even sizes OpenCV anchors and
  rounds differently).

Every case runs on 1, 2, 3 and 5 workers, which must agree bit for bit.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter

cv2 = pytest.importorskip("cv2")

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]
PAD_MODE = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
            "wrap": "wrap", "constant": "constant"}
CV_BORDER = {"reflect": cv2.BORDER_REFLECT, "mirror": cv2.BORDER_REFLECT_101,
             "nearest": cv2.BORDER_REPLICATE,
             "constant": cv2.BORDER_CONSTANT}
INTS = [np.uint8, np.int8, np.uint16, np.int16]
WORKERS = (1, 2, 3, 5)


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 50).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _window_sums(image, kh, kw, mode, cval=0, pads=None, sy=1):
    """int64 kh x kw window sums of the 'same' (or ``pads``) correlation,
    rows at stride ``sy``, per channel (last axis when 3-D)."""
    if pads is None:
        pads = ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2))
    extra = {"constant_values": cval} if mode == "constant" else {}
    widths = list(pads) + [(0, 0)] * (image.ndim - 2)
    xp = np.pad(image.astype(np.int64), widths, mode=PAD_MODE[mode], **extra)
    oh = xp.shape[0] - kh + 1
    ow = xp.shape[1] - kw + 1
    s = sum(xp[m:m + oh, l:l + ow] for m in range(kh) for l in range(kw))
    return s[::sy]


def _exact_mean(sums, n, dtype):
    """round(sums / n), half to even, exactly; saturated to ``dtype``."""
    q, r = np.divmod(sums, n)
    up = (2 * r > n) | ((2 * r == n) & (q % 2 == 1))
    info = np.iinfo(dtype)
    return np.clip(q + up, info.min, info.max).astype(dtype)


def _all_workers(call):
    """call(workers) on every worker count; they must agree exactly."""
    first = call(WORKERS[0])
    for w in WORKERS[1:]:
        np.testing.assert_array_equal(call(w), first, err_msg=f"workers={w}")
    return first


SIZES = [1, 2, 3, 4, 5, 9, 31, (2, 3), (5, 1), (1, 7), (3, 12), (16, 16)]
SHAPES = [(1, 1), (2, 3), (7, 5), (23, 40), (40, 19)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", SIZES)
def test_uint8_box_is_the_exact_mean(mode, size):
    kh, kw = (size, size) if np.isscalar(size) else size
    for shape in SHAPES:
        for channels in (None, 1, 3, 4):
            full = shape if channels is None else shape + (channels,)
            image = _image(full, np.uint8, seed=kh * 31 + kw)
            kwargs = {} if channels is None else {"channel_axis": -1}
            got = _all_workers(lambda w: cfilter.box_blur(
                image, size, mode=mode, cval=9, output=np.uint8, workers=w,
                **kwargs))
            want = _exact_mean(_window_sums(image, kh, kw, mode, 9), kh * kw,
                               np.uint8)
            np.testing.assert_array_equal(got, want, err_msg=str(full))


@pytest.mark.parametrize("mode", MODES)
def test_uint8_planar_stack_and_channel_first(mode):
    image = _image((4, 29, 33), np.uint8, seed=2)
    for size in (3, (4, 6)):
        kh, kw = (size, size) if np.isscalar(size) else size
        want = np.stack([_exact_mean(_window_sums(p, kh, kw, mode, 200),
                                     kh * kw, np.uint8) for p in image])
        got = _all_workers(lambda w: cfilter.box_blur(
            image, size, mode=mode, cval=200, channel_axis=0,
            output=np.uint8, workers=w))
        np.testing.assert_array_equal(got, want)
        # the same channels interleaved
        hwc = np.ascontiguousarray(np.moveaxis(image, 0, -1))
        got = cfilter.box_blur(hwc, size, mode=mode, cval=200,
                               channel_axis=-1, output=np.uint8)
        np.testing.assert_array_equal(np.moveaxis(got, -1, 0), want)


def test_uint8_ties_round_half_to_even():
    """Every sum in a 2 x 3 window of 0/1/2 samples: the means that are
    exact halves (1.5, 2.5, ...) round to the even neighbour."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 3, (64, 64), dtype=np.uint8) * 85
    got = cfilter.box_blur(image, (2, 3), output=np.uint8)
    sums = _window_sums(image, 2, 3, "reflect")
    ties = sums % 6 == 3
    assert ties.sum() > 100
    want = _exact_mean(sums, 6, np.uint8)
    np.testing.assert_array_equal(got, want)
    assert (got[ties] % 2 == 0).all()


@pytest.mark.parametrize("mode", MODES)
def test_uint8_stride_and_padding(mode):
    image = _image((31, 26, 3), np.uint8, seed=4)
    kernel = np.full((4, 3), 1 / 12)
    for pads, stride in [(((0, 0), (0, 0)), (1, 1)),
                         (((3, 3), (2, 2)), (1, 1)),
                         (((1, 2), (1, 1)), (2, 1)),
                         (((2, 1), (0, 2)), (3, 1)),
                         (((40, 35), (30, 29)), (5, 1))]:
        got = _all_workers(lambda w: cfilter.correlate(
            image, kernel, mode=mode, cval=4, padding=pads, stride=stride,
            channel_axis=-1, output=np.uint8, workers=w))
        want = _exact_mean(_window_sums(image, 4, 3, mode, 4, pads,
                                        stride[0]), 12, np.uint8)
        np.testing.assert_array_equal(got, want, err_msg=str(pads))


@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest",
                                  "constant"])
@pytest.mark.parametrize("size", [1, 3, 5, 9, 31, (3, 7), (9, 1)])
def test_uint8_box_matches_opencv(mode, size):
    kh, kw = (size, size) if np.isscalar(size) else size
    for shape in [(37, 41, 3), (50, 33), (16, 70, 4)]:
        image = _image(shape, np.uint8, seed=5)
        kwargs = {"channel_axis": -1} if len(shape) == 3 else {}
        want = cv2.blur(image, (kw, kh), borderType=CV_BORDER[mode])
        got = cfilter.box_blur(image, size, mode=mode, output=np.uint8,
                               **kwargs)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", INTS + [np.float32, np.float64])
@pytest.mark.parametrize("size", [2, 3, 4, 9, (5, 2)])
def test_box_matches_scipy_uniform_filter(mode, dtype, size):
    for shape, channels in [((19, 27), None), ((8, 5), 3), ((30, 12), 4)]:
        full = shape if channels is None else shape + (channels,)
        image = _image(full, dtype, seed=6)
        kwargs = {} if channels is None else {"channel_axis": -1}
        usize = size if channels is None else (
            (size, size, 1) if np.isscalar(size) else size + (1,))
        # scipy puts the window's centre at size // 2 from its start, as
        # the 'same' correlation does
        ref = ndi.uniform_filter(image.astype(np.float64), usize, mode=mode,
                                 cval=-5)
        got = _all_workers(lambda w: cfilter.box_blur(
            image, size, mode=mode, cval=-5, output=dtype, workers=w,
            **kwargs))
        assert got.dtype == np.dtype(dtype)
        if np.dtype(dtype).kind == "f":
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, ref, rtol=tol,
                                       atol=tol * np.abs(ref).max())
            continue
        info = np.iinfo(dtype)
        want = np.clip(np.rint(ref), info.min, info.max)
        near_half = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-3
        bad = (got != want) & ~(near_half & (np.abs(got - want) <= 1))
        assert not bad.any(), (got[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("size", [2, 3, 5, 9])
@pytest.mark.parametrize("mode", MODES)
def test_float64_output_keeps_float64_precision(dtype, size, mode):
    # Integer window sums scaled into a float64 result must be as close to
    # scipy's float64 uniform filter as float64 allows: a float32 1/N (the
    # narrow path integer outputs may take) is off by about 1e-8 relative.
    img = _image((23, 31), dtype)
    # scipy puts the window's centre at size // 2 from its start, as the
    # 'same' correlation does
    ref = ndi.uniform_filter(img.astype(np.float64), size, mode=mode)
    got = cfilter.box_blur(img, size, mode=mode, output=np.float64)
    assert got.dtype == np.float64
    scale = max(1.0, float(np.abs(img).max()))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * scale)
