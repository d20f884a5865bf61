"""Run a plan over a stack of planes with the compiled core.

Receives C-contiguous float32/float64 planes ``(N, H, W)`` and writes
``(N, oh, ow)`` planes of the same dtype.  This is the single dispatch point
from method names to compiled loops.
"""
import numpy as np

from ._core import _box, _direct, _separable
from ._fft import correlate_fft


def run(planes, kernel, plan, mode, cval, nthreads, out):
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    dy, dx = plan.dilation
    dtype = planes.dtype
    if plan.method == "separable":
        col, row = (np.ascontiguousarray(f, dtype=dtype) for f in plan.factors)
        for src, dst in zip(planes, out):
            _separable.sep_correlate_plane(src, col, row, dst, top, left, sy, sx,
                                           dy, dx, mode, cval, nthreads)
    elif plan.method == "box":
        kh, kw = kernel.shape
        for src, dst in zip(planes, out):
            _box.box_correlate_plane(src, dst, kh, kw, top, left, sy, sx, mode,
                                     cval, plan.box_value, nthreads)
    elif plan.method == "fft":
        correlate_fft(planes, kernel, plan, mode, cval, nthreads, out)
    elif plan.method == "direct":
        weights = np.ascontiguousarray(kernel, dtype=dtype)
        for src, dst in zip(planes, out):
            _direct.correlate_plane(src, weights, dst, top, left, sy, sx, dy, dx,
                                    mode, cval, nthreads)
    else:  # pragma: no cover - the planner only emits the methods above
        raise AssertionError(f"no engine for method {plan.method!r}")
    return out
