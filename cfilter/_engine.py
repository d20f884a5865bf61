"""Run a plan over a stack of planes with the compiled core.

Receives C-contiguous planes ``(N, H, W * C)`` and writes C-contiguous
``(N, oh, ow * C)`` planes; ``C > 1`` are interleaved channels (an (H, W, C)
image).  The work is done in a float compute type.  This is the single
dispatch point from method names to compiled loops.

The engines that read or write a sample type natively (:func:`reads`,
:func:`writes`) convert rows as they go: no full-size float copy of the input
or of the result.  For any other type :func:`run` converts whole arrays, so
every combination works, and the delivery step can ask which ones are fast.
"""
import numpy as np

from ._core import _box, _direct, _separable
from ._core._samples import Sample
from ._core._transpose import conv_transpose_planes
from ._fft import correlate_fft

# The sample types the compiled core reads and writes by code.
_SAMPLE = {np.dtype(t): code for t, code in (
    (np.float32, Sample.F32), (np.float64, Sample.F64), (np.uint8, Sample.U8),
    (np.int8, Sample.I8), (np.uint16, Sample.U16), (np.int16, Sample.I16))}
_ALL = frozenset(_SAMPLE)
# The dtypes run() takes for planes and output (converting when the engine
# does not read or write them natively).
SAMPLE_DTYPES = _ALL
# methods whose engines read and write every type of _SAMPLE; the others
# read and write their compute type only
_CONVERTING = frozenset(("direct", "separable"))
# methods that filter interleaved channels in place (at column stride 1)
_INTERLEAVED = frozenset(("direct", "separable"))


# Multiply-adds that make a second thread worth starting (about 50 us of
# one core's work on the project's machine); below it the call runs on one
# thread: starting and joining threads costs more than they save, and on a
# busy machine a preempted thread stalls the call (a 256 x 256 3x3 call on
# two threads took 30 ms instead of 0.8 under load).
MIN_WORK_PER_THREAD = 1 << 20
# What one output pixel of the box engine costs, in multiply-adds: two
# column-sum updates and two running-sum updates, whatever the box's size.
BOX_TAPS = 4


def native_dtypes(method, compute):
    """The dtypes ``method``'s engine reads and writes natively when it
    computes in ``compute``: it converts input rows as it reads them and
    rounds and saturates integer output rows as it stores them.  Other
    dtypes are converted whole by :func:`run`."""
    return _ALL if method in _CONVERTING else frozenset((np.dtype(compute),))


def native_output_dtypes(method, work_dtype):
    """The dtypes :func:`run` (``method`` one of the planner's) or
    :func:`run_transpose` (``method="transpose"``) can be handed as output
    planes: ``_output.deliver`` then gives them the user's ``output=``
    array, or a result of the dtype asked for, without a float copy.  For
    the direct and separable engines these are written natively; for the
    others run() converts, as the delivery would."""
    if method == "transpose":
        return (np.dtype(work_dtype),)
    return tuple(_ALL)


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


def interleaves(method, stride):
    """Whether ``method`` filters interleaved channels (an (H, W, C) image
    seen as (H, W * C) rows) in place, at this ``stride``."""
    return method in _INTERLEAVED and stride[1] == 1


