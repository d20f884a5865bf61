"""Filtering of Dask arrays: images larger than memory, or spread over a cluster.

Every function here takes a :class:`dask.array.Array` (any array-like is
wrapped with :func:`dask.array.asarray`) and the keywords of the in-memory
function of the same name in :mod:`cfilter` (``nan_policy`` included), and
returns a lazy :class:`dask.array.Array`: nothing is read or filtered before
``.compute()``, ``.store()`` or ``.to_zarr()``.  The result equals the
in-memory result for every mode (``wrap`` included), padding form, stride
and dilation.  :func:`match_template` scores chunk by chunk too;
:func:`cfilter.frequency_filter` has no chunked form (a Fourier transform
needs the whole image: compute the image first).

How it works (see the user guide, "Dask"):

* Each output chunk is computed by the in-memory function from one *slab*:
  the input rows and columns its kernel windows reach, gathered from the
  neighbouring input chunks.  Outside the image, the slab takes the values
  the boundary mode gives (the index map is :func:`cfilter.boundary_indices`,
  the extension every filter of cfilter reads), so chunk borders and the
  image border are both exact.  NaN pixels travel in the slab like any
  other value, so ``nan_policy='ignore'`` leaves out the same pixels in a
  chunk as in the whole image.
* Output chunks follow the input chunks (a chunk's outputs are those whose
  window centre falls in it).  Neighbouring input chunks smaller than the
  kernel's reach are merged first, so no output chunk is computed from a slab
  that is mostly overlap.  With a stride, each slab starts a whole number of
  strides after the first output's window, so the chunks tile the strided
  output exactly.
* Threads: Dask runs one task per chunk on each of its threads, so each
  chunk is filtered with ``workers=1`` unless ``workers`` is given; the
  cores are then not oversubscribed.  Pass ``workers=n`` when a few very
  large chunks should each use ``n`` threads (e.g. with the synchronous
  scheduler).
* Channel and stack axes (``channel_axis``, ``axes``) keep their chunks:
  each chunk of planes is filtered independently.  (A template window spans
  every channel: :func:`match_template` puts the channels in one chunk.)

Importing this module needs Dask (``pip install cfilter[dask]``);
``import cfilter`` alone never imports Dask.

Examples
--------
>>> import numpy as np, cfilter, cfilter.dask
>>> import dask.array as da
>>> image = np.random.default_rng(0).random((60, 80), dtype=np.float32)
>>> lazy = cfilter.dask.gaussian_blur(da.from_array(image, chunks=25), 2.0)
>>> lazy.shape, lazy.dtype, lazy.chunks[0]
((60, 80), dtype('float32'), (25, 35))
>>> bool(np.allclose(lazy.compute(), cfilter.gaussian_blur(image, 2.0), atol=1e-6))
True
"""
import functools
import itertools

import numpy as np

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as err:       # pragma: no cover - depends on the install
    raise ImportError(
        "cfilter.dask needs Dask: install it with `pip install cfilter[dask]` "
        f"({err})") from err

import cfilter
from cfilter import kernels

__all__ = ["correlate", "convolve", "correlate1d", "convolve1d",
           "gaussian_blur", "box_blur", "sobel", "prewitt", "scharr",
           "laplace", "sharpen", "unsharp_mask", "match_template", "to_zarr"]


def __dir__():
    # The public functions only: the modules imported here (numpy, Dask's
    # graph classes) are not part of this module's interface.
    return sorted(__all__)


# ---------------------------------------------------------------- geometry

def _as_dask(image):
    if isinstance(image, da.Array):
        return image
    return da.asarray(image)


def _check_output(output):
    if not isinstance(output, type) and hasattr(output, "shape"):
        raise TypeError(
            "output: cfilter.dask takes a dtype (or None) for output, not an "
            "array; write the lazy result with .store() or .to_zarr()")


def _block_workers(workers):
    # Dask already runs one chunk per thread: one engine thread per chunk
    # keeps the two thread pools from oversubscribing the cores.
    return 1 if workers is None else workers


def _spatial_2d(ndim, axes, channel_axis, validate):
    """The two spatial axes (non-negative), as the in-memory functions
    resolve them; any invalid combination is reported by ``validate``."""
    try:
        if axes is not None:
            found = tuple(int(a) % ndim for a in axes)
            if len(found) == 2 and found[0] != found[1]:
                return found
        elif ndim == 2:
            return (0, 1)
        elif ndim == 3 and channel_axis is not None:
            channel = int(channel_axis) % ndim
            return tuple(a for a in range(3) if a != channel)
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    validate()       # raises the in-memory function's own message
    raise ValueError("axes: give the two spatial axes (or channel_axis for a "
                     "3-D colour image)")


def _dummy(ndim, dtype, sizes):
    """A small zero array: ``sizes`` maps axis -> length, other axes are 1."""
    shape = [1] * ndim
    for axis, size in sizes.items():
        shape[axis] = max(int(size), 1)
    return np.zeros(shape, dtype=dtype)


