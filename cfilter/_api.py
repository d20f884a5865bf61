"""Public 2-D and 1-D correlation and convolution.

Each public function only states its signature and documentation; the work
flows one way: validate -> plan -> engine -> cast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

import numpy as np

from . import _validate as V
from ._docstrings import docfiller
from ._engine import SAMPLE_DTYPES, bind, native_output_dtypes, run
from .kernels import Kernel
from ._output import as_planes, core_array, deliver
from ._padding import resolve_padding
from ._plan import kernel_eps, plan_filter

if TYPE_CHECKING:
    from ._typing import (Array, ArrayLike, Axes, Engine, IntPair, Method,
                          Mode, NanPolicy, Output, Padding, Padding1D,
                          SeparableMethod)

__all__ = ["correlate", "convolve", "correlate1d", "convolve1d", "sep_filter",
           "plan", "FilterPlan"]


def _finite_check(planes, req, weights, flip):
    """A callable for the planner: are all the values the engines would
    read finite?  Under ``nan_policy='ignore'`` the engines never see a NaN
    (it becomes a zero weight), so only Inf in the image counts; otherwise
    a non-finite ``cval`` that the padding reads counts too (the box and
    FFT engines would spread it from the border over the whole plane)."""
    if req.nan_policy == "ignore":
        return lambda: not bool(np.isinf(planes).any())
    if _reads_bad_cval(req, weights, flip):
        return lambda: False
    return lambda: bool(np.isfinite(planes).all())


def _reads_bad_cval(req, weights, flip):
    """Does this call pad with a non-finite constant that spreads?  (Under
    ``nan_policy='ignore'`` a NaN ``cval`` is a value left out.)"""
    if (req.mode != V.CONSTANT or np.isfinite(req.cval)
            or req.nan_policy == "ignore"):
        return False
    pads = resolve_padding(req.padding, weights.shape, req.dilation,
                           convolve=flip)
    return any(p for side in pads for p in side)


def _engine_planes(req):
    """The image as the engines read it, and its interleaved channels.

    Planes ``(N, H, W)`` of the image's own dtype when the engines read it
    (they convert rows as they go), else of the work dtype.  An (H, W, C)
    image with its channels last is one plane of (H, W * C) interleaved
    samples, not moved (a copy only if it is not C-contiguous).  The
    compiled loops get C-contiguous, aligned, native-order arrays only:
    anything else is copied first."""
    img = req.image
    dtype = img.dtype if img.dtype in SAMPLE_DTYPES else req.dtype
    if (img.ndim == 2 and req.axes == (0, 1) and img.dtype == dtype
            and img.flags.c_contiguous and img.flags.aligned):
        # The common call: a 2-D image the engines read as it is.
        return img.reshape((1,) + img.shape), 1
    if img.ndim == 3 and tuple(req.axes) == (0, 1) and img.shape[2] > 1:
        planes = core_array(img, dtype)
        # (the row length spelled out: reshape cannot infer it for no rows)
        return planes.reshape(1, img.shape[0], img.shape[1] * img.shape[2]), \
            img.shape[2]
    planes = as_planes(img, req.axes, dtype)
    return planes, 1


def _execute(req, kernel, plan, planes, shape=None, channels=1):
    """Run the planned engine over the planes and deliver the output."""
    def compute(out):
        if out.size:      # an empty image or result: nothing to compute
            run(planes, kernel, plan, req.mode, req.cval, req.nthreads, out,
                req.dtype, channels, nan_policy=req.nan_policy)

    return deliver(
        compute,
        image=req.image, axes=req.axes, out_lens=plan.out_shape,
        work_dtype=req.dtype, output=req.output, shape=shape,
        writes=native_output_dtypes(plan.method, req.dtype),
        interleaved=channels > 1)


# Plans of recent calls, by everything a plan depends on: a repeated call
# on same-shaped images skips the planner's rank-1 test, SVD and cost
# model.  A large kernel is keyed by a digest of its weights, so the cache
# never holds more than a few bytes per kernel.
PLAN_CACHE_SIZE = 256
PLAN_CACHE_MAX_WEIGHTS = 1024
_PLANS = V.RecentCache(PLAN_CACHE_SIZE)


def _weights_key(weights):
    data = weights.tobytes()
    if weights.size <= PLAN_CACHE_MAX_WEIGHTS:
        return data
    import hashlib
    return hashlib.blake2b(data, digest_size=20).digest()


def _plan_key(req, weights, factors, flip, eps):
    key = (req.spatial_shape, weights.shape, weights.dtype.str,
           _weights_key(weights), repr(req.padding), req.stride,
           req.dilation, req.method, flip, req.nthreads, req.nan_policy, eps,
           req.dtype.str)
    if factors is not None:
        key += tuple(np.asarray(f, dtype=np.float64).tobytes()
                     for f in factors)
    return key


def _nan_penalty(req):
    """Factors on the modelled costs of this request: under
    nan_policy='ignore' in float32 the engines whose rounding is relative
    to more than each output's own terms (the transform's to a whole tile,
    lowrank's to terms of both signs) run in float64, since a hole's edge
    divides by a small sum of valid weights and would magnify it."""
    if req.nan_policy == "ignore" and req.dtype == np.float32:
        return {"fft": 2.0, "lowrank": 2.0}
    return None


def _prepare(image, kernel, *, flip, **options):
    """Validate, arrange the planes and plan: everything but the work."""
    req = V.Request(image, **options)
    weights = V.as_kernel(kernel, 2)
    # A catalog Kernel knows its factors; use them rather than testing the
    # array for rank 1.
    factors = getattr(kernel, "factors", None)
    if flip:
        weights = weights[::-1, ::-1]
        if factors is not None:
            factors = (factors[0][::-1], factors[1][::-1])
    if req.method in ("box", "fft") and _reads_bad_cval(req, weights, flip):
        raise ValueError(
            f"method={req.method!r} cannot pad with cval={req.cval!r}: "
            + ("its moving sums" if req.method == "box" else "the transform")
            + " would spread it from the border over the whole image; use "
            "method='direct' (or 'auto', which avoids it), or a finite cval")
    planes, channels = _engine_planes(req)
    empty = 0 in req.spatial_shape
    eps = kernel_eps(kernel)
    key = _plan_key(req, weights, factors, flip, eps)
    plan = _PLANS.get(key) if key is not None else None
    if plan is None:
        # An empty image has an empty result and nothing to run: plan it as
        # direct (the FFT tiling has no tiles to choose) and say why.
        asked = []
        finite = _finite_check(planes, req, weights, flip)
        plan = plan_filter(req.spatial_shape, weights, req.padding,
                           req.stride, req.dilation,
                           "direct" if empty and req.method in ("auto", "fft")
                           else req.method,
                           convolve=flip, factors=factors,
                           is_finite=lambda: asked.append(1) or finite(),
                           nthreads=req.nthreads, kernel_eps=eps,
                           penalty=_nan_penalty(req))
        # A plan that looked at the image's values holds only for it.
        if key is not None and not asked:
            _PLANS.put(key, plan)
    else:
        asked = ()
    if empty:
        plan = plan._replace(
            method="direct" if req.method == "auto" else req.method,
            reason="the image is empty: nothing to compute")
    # whether the plan holds for any image of these options and kernel
    reusable = key is not None and not asked
    return req, weights, plan, planes, channels, reusable


# The fast path: for a repeated call whose every argument but the image's
# values is what an earlier call had, the engine call that call was
# planned into, bound once (see _engine.bind), and the result it makes.
# Keyed on the image's shape, dtype and layout, the kernel (its weights
# byte for byte, or the immutable Kernel itself, which the key then keeps
# alive, so its id is never reused) and the options as given, with their
# types: what decides every check and every step of the normal path.
# Only the calls that go straight into the loops are kept (a 2-D or
# (H, W, C) C-contiguous image the loops read as it is, a new result of
# a dtype they write, no plan that looked at the image's values), so a
# key found means the normal path would validate, plan and run the same.
FAST_CACHE_SIZE = 256
_FAST = V.RecentCache(FAST_CACHE_SIZE)


def _fast_key(image, kernel, flip, options):
    if (type(image) is not np.ndarray or not image.flags.c_contiguous
            or not image.flags.aligned):
        return None
    kind = type(kernel)
    if kind is np.ndarray:
        if kernel.size > PLAN_CACHE_MAX_WEIGHTS:
            return None
        weights = (kernel.shape, kernel.dtype, kernel.tobytes())
    elif kind is Kernel:
        weights = kernel
    else:
        return None
    return (image.shape, flip, weights, V.options_key(image, options))


def _fast_entry(req, weights, plan, channels):
    """The fast path's entry for a call just prepared, or None: for an
    image the engines read as it is (see _engine_planes), into a new
    result of a dtype they write."""
    image, output = req.image, req.output
    if (isinstance(output, np.ndarray) or image.dtype not in SAMPLE_DTYPES
            or tuple(req.axes) != (0, 1) or image.ndim != 2 + (channels > 1)
            or 0 in image.shape or 0 in plan.out_shape):
        return None
    dst = V.output_dtype(output) or req.dtype
    call = bind(weights, plan, req.mode, req.cval, req.nthreads, req.dtype,
                channels, image.dtype, dst, 1, req.nan_policy)
    if call is None:
        return None
    shape = tuple(plan.out_shape) + image.shape[2:]
    return ((1, image.shape[0], -1), shape, (1, shape[0], -1), dst, call)


def _filter2d(image, kernel, flip, options):
    """correlate (or convolve, ``flip``) with ``options``: (mode, cval,
    padding, stride, dilation, axes, channel_axis, output, method, workers,
    nan_policy) as given."""
    key = _fast_key(image, kernel, flip, options)
    try:
        entry = _FAST.get(key)
    except TypeError:           # an unhashable option: the normal path
        entry = key = None
    if entry is not None:
        planes_shape, shape, out_planes, dtype, call = entry
        result = np.empty(shape, dtype)
        call(image.reshape(planes_shape), result.reshape(out_planes))
        return result
    (mode, cval, padding, stride, dilation, axes, channel_axis, output,
     method, workers, nan_policy) = options
    req, weights, plan, planes, channels, reusable = _prepare(
        image, kernel, flip=flip, mode=mode, cval=cval, padding=padding,
        stride=stride, dilation=dilation, axes=axes,
        channel_axis=channel_axis, output=output, method=method,
        workers=workers, nan_policy=nan_policy)
    result = _execute(req, weights, plan, planes, channels=channels)
    if key is not None and reusable:
        entry = _fast_entry(req, weights, plan, channels)
        if entry is not None:
            _FAST.put(key, entry)
    return result


class FilterPlan(NamedTuple):
    """What :func:`plan` tells about a call.

    Attributes
    ----------
    method : str
        The engine the call runs: 'direct', 'separable', 'lowrank', 'box' or
        'fft'.
    reason : str
        Why that engine.
    costs : dict
        The modelled cost of every engine that could serve the call, in
        units of one direct multiply-add (only their ratios matter).
    output_shape : tuple
        The shape of the result.
    padding : tuple
        ``((top, bottom), (left, right))`` padding, resolved.
    stride, dilation : tuple
        Per spatial axis.
    fft_tiles : tuple or None
        ``((nh, th), (nw, tw))``: FFT length and outputs per tile per axis,
        for the FFT engine.
    rank : int or None
        For ``method='lowrank'``, the number of separable terms the kernel
        runs as (its numerical rank).

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> p = cfilter.plan(np.zeros((100, 80)), np.ones((3, 3)), stride=2,
    ...                  padding="valid", method="direct")
    >>> p.method, p.output_shape, p.padding, p.reason
    ('direct', (49, 39), ((0, 0), (0, 0)), "method='direct' was asked for")
    """

    method: Engine
    reason: str
    costs: dict[str, float]
    output_shape: tuple[int, ...]
    padding: tuple[tuple[int, int], tuple[int, int]]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    fft_tiles: Optional[tuple[tuple[int, int], tuple[int, int]]]
    rank: Optional[int] = None


@docfiller
def plan(image: ArrayLike, kernel: ArrayLike, *, convolve: bool = False,
         mode: Mode = "reflect", cval: float = 0.0, padding: Padding = "same",
         stride: IntPair = 1, dilation: IntPair = 1, axes: Axes | None = None,
         channel_axis: int | None = None, method: Method = "auto",
         workers: int | None = None,
         nan_policy: NanPolicy = "propagate") -> FilterPlan:
    """Tell which engine a :func:`correlate` (or :func:`convolve`) call would
    run, and why, without filtering.

    'auto' picks the engine with the lowest cost in a model calibrated on
    the project's machine (see the user guide, "Methods"); engines that
    would spread NaN or Inf (box, fft) are skipped for such images.

    Parameters
    ----------
    image : array_like
        The image the call would filter (its values matter only for the
        NaN/Inf check).
    kernel : array_like
        2-D weights.
    convolve : bool, optional
        Plan :func:`convolve` instead of :func:`correlate`.
    %(mode)s
    %(cval)s
    %(padding)s
    %(stride)s
    %(dilation)s
    %(axes)s
    %(channel_axis)s
    method : str, optional
        As for :func:`correlate`: an explicit method is checked and planned.
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    FilterPlan
        The engine, the reason, the modelled costs and the shapes.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> image = np.zeros((2048, 2048), dtype=np.float32)
    >>> cfilter.plan(image, np.random.default_rng(1).random((3, 3))).method
    'direct'
    >>> cfilter.plan(image, cfilter.kernels.gaussian(3)).method
    'separable'
    >>> p = cfilter.plan(image, np.random.default_rng(0).random((63, 63)))
    >>> p.method, p.output_shape
    ('fft', (2048, 2048))
    >>> image[0, 0] = np.nan
    >>> cfilter.plan(image, np.ones((31, 31))).method    # not box: NaN
    'separable'
    """
    req, _, p, _, _, _ = _prepare(
        image, kernel, flip=bool(convolve), mode=mode, cval=cval,
        padding=padding, stride=stride, dilation=dilation, axes=axes,
        channel_axis=channel_axis, output=None, method=method,
        workers=workers, nan_policy=nan_policy)
    shape = list(req.image.shape)
    shape[req.axes[0]], shape[req.axes[1]] = p.out_shape
    return FilterPlan(p.method, p.reason, dict(p.costs), tuple(shape), p.pads,
                      p.stride, p.dilation,
                      p.tiles if p.method == "fft" else None, p.rank)


@docfiller
def correlate(image: ArrayLike, kernel: ArrayLike, *, mode: Mode = "reflect",
              cval: float = 0.0, padding: Padding = "same",
              stride: IntPair = 1, dilation: IntPair = 1,
              axes: Axes | None = None, channel_axis: int | None = None,
              output: Output | None = None, method: Method = "auto",
              workers: int | None = None,
              nan_policy: NanPolicy = "propagate") -> Array:
    """Correlate an image with a 2-D kernel.

    ``out[i, j] = sum_{m, l} kernel[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]``
    where ``x~`` is the image extended by ``mode`` and ``top``/``left`` come
    from ``padding``.  The kernel is not flipped (that is :func:`convolve`).

    Parameters
    ----------
    image : array_like
        Real image: 2-D, 3-D with ``channel_axis``, or any array with
        ``axes``.  Any layout and byte order; it is never modified.
    kernel : array_like
        2-D real weights (a :class:`cfilter.kernels.Kernel` works too).  Any
        size, odd or even, larger than the image included.
    %(mode)s
    %(cval)s
    %(padding)s
    %(stride)s
    %(dilation)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(method)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    %(returns)s

    See Also
    --------
    convolve : the same with the kernel flipped by 180 degrees.
    scipy.ndimage.correlate : equal for ``padding='same'``, stride 1.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> image = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> cfilter.correlate(image, np.ones((3, 3)) / 9).shape
    (4, 4)
    >>> cfilter.correlate(image, np.ones((3, 3)), padding="valid")
    array([[45., 54.],
           [81., 90.]], dtype=float32)
    >>> cfilter.correlate(image, np.ones((3, 3)), padding=1, stride=2,
    ...                   mode="constant")
    array([[10., 24.],
           [51., 90.]], dtype=float32)
    """
    return _filter2d(image, kernel, False, (
        mode, cval, padding, stride, dilation, axes, channel_axis, output,
        method, workers, nan_policy))


@docfiller
def convolve(image: ArrayLike, kernel: ArrayLike, *, mode: Mode = "reflect",
             cval: float = 0.0, padding: Padding = "same",
             stride: IntPair = 1, dilation: IntPair = 1,
             axes: Axes | None = None, channel_axis: int | None = None,
             output: Output | None = None, method: Method = "auto",
             workers: int | None = None,
             nan_policy: NanPolicy = "propagate") -> Array:
    """Convolve an image with a 2-D kernel.

    Convolution is correlation with the kernel turned by 180 degrees:
    ``convolve(x, w) == correlate(x, w[::-1, ::-1])`` for numeric padding.
    With 'same' padding an even kernel is centred as scipy.ndimage.convolve
    centres it (``p_before = d*((k-1)//2)``), so the two agree at stride 1.

    Parameters
    ----------
    image : array_like
        Real image: 2-D, 3-D with ``channel_axis``, or any array with
        ``axes``.  Never modified.
    kernel : array_like
        2-D real weights, any size.
    %(mode)s
    %(cval)s
    %(padding)s
    %(stride)s
    %(dilation)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(method)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    %(returns)s

    See Also
    --------
    correlate
    scipy.ndimage.convolve, scipy.signal.convolve2d

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> impulse = np.zeros((3, 3)); impulse[1, 1] = 1
    >>> kernel = np.arange(9.0).reshape(3, 3)
    >>> cfilter.convolve(impulse, kernel, mode="constant")
    array([[0., 1., 2.],
           [3., 4., 5.],
           [6., 7., 8.]])
    >>> cfilter.correlate(impulse, kernel, mode="constant")   # flipped
    array([[8., 7., 6.],
           [5., 4., 3.],
           [2., 1., 0.]])
    """
    return _filter2d(image, kernel, True, (
        mode, cval, padding, stride, dilation, axes, channel_axis, output,
        method, workers, nan_policy))


@docfiller
def sep_filter(image: ArrayLike, row_weights: ArrayLike,
               col_weights: ArrayLike, *, mode: Mode = "reflect",
               cval: float = 0.0, padding: Padding = "same",
               stride: IntPair = 1, dilation: IntPair = 1,
               axes: Axes | None = None, channel_axis: int | None = None,
               output: Output | None = None,
               method: SeparableMethod = "separable",
               workers: int | None = None,
               nan_policy: NanPolicy = "propagate") -> Array:
    """Correlate with the separable kernel ``outer(col_weights, row_weights)``.

    The column weights run down each column (axis 0 of a 2-D image), the row
    weights along each row; the result equals :func:`correlate` with the
    outer product, at ``kh + kw`` instead of ``kh * kw`` operations a pixel.

    Parameters
    ----------
    image : array_like
        Real image, as for :func:`correlate`.
    row_weights : array_like
        1-D weights along the rows (horizontal, the last spatial axis).
    col_weights : array_like
        1-D weights down the columns (vertical, the first spatial axis).
    %(mode)s
    %(cval)s
    %(padding)s
    %(stride)s
    %(dilation)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    method : {'separable', 'direct'}, optional
        'separable' (default) runs the two 1-D passes; 'direct' sums the
        outer product's taps (useful as a check).
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> image = np.arange(20.0).reshape(4, 5)
    >>> smooth, diff = [1, 2, 1], [-1, 0, 1]
    >>> out = cfilter.sep_filter(image, diff, smooth)
    >>> np.allclose(out, cfilter.correlate(image, np.outer(smooth, diff)))
    True
    """
    req = V.Request(image, mode=mode, cval=cval, padding=padding,
                    stride=stride, dilation=dilation, axes=axes,
                    channel_axis=channel_axis, output=output, method=method,
                    workers=workers, methods=("separable", "direct"),
                    nan_policy=nan_policy)
    row = V.as_kernel(row_weights, 1, "row_weights")
    col = V.as_kernel(col_weights, 1, "col_weights")
    weights = np.outer(col, row)
    plan = plan_filter(req.spatial_shape, weights, req.padding, req.stride,
                       req.dilation, req.method, convolve=False,
                       factors=(col, row))
    planes, channels = _engine_planes(req)
    return _execute(req, weights, plan, planes, channels=channels)


def _filter1d(image, weights, axis, *, flip, mode, cval, padding, stride,
              dilation, output, workers, nan_policy):
    img = V.as_image(image)
    w = V.as_kernel(weights, 1, "weights")
    axis = V.normalize_axis(axis, img.ndim, "axis")
    pad = V.normalize_padding(padding, 1)
    s = V.as_int(stride, "stride", 1)
    d = V.as_int(dilation, "dilation", 1)
    if flip:
        w = w[::-1]
    (before, after), = resolve_padding(pad, w.shape, (d,), convolve=flip)
    n = img.shape[axis]
    inner = int(np.prod(img.shape[axis + 1:], dtype=np.int64))
    outer = int(np.prod(img.shape[:axis], dtype=np.int64))
    if inner == 1:
        # Filtering along the last axis: one plane of rows, a 1 x k kernel.
        view = img.reshape(1, outer, n)
        kernel = w[np.newaxis, :]
        pads, strides, dils = ((0, 0), (before, after)), (1, s), (1, d)
    else:
        # Any other axis: planes of (n, inner), a k x 1 kernel down columns.
        view = img.reshape(outer, n, inner)
        kernel = w[:, np.newaxis]
        pads, strides, dils = ((before, after), (0, 0)), (s, 1), (d, 1)
    req = V.Request(view, mode=mode, cval=cval, padding=pads, stride=strides,
                    dilation=dils, axes=(1, 2), channel_axis=None,
                    output=output, method="direct", workers=workers,
                    nan_policy=nan_policy)
    plan = plan_filter(req.spatial_shape, kernel, pads, strides, dils,
                       "direct", convolve=flip,
                       axis_names=(f"axis {axis}", f"axis {axis}"))
    shape = list(img.shape)
    shape[axis] = plan.out_shape[0] if inner != 1 else plan.out_shape[1]
    planes, _ = _engine_planes(req)     # (N, H, W) planes: no channels
    return _execute(req, kernel, plan, planes, shape=shape)


@docfiller
def correlate1d(image: ArrayLike, weights: ArrayLike, axis: int = -1, *,
                mode: Mode = "reflect", cval: float = 0.0,
                padding: Padding1D = "same", stride: int = 1,
                dilation: int = 1, output: Output | None = None,
                workers: int | None = None,
                nan_policy: NanPolicy = "propagate") -> Array:
    """Correlate along one axis of an array of any dimension.

    ``out[..., i, ...] = sum_m weights[m] * x~[..., i*s + m*d - p_before, ...]``
    along ``axis``; every other axis is independent.

    Parameters
    ----------
    image : array_like
        Real array of any dimension; never modified.
    weights : array_like
        1-D real weights, odd or even length.
    axis : int, optional
        The axis to filter (default -1).
    %(mode)s
    %(cval)s
    %(padding1d)s
    stride : int, optional
        Step between outputs along ``axis`` (default 1).
    dilation : int, optional
        Spacing between taps (default 1).
    %(output)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        The input's shape, with ``axis`` resized by the padding and stride.

    See Also
    --------
    scipy.ndimage.correlate1d : equal for ``padding='same'``, stride 1.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> cfilter.correlate1d([0.0, 1.0, 4.0, 9.0, 16.0], [-1, 0, 1], mode="nearest")
    array([ 1.,  4.,  8., 12.,  7.])
    >>> cfilter.correlate1d(np.arange(6.0), [1, 1], padding="valid", stride=2)
    array([1., 5., 9.])
    """
    return _filter1d(image, weights, axis, flip=False, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     output=output, workers=workers, nan_policy=nan_policy)


@docfiller
def convolve1d(image: ArrayLike, weights: ArrayLike, axis: int = -1, *,
               mode: Mode = "reflect", cval: float = 0.0,
               padding: Padding1D = "same", stride: int = 1,
               dilation: int = 1, output: Output | None = None,
               workers: int | None = None,
               nan_policy: NanPolicy = "propagate") -> Array:
    """Convolve along one axis: :func:`correlate1d` with reversed weights.

    With 'same' padding an even-length kernel is centred as
    scipy.ndimage.convolve1d centres it.

    Parameters
    ----------
    image : array_like
        Real array of any dimension; never modified.
    weights : array_like
        1-D real weights.
    axis : int, optional
        The axis to filter (default -1).
    %(mode)s
    %(cval)s
    %(padding1d)s
    stride : int, optional
        Step between outputs along ``axis`` (default 1).
    dilation : int, optional
        Spacing between taps (default 1).
    %(output)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        The input's shape, with ``axis`` resized by the padding and stride.

    Examples
    --------
    >>> import cfilter
    >>> cfilter.convolve1d([0.0, 0.0, 1.0, 0.0, 0.0], [1.0, 2.0, 3.0],
    ...                    mode="constant")
    array([0., 1., 2., 3., 0.])
    """
    return _filter1d(image, weights, axis, flip=True, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     output=output, workers=workers, nan_policy=nan_policy)
