"""Transposed correlation: the adjoint of :func:`cfilter.correlate`.

Validation reuses the forward call's (``_validate.Request``), the padding
and lengths come from ``_padding``, the work is the compiled gather of
``_core/_transpose.pyx`` behind ``_engine.run_transpose``, and the result is
delivered by ``_output.deliver``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._docstrings import docfiller
from ._engine import native_output_dtypes, run_transpose
from ._limits import check_result_size
from ._output import as_planes, deliver
from ._padding import forward_lengths, resolve_padding, transposed_lengths
from ._shapes import resolve_output_padding

if TYPE_CHECKING:
    from typing import Sequence

    from ._typing import (Array, ArrayLike, Axes, IntPair, Mode, Output,
                          Padding)

__all__ = ["conv_transpose"]


def _spatial_target(output_shape, image, axes):
    """The spatial lengths asked for by ``output_shape``: the two spatial
    lengths, or the image's full shape with the spatial lengths changed."""
    if not isinstance(output_shape, (tuple, list, np.ndarray)):
        raise TypeError(f"output_shape must be a shape (a sequence of ints), "
                        f"got {output_shape!r}")
    items = list(output_shape)
    if len(items) == image.ndim and image.ndim != 2:
        for a in range(image.ndim):
            if a not in axes and items[a] != image.shape[a]:
                raise ValueError(
                    f"output_shape={tuple(output_shape)!r} changes axis {a}, "
                    f"which is not spatial (the image has {image.shape[a]})")
        items = [items[a] for a in axes]
    if len(items) != 2:
        raise ValueError(f"output_shape={tuple(output_shape)!r} must give the "
                         "two spatial lengths (or the whole output shape)")
    for v in items:
        V.as_int(v, "output_shape", 1)
    return tuple(int(v) for v in items)


def _lengths_from_output_shape(target, ylens, kshape, pads, stride, dilation):
    """Check that the forward call maps ``target`` to ``ylens``."""
    try:
        fits = forward_lengths(target, kshape, pads, stride, dilation) == ylens
    except ValueError:
        fits = False
    if not fits:
        ranges = []
        for n, k, (b, a), s, d in zip(ylens, kshape, pads, stride, dilation):
            lo = max(s * (n - 1) + d * (k - 1) + 1 - b - a, 1)
            ranges.append(f"{lo}..{lo + s - 1}")
        raise ValueError(
            f"output_shape={target!r} is not a shape that correlate with these "
            f"parameters maps to {ylens!r}: the spatial lengths must lie in "
            f"{' and '.join(ranges)}")
    return target


