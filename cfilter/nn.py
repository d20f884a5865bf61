"""Convolution layers on NCHW batches, numerically equal to
``torch.nn.functional.conv2d`` and ``conv_transpose2d``.

A layer is a bank of kernels: output channel ``o`` of :func:`conv2d` is
``bias[o] + sum_c correlate(x[:, c], weight[o, c])`` over the input channels
``c`` of its group.  The boundary extension comes from
:func:`cfilter.correlate` itself (a 1x1 identity kernel with the requested
padding and mode), so the modes mean exactly what they mean everywhere in
cfilter; what is left is the channel sums.  Those are done the way deep
learning libraries do them, as one matrix product per group: the taps of
every window are laid side by side ("im2col") and multiplied by the weights
reshaped to a matrix, which BLAS runs multithreaded.

:func:`conv_transpose2d` is the adjoint of :func:`conv2d`.  Per axis, the
outputs split into ``stride`` phases; the outputs of one phase gather from
the kernel taps of that phase at fixed input offsets, so each phase is again
an im2col product (no zeros are inserted between the input's pixels).
The phases come from ``_phases``, which the compiled transpose reads too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._api import correlate
from ._phases import phase_gathers
from ._shapes import conv_output_shape, transposed_output_shape

if TYPE_CHECKING:
    from typing import Literal

    from ._typing import Array, ArrayLike, IntPair, TorchPaddingMode

__all__ = ["conv2d", "conv_transpose2d"]

# torch padding_mode -> cfilter mode (the alias table of guide/modes).
_PADDING_MODES = {"zeros": "constant", "reflect": "mirror",
                  "replicate": "nearest", "circular": "wrap"}


def _batch(x):
    """``x`` as an (N, C, H, W) array and whether it had no batch axis."""
    arr = V.as_image(x, "x")
    if arr.ndim == 3:
        return arr[np.newaxis], True
    if arr.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W) or (C, H, W), got shape "
                         f"{arr.shape}")
    return arr, False


def _weights(weight, dtype):
    arr = np.asarray(weight)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"weight must be a real numeric array, got dtype "
                        f"{arr.dtype}")
    # Zero channels are allowed (torch gives an empty or bias-only result);
    # a kernel with no taps is not.
    if arr.ndim != 4 or 0 in arr.shape[2:]:
        raise ValueError(f"weight must be a non-empty 4-D array, got shape "
                         f"{arr.shape}")
    return arr.astype(dtype, copy=False)


def _check_groups(g, c_in, c_out, weight_in):
    """Channel counts consistent with ``g`` groups; ``weight_in`` is the
    number of input channels the weight is shaped for."""
    if c_in % g or c_out % g:
        raise ValueError(f"groups={g} must divide the input channels ({c_in}) "
                         f"and the output channels ({c_out})")
    if weight_in != c_in:
        raise ValueError(f"weight is shaped for {weight_in} input channels "
                         f"(groups={g}), but x has {c_in}")


def _bias(bias, c_out, dtype):
    if bias is None:
        return None
    b = np.asarray(bias)
    if b.dtype.kind not in "biuf" or b.shape != (c_out,):
        raise ValueError(f"bias must be a real array of shape ({c_out},), got "
                         f"shape {b.shape}")
    return b.astype(dtype, copy=False)


def _extend(x, pads, mode):
    """``x`` (N, C, H, W) extended by ``pads`` per side under ``mode``."""
    if not any(p for side in pads for p in side):
        return x
    # A copy with borders, on one thread: on its own it runs faster threaded,
    # but the layer as a whole was slower, its threads then competing with
    # BLAS's own for the product that follows.
    return correlate(x, np.ones((1, 1)), mode=mode, padding=pads, axes=(-2, -1),
                     method="direct", workers=1)


def _columns(xe, offsets, counts, steps):
    """im2col: ``(N, C, T, nr, nc)`` with tap ``t`` reading
    ``xe[..., r0 + i*sy, c0 + j*sx]``, ``(r0, c0) = offsets[t]``."""
    (nr, nc), (sy, sx) = counts, steps
    return np.stack([xe[:, :, r0:r0 + (nr - 1) * sy + 1:sy,
                        c0:c0 + (nc - 1) * sx + 1:sx] for r0, c0 in offsets],
                    axis=2)


def _grouped_product(wmat, cols, groups):
    """``(G, Cog, K) @ (N, G, K, L)`` -> ``(N, G*Cog, L)``.  The lengths
    are spelled out: reshape cannot infer -1 for zero batches or channels."""
    n = cols.shape[0]
    cols = cols.reshape(n, groups, wmat.shape[-1],
                        cols.shape[-2] * cols.shape[-1])
    out = np.matmul(wmat, cols)
    return out.reshape(n, groups * wmat.shape[1], out.shape[-1])


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
           stride: IntPair = 1,
           padding: Literal["valid", "same"] | IntPair = 0,
           dilation: IntPair = 1, groups: int = 1,
           padding_mode: TorchPaddingMode = "zeros") -> Array:
    """2-D convolution layer (cross-correlation) of an NCHW batch.

    ``out[n, o] = bias[o] + sum_c correlate(x[n, c], weight[o, c'], ...)``
    over the input channels ``c`` of output channel ``o``'s group
    (``c'`` counts within the group), with the parameters of
    :func:`torch.nn.functional.conv2d`; the numbers are the same.

    Parameters
    ----------
    x : array_like
        Input ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for one sample.
    weight : array_like
        Kernels ``(C_out, C_in / groups, kh, kw)``.
    bias : array_like, optional
        ``(C_out,)`` values added to each output channel.
    stride : int or pair of int, optional
        Step between outputs (default 1).
    padding : {'valid', 'same'}, int or pair of int, optional
        Rows and columns added on both sides (default 0).  'same' pads
        ``d*(k-1)`` in all, the odd one after (torch's split), and needs
        stride 1.
    dilation : int or pair of int, optional
        Spacing between taps (default 1).
    groups : int, optional
        Input and output channels split into this many independent groups
        (default 1; ``groups == C_in`` is a depthwise convolution).
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}, optional
        How the padding is filled, as ``torch.nn.Conv2d``'s padding_mode
        (cfilter modes 'constant', 'mirror', 'nearest', 'wrap').

    Returns
    -------
    ndarray
        ``(N, C_out, oh, ow)`` (or ``(C_out, oh, ow)``), float64 for float64
        input and float32 otherwise.

    See Also
    --------
    cfilter.correlate : one input channel, one kernel.
    conv_transpose2d : the adjoint.

    Notes
    -----
    Empty batches follow torch: ``N = 0`` gives ``(0, C_out, oh, ow)``.
    With no input channels (``C_in = 0``, a ``(C_out, 0, kh, kw)`` weight)
    each output channel is the sum over no channels, 0, plus its bias: a
    ``(N, C_out, oh, ow)`` result of the biases broadcast.  torch answers
    ``(N, 0, oh, ow)`` there, with no output channels at all; the sum over
    an empty set is kept here.  A weight with no output channels gives
    ``(N, 0, oh, ow)``.  An image with no rows or columns is refused, as
    torch refuses it.

    Examples
    --------
    A bank of two kernels turns a 1-channel batch into two feature maps:

    >>> import numpy as np, cfilter
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> bank = np.stack([np.ones((3, 3)), np.eye(3)])[:, None]   # (2, 1, 3, 3)
    >>> cfilter.nn.conv2d(x, bank, bias=[0.0, 100.0])
    array([[[[ 45.,  54.],
             [ 81.,  90.]],
    <BLANKLINE>
            [[115., 118.],
             [127., 130.]]]], dtype=float32)
    >>> cfilter.nn.conv2d(x, bank, padding=1, stride=2).shape
    (1, 2, 2, 2)

    No input channels leave the biases (torch gives no output channels):

    >>> cfilter.nn.conv2d(np.zeros((1, 0, 4, 4)), np.zeros((2, 0, 3, 3)),
    ...                   bias=[1.0, 2.0])[0, :, 0, 0]
    array([1., 2.])
    """
    xb, unbatched = _batch(x)
    dtype = V.compute_dtype(xb.dtype, None)
    w = _weights(weight, dtype)
    n, c_in = xb.shape[:2]
    c_out, wc, kh, kw = w.shape
    g = V.as_int(groups, "groups", 1)
    _check_groups(g, c_in, c_out, wc * g)
    b = _bias(bias, c_out, dtype)
    stride = V.as_pair(stride, "stride")
    dilation = V.as_pair(dilation, "dilation")
    if not isinstance(padding_mode, str) or padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode={padding_mode!r} is not a torch padding "
                         f"mode; use one of: {', '.join(_PADDING_MODES)}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' needs stride 1 (as in torch), "
                                 f"got stride={stride}")
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                         for k, d in zip((kh, kw), dilation))
        else:
            raise ValueError(f"padding={padding!r} is not a padding; use "
                             "'valid', 'same', an int or a pair of ints")
    else:
        ph, pw = V.as_pair(padding, "padding", 0)
        pads = ((ph, ph), (pw, pw))

    xe = _extend(np.ascontiguousarray(xb, dtype=dtype), pads,
                 _PADDING_MODES[padding_mode])
    oh, ow = conv_output_shape(xe.shape[2:], (kh, kw), 0, stride, dilation)
    dy, dx = dilation
    offsets = [(m * dy, l * dx) for m in range(kh) for l in range(kw)]
    cols = _columns(xe, offsets, (oh, ow), stride)
    out = _grouped_product(w.reshape(g, c_out // g, wc * kh * kw), cols, g)
    out = out.reshape(n, c_out, oh, ow)
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out


def conv_transpose2d(x: ArrayLike, weight: ArrayLike,
                     bias: ArrayLike | None = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0,
                     groups: int = 1, dilation: IntPair = 1) -> Array:
    """2-D transposed convolution layer of an NCHW batch.

    The adjoint of :func:`conv2d` with zero padding:
    ``out[n, o] = bias[o] + sum_c conv_transpose(x[n, c], weight[c, o'], ...)``
    over the input channels ``c`` of output channel ``o``'s group, with the
    parameters (and the weight layout) of
    :func:`torch.nn.functional.conv_transpose2d`; the numbers are the same.

    Parameters
    ----------
    x : array_like
        Input ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for one sample.
    weight : array_like
        Kernels ``(C_in, C_out / groups, kh, kw)`` -- torch's layout for
        transposed convolutions, input channels first.
    bias : array_like, optional
        ``(C_out,)`` values added to each output channel.
    stride : int or pair of int, optional
        The forward convolution's stride: the upsampling factor (default 1).
    padding : int or pair of int, optional
        The forward convolution's zero padding, cut from the result
        (default 0).
    output_padding : int or pair of int, optional
        Extra rows and columns at the bottom and right (default 0); smaller
        than the stride or the dilation.
    groups : int, optional
        Independent channel groups (default 1).
    dilation : int or pair of int, optional
        Spacing between taps (default 1).

    Returns
    -------
    ndarray
        ``(N, C_out, H', W')`` with ``H' = (H-1)*s - 2*p + d*(kh-1) + 1 +
        output_padding`` (see :func:`cfilter.transposed_output_shape`).

    See Also
    --------
    cfilter.conv_transpose : one channel, any boundary mode.
    conv2d : the forward layer.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> x = np.ones((1, 1, 2, 2), dtype=np.float32)
    >>> weight = np.ones((1, 1, 3, 3))
    >>> cfilter.nn.conv_transpose2d(x, weight, stride=2)
    array([[[[1., 1., 2., 1., 1.],
             [1., 1., 2., 1., 1.],
             [2., 2., 4., 2., 2.],
             [1., 1., 2., 1., 1.],
             [1., 1., 2., 1., 1.]]]], dtype=float32)
    >>> cfilter.nn.conv_transpose2d(x, weight, stride=2, padding=1,
    ...                             output_padding=1).shape
    (1, 1, 4, 4)
    """
    xb, unbatched = _batch(x)
    dtype = V.compute_dtype(xb.dtype, None)
    w = _weights(weight, dtype)
    n, c_in, H, W = xb.shape
    wc, cog, kh, kw = w.shape
    g = V.as_int(groups, "groups", 1)
    c_out = cog * g
    _check_groups(g, c_in, c_out, wc)
    b = _bias(bias, c_out, dtype)
    stride = V.as_pair(stride, "stride")
    dilation = V.as_pair(dilation, "dilation")
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: conv_transpose2d takes an int "
                         "or a pair of ints, as in torch")
    ph, pw = V.as_pair(padding, "padding", 0)
    out_h, out_w = transposed_output_shape(
        (H, W), (kh, kw), ((ph, ph), (pw, pw)), stride, dilation,
        V.as_pair(output_padding, "output_padding", 0))

    rows, (p0, p1) = phase_gathers(H, kh, stride[0], dilation[0], ph, out_h)
    cols_, (q0, q1) = phase_gathers(W, kw, stride[1], dilation[1], pw, out_w)
    xe = _extend(np.ascontiguousarray(xb, dtype=dtype), ((p0, p1), (q0, q1)),
                 "constant")
    # (G, Cig, Cog, kh, kw): the weights of each group, input channels first.
    wg = w.reshape(g, c_in // g, cog, kh, kw)
    out = np.empty((n, c_out, out_h, out_w), dtype=dtype)
    for r_first, r_count, r_taps, r_starts in rows:
        for c_first, c_count, c_taps, c_starts in cols_:
            dst = out[:, :, r_first::stride[0], c_first::stride[1]]
            if not r_taps or not c_taps:
                dst[...] = 0
                continue
            offsets = [(p0 + u, q0 + v) for u in r_starts for v in c_starts]
            cols = _columns(xe, offsets, (r_count, c_count), (1, 1))
            sub = wg[:, :, :, r_taps][:, :, :, :, c_taps]
            wmat = sub.transpose(0, 2, 1, 3, 4).reshape(
                g, cog, (c_in // g) * len(r_taps) * len(c_taps))
            dst[...] = _grouped_product(wmat, cols, g).reshape(dst.shape)
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out
