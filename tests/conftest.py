"""Shared helpers for the cfilter test suite.

Nothing here calls cfilter: these are the *independent* references the tests
compare cfilter against (scipy.ndimage, scipy.signal, torch and a small
``numpy.pad`` + sliding-window correlation written from the definition in
DESIGN.md §2).
"""

import importlib.util

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

#: torch is an optional reference (the ``torch`` extra: from a general index
#: it brings gigabytes of CUDA libraries).  The tests that compare with it
#: carry this mark and skip without it; the rest of their modules still run.
def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


requires_torch = pytest.mark.skipif(
    not _importable("torch"),
    reason="torch is not installed (pip install 'cfilter[torch]')")

# ---------------------------------------------------------------------------
# Boundary modes
# ---------------------------------------------------------------------------

#: The five canonical cfilter boundary modes.
MODES = ("reflect", "mirror", "nearest", "wrap", "constant")

#: cfilter mode -> numpy.pad mode (DESIGN.md §2 table).
NP_PAD_MODE = {
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "constant": "constant",
}

#: cfilter mode -> scipy.ndimage mode.  ``grid-wrap`` / ``grid-constant`` are
#: used because ndimage's plain ``wrap`` differs from numpy's ``wrap`` for some
#: kernels wider than the image, and ``grid-constant`` is the unambiguous
#: spelling of "pad with cval" for every kernel size.
NDI_MODE = {
    "reflect": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "wrap": "grid-wrap",
    "constant": "grid-constant",
}

#: alias -> canonical cfilter mode (DESIGN.md §2).
MODE_ALIASES = {
    "symmetric": "reflect",
    "grid-mirror": "reflect",
    "reflect101": "mirror",
    "reflect_101": "mirror",
    "edge": "nearest",
    "replicate": "nearest",
    "circular": "wrap",
    "periodic": "wrap",
    "grid-wrap": "wrap",
    "zeros": "constant",
    "grid-constant": "constant",
}

# ---------------------------------------------------------------------------
# Tolerance
# ---------------------------------------------------------------------------

#: Safety factor on the rounding-error scale below.  A correlation output is a
#: dot product of the kernel with a window of the image; evaluating it in
#: floating point with unit roundoff ``u = eps/2`` gives an error bounded by
#: ``gamma * sum_m |w_m| |x_m| <= gamma * sum|w| * max|x|``, where gamma is the
#: accumulated relative error.  The worst-case gamma grows like ``k*u`` for a
#: k-term sum, but the realistic (probabilistic, Higham & Mary 2019) growth is
#: ``~sqrt(k)*u``, and blocked/pairwise or two-pass (separable) evaluation keeps
#: it a small multiple of ``u``, but a two-pass (separable) sum's worst case
#: is ``(kh + kw) u``: 18 u for the 9x9 kernels here, met by a constant
#: border summed down a column and then along a row.  Converting the kernel
#: to the working dtype adds one more ``u``.  A factor of 10 eps (= 20 u)
#: therefore covers every kernel in these tests (at most 9x9 = 81 terms,
#: sqrt(81) = 9) while still catching any real error (a wrong pixel, shift or
#: boundary value changes the result by O(|w| |x|), i.e. ~10^6 times more for
#: float32).
TOL_FACTOR = 10.0


def working_dtype(dtype):
    """The dtype cfilter computes in for an input of ``dtype`` (DESIGN.md §2):
    float64 and the integers wider than 16 bits compute in float64, the rest
    in float32 (as ``cfilter._validate.compute_dtype``)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize >= 8:
        return np.dtype(np.float64)
    if dtype.kind in "iu" and dtype.itemsize > 2:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def tol(dtype, kernel, image, c=TOL_FACTOR):
    """Absolute tolerance for comparing a cfilter result with a float64 reference.

    ``atol = c * eps(working dtype) * sum|w| * max|x|`` -- the rounding error of
    one dot product of the kernel with an image window, scaled by the kernel's
    L1 norm and the image's largest magnitude (see ``TOL_FACTOR``).  For
    padding mode ``constant`` pass an image that includes ``cval`` (or use
    ``tol_with_cval``) so the padded values are covered too.  The ``+ tiny``
    keeps the tolerance positive for an all-zero image or kernel.
    """
    eps = np.finfo(working_dtype(dtype)).eps
    w = np.abs(np.asarray(kernel, dtype=np.float64))
    x = np.abs(np.asarray(image, dtype=np.float64))
    l1 = float(np.nansum(w))
    xmax = float(np.nanmax(x)) if x.size else 0.0
    return c * eps * l1 * xmax + np.finfo(np.float64).tiny


def tol_with_cval(dtype, kernel, image, cval):
    """``tol`` where the padded border value ``cval`` counts as an image value."""
    x = np.asarray(image, dtype=np.float64)
    return tol(dtype, kernel, np.append(np.abs(x).ravel(), abs(float(cval))))


def assert_matches(got, expected, atol, *, dtype=None):
    """Shape, dtype (if given) and values within ``atol`` of a float64 reference."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != expected {expected.shape}"
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), f"dtype {got.dtype} != expected {np.dtype(dtype)}"
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=0, atol=atol,
                               equal_nan=True)


# ---------------------------------------------------------------------------
# Random data
# ---------------------------------------------------------------------------

@pytest.fixture
def rng(request):
    """A generator seeded from the test's node id: reproducible and distinct per case."""
    seed = np.frombuffer(request.node.nodeid.encode(), dtype=np.uint8).astype(np.uint64)
    return np.random.default_rng(int((seed * np.arange(1, seed.size + 1, dtype=np.uint64)).sum()))


