"""Shape arithmetic of convolution and transposed convolution.

Per spatial axis, with input length ``i``, kernel length ``k``, stride ``s``,
dilation ``d`` and padding ``p_before``/``p_after``:

    forward     o  = floor((i + p_before + p_after - (d*(k-1) + 1)) / s) + 1
    transposed  o' = s*(i' - 1) + d*(k-1) + 1 - p_before - p_after + output_padding

(the guide to convolution arithmetic's table, with dilation and per-side
padding).  The public functions validate; the arithmetic itself lives in
``_padding``, shared with the planner, the transpose and the matrix view.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, overload

import numpy as np

from . import _validate as V
from ._padding import forward_lengths, resolve_padding, transposed_lengths

if TYPE_CHECKING:
    from typing import Sequence

    from ._typing import IntPair, Padding

__all__ = ["conv_output_shape", "transposed_output_shape"]


def _input_lengths(input_shape, name="input_shape"):
    """The spatial lengths of ``input_shape`` (an int, or 1 or 2 ints), and
    whether it was a bare int."""
    scalar = not isinstance(input_shape, (tuple, list, np.ndarray))
    items = [input_shape] if scalar else list(input_shape)
    if len(items) not in (1, 2):
        raise ValueError(f"{name}={input_shape!r} must be an int or a shape of "
                         "1 or 2 spatial lengths")
    return V.as_ints(items if scalar else input_shape, name, len(items), 1), scalar


def resolve_output_padding(output_padding, stride, dilation):
    """``output_padding`` per axis, checked against torch's rule: smaller
    than the stride or than the dilation."""
    op = V.as_ints(output_padding, "output_padding", len(stride), 0)
    for axis, (a, s, d) in enumerate(zip(op, stride, dilation)):
        if a >= s and a >= d:
            raise ValueError(
                f"output_padding={a} along axis {axis} must be smaller than "
                f"the stride ({s}) or the dilation ({d}), as in torch")
    return op


def _prepare(input_shape, kernel_shape, padding, stride, dilation):
    lengths, scalar = _input_lengths(input_shape)
    ndim = len(lengths)
    kshape = V.as_ints(kernel_shape, "kernel_shape", ndim, 1)
    stride = V.as_ints(stride, "stride", ndim, 1)
    dilation = V.as_ints(dilation, "dilation", ndim, 1)
    pads = resolve_padding(V.normalize_padding(padding, ndim), kshape,
                           dilation)
    return lengths, scalar, kshape, pads, stride, dilation


# An int length gives an int, a shape gives a tuple (for type checkers).
@overload
def conv_output_shape(input_shape: int, kernel_shape: IntPair,
                      padding: Padding = ..., stride: IntPair = ...,
                      dilation: IntPair = ...) -> int: ...
@overload
def conv_output_shape(input_shape: Sequence[int], kernel_shape: IntPair,
                      padding: Padding = ..., stride: IntPair = ...,
                      dilation: IntPair = ...) -> tuple[int, ...]: ...


def conv_output_shape(input_shape: int | Sequence[int],
                      kernel_shape: IntPair, padding: Padding = 0,
                      stride: IntPair = 1,
                      dilation: IntPair = 1) -> int | tuple[int, ...]:
    """Output shape of a (strided, dilated, padded) convolution.

    Per axis ``o = floor((i + p_before + p_after - (d*(k-1) + 1)) / s) + 1``,
    the shape :func:`cfilter.correlate` returns (and torch's ``conv2d``).

    Parameters
    ----------
    input_shape : int or sequence of 1 or 2 ints
        Spatial lengths of the input, each >= 1.
    kernel_shape : int or sequence of int
        Kernel lengths, one per axis (an int means the same for every axis).
    padding : {'same', 'valid', 'full'}, int, pair or per-side pairs, optional
        As for :func:`cfilter.correlate` (default 0, i.e. 'valid'): an int
        pads every side; in 2-D a pair ``(ph, pw)`` pads rows and columns and
        ``((top, bottom), (left, right))`` each side; in 1-D a pair is
        ``(before, after)``.  'same' gives ``ceil(i / s)``.
    stride : int or sequence of int, optional
        Step between outputs (default 1).
    dilation : int or sequence of int, optional
        Spacing between kernel taps (default 1).

    Returns
    -------
    int or tuple of int
        An int for an int ``input_shape``, else a tuple of the same length.

    Raises
    ------
    ValueError
        If a length is zero or negative, or the (dilated) kernel is larger
        than the padded input.

    See Also
    --------
    transposed_output_shape : the way back.

    Examples
    --------
    The worked examples of the convolution arithmetic guide:

    >>> import cfilter
    >>> cfilter.conv_output_shape((4, 4), (3, 3))                # no padding
    (2, 2)
    >>> cfilter.conv_output_shape((5, 5), 3, padding=1, stride=2)
    (3, 3)
    >>> cfilter.conv_output_shape((5, 5), 3, stride=2)
    (2, 2)
    >>> cfilter.conv_output_shape((6, 6), 3, padding=1, stride=2)
    (3, 3)
    >>> cfilter.conv_output_shape(5, 3, padding="full")          # i + k - 1
    7
    >>> cfilter.conv_output_shape((7, 9), (3, 3), padding="same", stride=2)
    (4, 5)
    >>> cfilter.conv_output_shape((8, 8), 3, dilation=2)       # reach 5
    (4, 4)
    >>> cfilter.conv_output_shape((2, 2), 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: kernel_shape: the kernel reaches 3 pixels along axis 0 ...
    """
    lengths, scalar, kshape, pads, stride, dilation = _prepare(
        input_shape, kernel_shape, padding, stride, dilation)
    out = forward_lengths(lengths, kshape, pads, stride, dilation,
                          name="kernel_shape")
    return out[0] if scalar else out


@overload
def transposed_output_shape(input_shape: int, kernel_shape: IntPair,
                            padding: Padding = ..., stride: IntPair = ...,
                            dilation: IntPair = ...,
                            output_padding: IntPair = ...) -> int: ...
@overload
def transposed_output_shape(input_shape: Sequence[int],
                            kernel_shape: IntPair, padding: Padding = ...,
                            stride: IntPair = ..., dilation: IntPair = ...,
                            output_padding: IntPair = ...
                            ) -> tuple[int, ...]: ...


def transposed_output_shape(input_shape: int | Sequence[int],
                            kernel_shape: IntPair, padding: Padding = 0,
                            stride: IntPair = 1, dilation: IntPair = 1,
                            output_padding: IntPair = 0
                            ) -> int | tuple[int, ...]:
    """Output shape of a transposed convolution.

    Per axis ``o' = s*(i' - 1) + d*(k-1) + 1 - p_before - p_after + a``,
    the shape :func:`cfilter.conv_transpose` returns (and torch's
    ``conv_transpose2d``).  It is the smallest input length that the forward
    convolution with the same parameters maps to ``i'``, plus ``a``; a
    strided forward call maps ``s`` input lengths to the same output, and
    ``output_padding`` ``a`` picks among them.

    Parameters
    ----------
    input_shape : int or sequence of 1 or 2 ints
        Spatial lengths of the transposed call's input (the forward output).
    kernel_shape : int or sequence of int
        Kernel lengths, one per axis.
    padding : {'same', 'valid', 'full'}, int, pair or per-side pairs, optional
        The forward call's padding (default 0), in any form
        :func:`conv_output_shape` takes; it is removed from the result.
    stride : int or sequence of int, optional
        The forward stride (default 1).
    dilation : int or sequence of int, optional
        The forward dilation (default 1).
    output_padding : int or sequence of int, optional
        Extra length added at the end of each axis (default 0); as in torch
        it must be smaller than the stride or the dilation.

    Returns
    -------
    int or tuple of int
        An int for an int ``input_shape``, else a tuple of the same length.

    Raises
    ------
    ValueError
        If a length is zero or negative, ``output_padding`` is too large, or
        the padding removes the whole output.

    See Also
    --------
    conv_output_shape : the forward shape.

    Examples
    --------
    Back from the forward examples of :func:`conv_output_shape`:

    >>> import cfilter
    >>> cfilter.transposed_output_shape((2, 2), (3, 3))          # 4x4 again
    (4, 4)
    >>> cfilter.transposed_output_shape((3, 3), 3, padding=1, stride=2)
    (5, 5)
    >>> cfilter.transposed_output_shape((2, 2), 3, stride=2)
    (5, 5)

    A 6x6 input also goes to 3x3 with stride 2 and padding 1
    (``(6 + 2 - 3) % 2 == 1``), so the way back needs ``output_padding=1``:

    >>> cfilter.transposed_output_shape((3, 3), 3, padding=1, stride=2)
    (5, 5)
    >>> cfilter.transposed_output_shape((3, 3), 3, padding=1, stride=2,
    ...                                 output_padding=1)
    (6, 6)
    >>> cfilter.transposed_output_shape(4, 3, padding="same")
    4
    >>> cfilter.transposed_output_shape(3, 3, stride=2,
    ...                                 output_padding=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output_padding=2 along axis 0 must be smaller than the stride ...
    """
    lengths, scalar, kshape, pads, stride, dilation = _prepare(
        input_shape, kernel_shape, padding, stride, dilation)
    op = resolve_output_padding(output_padding, stride, dilation)
    out = transposed_lengths(lengths, kshape, pads, stride, dilation, op)
    return out[0] if scalar else out