def useful_threads(nthreads, plan, kernel_shape, nplanes=1):
    """At most ``nthreads``, and no more than the work of all ``nplanes``
    planes can keep busy (the engines share the rows of a whole stack among
    their threads)."""
    kh, kw = kernel_shape
    taps = {"direct": kh * kw, "separable": kh + kw, "box": BOX_TAPS}.get(plan.method)
    if taps is None:           # fft: its strips bound the threads it uses
        return nthreads
    work = plan.out_shape[0] * plan.out_shape[1] * taps * nplanes
    return max(1, min(nthreads, work // MIN_WORK_PER_THREAD))


def run(planes, kernel, plan, mode, cval, nthreads, out, compute=None,
        channels=1):
    """Filter ``planes`` (N, H, W * channels) into ``out`` (N, oh, ow *
    channels) by ``plan``, computing in ``compute`` (default: the planes'
    dtype, which must then be float)."""
    method = plan.method
    compute = np.dtype(compute or planes.dtype)
    native = native_dtypes(method, compute)
    box = _integer_box(planes, kernel, plan, mode, cval, channels, out)
    if box is not None:
        _box.box_sum_int_planes(planes, out, _SAMPLE[out.dtype], channels,
                                *kernel.shape, plan.pads[0][0],
                                plan.pads[1][0], plan.stride[0], mode,
                                int(cval), box, useful_threads(
                                    nthreads, plan, kernel.shape,
                                    len(planes) * channels))
        return out
    if channels > 1 and not interleaves(method, plan.stride):
        return _run_planar(planes, kernel, plan, mode, cval, nthreads, out,
                           compute, channels)
    if planes.dtype not in native:
        planes = planes.astype(compute)
    if out.dtype not in native:
        result = np.empty(out.shape, dtype=compute)
        _run(planes, kernel, plan, mode, cval, nthreads, result, compute,
             channels)
        _cast_into(result, out)
        return out
    _run(planes, kernel, plan, mode, cval, nthreads, out, compute, channels)
    return out


def _integer_box(planes, kernel, plan, mode, cval, channels, out):
    """The one weight of an equal-weight kernel over integer samples whose
    window sums are exact in 32-bit integers, else None.  Those sums are
    then taken exactly, in integers, whatever the planned method: the
    result is the exact filter value, rounded once."""
    if (planes.dtype.kind not in "iu" or out.dtype not in _SAMPLE
            or plan.dilation != (1, 1)
            or plan.stride[1] != 1 or kernel.size == 0
            or kernel.size * 65536 >= 2 ** 31 or cval != int(cval)
            or abs(cval) >= 32768):
        return None
    value = kernel.flat[0]
    if not (kernel == value).all():
        return None
    return float(value)


def _cast_into(result, dest):
    # What the native writers do, for the types they do not write.
    if dest.dtype.kind in "iu":
        info = np.iinfo(dest.dtype)
        result = np.clip(np.rint(result), info.min, info.max)
    np.copyto(dest, result, casting="unsafe")


def _run_planar(planes, kernel, plan, mode, cval, nthreads, out, compute,
                channels):
    """Interleaved channels for an engine that reads planes only: move the
    channels to planes and back."""
    n, h, wc = planes.shape
    oh, owc = out.shape[1:]
    stack = np.ascontiguousarray(
        planes.reshape(n, h, wc // channels, channels).transpose(0, 3, 1, 2)
    ).reshape(n * channels, h, wc // channels)
    result = np.empty((n * channels, oh, owc // channels), dtype=out.dtype)
    run(stack, kernel, plan, mode, cval, nthreads, result, compute)
    out[...] = result.reshape(n, channels, oh, owc // channels).transpose(
        0, 2, 3, 1).reshape(out.shape)
    return out


def _run(planes, kernel, plan, mode, cval, nthreads, out, dtype, C):
    nthreads = useful_threads(nthreads, plan, kernel.shape, len(planes) * C)
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    dy, dx = plan.dilation
    if plan.method == "separable":
        col, row = (np.ascontiguousarray(f, dtype=dtype) for f in plan.factors)
        _separable.sep_correlate_planes(planes, _SAMPLE[planes.dtype], col,
                                        row, out, _SAMPLE[out.dtype], C, top,
                                        left, sy, sx, dy, dx, mode, cval,
                                        nthreads)
    elif plan.method == "box":
        kh, kw = kernel.shape
        _box.box_correlate_planes(planes, out, kh, kw, top, left, sy, sx, mode,
                                  cval, plan.box_value, nthreads)
    elif plan.method == "fft":
        correlate_fft(planes, kernel, plan, mode, cval, nthreads, out)
    elif plan.method == "direct":
        weights = np.ascontiguousarray(kernel, dtype=dtype)
        _direct.correlate_planes(planes, _SAMPLE[planes.dtype], weights, out,
                                 _SAMPLE[out.dtype], C, top, left, sy, sx,
                                 dy, dx, mode, cval, nthreads)
    else:  # pragma: no cover - the planner only emits the methods above
        raise AssertionError(f"no engine for method {plan.method!r}")
    return out
