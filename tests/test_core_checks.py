"""The compiled entry points read the sample type of their planes from the
arrays themselves and check their layout: a caller's sample code that is
not the array's, an array not C-contiguous, unaligned or byte-swapped, or
of a type the core does not read, is a TypeError or ValueError from the
compiled function -- never a wrong read.

The engines are called directly here, as ``cfilter._engine`` calls them;
a correct call is checked against scipy.ndimage first, so that the
refusals below are of the arrays alone.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi

from cfilter._core import _box, _direct, _separable
from cfilter._core._boundary import BoundaryMode
from cfilter._core._samples import Sample

CODES = {np.dtype(np.float32): Sample.F32, np.dtype(np.float64): Sample.F64,
         np.dtype(np.uint8): Sample.U8, np.dtype(np.int8): Sample.I8,
         np.dtype(np.uint16): Sample.U16, np.dtype(np.int16): Sample.I16}
KERNEL = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16


def direct(images, src, out, dst):
    _direct.correlate_planes["double"](
        images, src, KERNEL, out, dst, 1, 1, 1, 1, 1, 1, 1,
        BoundaryMode.REFLECT, 0.0, 1)


def separable(images, src, out, dst):
    col = np.array([[1.0, 2.0, 1.0]]) / 4
    _separable.sep_correlate_planes["double"](
        images, src, col, col, out, dst, 1, 1, 1, 1, 1, 1, 1,
        BoundaryMode.REFLECT, 0.0, 1)


def box(images, src, out, dst):
    # (the box engine's input is a typed view; its sample code is the
    # output's)
    _box.box_sum_int_planes(images, out, dst, 1, 3, 3, 1, 1, 1,
                            BoundaryMode.REFLECT, 0, 1 / 9, 1)


def planes(dtype, shape=(2, 9, 11)):
    return (np.random.default_rng(0).integers(0, 100, shape)
            .astype(dtype))


def unaligned(dtype, shape=(2, 9, 11)):
    """A C-contiguous array at an odd byte offset."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(n + 1, dtype=np.uint8)[1:]
    a = raw.view(dtype).reshape(shape)
    assert a.flags.c_contiguous and not a.flags.aligned
    a[...] = planes(dtype, shape)
    return a


ENGINES = {"direct": direct, "separable": separable, "box": box}


@pytest.mark.parametrize("engine", ["direct", "separable", "box"])
@pytest.mark.parametrize("src,dst", [(np.uint8, np.float32),
                                     (np.uint8, np.uint8),
                                     (np.int16, np.int16),
                                     (np.float64, np.uint16)])
def test_a_correct_call_equals_scipy(engine, src, dst):
    if engine == "box" and np.dtype(src).kind == "f":
        pytest.skip("the integer box engine reads integers")
    x = planes(src)
    out = np.zeros(x.shape, dst)
    ENGINES[engine](x, CODES[np.dtype(src)], out, CODES[np.dtype(dst)])
    for p in range(len(x)):
        ref = ndi.correlate(x[p].astype(np.float64),
                            np.full((3, 3), 1 / 9) if engine == "box"
                            else KERNEL, mode="reflect")
        if np.dtype(dst).kind in "iu":
            info = np.iinfo(dst)
            ref = np.clip(np.rint(ref), info.min, info.max)
        np.testing.assert_allclose(out[p], ref, atol=1e-5 * 100)


@pytest.mark.parametrize("engine", ["direct", "separable"])
@pytest.mark.parametrize("wrong", ["src", "dst"])
def test_a_sample_code_not_the_arrays_is_refused(engine, wrong):
    x = planes(np.uint8)
    out = np.zeros(x.shape, np.float32)
    src, dst = Sample.U8, Sample.F32
    for code in Sample:
        if wrong == "src" and code != Sample.U8:
            with pytest.raises(TypeError, match="uint8 samples"):
                ENGINES[engine](x, code, out, dst)
        if wrong == "dst" and code != Sample.F32:
            with pytest.raises(TypeError, match="float32 samples"):
                ENGINES[engine](x, src, out, code)
    assert not out.any()


@pytest.mark.parametrize("code", list(Sample))
def test_box_output_code_not_the_arrays_is_refused(code):
    x = planes(np.uint8)
    out = np.zeros(x.shape, np.int16)
    if code != Sample.I16:
        with pytest.raises(TypeError, match="int16 samples"):
            box(x, None, out, code)
        assert not out.any()
    else:
        box(x, None, out, code)
        assert out.any()


@pytest.mark.parametrize("engine", ["direct", "separable", "box"])
@pytest.mark.parametrize("which", ["images", "out"])
@pytest.mark.parametrize("layout", ["strided", "fortran", "unaligned",
                                    "byteswapped", "2-D", "int32"])
def test_a_layout_the_core_cannot_read_is_refused(engine, which, layout):
    src, dst = np.int16, np.int16
    x = planes(src)
    out = np.zeros(x.shape, dst)
    bad_dtype = src if which == "images" else dst
    if layout == "strided":
        bad = planes(bad_dtype, (2, 9, 22))[:, :, ::2]
    elif layout == "fortran":
        bad = np.asfortranarray(planes(bad_dtype))
    elif layout == "unaligned":
        bad = unaligned(bad_dtype)
    elif layout == "byteswapped":
        bad = planes(np.dtype(bad_dtype).newbyteorder())
    elif layout == "2-D":
        bad = planes(bad_dtype)[0]
    else:
        bad = planes(np.int32)
    if which == "images":
        x = bad
    else:
        out = bad
    code = CODES.get(np.dtype(src))
    with pytest.raises((TypeError, ValueError)):
        ENGINES[engine](x, code, out, CODES[np.dtype(dst)])
