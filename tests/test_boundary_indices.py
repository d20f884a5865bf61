"""cfilter.boundary_indices: the boundary modes as index maps.

The reference is numpy.pad of ``arange(n)`` (with -1 as the constant), in
numpy's names for the modes (conftest's NP_PAD_MODE, the table of DESIGN
section 2): every mode, every alias, padding far wider than the image, and
windows that start anywhere.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cfilter
from conftest import MODE_ALIASES, MODES, NP_PAD_MODE


def padded(n, before, after, mode):
    """numpy.pad's extension of the indices 0..n-1, -1 for the constant."""
    kw = {"constant_values": -1} if mode == "constant" else {}
    return np.pad(np.arange(n), (before, after), mode=NP_PAD_MODE[mode],
                  **kw)


def reference(n, start, length, mode):
    """The map of coordinates start .. start+length-1 read off numpy.pad,
    padded just wide enough on each side."""
    before = max(0, -start)
    after = max(0, start + length - n)
    return padded(n, before, after, mode)[start + before:
                                          start + before + length]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 7])
@pytest.mark.parametrize("before, after", [(0, 0), (1, 2), (3, 0),
                                           (0, 8), (29, 31), (100, 3)])
def test_equals_numpy_pad(mode, n, before, after):
    # Padding up to 100 on an image of 1..7: reflect and mirror repeat, wrap
    # tiles, nearest and constant stay at the edge, however far out.
    got = cfilter.boundary_indices(n, -before, n + before + after, mode)
    want = padded(n, before, after, mode)
    assert got.dtype == np.intp and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", MODES)
def test_windows_anywhere(mode):
    # A window may start before, inside or after the image and end anywhere.
    n = 5
    for start in range(-23, 24, 2):
        for length in (0, 1, 4, 13, 40):
            got = cfilter.boundary_indices(n, start, length, mode)
            np.testing.assert_array_equal(got, reference(n, start, length,
                                                         mode))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 12), start=st.integers(-60, 60),
       length=st.integers(0, 80), mode=st.sampled_from(MODES))
def test_property_against_numpy_pad(n, start, length, mode):
    got = cfilter.boundary_indices(n, start, length, mode)
    np.testing.assert_array_equal(got, reference(n, start, length, mode))


@pytest.mark.parametrize("alias, canonical", sorted(MODE_ALIASES.items()))
def test_aliases(alias, canonical):
    got = cfilter.boundary_indices(4, -9, 23, alias)
    np.testing.assert_array_equal(got, reference(4, -9, 23, canonical))
    # Case and surrounding spaces as every mode parameter takes them.
    got = cfilter.boundary_indices(4, -9, 23, f" {alias.upper()} ")
    np.testing.assert_array_equal(got, reference(4, -9, 23, canonical))


# numpy.pad's maps repeat with these periods (checked on numpy.pad itself
# below), which gives a reference for windows too far out to pad to.
PERIOD = {"reflect": lambda n: 2 * n, "mirror": lambda n: max(2 * n - 2, 1),
          "wrap": lambda n: n}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 6])
@pytest.mark.parametrize("start", [-10**30, 10**30 + 7, -2**63, 2**63 - 3,
                                   -(2**63) - 5, 2**64 + 1])
def test_starts_beyond_int64(mode, n, start):
    length = 17
    if mode in PERIOD:
        p = PERIOD[mode](n)
        ext = padded(n, 3 * p, 3 * p, mode)
        np.testing.assert_array_equal(ext[:p], ext[p:2 * p])   # the period
        want = reference(n, start % p - p, length, mode)
    else:
        # Every coordinate is outside, on one side: the edge or the constant.
        side = 0 if start < 0 else n - 1
        want = np.full(length, -1 if mode == "constant" else side)
    got = cfilter.boundary_indices(n, start, length, mode)
    assert got.dtype == np.intp
    np.testing.assert_array_equal(got, want)


def test_empty_axis_and_empty_map():
    # An empty axis extends only with the constant, as numpy.pad.
    np.testing.assert_array_equal(cfilter.boundary_indices(0, -2, 5,
                                                           "constant"),
                                  padded(0, 2, 3, "constant"))
    for mode in ("reflect", "mirror", "nearest", "wrap"):
        with pytest.raises(ValueError):
            np.pad(np.arange(0), (2, 3), mode=NP_PAD_MODE[mode])
        with pytest.raises(ValueError, match="n=0.*constant"):
            cfilter.boundary_indices(0, -2, 5, mode)
    empty = cfilter.boundary_indices(3, 5, 0, "wrap")
    assert empty.shape == (0,) and empty.dtype == np.intp


def test_bad_arguments():
    with pytest.raises(ValueError, match="reflect, mirror, nearest, wrap, "
                                         "constant"):
        cfilter.boundary_indices(4, 0, 4, "reflec")
    with pytest.raises(ValueError, match="mode"):
        cfilter.boundary_indices(4, 0, 4, None)
    with pytest.raises(ValueError, match="n=-1"):
        cfilter.boundary_indices(-1, 0, 4)
    with pytest.raises(ValueError, match="length=-3"):
        cfilter.boundary_indices(4, 0, -3)
    for bad in (2.0, True, "3", None):
        with pytest.raises(TypeError, match="n="):
            cfilter.boundary_indices(bad, 0, 4)
        with pytest.raises(TypeError, match="start="):
            cfilter.boundary_indices(4, bad, 4)
        with pytest.raises(TypeError, match="length="):
            cfilter.boundary_indices(4, 0, bad)
    with pytest.raises(ValueError, match="length="):
        cfilter.boundary_indices(4, 0, 2**62)
    with pytest.raises(ValueError, match="n="):
        cfilter.boundary_indices(2**70, 0, 4)


def test_numpy_integers_accepted():
    got = cfilter.boundary_indices(np.int32(5), np.int64(-3), np.uint8(11),
                                   "mirror")
    np.testing.assert_array_equal(got, reference(5, -3, 11, "mirror"))


def test_public_and_listed():
    assert "boundary_indices" in cfilter.__all__
    assert "boundary_indices" in dir(cfilter)
