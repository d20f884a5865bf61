"""Limits: any stride, dilation, padding and kernel extent, at the cost of
the image plus the result.

The compiled engines trust their caller: their index arithmetic is plain
``Py_ssize_t`` and their scratch grows with the span of the extended image
they read.  This module keeps both in proportion to the image and the
result, in Python, before any engine runs:

* a result that cannot be allocated is a ``ValueError`` naming the
  parameters that make it so large;
* an axis whose geometry is extreme -- padding, dilation or stride making
  the span read far longer than the image plus ``outputs * taps`` -- is
  *gathered*: the ``o * k`` coordinates its outputs read (``i*s + m*d -
  before``, computed in Python ints, so nothing overflows) are mapped by the
  boundary mode and copied out, after which a 'valid' correlation with
  stride ``k`` and dilation 1 gives the same result.  Correlation is then
  ``V o G`` (gather, then valid correlation), and its transpose is
  ``G^T o V^T``: a scatter-add after a small transposed correlation.
"""
import os

import numpy as np

from ._indexing import map_coordinates


# The span an engine may walk along an axis, as a multiple of the image plus
# the outputs' taps, before the axis is gathered instead.
_SLACK = 4
_SLACK_ABS = 1024


def _memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 40


def check_result_size(shape, itemsize, nplanes=1, what="result"):
    """A ``ValueError`` when an array of ``nplanes`` planes of ``shape``
    could not be allocated on this machine (more bytes than its memory, or
    than an index can count)."""
    count = nplanes
    for n in shape:
        count *= n
    nbytes = count * itemsize
    if count > np.iinfo(np.intp).max // 2 or nbytes > _memory_bytes():
        raise ValueError(
            f"padding, stride, dilation: the {what} would have shape "
            f"{tuple(shape)} per plane ({nbytes / 2**30:.3g} GiB in all), more "
            "than this machine can allocate; use less padding, a larger stride "
            "or a smaller dilation")


def is_extreme(n, k, pads, s, d, o):
    """Whether an axis's span read is far longer than image plus taps."""
    before, after = pads
    span = max(n + before + after, o * s + d * (k - 1) + 1, before, after)
    return span > _SLACK * (n + o * k) + _SLACK_ABS


def effective_geometry(shape, kshape, pads, stride, dilation, out_shape):
    """``(gathered, shape, pads, stride, dilation)`` the engines see: the
    user's geometry on ordinary axes; on gathered axes the ``o * k``
    gathered samples, no padding, stride ``k`` and dilation 1."""
    gathered, eshape, epads, estride, edil = [], [], [], [], []
    for n, k, p, s, d, o in zip(shape, kshape, pads, stride, dilation,
                                out_shape):
        g = is_extreme(n, k, p, s, d, o)
        gathered.append(g)
        eshape.append(o * k if g else n)
        epads.append((0, 0) if g else tuple(p))
        estride.append(k if g else s)
        edil.append(1 if g else d)
    return (tuple(gathered), tuple(eshape), tuple(epads), tuple(estride),
            tuple(edil))


def axis_indices(n, k, pads, s, d, o, mode):
    """Flat ``(o * k,)`` source indices read by output ``i``, tap ``m`` at
    position ``i*k + m`` (-1 for the constant), exact for any sizes."""
    before = pads[0]
    big = max(o * s, k * d, before) >= 1 << 62
    dt = object if big else np.int64
    i = np.arange(o).astype(dt)
    m = np.arange(k).astype(dt)
    coords = (i * s - before)[:, None] + (m * d)[None, :]
    return map_coordinates(coords.ravel(), n, mode)


def gather(planes, kshape, pads, stride, dilation, out_shape, gathered, mode,
           cval):
    """The planes ``(N, H, W)`` with each gathered axis replaced by the
    samples its outputs read (see the module docstring)."""
    result = planes
    for axis in (0, 1):
        if not gathered[axis]:
            continue
        idx = axis_indices(planes.shape[1 + axis], kshape[axis], pads[axis],
                           stride[axis], dilation[axis], out_shape[axis], mode)
        result = np.take(result, np.maximum(idx, 0), axis=1 + axis)
        outside = idx < 0
        if outside.any():
            if axis == 0:
                result[:, outside, :] = cval
            else:
                result[:, :, outside] = cval
    return np.ascontiguousarray(result)


def scatter_add(values, target_shape, kshape, pads, stride, dilation,
                in_shape, gathered, mode):
    """The transpose of :func:`gather` (constant 0): the values of the
    gathered axes added back onto the ``target_shape`` samples they came
    from; what the constant supplied is dropped."""
    result = values
    for axis in (0, 1):
        if not gathered[axis]:
            continue
        n = target_shape[axis]
        idx = axis_indices(n, kshape[axis], pads[axis], stride[axis],
                           dilation[axis], in_shape[axis], mode)
        keep = idx >= 0
        shape = list(result.shape)
        shape[1 + axis] = n
        acc = np.zeros(shape, dtype=result.dtype)
        src = np.compress(keep, result, axis=1 + axis)
        index = (slice(None), idx[keep]) if axis == 0 else \
            (slice(None), slice(None), idx[keep])
        np.add.at(acc, index, src)
        result = acc
    return result