class _Axis:
    """One filtered axis: kernel reach, padding and stride, and where each
    output chunk's slab starts relative to its first window (``lead``) and
    which of the block function's outputs are kept (from ``first``)."""

    def __init__(self, axis, reach, before, after, stride, keep_same=False):
        self.axis = axis
        self.reach = int(reach)
        self.before = int(before)
        self.after = int(after)
        self.stride = int(stride)
        if keep_same:
            # The block function pads 'same' itself: start the slab early
            # enough that its own output grid lands on the wanted outputs.
            self.lead = (-self.before) % self.stride
            self.first = (self.lead + self.before) // self.stride
        else:
            self.lead = 0
            self.first = 0
        self.cropped = keep_same

    def out_len(self, n):
        return (n + self.before + self.after - self.reach) // self.stride + 1

    def out_bounds(self, chunks):
        """Output chunk boundaries from the input chunks along this axis."""
        merged, acc = [], 0
        for size in chunks:
            acc += size
            if acc >= self.reach:
                merged.append(acc)
                acc = 0
        if acc:
            if merged:
                merged[-1] += acc
            else:
                merged.append(acc)
        n = sum(chunks)
        out = self.out_len(n)
        # An output belongs to the input chunk its window's anchor (centre
        # for 'same', clipped into the window) falls in.
        shift = max(0, self.before - self.reach + 1)
        bounds = [0]
        for edge in np.cumsum(merged)[:-1]:
            b = min(max(-(-(int(edge) + shift) // self.stride), 0), out)
            if b > bounds[-1]:
                bounds.append(b)
        if out > bounds[-1]:
            bounds.append(out)
        return bounds

    def slab(self, o0, o1):
        """Input coordinates [start, stop) the outputs [o0, o1) read."""
        start = o0 * self.stride - self.before - self.lead
        stop = (o1 - 1) * self.stride - self.before + self.reach
        return start, stop


def _segments(src, starts):
    """Split a slab's source indices into runs that each read one input
    chunk with one slice: ``(chunk or None, slice in chunk, slice in slab)``."""
    runs, t, size = [], 0, len(src)
    while t < size:
        v = int(src[t])
        if v < 0:
            rest = src[t:] >= 0
            e = t + (int(np.argmax(rest)) if rest.any() else size - t)
            runs.append((None, None, slice(t, e)))
            t = e
            continue
        c = int(np.searchsorted(starts, v, side="right")) - 1
        c0, c1 = int(starts[c]), int(starts[c + 1])
        step = int(src[t + 1]) - v if t + 1 < size else 1
        if step not in (-1, 0, 1):
            step = 1
        room = {1: c1 - v, -1: v - c0 + 1, 0: size - t}[step]
        m = min(size - t, room)
        ok = src[t:t + m] == v + step * np.arange(m)
        length = m if ok.all() else int(np.argmin(ok))
        local = v - c0
        if step == 1:
            piece = slice(local, local + length)
        elif step == -1:
            stop = local - length
            piece = slice(local, stop if stop >= 0 else None, -1)
        else:
            piece = slice(local, local + 1)     # broadcast: 'nearest' edges
        runs.append((c, piece, slice(t, t + length)))
        t += length
    return runs


def _run_block(spec, *blocks):
    """Gather one slab from its input chunks and filter it in memory."""
    shape, dtype, fill, pieces, func, crop = spec
    slab = None
    if len(pieces) == 1 and pieces[0][0] is not None:
        view = blocks[pieces[0][0]][pieces[0][1]]
        if view.shape == shape:
            slab = view
    if slab is None:
        slab = np.empty(shape, dtype=dtype)
        for index, src, dst in pieces:
            if index is None:
                slab[dst] = fill
            else:
                slab[dst] = blocks[index][src]
    out = func(slab)
    return out[crop] if crop is not None else out


def _slab_dtype(dtype, reads_cval, cval, compute_dtype):
    """The slab keeps the input's dtype unless it holds the constant
    ``cval`` and that does not fit in it (then the in-memory compute dtype
    is used)."""
    if not reads_cval:
        return dtype, None
    try:
        fill = np.asarray(cval).astype(dtype)
        exact = bool(fill == cval) or (np.isnan(cval) and np.isnan(fill))
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact:
        dtype = np.dtype(compute_dtype)
    return dtype, np.asarray(cval).astype(dtype)


def _apply(inmem, args, kwargs, slab):
    return inmem(slab, *args, **kwargs)


def _lazy(image, func, geometry, out_dtype, compute_dtype, mode, cval,
          token, drop_axis=None):
    """The lazy array of ``func`` applied per slab; see the module text.
    ``drop_axis`` (in one chunk) is an axis ``func``'s result does not have.
    """
    ndim = image.ndim
    # Per filtered axis: the output chunk bounds, and the source index of
    # every input coordinate the slabs read (-1: the constant).
    maps = {}
    for g in geometry:
        bounds = g.out_bounds(image.chunks[g.axis])
        lo, _ = g.slab(0, 1)
        _, hi = g.slab(bounds[-2], bounds[-1])
        maps[g.axis] = (g, bounds, lo, cfilter.boundary_indices(
            image.shape[g.axis], lo, hi - lo, mode))
    reads_cval = any(bool((m[3] < 0).any()) for m in maps.values())
    slab_dtype, fill = _slab_dtype(image.dtype, reads_cval, cval,
                                   compute_dtype)

    out_chunks, axis_blocks = [], []
    for axis in range(ndim):
        chunks = image.chunks[axis]
        starts = np.cumsum((0,) + chunks)
        if axis not in maps:
            if axis != drop_axis:
                out_chunks.append(chunks)
            axis_blocks.append([
                (int(size), [(b, slice(None), slice(None))], None)
                for b, size in enumerate(chunks)])
            continue
        g, bounds, lo, src_all = maps[axis]
        blocks = []
        for o0, o1 in zip(bounds[:-1], bounds[1:]):
            start, stop = g.slab(o0, o1)
            src = src_all[start - lo:stop - lo]
            crop = slice(g.first, g.first + o1 - o0) if g.cropped else None
            blocks.append((stop - start, _segments(src, starts), crop))
        out_chunks.append(tuple(np.diff(bounds).tolist()))
        axis_blocks.append(blocks)

    name = f"cfilter-{func.args[0].__name__}-{token}"
    dsk = {}
    kept = [a for a in range(ndim) if a != drop_axis]
    for index in itertools.product(*(range(len(b)) for b in axis_blocks)):
        per_axis = [axis_blocks[a][i] for a, i in enumerate(index)]
        shape = tuple(p[0] for p in per_axis)
        crops = [p[2] for p in per_axis]
        crop = (tuple(c if c is not None else slice(None) for c in crops)
                if any(c is not None for c in crops) else None)
        keys, pieces = {}, []
        for combo in itertools.product(*(p[1] for p in per_axis)):
            dst = tuple(r[2] for r in combo)
            if any(r[0] is None for r in combo):
                pieces.append((None, None, dst))
                continue
            key = (image.name,) + tuple(r[0] for r in combo)
            slot = keys.setdefault(key, len(keys))
            pieces.append((slot, tuple(r[1] for r in combo), dst))
        spec = (shape, slab_dtype, fill, pieces, func, crop)
        out_key = (name,) + tuple(index[a] for a in kept)
        dsk[out_key] = (functools.partial(_run_block, spec), *keys)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[image])
    meta = np.empty((0,) * len(kept), dtype=out_dtype)
    return da.Array(graph, name, tuple(out_chunks), meta=meta)


def _check_fit(image, reach, call):
    """Raise as the in-memory ``call`` would where an axis is shorter than
    the kernel's ``reach`` (axis -> reach) and the padding does not make up
    for it: the call on a small array of those lengths raises the same."""
    sizes = {a: min(image.shape[a], r) for a, r in reach.items()}
    if any(image.shape[a] < r for a, r in reach.items()):
        call(_dummy(image.ndim, image.dtype, sizes))


def _empty_result(image, call):
    """Zero-size input: the in-memory function on an empty array."""
    result = call(np.empty(image.shape, dtype=image.dtype))
    return da.from_array(result, chunks=result.shape or ())


# ------------------------------------------------------------ public API

def _filter2d(image, kernel, *, flip, mode, cval, padding, stride, dilation,
              axes, channel_axis, output, method, workers, nan_policy):
    _check_output(output)
    image = _as_dask(image)
    kernel = np.asarray(kernel)
    inmem = cfilter.convolve if flip else cfilter.correlate
    opts = dict(mode=mode, cval=cval, stride=stride, dilation=dilation,
                axes=axes, channel_axis=channel_axis, method=method,
                workers=_block_workers(workers), nan_policy=nan_policy)

    def validate():
        inmem(_dummy(image.ndim, image.dtype, {}), kernel, padding="same",
              output=output, **opts)

    if kernel.ndim != 2:
        validate()
    spatial = _spatial_2d(image.ndim, axes, channel_axis, validate)
    dil = np.broadcast_to(np.asarray(dilation), (2,))
    reach = [int(dil[i]) * (kernel.shape[i] - 1) + 1 for i in range(2)]
    dummy = _dummy(image.ndim, image.dtype, dict(zip(spatial, reach)))
    # Validates every keyword as the in-memory call would, and gives the
    # output dtype and the per-side padding.
    out_dtype = inmem(dummy, kernel, padding=padding, output=output,
                      **opts).dtype
    compute_dtype = inmem(dummy, kernel, padding=padding, **opts).dtype
    pads = cfilter.plan(dummy, kernel, convolve=flip, padding=padding,
                        **opts).padding
    if 0 in image.shape:
        return _empty_result(image, functools.partial(
            inmem, kernel=kernel, padding=padding, output=output, **opts))
    _check_fit(image, dict(zip(spatial, reach)), functools.partial(
        inmem, kernel=kernel, padding=padding, **opts))
    strides = np.broadcast_to(np.asarray(stride), (2,))
    geometry = [_Axis(spatial[i], reach[i], pads[i][0], pads[i][1],
                      strides[i]) for i in range(2)]
    func = functools.partial(_apply, inmem, (kernel,),
                             dict(padding=0, output=out_dtype, **opts))
    token = tokenize(image, kernel, flip, mode, cval, padding, stride,
                     dilation, axes, channel_axis, str(out_dtype), method,
                     workers, nan_policy)
    return _lazy(image, func, geometry, out_dtype, compute_dtype, mode,
                 cval, token)


def correlate(image, kernel, *, mode="reflect", cval=0.0, padding="same",
              stride=1, dilation=1, axes=None, channel_axis=None, output=None,
              method="auto", workers=None, nan_policy="propagate"):
    """Lazy :func:`cfilter.correlate` of a Dask array.

    Parameters are those of :func:`cfilter.correlate`, except that
    ``output`` is a dtype (or None) and ``workers`` defaults to one engine
    thread per chunk (Dask's threads run the chunks in parallel).

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.correlate(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> image = np.random.default_rng(1).random((30, 40))
    >>> kernel = np.arange(12.0).reshape(3, 4)
    >>> lazy = cfilter.dask.correlate(da.from_array(image, chunks=(7, 9)),
    ...                               kernel, mode="wrap", stride=2)
    >>> lazy.shape, lazy.chunks
    ((15, 20), ((4, 3, 4, 4), (5, 4, 5, 4, 2)))
    >>> bool(np.allclose(lazy.compute(),
    ...                  cfilter.correlate(image, kernel, mode="wrap", stride=2)))
    True
    """
    return _filter2d(image, kernel, flip=False, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     axes=axes, channel_axis=channel_axis, output=output,
                     method=method, workers=workers, nan_policy=nan_policy)


def convolve(image, kernel, *, mode="reflect", cval=0.0, padding="same",
             stride=1, dilation=1, axes=None, channel_axis=None, output=None,
             method="auto", workers=None, nan_policy="propagate"):
    """Lazy :func:`cfilter.convolve` of a Dask array.

    Parameters are those of :func:`cfilter.convolve`; see :func:`correlate`
    for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.convolve(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> from scipy import ndimage
    >>> image = np.random.default_rng(2).random((20, 20))
    >>> kernel = np.arange(6.0).reshape(2, 3)
    >>> lazy = cfilter.dask.convolve(da.from_array(image, chunks=6), kernel)
    >>> bool(np.allclose(lazy.compute(), ndimage.convolve(image, kernel)))
    True
    """
    return _filter2d(image, kernel, flip=True, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     axes=axes, channel_axis=channel_axis, output=output,
                     method=method, workers=workers, nan_policy=nan_policy)


def _pads_1d(padding):
    """A 1-D padding as the 2-D padding of a (1, k) kernel."""
    if isinstance(padding, str):
        return padding
    values = np.ravel(np.asarray(padding, dtype=object))
    before, after = (values[0], values[0]) if values.size == 1 else values
    return ((0, 0), (int(before), int(after)))


def _filter1d(image, weights, axis, *, flip, mode, cval, padding, stride,
              dilation, output, workers, nan_policy):
    _check_output(output)
    image = _as_dask(image)
    weights = np.asarray(weights)
    inmem = cfilter.convolve1d if flip else cfilter.correlate1d
    opts = dict(mode=mode, cval=cval, stride=stride, dilation=dilation,
                workers=_block_workers(workers), nan_policy=nan_policy)

    def call(arr, **more):
        return inmem(arr, weights, axis, **opts, **more)

    call(_dummy(image.ndim, image.dtype, {}), padding="same", output=output)
    axis = int(axis) % image.ndim
    reach = int(dilation) * (weights.size - 1) + 1
    dummy = _dummy(image.ndim, image.dtype, {axis: reach})
    out_dtype = call(dummy, padding=padding, output=output).dtype
    compute_dtype = call(dummy, padding=padding).dtype
    pads = cfilter.plan(np.zeros((1, reach)), weights.reshape(1, -1),
                        convolve=flip, padding=_pads_1d(padding),
                        dilation=dilation, mode=mode, cval=cval,
                        workers=1).padding[1]
    if 0 in image.shape:
        return _empty_result(image, functools.partial(
            call, padding=padding, output=output))
    _check_fit(image, {axis: reach}, functools.partial(call, padding=padding))
    geometry = [_Axis(axis, reach, pads[0], pads[1], stride)]
    func = functools.partial(_apply, inmem, (weights, axis),
                             dict(padding=0, output=out_dtype, **opts))
    token = tokenize(image, weights, axis, flip, mode, cval, padding, stride,
                     dilation, str(out_dtype), workers, nan_policy)
    return _lazy(image, func, geometry, out_dtype, compute_dtype, mode,
                 cval, token)


def correlate1d(image, weights, axis=-1, *, mode="reflect", cval=0.0,
                padding="same", stride=1, dilation=1, output=None,
                workers=None, nan_policy="propagate"):
    """Lazy :func:`cfilter.correlate1d` of a Dask array (any dimension).

    Parameters are those of :func:`cfilter.correlate1d`; see
    :func:`correlate` for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.correlate1d(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter.dask, dask.array as da
    >>> x = da.arange(10.0, chunks=3)
    >>> cfilter.dask.correlate1d(x, [1, 1], padding="valid", stride=2).compute()
    array([ 1.,  5.,  9., 13., 17.])
    """
    return _filter1d(image, weights, axis, flip=False, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     output=output, workers=workers, nan_policy=nan_policy)


def convolve1d(image, weights, axis=-1, *, mode="reflect", cval=0.0,
               padding="same", stride=1, dilation=1, output=None,
               workers=None, nan_policy="propagate"):
    """Lazy :func:`cfilter.convolve1d` of a Dask array (any dimension).

    Parameters are those of :func:`cfilter.convolve1d`; see
    :func:`correlate` for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.convolve1d(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter.dask, dask.array as da
    >>> from scipy import ndimage
    >>> x = np.random.default_rng(3).random((5, 30))
    >>> lazy = cfilter.dask.convolve1d(da.from_array(x, chunks=(2, 4)),
    ...                                [1.0, 2.0, -1.0, 0.5], mode="mirror")
    >>> bool(np.allclose(lazy.compute(),
    ...                  ndimage.convolve1d(x, [1.0, 2.0, -1.0, 0.5], mode="mirror")))
    True
    """
    return _filter1d(image, weights, axis, flip=True, mode=mode, cval=cval,
                     padding=padding, stride=stride, dilation=dilation,
                     output=output, workers=workers, nan_policy=nan_policy)


# ---------------------------------------------------------- named filters

def _named(image, inmem, kernel, args, *, mode, cval, stride, axes,
           channel_axis, output, workers, **extra):
    """A named filter per slab: the in-memory filter pads 'same' on each
    slab and the outputs that read only real slab pixels are kept."""
    _check_output(output)
    image = _as_dask(image)
    opts = dict(mode=mode, cval=cval, stride=stride, axes=axes,
                channel_axis=channel_axis, workers=_block_workers(workers),
                **extra)

    def call(arr, **more):
        return inmem(arr, *args, **opts, **more)

    def validate():
        call(_dummy(image.ndim, image.dtype, {}), output=output)

    validate()
    shape = np.asarray(kernel).shape
    spatial = _spatial_2d(image.ndim, axes, channel_axis, validate)
    dummy = _dummy(image.ndim, image.dtype, dict(zip(spatial, shape)))
    out_dtype = call(dummy, output=output).dtype
    compute_dtype = call(dummy).dtype
    pads = cfilter.plan(np.zeros(shape), kernel, padding="same",
                        workers=1).padding
    if 0 in image.shape:
        return _empty_result(image, functools.partial(call, output=output))
    strides = np.broadcast_to(np.asarray(stride), (2,))
    geometry = [_Axis(spatial[i], shape[i], pads[i][0], pads[i][1],
                      strides[i], keep_same=True) for i in range(2)]
    func = functools.partial(_apply, inmem, args,
                             dict(output=out_dtype, **opts))
    token = tokenize(image, inmem.__name__, args, mode, cval, stride, axes,
                     channel_axis, str(out_dtype), workers, sorted(
                         (k, repr(v)) for k, v in extra.items()))
    return _lazy(image, func, geometry, out_dtype, compute_dtype, mode,
                 cval, token)


def gaussian_blur(image, sigma, *, truncate=4.0, radius=None, mode="reflect",
                  cval=0.0, stride=1, axes=None, channel_axis=None,
                  output=None, method="auto", workers=None,
                  nan_policy="propagate"):
    """Lazy :func:`cfilter.gaussian_blur` of a Dask array.

    Parameters are those of :func:`cfilter.gaussian_blur`; see
    :func:`correlate` for ``output`` and ``workers``.  Each chunk runs the
    in-memory filter, so the separable engine is used as in memory.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.gaussian_blur(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter.dask, dask.array as da
    >>> from scipy import ndimage
    >>> x = np.random.default_rng(4).random((40, 30))
    >>> lazy = cfilter.dask.gaussian_blur(da.from_array(x, chunks=16), 1.5)
    >>> bool(np.allclose(lazy.compute(), ndimage.gaussian_filter(x, 1.5)))
    True
    """
    kernel = kernels.gaussian(sigma, truncate=truncate, radius=radius)
    return _named(image, cfilter.gaussian_blur, kernel, (sigma,), mode=mode,
                  cval=cval, stride=stride, axes=axes,
                  channel_axis=channel_axis, output=output, workers=workers,
                  truncate=truncate, radius=radius, method=method,
                  nan_policy=nan_policy)


def box_blur(image, size, *, mode="reflect", cval=0.0, stride=1, axes=None,
             channel_axis=None, output=None, method="auto", workers=None,
             nan_policy="propagate"):
    """Lazy :func:`cfilter.box_blur` of a Dask array.

    Parameters are those of :func:`cfilter.box_blur`; see :func:`correlate`
    for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.box_blur(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter.dask, dask.array as da
    >>> from scipy import ndimage
    >>> x = np.random.default_rng(5).random((25, 25))
    >>> lazy = cfilter.dask.box_blur(da.from_array(x, chunks=10), 4)
    >>> bool(np.allclose(lazy.compute(), ndimage.uniform_filter(x, 4)))
    True
    """
    return _named(image, cfilter.box_blur, kernels.box(size), (size,),
                  mode=mode, cval=cval, stride=stride, axes=axes,
                  channel_axis=channel_axis, output=output, workers=workers,
                  method=method, nan_policy=nan_policy)


def _make_gradient(name):
    inmem = getattr(cfilter, name)
    kernel_of = getattr(kernels, name)

    def gradient(image, axis=None, *, mode="reflect", cval=0.0, stride=1,
                 axes=None, channel_axis=None, output=None, workers=None):
        return _named(image, inmem, kernel_of(0), (axis,), mode=mode,
                      cval=cval, stride=stride, axes=axes,
                      channel_axis=channel_axis, output=output,
                      workers=workers)

    gradient.__name__ = gradient.__qualname__ = name
    gradient.__doc__ = f"""Lazy :func:`cfilter.{name}` of a Dask array.

    Parameters are those of :func:`cfilter.{name}` (``axis`` 0, 1 or None
    for the gradient magnitude); see :func:`correlate` for ``output`` and
    ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.{name}(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> x = np.random.default_rng(6).random((20, 24))
    >>> lazy = cfilter.dask.{name}(da.from_array(x, chunks=7))
    >>> bool(np.allclose(lazy.compute(), cfilter.{name}(x)))
    True
    """
    return gradient


sobel = _make_gradient("sobel")
prewitt = _make_gradient("prewitt")
scharr = _make_gradient("scharr")


def laplace(image, *, diagonal=False, mode="reflect", cval=0.0, stride=1,
            axes=None, channel_axis=None, output=None, workers=None):
    """Lazy :func:`cfilter.laplace` of a Dask array.

    Parameters are those of :func:`cfilter.laplace`; see :func:`correlate`
    for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.laplace(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter.dask, dask.array as da
    >>> from scipy import ndimage
    >>> x = np.random.default_rng(7).random((20, 20))
    >>> lazy = cfilter.dask.laplace(da.from_array(x, chunks=5))
    >>> bool(np.allclose(lazy.compute(), ndimage.laplace(x)))
    True
    """
    return _named(image, cfilter.laplace, kernels.laplacian(diagonal), (),
                  mode=mode, cval=cval, stride=stride, axes=axes,
                  channel_axis=channel_axis, output=output, workers=workers,
                  diagonal=diagonal)


def sharpen(image, amount=1.0, *, mode="reflect", cval=0.0, stride=1,
            axes=None, channel_axis=None, output=None, workers=None):
    """Lazy :func:`cfilter.sharpen` of a Dask array.

    Parameters are those of :func:`cfilter.sharpen`; see :func:`correlate`
    for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.sharpen(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> x = np.random.default_rng(8).random((20, 20))
    >>> lazy = cfilter.dask.sharpen(da.from_array(x, chunks=6), 0.5)
    >>> bool(np.allclose(lazy.compute(), cfilter.sharpen(x, 0.5)))
    True
    """
    return _named(image, cfilter.sharpen, kernels.sharpen(amount), (amount,),
                  mode=mode, cval=cval, stride=stride, axes=axes,
                  channel_axis=channel_axis, output=output, workers=workers)


def unsharp_mask(image, sigma, amount=1.0, *, truncate=4.0, mode="reflect",
                 cval=0.0, stride=1, axes=None, channel_axis=None,
                 output=None, workers=None, nan_policy="propagate"):
    """Lazy :func:`cfilter.unsharp_mask` of a Dask array.

    Parameters are those of :func:`cfilter.unsharp_mask`; see
    :func:`correlate` for ``output`` and ``workers``.

    Returns
    -------
    dask.array.Array
        Lazy result, equal to ``cfilter.unsharp_mask(image.compute(), ...)``.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> x = np.random.default_rng(9).random((30, 30))
    >>> lazy = cfilter.dask.unsharp_mask(da.from_array(x, chunks=8), 1.0, 2.0)
    >>> bool(np.allclose(lazy.compute(), cfilter.unsharp_mask(x, 1.0, 2.0)))
    True
    """
    kernel = kernels.gaussian(sigma, truncate=truncate)
    return _named(image, cfilter.unsharp_mask, kernel, (sigma, amount),
                  mode=mode, cval=cval, stride=stride, axes=axes,
                  channel_axis=channel_axis, output=output, workers=workers,
                  truncate=truncate, nan_policy=nan_policy)


# ---------------------------------------------------------- template search

def match_template(image, template, *, padding="valid", mode="constant",
                   cval=0.0, channel_axis=None, method="auto", workers=None):
    """Lazy :func:`cfilter.match_template` of a Dask array.

    Parameters are those of :func:`cfilter.match_template`; see
    :func:`correlate` for ``workers``.  Each output chunk is scored by the
    in-memory function on its slab: the windows of its scores, gathered
    from the neighbouring input chunks (the template's extent less one
    pixel beyond the chunk) and extended by ``mode`` past the image's edge,
    so every padding form gives the in-memory shape and scores.  With
    ``channel_axis`` the channels are put in one chunk (a window spans all
    of them) and the result, like the in-memory one, has no channel axis.

    Returns
    -------
    dask.array.Array
        Lazy scores, equal to ``cfilter.match_template(image.compute(),
        template, ...)`` to rounding (each slab's window statistics are
        taken about the slab's own typical value).

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da
    >>> image = np.random.default_rng(10).random((60, 70))
    >>> template = image[21:30, 40:47].copy()
    >>> lazy = cfilter.dask.match_template(da.from_array(image, chunks=25),
    ...                                    template)
    >>> lazy.shape, lazy.chunks         # (60 - 9 + 1, 70 - 7 + 1)
    ((52, 64), ((25, 25, 2), (25, 25, 14)))
    >>> scores = lazy.compute()
    >>> [int(i) for i in np.unravel_index(np.argmax(scores), scores.shape)]
    [21, 40]
    >>> bool(np.allclose(scores, cfilter.match_template(image, template)))
    True
    """
    image = _as_dask(image)
    template = np.asarray(template)
    opts = dict(mode=mode, cval=cval, channel_axis=channel_axis,
                method=method, workers=_block_workers(workers))

    def call(arr):
        return cfilter.match_template(arr, template, padding=padding, **opts)

    def validate():
        # The in-memory message, quoting the image's own shape; raised
        # before any work, on a view that takes no memory.
        call(np.broadcast_to(np.zeros((), image.dtype), image.shape))

    if image.ndim != (2 if channel_axis is None else 3):
        validate()
    if 0 in image.shape:
        return _empty_result(image, call)
    spatial = _spatial_2d(image.ndim, None, channel_axis, validate)
    channel = ({0, 1, 2} - set(spatial)).pop() if image.ndim == 3 else None
    sizes = {}
    if template.ndim == image.ndim:
        sizes = {a: template.shape[a] for a in spatial}
    if channel is not None:
        sizes[channel] = image.shape[channel]
    # Validates every keyword (and the template) as the in-memory call
    # would, and gives the scores' dtype.
    out_dtype = call(_dummy(image.ndim, image.dtype, sizes)).dtype
    extent = [sizes[a] for a in spatial]
    # The per-side padding of each axis, as correlate pads for a kernel of
    # the template's extent (a column, then a row: nothing to factor).
    pads = [cfilter.plan(np.zeros(shape), np.ones(shape), padding=padding,
                         workers=1).padding[i]
            for i, shape in enumerate(((extent[0], 1), (1, extent[1])))]
    if any(image.shape[a] + sum(p) < k
           for a, p, k in zip(spatial, pads, extent)):
        validate()      # no window fits: the in-memory message
        raise ValueError(f"padding={padding!r}: the template {extent} does "
                         f"not fit in the padded image")
    if channel is not None and len(image.chunks[channel]) > 1:
        image = image.rechunk({channel: -1})
    geometry = [_Axis(a, k, p[0], p[1], 1)
                for a, k, p in zip(spatial, extent, pads)]
    func = functools.partial(_apply, cfilter.match_template, (template,),
                             dict(padding=0, **opts))
    token = tokenize(image, template, padding, mode, cval, channel_axis,
                     method, workers)
    return _lazy(image, func, geometry, out_dtype, out_dtype, mode, cval,
                 token, drop_axis=channel)


# ------------------------------------------------------------ out of core

def _regular(chunks):
    """True if every axis has equal chunks but for a smaller last one, as
    Zarr's chunk grid needs."""
    return all(len(c) < 2 or (len(set(c[:-1])) == 1 and c[-1] <= c[0])
               for c in chunks)


def to_zarr(array, url, *, band=1, overwrite=False, **zarr_kwargs):
    """Write a lazy result to Zarr one band of chunk rows at a time.

    ``array.to_zarr(url)`` hands Dask the whole graph at once; its scheduler
    then reads input chunks well ahead of the ones it is filtering (each
    output chunk needs its neighbours' rows), so the memory in use grows to
    a band of chunk rows about half the image tall, whatever the chunk size.
    This function runs the graph ``band`` rows of output chunks (along the
    first axis) at a time, writing each output chunk as soon as it is made,
    and reads nothing for the next rows before the band is written.  The
    input chunks two bands share are kept and handed to the next band, so
    each input chunk is read once (with ``mode="wrap"`` the first and last
    bands also read the opposite edge) and the memory in use is about
    ``band + 2`` rows of input chunks, independent of the image's height.
    Each band's chunks run in parallel on the current Dask scheduler
    (threads, processes or a :class:`distributed.Client`).

    Parameters
    ----------
    array : dask.array.Array
        The lazy result to write (any Dask array, usually from a
        :mod:`cfilter.dask` function).  Irregular chunks (from merged small
        input chunks or a stride) are first made regular, as Zarr needs.
    url : str, MutableMapping, zarr storage or zarr.Array
        Where to write: a path or store, in which a new array is created
        with ``array``'s shape, dtype and chunks, or an existing
        :class:`zarr.Array` of ``array``'s shape, whose own chunks are then
        used.
    band : int, optional
        Rows of output chunks computed together (default 1).  Larger bands
        keep more threads busy when a chunk row has fewer chunks than the
        scheduler has threads, at the price of more memory.
    overwrite : bool, optional
        Replace an existing array at ``url`` (default: raise if one exists).
    **zarr_kwargs
        Passed to :func:`zarr.open_array` when the array is created (e.g.
        ``compressors``, ``fill_value``).

    Returns
    -------
    zarr.Array
        The written array.

    Examples
    --------
    >>> import numpy as np, cfilter, cfilter.dask, dask.array as da, zarr
    >>> x = np.random.default_rng(1).random((90, 40), dtype=np.float32)
    >>> lazy = cfilter.dask.gaussian_blur(da.from_array(x, chunks=20), 2.0)
    >>> out = cfilter.dask.to_zarr(lazy, zarr.storage.MemoryStore())
    >>> out.shape, out.chunks
    ((90, 40), (20, 20))
    >>> bool(np.allclose(out[:], cfilter.gaussian_blur(x, 2.0), atol=1e-6))
    True
    """
    import zarr

    array = _as_dask(array)
    if isinstance(band, (bool, np.bool_)) or not isinstance(
            band, (int, np.integer)) or band < 1:
        raise ValueError(f"band: give a positive whole number of chunk rows, "
                         f"not {band!r}")
    if any(np.isnan(s) for s in array.shape):
        raise ValueError("array: chunk sizes must be known to write Zarr "
                         "(call .compute_chunk_sizes() first)")
    if isinstance(url, zarr.Array):
        target = url
        if tuple(target.shape) != array.shape:
            raise ValueError(f"url: the Zarr array's shape {target.shape} is "
                             f"not the array's {array.shape}")
        if zarr_kwargs:
            raise TypeError("zarr_kwargs: only used when creating an array, "
                            "not with an existing zarr.Array")
        array = array.rechunk(target.chunks)
    else:
        if not _regular(array.chunks):
            array = array.rechunk(tuple(c[0] if c else 1
                                        for c in array.chunks))
        target = zarr.open_array(
            url, mode="w" if overwrite else "w-", shape=array.shape,
            chunks=tuple(c[0] if c else 1 for c in array.chunks),
            dtype=array.dtype, **zarr_kwargs)
    if array.size == 0:
        return target
    _store_bands(array, target, band)
    return target


def _write_chunk(target, region, block):
    target[region] = block


def _store_bands(array, target, band):
    """Run ``array``'s graph band by band, writing each output chunk as it
    is made.  Tasks two bands share (the input chunk rows at their border)
    are computed once and handed to the next band as data, so each input
    chunk is read once and only about three rows of them are held."""
    from dask.base import get_scheduler
    from dask.optimization import cull

    graph = dict(array.__dask_graph__())
    get = get_scheduler(collections=[array]) or da.Array.__dask_scheduler__
    keys = np.empty(array.numblocks, dtype=object)
    for index in np.ndindex(*array.numblocks):
        keys[index] = (array.name,) + index
    starts = [np.cumsum((0,) + c) for c in array.chunks]
    rows = len(array.chunks[0])
    bands = [range(top, min(top + band, rows)) for top in range(0, rows, band)]
    needed = [set(cull(graph, [k for r in b for k in keys[r].ravel()])[0])
              for b in bands]
    cache = {}
    for i, b in enumerate(bands):
        later = needed[i + 1] if i + 1 < len(bands) else set()
        dsk = {k: (cache[k] if k in cache else graph[k]) for k in needed[i]}
        writes = []
        for r in b:
            for index in np.ndindex(*keys[r].shape):
                full = (r,) + index
                region = tuple(slice(int(s[j]), int(s[j + 1]))
                               for s, j in zip(starts, full))
                name = ("cfilter-write-" + array.name,) + full
                dsk[name] = (_write_chunk, target, region, keys[full])
                writes.append(name)
        # Hand the shared tasks' results over; drop everything else.
        shared = sorted((needed[i] & later) - set(cache), key=str)
        values = get(dsk, writes + shared)
        cache = {k: v for k, v in cache.items() if k in later}
        cache.update(zip(shared, values[len(writes):]))
