"""The boundary modes as index maps: which image sample each coordinate of
the extended axis reads (the public face of ``_indexing``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._indexing import mapped_range

if TYPE_CHECKING:
    from ._typing import Mode, NDArray

__all__ = ["boundary_indices"]


def boundary_indices(n: int, start: int, length: int,
                     mode: Mode = "reflect") -> NDArray[np.intp]:
    """The image index each coordinate of an extended axis reads.

    Coordinate ``c`` of an axis of ``n`` samples is ``c``'s own sample when
    ``0 <= c < n``; outside the image the boundary ``mode`` says which sample
    it copies (every filter of cfilter reads its input this way).  This
    function lists that source index for the ``length`` coordinates
    ``start, start + 1, ..., start + length - 1``: the index map that gathers
    an extended tile of an image with ``numpy.take``, the way
    :mod:`cfilter.dask` builds each chunk's slab.

    Parameters
    ----------
    n : int
        The axis length, >= 0 (0 only for ``mode='constant'``, as
        ``numpy.pad``: the other modes have no sample to copy).
    start : int
        The first coordinate; negative before the image, >= ``n`` after it.
        Any size: the modes repeat (``reflect``, ``mirror``, ``wrap``) or
        stay at the edge (``nearest``, ``constant``) however far out.
    length : int
        How many coordinates, >= 0.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}, optional
        The boundary mode (default 'reflect'), with the aliases every
        ``mode`` parameter takes (``symmetric``, ``reflect101``, ``edge``,
        ``periodic``, ``zeros``, ...; see :func:`mode_names`).

    Returns
    -------
    indices : ndarray of intp, shape (length,)
        The source index in ``[0, n)`` of each coordinate, or -1 where the
        mode gives the constant ``cval`` (only with ``mode='constant'``).

    Notes
    -----
    For ``before, after >= 0``, ``boundary_indices(n, -before, n + before +
    after, mode)`` is ``numpy.pad(numpy.arange(n), (before, after), m)``
    for numpy's name ``m`` of the mode (``reflect`` is numpy's
    ``symmetric``, ``mirror`` its ``reflect``, ``nearest`` its ``edge``),
    with -1 as the constant -- for any padding, also wider than the image.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> cfilter.boundary_indices(4, -3, 10, "reflect")    # cba|abcd|dcba
    array([2, 1, 0, 0, 1, 2, 3, 3, 2, 1])
    >>> cfilter.boundary_indices(4, -3, 10, "mirror")
    array([3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
    >>> cfilter.boundary_indices(4, -3, 10, "wrap")
    array([1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
    >>> cfilter.boundary_indices(4, -2, 8, "constant")
    array([-1, -1,  0,  1,  2,  3, -1, -1])

    Gathering an extended row with the map, ``cval`` where it is -1:

    >>> row = np.array([10.0, 20.0, 30.0])
    >>> idx = cfilter.boundary_indices(row.size, -2, 7, "constant")
    >>> np.where(idx >= 0, row[idx], -1.5)
    array([-1.5, -1.5, 10. , 20. , 30. , -1.5, -1.5])
    """
    n = V.as_int(n, "n", 0)
    start = V.as_int(start, "start")
    length = V.as_int(length, "length", 0)
    code = V.normalize_mode(mode)
    if n > np.iinfo(np.intp).max:
        raise ValueError(f"n={n} is larger than an array index can count "
                         f"({np.iinfo(np.intp).max})")
    if n == 0 and code != V.normalize_mode("constant"):
        raise ValueError(
            f"n=0 with mode={mode!r}: an empty axis has no sample to copy; "
            "only mode='constant' extends it")
    if length > np.iinfo(np.intp).max // np.dtype(np.intp).itemsize:
        raise ValueError(f"length={length}: an index map that long cannot "
                         "be allocated")
    return mapped_range(start, length, n, code)
