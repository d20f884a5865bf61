"""Planning: output shape, per-side padding and the engine, as pure functions.

Nothing here touches image data or raises on user input except where a
request cannot be served (an output with no pixels, a method that does not
apply); the arguments arrive validated.
"""
import functools
from typing import NamedTuple, Optional, Tuple

import numpy as np

from ._limits import check_result_size, effective_geometry
from ._padding import forward_lengths, resolve_padding


class Plan(NamedTuple):
    """How one filtering call runs, per spatial axis."""

    out_shape: Tuple[int, ...]          # per-plane output shape
    pads: Tuple[Tuple[int, int], ...]   # (before, after) per axis
    stride: Tuple[int, ...]
    dilation: Tuple[int, ...]
    method: str                 # "direct", "separable", "lowrank", "box", "fft"
    # (col, row) for separable; ((r, kh), (r, kw)) terms for lowrank
    factors: Optional[Tuple[np.ndarray, np.ndarray]]
    box_value: Optional[float] = None   # the one weight of a box kernel
    tiles: Optional[tuple] = None       # ((nh, th), (nw, tw)) for fft
    costs: Optional[dict] = None        # the modelled cost of each method
    reason: str = ""                    # why this method
    # ((gathered per axis), pads, stride, dilation) the engines run with
    # when an axis's geometry is extreme (see _limits); None otherwise.
    engine_geometry: Optional[tuple] = None
    rank: Optional[int] = None          # terms of a lowrank plan


