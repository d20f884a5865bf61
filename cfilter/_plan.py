"""Planning: output shape, per-side padding and the engine, as pure functions.

Nothing here touches image data or raises on user input except where a
request cannot be served (an output with no pixels, a method that does not
apply); the arguments arrive validated.
"""
from typing import NamedTuple, Optional, Tuple

import numpy as np


class Plan(NamedTuple):
    """How one filtering call runs, per spatial axis."""

    out_shape: Tuple[int, ...]          # per-plane output shape
    pads: Tuple[Tuple[int, int], ...]   # (before, after) per axis
    stride: Tuple[int, ...]
    dilation: Tuple[int, ...]
    method: str                         # "direct", "separable" or "box"
    factors: Optional[Tuple[np.ndarray, np.ndarray]]  # (col, row) for separable
    box_value: Optional[float] = None   # the one weight of a box kernel


def padding_amounts(padding, k, d, convolve):
    """Per-side padding for one axis of a kernel of length ``k``.

    ``padding`` is a name or an already per-side ``(before, after)`` pair.
    Convolution centres an even kernel one tap earlier than correlation, as
    scipy.ndimage does, so that convolve is correlate with the flipped kernel.
    """
    if padding == "valid":
        return (0, 0)
    reach = d * (k - 1)
    if padding == "full":
        return (reach, reach)
    if padding == "same":
        before = d * ((k - 1) // 2) if convolve else d * (k // 2)
        return (before, reach - before)
    return tuple(padding)


def output_length(n, before, after, k, s, d):
    """floor((n + before + after - (d*(k-1) + 1)) / s) + 1, or 0 if none fit."""
    span = n + before + after - (d * (k - 1) + 1)
    return span // s + 1 if span >= 0 else 0


def separable_factors(kernel, rtol=None):
    """``(col, row)`` with ``outer(col, row) == kernel`` if it has rank 1, else None.

    Rank is judged by the SVD: the kernel is separable when every singular
    value after the first is below ``rtol`` times the first, with ``rtol``
    the float64 rounding level scaled by the kernel's size.
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
    sv = np.linalg.svd(kernel, compute_uv=False)
    if sv[0] == 0:
        return np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1])
    if rtol is None:
        rtol = 16 * max(kernel.shape) * np.finfo(np.float64).eps
    if sv[1] > rtol * sv[0]:
        return None
    # Factor through the largest weight rather than the singular vectors:
    # a row and a column of the kernel itself keep integer kernels exact.
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    return kernel[:, j] / kernel[i, j], kernel[i, :].copy()


def plan_filter(shape, kernel, padding, stride, dilation, method, convolve,
                factors=None, is_finite=None):
    """The plan for correlating planes of ``shape`` with a 2-D ``kernel``.

    ``kernel`` is the array actually correlated (already flipped for
    convolution); ``convolve`` only moves the centre of "same" padding.
    ``factors`` are the kernel's known ``(col, row)`` factors, if any; without
    them separability is judged from the array.  ``is_finite`` is a callable
    telling whether the image holds only finite values; it is asked only
    when a method that would spread a NaN or Inf (box) is in question.
    """
    pads = []
    out = []
    for axis in range(2):
        n, k = shape[axis], kernel.shape[axis]
        s, d = stride[axis], dilation[axis]
        per_axis = padding if isinstance(padding, str) else padding[axis]
        before, after = padding_amounts(per_axis, k, d, convolve)
        length = output_length(n, before, after, k, s, d)
        if length < 1:
            raise ValueError(
                f"the kernel reaches {d * (k - 1) + 1} pixels along axis {axis} "
                f"(size {k}, dilation {d}) but the padded image has only "
                f"{n + before + after} ({n} + padding {before} + {after}): "
                "the output would be empty; use more padding or padding='same'")
        pads.append((before, after))
        out.append(length)
    box_value = _box_value(kernel, dilation)
    if method == "box" and box_value is None:
        raise ValueError(
            "method='box' needs a kernel whose weights are all equal and "
            f"dilation 1 (got dilation={tuple(dilation)}); use method='auto'")
    if method == "box" and is_finite is not None and not is_finite():
        raise ValueError(
            "method='box' cannot filter an image holding NaN or Inf: its "
            "moving sums would spread them beyond the window; use "
            "method='direct' (or 'auto')")
    if method in ("auto", "separable") and factors is None:
        factors = separable_factors(kernel)
        if factors is None and method == "separable":
            raise ValueError(
                "method='separable' needs a kernel of rank 1 (an outer product "
                "of a column and a row); this kernel is not: use method='direct' "
                "or 'auto'")
    if method == "auto":
        method = _auto_method(kernel.shape, factors, box_value)
        # Only a winning box pays for the scan of the image for NaN/Inf.
        if method == "box" and is_finite is not None and not is_finite():
            method = _auto_method(kernel.shape, factors, None)
    if method != "separable":
        factors = None
    return Plan(tuple(out), tuple(pads), tuple(stride), tuple(dilation),
                method, factors, box_value if method == "box" else None)


def _box_value(kernel, dilation):
    """The common weight when every weight is equal (and undilated), else None."""
    first = kernel.flat[0]
    if tuple(dilation) != (1, 1) or not np.isfinite(first):
        return None
    return float(first) if np.all(kernel == first) else None


# Cost per output pixel of each engine, (fixed, per tap), in units of one
# direct tap; taps are kh*kw for direct and kh+kw for separable.  Fitted by
# benchmarks/calibrate.py on float32 2048x2048 with two threads on the
# project's 2-core machine (2026-11-21); rerun it and paste its output here
# to recalibrate for another machine.
COSTS = {
    "direct": (18.9, 1.00),
    "separable": (38.7, 0.97),
    "box": (51.0, 0.0),
}


def method_costs(kernel_shape, factors, box_value):
    """The modelled cost of every engine that can serve this kernel."""
    kh, kw = kernel_shape
    costs = {"direct": COSTS["direct"][0] + COSTS["direct"][1] * kh * kw}
    if factors is not None and kh > 1 and kw > 1:
        costs["separable"] = COSTS["separable"][0] + COSTS["separable"][1] * (kh + kw)
    if box_value is not None:
        costs["box"] = COSTS["box"][0]
    return costs


def _auto_method(kernel_shape, factors, box_value):
    """The engine with the lowest modelled cost."""
    costs = method_costs(kernel_shape, factors, box_value)
    return min(costs, key=costs.get)