@docfiller
def conv_transpose(image: ArrayLike, kernel: ArrayLike, *,
                   stride: IntPair = 1, padding: Padding = 0,
                   output_padding: IntPair = 0, dilation: IntPair = 1,
                   mode: Mode = "constant",
                   output_shape: Sequence[int] | None = None,
                   axes: Axes | None = None, channel_axis: int | None = None,
                   output: Output | None = None,
                   workers: int | None = None) -> Array:
    """Transposed correlation: the adjoint of :func:`correlate`.

    With ``C`` the matrix of :func:`correlate` for the same kernel, mode,
    padding, stride and dilation (see :func:`convolution_matrix`), the result
    is ``C.T @ image.ravel()``, reshaped: every input pixel spreads
    ``image[i, j] * kernel`` over the output, starting at
    ``(i*sy - top, j*sx - left)`` with taps ``dilation`` apart.  Such a
    "fractionally strided" convolution upsamples by the stride; it is the
    gradient of :func:`correlate` with respect to its input, and the
    transposed convolution of deep-learning layers.

    Parameters
    ----------
    image : array_like
        Real input: the forward call's output shape (2-D, 3-D with
        ``channel_axis``, or any array with ``axes``).  Never modified.
    kernel : array_like
        2-D real weights, as given to the forward call (not flipped).
    %(stride_transposed)s
    padding : {'same', 'valid', 'full'}, int, pair or per-side pairs, optional
        The forward call's padding (default 0), resolved exactly as
        :func:`correlate` resolves it; it is cut from the result.
    output_padding : int or pair of int, optional
        Extra rows and columns at the bottom and right of the result (default
        0).  A strided forward call maps several input shapes to the same
        output; this picks the larger ones.  As in torch, it must be smaller
        than the stride or the dilation.
    %(dilation)s
    mode : {'constant', 'reflect', 'mirror', 'nearest', 'wrap'}, optional
        The forward call's boundary mode (default 'constant', i.e. zeros:
        taps that fell outside the image are dropped).  For the other modes
        the taps that fell outside fold back onto the pixels the mode read
        them from.  Names and aliases as for :func:`correlate`; a forward
        ``cval`` adds a constant, which has no adjoint part.
    output_shape : sequence of int, optional
        The forward input's spatial shape ``(H, W)`` (or the whole result
        shape), instead of ``output_padding``: it must be a shape that the
        forward call maps to the image's shape.
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(workers)s

    Returns
    -------
    out : ndarray
        The input's shape with each spatial length ``i'`` turned into
        ``s*(i' - 1) + d*(k-1) + 1 - p_before - p_after + output_padding``
        (see :func:`transposed_output_shape`), or ``output_shape``.

    Raises
    ------
    ValueError
        For a bad parameter (the message names it), ``output_padding`` not
        smaller than the stride or dilation, both ``output_padding`` and
        ``output_shape``, or an ``output_shape`` the forward call does not
        map to the image's shape.

    See Also
    --------
    correlate : the forward map.
    convolution_matrix : ``C``, with ``conv_transpose(y) == C.T @ y``.
    transposed_output_shape

    Notes
    -----
    With ``mode='constant'`` the result equals
    ``torch.nn.functional.conv_transpose2d(y[None, None], w[None, None],
    stride=s, padding=p, output_padding=a, dilation=d)`` for symmetric
    integer padding.  It is computed as a gather: each output row collects
    from the kernel rows and input rows that reach it, so no zeros are
    inserted between the input's pixels and the result is exact.

    Examples
    --------
    The 2x2 output of a 3x3 kernel on a 4x4 image goes back to 4x4; each
    input pixel stamps the kernel on the output:

    >>> import numpy as np, cfilter
    >>> kernel = np.arange(1.0, 10.0).reshape(3, 3)
    >>> y = np.array([[1.0, 0.0], [0.0, 0.0]])
    >>> cfilter.conv_transpose(y, kernel)
    array([[1., 2., 3., 0.],
           [4., 5., 6., 0.],
           [7., 8., 9., 0.],
           [0., 0., 0., 0.]])

    It is the adjoint of :func:`correlate`: ``<C x, y> == <x, C^T y>``.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((6, 6)), rng.random((3, 3))
    >>> fwd = cfilter.correlate(x, kernel, mode="wrap", padding=1, stride=2)
    >>> back = cfilter.conv_transpose(y, kernel, mode="wrap", padding=1,
    ...                               stride=2, output_shape=x.shape)
    >>> bool(np.isclose(np.vdot(fwd, y), np.vdot(x, back)))
    True

    Stride 2 upsamples; ``output_padding`` or ``output_shape`` says which of
    the shapes that map to 3x3 is meant:

    >>> cfilter.conv_transpose(np.ones((3, 3)), np.ones((3, 3)), stride=2,
    ...                        padding=1).shape
    (5, 5)
    >>> cfilter.conv_transpose(np.ones((3, 3)), np.ones((3, 3)), stride=2,
    ...                        padding=1, output_padding=1).shape
    (6, 6)
    """
    req = V.Request(image, mode=mode, cval=0.0, padding=padding,
                    stride=stride, dilation=dilation, axes=axes,
                    channel_axis=channel_axis, output=output, method="direct",
                    workers=workers)
    weights = V.as_kernel(kernel, 2)
    kshape = weights.shape
    pads = resolve_padding(req.padding, kshape, req.dilation)
    ylens = req.spatial_shape
    op = resolve_output_padding(output_padding, req.stride, req.dilation)
    if output_shape is None:
        target = transposed_lengths(ylens, kshape, pads, req.stride,
                                    req.dilation, op)
    else:
        if any(op):
            raise ValueError("give output_padding or output_shape, not both "
                             f"(got output_padding={output_padding!r} and "
                             f"output_shape={output_shape!r})")
        target = _lengths_from_output_shape(
            _spatial_target(output_shape, req.image, req.axes), ylens, kshape,
            pads, req.stride, req.dilation)

    check_result_size(target, np.dtype(req.dtype).itemsize)
    planes = as_planes(req.image, req.axes, req.dtype)
    return deliver(
        lambda out: run_transpose(planes, weights, pads, req.stride,
                                  req.dilation, req.mode, req.nthreads, out),
        image=req.image, axes=req.axes, out_lens=target, work_dtype=req.dtype,
        output=req.output, writes=native_output_dtypes("transpose", req.dtype))