def lowrank_factors(kernel, eps=None, rtol=None):
    """``(cols, rows)``, arrays ``(r, kh)`` and ``(r, kw)`` with
    ``sum_k outer(cols[k], rows[k])`` equal to ``kernel`` to within the
    rank-1 rule's tolerance: the kernel's singular value decomposition with
    the singular values below ``rtol`` times the largest dropped (by
    default 16 * max(kh, kw) roundings of ``eps``, the rounding unit of the
    dtype the kernel was given in; see :func:`separable_factors`).  Each
    term carries the square root of its singular value on both factors.
    A zero kernel gives one zero term."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if eps is None:
        eps = np.finfo(np.float64).eps
    if rtol is None:
        rtol = 16 * max(kernel.shape) * eps
    u, sv, vt = np.linalg.svd(kernel, full_matrices=False)
    r = max(1, int(np.count_nonzero(sv > rtol * sv[0])))
    root = np.sqrt(sv[:r])
    return (np.ascontiguousarray((u[:, :r] * root).T),
            np.ascontiguousarray(vt[:r] * root[:, None]))


def kernel_eps(kernel):
    """The rounding unit of the precision a kernel was given in: float32
    (and float16) kernels were rounded to float32 or coarser, so their
    rank-1 test must allow that much; every other kernel float64's."""
    dtype = getattr(kernel, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(kernel).dtype
        except (TypeError, ValueError):
            return float(np.finfo(np.float64).eps)
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize < 8:
        return float(np.finfo(dtype).eps)
    return float(np.finfo(np.float64).eps)


def separable_factors(kernel, rtol=None, eps=None):
    """``(col, row)`` with ``outer(col, row) == kernel`` if it has rank 1, else None.

    A rank-1 matrix is the outer product of any of its nonzero columns and
    rows, scaled by their common entry; so the kernel is factored through its
    largest weight and judged separable when that outer product rebuilds
    every weight to within ``rtol`` of the largest: by default 16 *
    max(kh, kw) roundings of ``eps``, the rounding unit of the dtype the
    kernel was given in (float64's unless said; see :func:`kernel_eps`).
    This costs O(kh*kw), unlike an SVD, and keeps integer kernels' factors
    exact.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        return None
    if min(kernel.shape) == 1:
        if kernel.shape[0] == 1:
            return np.ones(1), kernel[0].copy()
        return kernel[:, 0].copy(), np.ones(1)
    if not np.all(np.isfinite(kernel)):
        return None
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    peak = abs(kernel[i, j])
    if peak == 0:
        return np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1])
    if rtol is None:
        if eps is None:
            eps = np.finfo(np.float64).eps
        rtol = 16 * max(kernel.shape) * eps
    col, row = kernel[:, j] / kernel[i, j], kernel[i, :].copy()
    if np.max(np.abs(np.outer(col, row) - kernel)) > rtol * peak:
        return None
    return col, row


def plan_filter(shape, kernel, padding, stride, dilation, method, convolve,
                factors=None, is_finite=None, nthreads=1, axis_names=None,
                kernel_eps=None, penalty=None):
    """The plan for correlating planes of ``shape`` with a 2-D ``kernel``.

    ``kernel`` is the array actually correlated (already flipped for
    convolution); ``convolve`` only moves the centre of "same" padding.
    ``factors`` are the kernel's known ``(col, row)`` factors, if any; without
    them separability is judged from the array.  ``is_finite`` is a callable
    telling whether the image holds only finite values; it is asked only
    when a method that would spread a NaN or Inf (box, fft) is in question.
    ``nthreads`` is the number of threads the call will use.
    ``axis_names`` name the two axes in a "kernel does not fit" error.
    ``kernel_eps`` is the rounding unit of the kernel's original dtype (see
    :func:`kernel_eps`), which scales the rank-1 test; float64's if None.
    ``penalty`` maps methods to a factor on their modelled cost (the
    engines run them in float64 under ``nan_policy='ignore'`` in float32).
    """
    pads = resolve_padding(padding, kernel.shape, dilation, convolve=convolve)
    out = forward_lengths(shape, kernel.shape, pads, stride, dilation,
                          where=axis_names)
    out, stride, dilation = tuple(out), tuple(stride), tuple(dilation)
    check_result_size(out, 4)
    gathered, _, epads, estride, edil = effective_geometry(
        shape, kernel.shape, pads, stride, dilation, out)
    box_value = _box_value(kernel, dilation)
    if method == "box" and box_value is None:
        raise ValueError(
            "method='box' needs a kernel whose weights are all equal and "
            f"dilation 1 (got dilation={dilation}); use method='auto'")
    if method in ("box", "fft") and is_finite is not None and not is_finite():
        raise ValueError(
            f"method={method!r} cannot filter an image holding NaN or Inf: "
            + ("its moving sums" if method == "box" else "the transform")
            + " would spread them far beyond the pixels they touch; use "
            "method='direct' (or 'auto', which avoids it)")
    finite_kernel = bool(np.isfinite(kernel).all())
    if method == "fft" and not finite_kernel:
        raise ValueError(
            "method='fft' cannot use a kernel holding NaN or Inf: its "
            "transform would turn every output into NaN, where the direct sum "
            "gives NaN or Inf only where the weight meets the image; use "
            "method='direct' (or 'auto', which avoids it)")
    if method in ("auto", "separable") and factors is None:
        factors = separable_factors(kernel, eps=kernel_eps)
        if factors is None and method == "separable":
            raise ValueError(
                "method='separable' needs a kernel of rank 1 (an outer product "
                "of a column and a row); this kernel is not: use method='direct' "
                "or 'auto' (or 'lowrank' for a sum of separable terms)")
    if method == "lowrank" and not finite_kernel:
        raise ValueError(
            "method='lowrank' cannot use a kernel holding NaN or Inf: its "
            "factorisation would turn every output into NaN; use "
            "method='direct' (or 'auto', which avoids it)")
    # A non-finite weight rules the transform out (see above).
    tiles = fft_tiles(out, kernel.shape, estride, edil, nthreads) \
        if method == "fft" or (method == "auto" and finite_kernel) else None
    costs = method_costs(out, kernel.shape, estride, edil, factors,
                         box_value, tiles)
    terms = None
    penalty = penalty or {}
    if method == "lowrank" or (
            method == "auto" and factors is None and finite_kernel
            and min(kernel.shape) > 1
            and lowrank_cost(out, kernel.shape, 2) < min(costs.values())
            and SVD_COST * kernel.size * min(kernel.shape)
            < 0.05 * min(costs.values())):
        # A kernel of low rank r runs as r separable terms: its SVD is
        # worth its cost only for calls large enough to repay it, and only
        # when two terms would beat the other engines (a small kernel's
        # never would: no LAPACK call, whose threads spin afterwards).
        terms = lowrank_factors(kernel, eps=kernel_eps)
        costs["lowrank"] = lowrank_cost(out, kernel.shape, len(terms[0]))
    for m, factor in penalty.items():
        if m in costs:
            costs[m] *= factor
    if method == "auto":
        method = min(costs, key=costs.get)
        reason = f"auto: {method} has the lowest modelled cost"

        # Only a winner that would spread NaN/Inf pays for the scan.
        if method in ("box", "fft") and is_finite is not None and not is_finite():
            safe = {m: c for m, c in costs.items() if m not in ("box", "fft")}
            reason = (f"auto: {method} would be cheapest, but the image holds "
                      "NaN or Inf, which it would spread; ")
            method = min(safe, key=safe.get)
            reason += f"{method} is the cheapest of the rest"
    else:
        reason = f"method={method!r} was asked for"
    if method == "lowrank":
        factors = terms
    return Plan(out, tuple(pads), stride, dilation, method,
                factors if method in ("separable", "lowrank") else None,
                box_value if method == "box" else None,
                tiles[0] if tiles is not None else None, costs, reason,
                (gathered, epads, estride, edil) if any(gathered) else None,
                len(terms[0]) if method == "lowrank" else None)


def _box_value(kernel, dilation):
    """The common weight when every weight is equal (and undilated), else None."""
    first = kernel.flat[0]
    if tuple(dilation) != (1, 1) or not np.isfinite(first):
        return None
    return float(first) if np.all(kernel == first) else None


# FFT lengths tried for tiles: 5-smooth lengths (pocketfft's real
# transforms factor 2, 3, 4 and 5) from 128 to 1024.
_TILE_SIZES = (128, 160, 192, 240, 256, 288, 320, 384, 400, 480, 512, 576,
               640, 720, 768, 800, 960, 1024)


def next_fast_len_real(n):
    """The smallest 5-smooth length >= ``n``: ``scipy.fft.next_fast_len(n,
    real=True)`` (pocketfft's real transforms factor 2, 3 and 5), computed
    here so that planning does not import scipy.fft, half of the time of
    ``import cfilter``; the tests check it against scipy."""
    if n <= 6:
        return max(int(n), 1)
    best = 1 << (int(n) - 1).bit_length()     # the next power of two
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            # the smallest power of two times p35 that reaches n
            q = -(-n // p35)
            p2 = 1 << (q - 1).bit_length()
            best = min(best, p2 * p35)
            p35 *= 3
        p5 *= 5
    return best


def _tile_choices(span, reach):
    """(FFT length, outputs per tile) candidates for one axis that spans
    ``span`` stride-1 outputs with a (dilated) kernel of extent ``reach``."""
    whole = next_fast_len_real(span + reach - 1)
    choices = [(whole, span)]
    for n in _TILE_SIZES:
        t = n - reach + 1
        if reach <= t < span:
            choices.append((n, t))
    return choices


# The compiled engine's time per tile pixel, in ns, for each tile length
# (one thread, 2048 x 2048 float32, by benchmarks/calibrate.py --tiles; the
# mean of three runs).  Lengths past the table (one tile for a whole large
# image) cost what the longest does, twice over past 1024: their transforms
# spill out of the cache.
TILE_NS = {
    128: 6.3, 160: 6.1, 192: 6.0, 240: 5.7, 256: 6.4, 288: 6.1, 320: 6.0,
    384: 6.3, 400: 6.0, 480: 6.1, 512: 6.0, 576: 4.9, 640: 5.4, 720: 5.9,
    768: 5.5, 800: 5.4, 960: 7.8, 1024: 7.7,
}


def _tile_ns(n):
    """The time per tile pixel of a tile of length ``n`` along an axis."""
    if n in TILE_NS:
        return TILE_NS[n]
    above = [k for k in TILE_NS if k >= n]
    if above:
        return TILE_NS[min(above)]
    return 2 * TILE_NS[max(TILE_NS)]


@functools.lru_cache(maxsize=256)
def fft_tiles(out_shape, kernel_shape, stride, dilation, nthreads=1):
    """Overlap-save tiling for the FFT engine: ``((nh, th), (nw, tw))`` and
    its work, the cheapest over the candidate FFT lengths (one tile for the
    whole image included).

    Work is ``tiles * nh*nw`` times the measured time per tile pixel of
    its lengths (``TILE_NS``), in ns.  The tiling
    never depends on ``nthreads`` (kept for the callers), so neither does
    the result, bit for bit."""
    spans = [(o - 1) * s + 1 for o, s in zip(out_shape, stride)]
    reach = [d * (k - 1) + 1 for k, d in zip(kernel_shape, dilation)]
    best = None
    for nh, th in _tile_choices(spans[0], reach[0]):
        strips = -(-spans[0] // th)
        for nw, tw in _tile_choices(spans[1], reach[1]):
            tiles = strips * -(-spans[1] // tw)
            work = tiles * nh * nw * 0.5 * (_tile_ns(nh) + _tile_ns(nw))
            if best is None or work < best[1]:
                best = (((nh, th), (nw, tw)), work)
    return best


# The cost model of 'auto', in units of one direct tap on one output pixel:
# direct, separable and box cost (fixed + per_tap * taps) per output pixel,
# with taps kh*kw for direct and kh+kw for separable; fft costs "fixed" per
# pixel of the extended image it transforms plus "per_tap" per unit of FFT
# work (tiles * their pixels * TILE_NS); lowrank costs (fixed + terms *
# (per_term + per_tap * (kh + kw))) per output pixel.  Fitted by
# benchmarks/calibrate.py on float32 1024x1024 with two threads on the
# project's 2-core machine (2026-12-07, the mean of three runs); then the
# direct engine's tap got about a fifth cheaper (two output rows at once),
# and the other engines' costs, in its units, were scaled by 1.2 to match
# (single calibrate.py runs scatter by more than that on this machine).
# Rerun it and paste its output here to recalibrate for another machine.
COSTS = {
    "direct": (5.0, 1.00),
    "separable": (2.8, 1.54),
    "box": (42.1, 0.0),
    "fft": (110.8, 23.9),
    # (fitted on rank-2 kernels of 25 to 33 taps on 2048 x 2048, where the
    # choice against the transform is made; calibrate.py's small kernels
    # overstate the fixed part)
    "lowrank": (36.0, 0.0, 1.92),
}
# What an SVD costs per kh * kw * min(kh, kw), in the same units (numpy's
# LAPACK: 5.5 ms for 127 x 127, 1 ms for 63 x 63 on the benchmark machine):
# 'auto' factorises a kernel only when that is under 5% of the call's cost
# (a plan is then kept for the calls that follow, SVD included).
SVD_COST = 100.0


def lowrank_cost(out_shape, kernel_shape, terms):
    """The modelled cost of ``terms`` separable passes summed."""
    fixed, per_term, per_tap = COSTS["lowrank"]
    return out_shape[0] * out_shape[1] * (
        fixed + terms * (per_term + per_tap * sum(kernel_shape)))


def method_costs(out_shape, kernel_shape, stride, dilation, factors,
                 box_value, tiles):
    """The modelled cost of every engine that can serve this request
    (fft only when ``tiles`` were planned)."""
    kh, kw = kernel_shape
    pixels = out_shape[0] * out_shape[1]
    costs = {"direct": pixels * (COSTS["direct"][0] + COSTS["direct"][1] * kh * kw)}
    if factors is not None and kh > 1 and kw > 1:
        costs["separable"] = pixels * (COSTS["separable"][0]
                                       + COSTS["separable"][1] * (kh + kw))
    if box_value is not None:
        costs["box"] = pixels * COSTS["box"][0]
    if tiles is not None:
        extended = 1
        for o, s, k, d in zip(out_shape, stride, kernel_shape, dilation):
            extended *= (o - 1) * s + d * (k - 1) + 1
        costs["fft"] = COSTS["fft"][0] * extended + COSTS["fft"][1] * tiles[1]
    return costs
