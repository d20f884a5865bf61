"""Run a plan over a stack of planes with the compiled core.

Receives C-contiguous float32/float64 planes ``(N, H, W)`` and writes
``(N, oh, ow)`` planes of the same dtype.  This is the single dispatch point
from method names to compiled loops.
"""
import numpy as np

from ._core import _box, _direct, _separable
from ._core._transpose import conv_transpose_planes
from ._fft import correlate_fft


# Multiply-adds that make a second thread worth starting (about 0.1 ms on
# the project's machine); below it, starting and joining threads costs more
# than they save, and on a busy machine a preempted thread stalls the call.
MIN_WORK_PER_THREAD = 1 << 18


def useful_threads(nthreads, plan, kernel_shape, nplanes=1):
    """At most ``nthreads``, and no more than the work of all ``nplanes``
    planes can keep busy (the engines share the rows of a whole stack among
    their threads)."""
    kh, kw = kernel_shape
    taps = {"direct": kh * kw, "separable": kh + kw, "box": 4}.get(plan.method)
    if taps is None:           # fft: its strips bound the threads it uses
        return nthreads
    work = plan.out_shape[0] * plan.out_shape[1] * taps * nplanes
    return max(1, min(nthreads, work // MIN_WORK_PER_THREAD))


def native_output_dtypes(method, work_dtype):
    """The dtypes the engine for ``method`` can write its result in
    directly.  Today every engine writes only the work dtype (float32 or
    float64); the delivery step casts into anything else.  An engine that
    learns to write integers lists them here, and ``_output.deliver`` then
    hands it the user's ``output=`` array without a float copy."""
    return (np.dtype(work_dtype),)


def run_transpose(planes, kernel, pads, stride, dilation, mode, nthreads,
                  out):
    """Transposed correlation of the planes into ``out`` (the compiled
    gather of ``_core/_transpose.pyx``)."""
    (top, _), (left, _) = pads
    sy, sx = stride
    dy, dx = dilation
    weights = np.ascontiguousarray(kernel, dtype=planes.dtype)
    conv_transpose_planes(planes, weights, out, top, left, sy, sx, dy, dx,
                          mode, nthreads)
    return out


def run(planes, kernel, plan, mode, cval, nthreads, out):
    nthreads = useful_threads(nthreads, plan, kernel.shape, len(planes))
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    dy, dx = plan.dilation
    dtype = planes.dtype
    if plan.method == "separable":
        col, row = (np.ascontiguousarray(f, dtype=dtype) for f in plan.factors)
        _separable.sep_correlate_planes(planes, col, row, out, top, left, sy,
                                        sx, dy, dx, mode, cval, nthreads)
    elif plan.method == "box":
        kh, kw = kernel.shape
        _box.box_correlate_planes(planes, out, kh, kw, top, left, sy, sx, mode,
                                  cval, plan.box_value, nthreads)
    elif plan.method == "fft":
        correlate_fft(planes, kernel, plan, mode, cval, nthreads, out)
    elif plan.method == "direct":
        weights = np.ascontiguousarray(kernel, dtype=dtype)
        _direct.correlate_planes(planes, weights, out, top, left, sy, sx, dy,
                                 dx, mode, cval, nthreads)
    else:  # pragma: no cover - the planner only emits the methods above
        raise AssertionError(f"no engine for method {plan.method!r}")
    return out
