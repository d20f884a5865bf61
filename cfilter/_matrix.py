"""The matrix view of correlation: a sparse ``C`` with ``C @ x == correlate(x)``.

Built from index arithmetic alone: output pixel ``(i, j)`` and tap ``(m, l)``
read extended coordinate ``(i*sy + m*dy - top, j*sx + l*dx - left)``; the
mode's index map (``_indexing.mapped_indices``, the numpy twin of the core's
``map_index``) sends it to an image pixel, or drops it under 'constant'.
Duplicate entries (several taps folded onto one pixel) are summed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._core._boundary import BoundaryMode
from ._indexing import mapped_indices
from ._padding import forward_lengths, resolve_padding

if TYPE_CHECKING:
    from typing import Sequence

    from scipy.sparse import csr_array

    from ._typing import ArrayLike, IntPair, Mode, Padding

__all__ = ["convolution_matrix"]


def _axis_map(n, k, before, s, d, out_len, mode):
    """``(out_len, k)`` image indices read by output ``i`` and tap ``m``
    along one axis (-1: outside, constant)."""
    reach = (out_len - 1) * s + d * (k - 1) + 1
    mapped = mapped_indices(-before, reach, n, mode)
    coord = np.arange(out_len)[:, None] * s + np.arange(k)[None, :] * d
    return mapped[coord]


def convolution_matrix(kernel: ArrayLike, input_shape: Sequence[int], *,
                       mode: Mode = "constant", padding: Padding = "same",
                       stride: IntPair = 1, dilation: IntPair = 1,
                       flip: bool = False) -> csr_array:
    """The sparse matrix of :func:`correlate` (or :func:`convolve`).

    ``C = convolution_matrix(kernel, x.shape, ...)`` satisfies
    ``C @ x.ravel() == correlate(x, kernel, ...).ravel()`` for the same mode,
    padding, stride and dilation: each row of ``C`` holds the kernel's
    weights at the pixels one output reads.  Its transpose is the transposed
    convolution: ``C.T @ y.ravel() == conv_transpose(y, kernel, ...).ravel()``.

    Parameters
    ----------
    kernel : array_like
        2-D real weights.
    input_shape : pair of int
        The image shape ``(H, W)``.
    mode : {'constant', 'reflect', 'mirror', 'nearest', 'wrap'}, optional
        Boundary mode (default 'constant', with the value 0 outside: the
        only constant that keeps the map linear).  Aliases as for
        :func:`correlate`.  Under the other modes a row's taps that fall
        outside the image land on the pixels the mode reads, summed where
        several land on one pixel.
    padding : {'same', 'valid', 'full'}, int, pair or per-side pairs, optional
        As for :func:`correlate` (default 'same').
    stride : int or pair of int, optional
        Step between outputs (default 1).
    dilation : int or pair of int, optional
        Spacing between taps (default 1).
    flip : bool, optional
        If True, the matrix of :func:`convolve`: the kernel turned by 180
        degrees, with convolve's centre for 'same' padding.

    Returns
    -------
    scipy.sparse.csr_array
        ``(oh*ow, H*W)`` float64, rows and columns in C (row-major) order.

    See Also
    --------
    correlate, conv_transpose

    Examples
    --------
    The 4x16 matrix of a 3x3 kernel on a 4x4 image (no padding, the
    transposed-convolution primer's example): each row is the kernel, laid
    out on the flattened image where one output reads it.

    >>> import numpy as np, cfilter
    >>> kernel = np.arange(1.0, 10.0).reshape(3, 3)
    >>> C = cfilter.convolution_matrix(kernel, (4, 4), padding="valid")
    >>> C.shape
    (4, 16)
    >>> C.toarray().astype(int)
    array([[1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0],
           [0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0],
           [0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0],
           [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]])
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> np.allclose(C @ x.ravel(),
    ...             cfilter.correlate(x, kernel, padding="valid").ravel())
    True

    Its transpose (16x4) takes the 2x2 result back to 4x4, as
    :func:`conv_transpose` does:

    >>> y = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> np.allclose((C.T @ y.ravel()).reshape(4, 4),
    ...             cfilter.conv_transpose(y, kernel))
    True

    Boundary modes fold the outside taps back into the image:

    >>> C = cfilter.convolution_matrix(np.ones((3, 3)), (5, 5), mode="nearest")
    >>> C.shape, float(C[0].sum())
    ((25, 25), 9.0)
    """
    weights = V.as_kernel(kernel, 2)
    shape = V.as_pair(input_shape, "input_shape")
    code = V.normalize_mode(mode)
    spec = V.normalize_padding(padding, 2)
    stride = V.as_pair(stride, "stride")
    dilation = V.as_pair(dilation, "dilation")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False, got {flip!r}")
    if flip:
        weights = weights[::-1, ::-1]
    pads = resolve_padding(spec, weights.shape, dilation, convolve=bool(flip))
    oh, ow = forward_lengths(shape, weights.shape, pads, stride, dilation)
    H, W = shape
    kh, kw = weights.shape
    rows = _axis_map(H, kh, pads[0][0], stride[0], dilation[0], oh, code)
    cols = _axis_map(W, kw, pads[1][0], stride[1], dilation[1], ow, code)
    # Entry (i, j, m, l): output i*ow + j, pixel rows[i, m]*W + cols[j, l].
    r = rows[:, None, :, None]
    c = cols[None, :, None, :]
    pixel = r * W + c
    out = (np.arange(oh)[:, None, None, None] * ow
           + np.arange(ow)[None, :, None, None])
    out, pixel = np.broadcast_arrays(out, pixel)
    data = np.broadcast_to(weights, pixel.shape)
    if code == BoundaryMode.CONSTANT:
        keep = np.broadcast_to((r >= 0) & (c >= 0), pixel.shape)
        out, pixel, data = out[keep], pixel[keep], data[keep]
    else:
        out, pixel, data = out.ravel(), pixel.ravel(), data.ravel()
    import scipy.sparse   # only here: it is slow to import
    matrix = scipy.sparse.coo_array((data, (out, pixel)),
                                    shape=(oh * ow, H * W)).tocsr()
    matrix.sum_duplicates()
    return matrix