def random_image(rng, shape, dtype=np.float64, low=-1.0, high=1.0):
    """Uniform random values in [low, high) with the given shape and dtype."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(info.min, int(low))
        hi = min(info.max, int(high))
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def random_kernel(rng, shape):
    """A float64 kernel with entries bounded away from zero (|w| in [0.25, 1)).

    Keeping weights away from 0 means every tap matters (scipy.ndimage skips
    weights with |w| <= DBL_EPSILON, which would otherwise hide NaN
    propagation differences) and any misplaced tap is detected.
    """
    mag = rng.uniform(0.25, 1.0, size=shape)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return mag * sign


# ---------------------------------------------------------------------------
# numpy.pad + sliding-window reference (DESIGN.md §2, written from the definition)
# ---------------------------------------------------------------------------

def _pair(value, name):
    if np.ndim(value) == 0:
        return (int(value), int(value))
    a, b = value
    return (int(a), int(b))


def resolve_padding(padding, kshape, dilation=1, *, convolve=False):
    """Per-side padding ``((top, bottom), (left, right))`` for a 2-D kernel shape.

    "same": correlate p_before = d*(k//2), convolve p_before = d*((k-1)//2),
    p_after = d*(k-1) - p_before; "full": d*(k-1) both sides; "valid": 0;
    int p: p everywhere; (ph, pw): ph top and bottom, pw left and right;
    ((t, b), (l, r)): per side.
    """
    dh, dw = _pair(dilation, "dilation")
    spans = (dh * (kshape[0] - 1), dw * (kshape[1] - 1))
    dils = (dh, dw)
    if isinstance(padding, str):
        if padding == "same":
            out = []
            for k, d, span in zip(kshape, dils, spans):
                before = d * ((k - 1) // 2) if convolve else d * (k // 2)
                out.append((before, span - before))
            return tuple(out)
        if padding == "full":
            return tuple((span, span) for span in spans)
        if padding == "valid":
            return ((0, 0), (0, 0))
        raise AssertionError(f"test bug: padding {padding!r}")
    if np.ndim(padding) == 0:
        p = int(padding)
        return ((p, p), (p, p))
    first, second = padding
    if np.ndim(first) == 0:
        return ((int(first), int(first)), (int(second), int(second)))
    return (tuple(int(v) for v in first), tuple(int(v) for v in second))


def out_len(n, k, p_before, p_after, s=1, d=1):
    """DESIGN.md §2: floor((n + p_before + p_after - (d*(k-1)+1)) / s) + 1."""
    return (n + p_before + p_after - (d * (k - 1) + 1)) // s + 1


def ref_correlate2d(image, kernel, *, mode="reflect", cval=0.0, padding="same",
                    stride=1, dilation=1, convolve=False):
    """Reference 2-D correlation/convolution of one plane, computed in float64.

    Pads with ``numpy.pad`` (the mode map of DESIGN.md §2), then takes every
    ``stride``-th window of extent ``d*(k-1)+1`` and dots it with the kernel's
    taps spaced ``dilation`` apart.  Convolution is correlation with the kernel
    flipped on both axes (and the "same" offset of convolve).
    """
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64)
    assert x.ndim == 2 and w.ndim == 2
    mode = MODE_ALIASES.get(mode, mode)
    (pt, pb), (pl, pr) = resolve_padding(padding, w.shape, dilation, convolve=convolve)
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    if convolve:
        w = w[::-1, ::-1]
    pad_kw = {"constant_values": cval} if mode == "constant" else {}
    xp = np.pad(x, ((pt, pb), (pl, pr)), mode=NP_PAD_MODE[mode], **pad_kw)
    eh, ew = dh * (w.shape[0] - 1) + 1, dw * (w.shape[1] - 1) + 1
    assert xp.shape[0] >= eh and xp.shape[1] >= ew, "test bug: empty output"
    win = sliding_window_view(xp, (eh, ew))[::sh, ::sw, ::dh, ::dw]
    out = np.einsum("ijkl,kl->ij", win, w)
    assert out.shape == (out_len(x.shape[0], w.shape[0], pt, pb, sh, dh),
                         out_len(x.shape[1], w.shape[1], pl, pr, sw, dw))
    return out


def ref_correlate1d(image, weights, axis=-1, *, mode="reflect", cval=0.0, padding="same",
                    stride=1, dilation=1, convolve=False):
    """Reference 1-D correlation along ``axis`` of an n-D array (float64).

    Every 1-D line along ``axis`` is filtered independently with
    ``ref_correlate2d`` using a (1, k) kernel and no padding on the dummy axis.
    ``padding`` is "same"/"full"/"valid", an int, or a (before, after) pair.
    """
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    assert w.ndim == 1
    xm = np.moveaxis(x, axis, -1)
    lead = xm.shape[:-1]
    lines = xm.reshape(-1, xm.shape[-1])
    if isinstance(padding, str):
        (_, _), (pb, pa) = resolve_padding(padding, (1, w.size), (1, dilation),
                                           convolve=convolve)
    elif np.ndim(padding) == 0:
        pb = pa = int(padding)
    else:
        pb, pa = (int(v) for v in padding)
    outs = [ref_correlate2d(line[None, :], w[None, :], mode=mode, cval=cval,
                            padding=((0, 0), (pb, pa)), stride=(1, stride),
                            dilation=(1, dilation), convolve=convolve)[0]
            for line in lines]
    out = np.stack(outs).reshape(lead + (outs[0].size,))
    return np.moveaxis(out, -1, axis)
