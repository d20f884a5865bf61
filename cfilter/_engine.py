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

from ._core import _box, _direct, _fftconv, _nan, _ncc, _separable
from ._core._boundary import BoundaryMode
from ._core._samples import Sample
from ._core._transpose import conv_transpose_planes
from ._indexing import mapped_indices
from ._limits import effective_geometry, gather, scatter_add
from ._phases import phase_table
from ._threads import scratch, share_out

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
_CONVERTING = frozenset(("direct", "separable", "lowrank"))
# methods that filter interleaved channels in place (at column stride 1)
_INTERLEAVED = frozenset(("direct", "separable", "lowrank"))


# Multiply-adds that make a second thread worth starting (about 50 us of
# one core's work on the project's machine); below it the call runs on one
# thread: starting and joining threads costs more than they save, and on a
# busy machine a preempted thread stalls the call (a 256 x 256 3x3 call on
# two threads took 30 ms instead of 0.8 under load).
MIN_WORK_PER_THREAD = 1 << 20
# What one output pixel of the box engine costs, in multiply-adds: two
# column-sum updates and two running-sum updates, whatever the box's size.
BOX_TAPS = 4
# The same for the transform, roughly: a few dozen operations per pixel.
FFT_TAPS = 32


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
    gather of ``_core/_transpose.pyx``, with its column phases from
    ``_phases``)."""
    weights = np.ascontiguousarray(kernel, dtype=planes.dtype)
    target = out.shape[1:]
    kw = kernel.shape[1]
    ow = planes.shape[2]

    def transpose_into(dst, top, left, stride, dilation):
        sx, dx = stride[1], dilation[1]
        width = dst.shape[2]
        # The canvas row holds the plane's columns and those y reaches.  It
        # is worked out here only: the compiled gather reads its width from
        # the second table.
        canvas = max((ow - 1) * sx + (kw - 1) * dx + 1, left + width)
        conv_transpose_planes(
            planes, weights, dst, top, left, *stride, *dilation, mode,
            nthreads, phase_table(left, left + width, kw, sx, dx, ow),
            phase_table(0, canvas, kw, sx, dx, ow))

    gathered, eshape, epads, estride, edil = effective_geometry(
        target, kernel.shape, pads, stride, dilation, planes.shape[1:])
    if any(gathered):
        # Extreme geometry (see _limits): a small transposed correlation
        # onto the gathered samples, then added back where they came from.
        small = np.empty((len(planes),) + eshape, dtype=out.dtype)
        transpose_into(small, epads[0][0], epads[1][0], estride, edil)
        out[...] = scatter_add(small, target, kernel.shape, pads, stride,
                               dilation, planes.shape[1:], gathered, mode)
        return out
    (top, _), (left, _) = pads
    transpose_into(out, top, left, stride, dilation)
    return out


def interleaves(method, stride):
    """Whether ``method`` filters interleaved channels (an (H, W, C) image
    seen as (H, W * C) rows) in place, at this ``stride``."""
    return method in _INTERLEAVED and stride[1] == 1


def useful_threads(nthreads, plan, kernel_shape, nplanes=1):
    """At most ``nthreads``, and no more than the work of all ``nplanes``
    planes can keep busy (the engines share the rows of a whole stack among
    their threads)."""
    if nthreads == 1:
        return 1
    if plan.method == "fft":   # its strips bound the threads it uses
        return nthreads
    work = (plan.out_shape[0] * plan.out_shape[1] * nplanes
            * _engine_taps(plan.method, kernel_shape, plan.rank or 1))
    return max(1, min(nthreads, work // MIN_WORK_PER_THREAD))


def _engine_taps(method, kernel_shape, terms=1):
    """What one output pixel of ``method``'s engine costs, in
    multiply-adds (for the transform, a nominal figure); ``terms`` of a
    lowrank plan."""
    kh, kw = kernel_shape
    if method == "direct":
        return kh * kw
    if method == "separable":
        return kh + kw
    if method == "lowrank":
        return terms * (kh + kw)
    if method == "box":
        return BOX_TAPS
    return FFT_TAPS


def run(planes, kernel, plan, mode, cval, nthreads, out, compute=None,
        channels=1, nan_policy="propagate"):
    """Filter ``planes`` (N, H, W * channels) into ``out`` (N, oh, ow *
    channels) by ``plan``, computing in ``compute`` (default: the planes'
    dtype, which must then be float); ``nan_policy`` as for
    :func:`cfilter.correlate` (see :func:`run_ignoring_nan`)."""
    method = plan.method
    compute = np.dtype(compute or planes.dtype)
    native = native_dtypes(method, compute)
    if nan_policy == "ignore":
        if channels > 1:
            return _run_planar(planes, kernel, plan, mode, cval, nthreads,
                               out, compute, channels, nan_policy)
        # the normalised convolution works on planes of the compute type
        if planes.dtype != compute:
            planes = planes.astype(compute)
        if out.dtype == compute:
            return run_ignoring_nan(planes, kernel, plan, mode, cval,
                                    nthreads, out)
        result = np.empty(out.shape, dtype=compute)
        run_ignoring_nan(planes, kernel, plan, mode, cval, nthreads, result)
        _cast_into(result, out)
        return out
    if plan.engine_geometry is not None:
        # Extreme geometry (see _limits): the engines see only the samples
        # read, gathered from planes of the compute type.
        if channels > 1:
            return _run_planar(planes, kernel, plan, mode, cval, nthreads,
                               out, compute, channels, nan_policy)
        if planes.dtype != compute:
            planes = planes.astype(compute)
        gathered, pads, stride, dilation = plan.engine_geometry
        planes = gather(planes, kernel.shape, plan.pads, plan.stride,
                        plan.dilation, plan.out_shape, gathered, mode, cval)
        plan = plan._replace(pads=pads, stride=stride, dilation=dilation,
                             engine_geometry=None)
    box = _integer_box(planes.dtype, kernel, plan, cval, out.dtype)
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


def _integer_box(src, kernel, plan, cval, dst):
    """The one weight of an equal-weight kernel over integer samples (of
    dtype ``src``, into ``dst``) whose window sums are exact in 32-bit
    integers, else None.  Those sums are then taken exactly, in integers,
    whatever the planned method: the result is the exact filter value,
    rounded once."""
    if (src.kind not in "iu" or dst not in _SAMPLE
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
                channels, nan_policy="propagate"):
    """Interleaved channels for an engine that reads planes only: move the
    channels to planes and back."""
    n, h, wc = planes.shape
    oh, owc = out.shape[1:]
    stack = np.ascontiguousarray(
        planes.reshape(n, h, wc // channels, channels).transpose(0, 3, 1, 2)
    ).reshape(n * channels, h, wc // channels)
    result = np.empty((n * channels, oh, owc // channels), dtype=out.dtype)
    run(stack, kernel, plan, mode, cval, nthreads, result, compute,
        nan_policy=nan_policy)
    out[...] = result.reshape(n, channels, oh, owc // channels).transpose(
        0, 2, 3, 1).reshape(out.shape)
    return out


# The compiled loops' specialisation for each compute type: a call through
# it skips Cython's dispatch on the argument types (about a microsecond).
_FUSED = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def _bind_loops(kernel, plan, mode, cval, nthreads, compute, C, src, dst):
    """``call(planes, out)``: the direct or separable loops (one or, for
    ``lowrank``, several separable terms) for this plan,
    planes of dtype ``src`` and output planes of ``dst`` (both read or
    written natively), with their weights and arguments made once."""
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    dy, dx = plan.dilation
    s_src, s_dst = _SAMPLE[src], _SAMPLE[dst]
    if plan.method in ("separable", "lowrank"):
        # (r, kh) and (r, kw) terms; a separable kernel is one term
        loops = _separable.sep_correlate_planes[_FUSED[compute]]
        col, row = (np.ascontiguousarray(np.atleast_2d(f), dtype=compute)
                    for f in plan.factors)

        def call(planes, out):
            loops(planes, s_src, col, row, out, s_dst, C, top, left, sy, sx,
                  dy, dx, mode, cval, nthreads)
    else:
        loops = _direct.correlate_planes[_FUSED[compute]]
        weights = np.ascontiguousarray(kernel, dtype=compute)

        def call(planes, out):
            loops(planes, s_src, weights, out, s_dst, C, top, left, sy, sx,
                  dy, dx, mode, cval, nthreads)
    return call


def bind(kernel, plan, mode, cval, nthreads, compute, channels, src, dst,
         nplanes, nan_policy="propagate"):
    """What :func:`run` does for this plan, planes ``(nplanes, H, W *
    channels)`` of dtype ``src`` and output planes of dtype ``dst``, worked
    out once: a callable ``call(planes, out)`` for repeated calls with the
    same arguments.  None when run() would take any other way than
    straight into the direct or separable loops (NaN handling, extreme
    geometry, exact integer sums, whole-array conversions, moving
    channels, the box and FFT engines)."""
    compute, src, dst = np.dtype(compute), np.dtype(src), np.dtype(dst)
    if (nan_policy != "propagate" or plan.engine_geometry is not None
            or plan.method not in _CONVERTING or compute not in _FUSED
            or src not in _SAMPLE or dst not in _SAMPLE
            or (channels > 1 and not interleaves(plan.method, plan.stride))
            or _integer_box(src, kernel, plan, cval, dst) is not None):
        return None
    return _bind_loops(kernel, plan, mode, cval,
                       useful_threads(nthreads, plan, kernel.shape,
                                      nplanes * channels),
                       compute, channels, src, dst)


def _correlate_fft(planes, kernel, plan, mode, cval, nthreads, out):
    """The FFT engine (``_core/_fftconv.pyx``): overlap-save over the
    planned tiles, with the kernel dilated into a dense one (its gaps
    zero)."""
    dy, dx = plan.dilation
    kh, kw = kernel.shape
    dilated = np.zeros((dy * (kh - 1) + 1, dx * (kw - 1) + 1), planes.dtype)
    dilated[::dy, ::dx] = kernel
    (top, _), (left, _) = plan.pads
    (nh, th), (nw, tw) = plan.tiles
    _fftconv.correlate_tiles(planes, dilated, out, top, left, *plan.stride,
                             mode, cval, nh, th, nw, tw, nthreads)
    return out


def correlate_channels_fft(planes, kernels, pads, tiles, mode, cval, shift,
                           nthreads, out):
    """``sum_c correlate(planes[c] - shift, kernels[c])`` into ``out``
    (``(oh, ow)``, C-contiguous, of the planes' float dtype) by the FFT
    engine at stride 1, the planes extended by ``mode`` (``cval`` outside
    under 'constant') and the shift taken off as the tiles are filled:
    template search's numerator (``cfilter.match_template``)."""
    (top, _), (left, _) = pads
    (nh, th), (nw, tw) = tiles
    target = out[None]
    for c, (plane, kernel) in enumerate(zip(planes, kernels)):
        weights = np.ascontiguousarray(kernel, dtype=planes.dtype)
        if c == 1:
            target = scratch("template_channel", (1,) + out.shape, out.dtype)
        _fftconv.correlate_tiles(plane[None], weights, target, top, left, 1,
                                 1, mode, cval, nh, th, nw, tw, nthreads,
                                 shift)
        if c > 0:
            out += target[0]
    return out


def filter_spectra(planes, out, pad, mode, cval, kind, shape, cutoffs,
                   order, nthreads):
    """Frequency filtering (``cfilter.frequency_filter``) of the planes
    ``(N, H, W)`` into ``out`` by whole-plane transforms of the planes
    extended by ``pad`` (``_core/_fftconv.pyx``); ``kind`` and ``shape`` by
    name.  False (``out`` unwritten) when the image holds NaN or Inf."""
    N, H, W = planes.shape
    n0, n1 = H + 2 * pad, W + 2 * pad
    spectra = scratch("frequency_spectra", (N, n0, 2 * (n1 // 2 + 1)),
                      planes.dtype)
    return _fftconv.filter_spectra(
        planes, out, spectra, pad, mode, cval,
        _fftconv.Kind[kind.upper()], _fftconv.Shape[shape.upper()],
        cutoffs[0], cutoffs[-1], min(order, 1e30), nthreads)


def _run(planes, kernel, plan, mode, cval, nthreads, out, dtype, C):
    nthreads = useful_threads(nthreads, plan, kernel.shape, len(planes) * C)
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    if plan.method in _CONVERTING:
        _bind_loops(kernel, plan, mode, cval, nthreads, dtype, C,
                    planes.dtype, out.dtype)(planes, out)
    elif plan.method == "box":
        kh, kw = kernel.shape
        _box.box_correlate_planes(planes, out, kh, kw, top, left, sy, sx, mode,
                                  cval, plan.box_value, nthreads)
    elif plan.method == "fft":
        _correlate_fft(planes, kernel, plan, mode, cval, nthreads, out)
    else:  # pragma: no cover - the planner only emits the methods above
        raise AssertionError(f"no engine for method {plan.method!r}")
    return out


# nan_policy="ignore" judges a pixel to have no valid weight when the valid
# weights' absolute sum is below this many work-dtype epsilons of the
# kernel's: the engines' rounding of the mask correlation cannot tell less
# from none.
NAN_WEIGHT_EPS = 64

# Elements that make a second thread worth starting in the NaN steps' one
# pass over memory.  Measured on the idle 2-core machine (Gaussian sigma 2,
# 2048^2 float32, 1% NaN, 2 workers): 'ignore' took 2.2x 'propagate' with
# 2^18, 2.7x with 2^23 (steps on one thread).  On a busy machine a second
# thread may wait for a core instead; the engines then wait the same way.
_NAN_MIN_PER_THREAD = 1 << 18


def _abs_plan(plan):
    """The plan for the kernel's absolute weights (same geometry).  The
    absolute value of a sum of terms is no sum of their absolute values:
    a lowrank plan's absolute weights run on the transform when it was
    planned, else directly."""
    if plan.method == "lowrank":
        return plan._replace(method="fft" if plan.tiles else "direct",
                             factors=None, rank=None)
    factors = plan.factors
    if factors is not None:
        factors = tuple(np.abs(f) for f in factors)
    box = None if plan.box_value is None else abs(plan.box_value)
    return plan._replace(factors=factors, box_value=box)


def run_ignoring_nan(planes, kernel, plan, mode, cval, nthreads, out):
    """Normalised convolution (``nan_policy='ignore'``).

    ``out = sum_valid(w*x) * sum(w) / sum_valid(w)``, NaN where no weight is
    valid.  The planned engine filters two planes per image plane: ``Y``,
    the image with NaN set to 0 (shifted by ``cval`` in constant mode), and
    ``N``, 1 where the image is NaN.  Both are extended with 0 in constant
    mode, so the values the mode supplies count as valid (``cval`` itself
    unless it is NaN) and a copied NaN counts as invalid.  Then
    ``sum_valid(w) = sum(w) - corr(N, w)`` and
    ``sum_valid(w*x) = corr(Y, w) + c * sum_valid(w)``.  The planes are finite,
    so every engine (box and fft included) serves them.  ``N`` is uint8 for
    the engines that read it; with few NaNs ``corr(N, w)`` is instead made
    by adding each NaN's weights onto the outputs that read it, or, for a
    separable kernel, its column weights onto the column pass's rows
    before the engine's row pass (:func:`_flag_route` decides).

    "No valid weight" is judged by the absolute weights, ``sum_valid(|w|)``,
    so a signed kernel whose valid weights happen to cancel is not taken for
    one with none.  A kernel whose weights sum to 0 (a derivative) gives 0
    wherever a NaN is in reach, as the formula says.  For any other kernel,
    where the valid weights cancel (``sum_valid(w) = 0`` with valid taps)
    the rescaling is undefined and skipped: the NaNs count as 0 there.
    """
    H, W = planes.shape[1:]
    dtype = planes.dtype
    constant = mode == BoundaryMode.CONSTANT
    # With a NaN cval the outside is invalid: then filter the validity M
    # (0 outside) instead of the NaN indicator N (0 outside = valid).
    nan_cval = constant and not np.isfinite(cval)
    shift = cval if constant and not nan_cval else 0.0
    signed = bool(np.any(kernel < 0))
    # The flags are uint8 for the engines that read it (a quarter of the
    # traffic of a float plane); the others read the compute type only.
    narrow = (plan.engine_geometry is None
              and np.dtype(np.uint8) in native_dtypes(plan.method, dtype))
    flag_dtype = np.uint8 if narrow else dtype
    # Both are temporaries: their memory is kept from call to call.
    y_planes = scratch("nan_values", planes.shape, dtype)
    flags = scratch("nan_flags", planes.shape, flag_dtype)
    found = _nan.split_nan(planes.reshape(-1), y_planes.reshape(-1),
                           flags.reshape(-1), shift, nan_cval,
                           _nan_threads(nthreads, planes.size))
    if not found and not nan_cval:
        # No NaN: 'ignore' is 'propagate'.
        del y_planes, flags
        return run(planes, kernel, plan, mode, cval, nthreads, out)
    # Fresh full-size buffers cost page faults as much as passes: the image
    # part's result goes straight into ``out`` and the flags' result reuses
    # the image part's buffer when the shapes allow.
    run(y_planes, kernel, plan, mode, 0.0, nthreads, out)
    route = "engine" if nan_cval else _flag_route(found, kernel.shape, plan,
                                                   len(planes))
    # The flags' sums: in the image part's buffer when the shapes allow,
    # unless the column scatter needs that buffer for its columns.
    if y_planes.shape == out.shape and route != "columns":
        flag_sums = y_planes
    else:
        flag_sums = scratch("nan_sums", out.shape, out.dtype)
    # With no negative weight sum_valid(|w|) is sum_valid(w): no third sum.
    kernels = (kernel, np.abs(kernel)) if signed else (kernel,)
    sums = [flag_sums] + [np.empty_like(out) for _ in kernels[1:]]
    if route != "engine":
        where = (_nan.flag_positions(flags.reshape(-1), found,
                                     _nan_threads(nthreads, flags.size))
                 if narrow else np.flatnonzero(flags))
        del flags
    if route == "scatter":
        for w, acc in zip(kernels, sums):
            acc.fill(0)
            _scatter_nan_weights(where, (H, W), w, plan, mode, nthreads, acc)
    elif route == "columns":
        # A separable kernel: each NaN's column weights are scattered onto
        # the column pass's rows (kh additions per NaN, not kh * kw), then
        # the planned engine runs the row pass over them.
        row_plan = _row_pass_plan(plan)
        shape = (len(planes), plan.out_shape[0], W)
        cols = (y_planes if y_planes.shape == shape
                else scratch("nan_columns", shape, out.dtype))
        (top, _), _ = plan.pads
        (sy, _), (dy, _) = plan.stride, plan.dilation
        kh = kernel.shape[0]
        source_row = np.ascontiguousarray(mapped_indices(
            -top, (plan.out_shape[0] - 1) * sy + (kh - 1) * dy + 1, H, mode),
            dtype=np.intp)
        starts = np.searchsorted(
            where, np.arange(len(planes) * H + 1) * W).astype(np.intp)
        for w, acc in zip(kernels, sums):
            wcol, wrow = (plan if w is kernel else _abs_plan(plan)).factors
            _nan.column_flag_sums(
                where, starts, H, W, source_row,
                np.ascontiguousarray(wcol, dtype=out.dtype), sy, dy, cols,
                _nan_threads(nthreads, cols.size))
            _run(cols, np.asarray(wrow)[None, :],
                 row_plan._replace(factors=(np.ones(1), wrow)), mode, 0.0,
                 nthreads, acc, dtype, 1)
    else:
        for w, acc in zip(kernels, sums):
            w_plan = plan if w is kernel else _abs_plan(plan)
            if narrow:
                # Straight to the planned engine, which reads uint8: run()
                # would send an equal-weight kernel's flags through the
                # integer box sums instead, off the plan the costs chose.
                _run(flags, w, w_plan, mode, 0.0, nthreads, acc, dtype, 1)
            else:
                run(flags, w, w_plan, mode, 0.0, nthreads, acc)
        del flags
    flag_abs = sums[-1]
    total, total_abs = float(np.sum(kernel)), float(np.sum(np.abs(kernel)))
    flat_out = out.reshape(-1)
    _nan.combine_nan(flat_out, flag_sums.reshape(-1), flag_abs.reshape(-1),
                     flat_out, total, total_abs,
                     float(NAN_WEIGHT_EPS * np.finfo(dtype).eps * total_abs),
                     shift, nan_cval, signed,
                     _nan_threads(nthreads, flat_out.size))
    return out


# What one addition of the NaN scatter costs, in the engines'
# multiply-adds: its rows of weights land on rows far apart in memory (on
# 2048^2 float32, 1% NaN and a 17x17 Gaussian the scatter took as long as
# the separable engine's run, at 1/12 of its arithmetic).
SCATTER_COST = 24
# Additions of the scatter that make a second thread worth starting (about
# 50 us of one core's work; unlike the element-wise steps it waits on
# memory latency, not bandwidth, so a second core helps).
_SCATTER_PER_THREAD = 1 << 15


def _flag_route(nnan, kernel_shape, plan, nplanes):
    """How ``corr(N, w)`` is made, whichever costs least: ``"engine"``, the
    planned engine's run over the flags; ``"scatter"``, each NaN's weights
    added onto the outputs that read it (``kh * kw`` additions per NaN:
    for images with few NaNs); ``"columns"``, for a separable plan, each
    NaN's column weights added onto the column pass's rows (``kh``
    additions per NaN) and the engine's row pass over them."""
    if plan.engine_geometry is not None:
        return "engine"            # the inverse maps would be huge
    kh, kw = kernel_shape
    oh, ow = plan.out_shape
    costs = {"engine": oh * ow * nplanes * _engine_taps(
                 plan.method, kernel_shape, plan.rank or 1),
             "scatter": SCATTER_COST * nnan * kh * kw}
    if plan.method == "separable" and plan.factors is not None:
        # Output row by output row, a NaN's column weight lands in cache
        # (an addition costs about a tap); then the row pass: its kw taps,
        # the one-tap column pass that copies the rows in, and the zeroing.
        costs["columns"] = nnan * kh + oh * ow * nplanes * (kw + 2)
    return min(costs, key=costs.get)


def _row_pass_plan(plan):
    """The row pass of a separable plan, ``1 x kw`` over its column pass's
    output (the image's full width, the plan's output rows)."""
    (_, _), (pl, pr) = plan.pads
    (_, sx), (_, dx) = plan.stride, plan.dilation
    return plan._replace(pads=((0, 0), (pl, pr)), stride=(1, sx),
                         dilation=(1, dx), tiles=None)


def _inverse_map(n, start, length, mode):
    """For each source index ``r`` in ``[0, n)``, the extended positions
    ``e`` in ``[0, length)`` (coordinate ``start + e``) that read it under
    ``mode``, ascending: ``ext[ptr[r]:ptr[r + 1]]``."""
    src = mapped_indices(start, length, n, mode)
    positions = np.flatnonzero(src >= 0)
    src = src[positions]
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr, np.ascontiguousarray(positions[order], dtype=np.intp)


def _scatter_nan_weights(where, shape, kernel, plan, mode, nthreads, acc):
    """Add ``corr(N, kernel)`` onto ``acc`` (N, oh, ow) from the NaNs at
    the flat indices ``where`` of the (N, H, W) planes."""
    (H, W), (kh, kw) = shape, kernel.shape
    (top, _), (left, _) = plan.pads
    (sy, sx), (dy, dx) = plan.stride, plan.dilation
    oh, ow = acc.shape[1:]
    rows = _inverse_map(H, -top, (oh - 1) * sy + (kh - 1) * dy + 1, mode)
    cols = _inverse_map(W, -left, (ow - 1) * sx + (kw - 1) * dx + 1, mode)
    starts = np.searchsorted(where, np.arange(len(acc) + 1) * (H * W))
    _nan.scatter_nan_weights(
        where, starts.astype(np.intp), H, W, *rows, *cols,
        np.ascontiguousarray(kernel, dtype=acc.dtype), sy, sx, dy, dx, acc,
        max(1, min(nthreads, len(where) * kh * kw // _SCATTER_PER_THREAD)))


def _nan_threads(nthreads, size):
    """Threads worth starting for a NaN step over ``size`` elements."""
    return max(1, min(nthreads, size // _NAN_MIN_PER_THREAD))


def window_scores(ext, num_rows, out, kh, kw, shift, flat_ratio, scale,
                  nthreads):
    """Template search's normalisation (``cfilter.match_template``): ``out =
    clip(num / std, -1, 1)`` with ``std`` the standard deviation of each
    ``kh x kw`` window of the planes ``ext`` (``(C, oh + kh - 1, ow + kw -
    1)``, float32 or float64, all channels in one window), 0 where the
    window is flat; by the compiled moving sums of ``_core/_ncc.pyx``
    (``scale``: a power of two near ``1 / spread`` of the data).
    ``num_rows(i0, i1)`` gives the numerator's rows ``i0:i1`` (their rows
    contiguous, of ``out``'s dtype; they may be ``out``'s own).  Threads
    take blocks of rows from the pool, this thread too."""
    nblocks = -(-out.shape[0] // _ncc.BLOCK_ROWS)

    def block(b):
        i0 = b * _ncc.BLOCK_ROWS
        num = num_rows(i0, min(i0 + _ncc.BLOCK_ROWS, out.shape[0]))
        _ncc.window_scores(ext, num, out, kh, kw, shift, flat_ratio,
                           scale, b, i0)

    share_out(block, range(nblocks), nthreads)
    return out
