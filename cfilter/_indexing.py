"""Boundary modes as numpy index maps, for the engines written in numpy.

``mapped_indices(start, length, n, mode)`` is the vectorised twin of the
compiled core's ``map_index``: the source index in ``[0, n)`` that each
coordinate ``start .. start + length - 1`` reads, or -1 for the constant.
``mapped_range`` is the same for a ``start`` of any size; the public
:func:`cfilter.boundary_indices` validates its arguments and calls it.
"""
import numpy as np

from ._core._boundary import BoundaryMode


def mapped_indices(start, length, n, mode):
    return map_coordinates(np.arange(start, start + length, dtype=np.intp),
                           n, mode)


def mapped_range(start, length, n, mode):
    """``mapped_indices`` for any Python int ``start`` (``length`` fits in
    memory): coordinates past the intp range are mapped from an object
    array, which ``map_coordinates`` reduces before any int64 cast."""
    info = np.iinfo(np.intp)
    if info.min <= start and start + length <= info.max:
        return mapped_indices(start, length, n, mode)
    return map_coordinates(np.arange(length, dtype=object) + start, n, mode)


def map_coordinates(c, n, mode):
    """The source index in ``[0, n)`` of each coordinate in the integer
    array ``c``, or -1 for the constant.  ``c`` may be an object array of
    Python ints too large for int64: it is reduced before any int64 cast."""
    if mode == BoundaryMode.CONSTANT:
        return np.where((c >= 0) & (c < n), c, -1).astype(np.intp)
    if mode == BoundaryMode.NEAREST:
        return np.clip(c, 0, n - 1).astype(np.intp)
    if mode == BoundaryMode.WRAP:
        return np.mod(c, n).astype(np.intp)
    if mode == BoundaryMode.REFLECT:
        c = np.mod(c, 2 * n).astype(np.intp)
        return np.where(c < n, c, 2 * n - 1 - c)
    # MIRROR: the edge sample is not repeated, so the period is 2n - 2.
    if n == 1:
        return np.zeros(np.shape(c), dtype=np.intp)
    c = np.mod(c, 2 * n - 2).astype(np.intp)
    return np.where(c < n, c, 2 * n - 2 - c)


def extend(plane, row_start, nrows, col_start, ncols, mode, cval, out=None):
    """The window ``[row_start, +nrows) x [col_start, +ncols)`` of ``plane``
    extended by ``mode`` (into ``out`` if given): a plain slice for the part
    inside the plane, the index maps only for the border strips."""
    H, W = plane.shape
    rows = mapped_indices(row_start, nrows, H, mode)
    cols = mapped_indices(col_start, ncols, W, mode)
    if out is None:
        out = np.empty((nrows, ncols), dtype=plane.dtype)
    # Positions [i0, i1) and [j0, j1) read the plane unchanged.
    i0, i1 = min(max(-row_start, 0), nrows), min(max(H - row_start, 0), nrows)
    j0, j1 = min(max(-col_start, 0), ncols), min(max(W - col_start, 0), ncols)
    i1, j1 = max(i1, i0), max(j1, j0)
    inner = plane[row_start + i0:row_start + i1]
    out[i0:i1, j0:j1] = inner[:, col_start + j0:col_start + j1]
    safe_cols = np.maximum(cols, 0)
    if j0 > 0:
        out[i0:i1, :j0] = inner[:, safe_cols[:j0]]
    if j1 < ncols:
        out[i0:i1, j1:] = inner[:, safe_cols[j1:]]
    for lo, hi in ((0, i0), (i1, nrows)):
        if hi > lo:
            out[lo:hi] = plane[np.maximum(rows[lo:hi], 0)][:, safe_cols]
    if mode == BoundaryMode.CONSTANT:
        out[rows < 0, :] = cval
        out[:, cols < 0] = cval
    return out
