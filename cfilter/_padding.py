"""Padding resolution and output lengths, forward and transposed.

The one place that turns a normalised padding spec (a name, or per-side
ints from ``_validate.normalize_padding``) into per-side amounts, and that
computes the output length of an axis, with one wording for "the kernel
does not fit".  Used by the planner, the shape functions, the transpose,
the matrix view and ``cfilter.nn``.

Per axis, with input length ``n``, kernel length ``k``, stride ``s``,
dilation ``d`` and padding ``b``/``a``:

    forward     o  = floor((n + b + a - (d*(k-1) + 1)) / s) + 1
    transposed  o' = s*(n - 1) + d*(k-1) + 1 - b - a + output_padding
"""

__all__ = ["padding_amounts", "resolve_padding", "output_length",
           "forward_lengths", "transposed_lengths", "kernel_fit_error"]


def padding_amounts(padding, k, d, *, convolve=False):
    """Per-side ``(before, after)`` padding for one axis of a kernel of
    length ``k`` and dilation ``d``.

    ``padding`` is a name or an already per-side ``(before, after)`` pair.
    Convolution centres an even kernel one tap earlier than correlation, as
    scipy.ndimage does, so that convolve is correlate with the flipped kernel.
    """
    if padding == "valid":
        return (0, 0)
    reach = d * (k - 1)
    if padding == "full":
        return (reach, reach)
    if padding == "same":
        before = d * ((k - 1) // 2) if convolve else d * (k // 2)
        return (before, reach - before)
    return tuple(padding)


def resolve_padding(spec, kshape, dilation, *, convolve=False):
    """Per-side ``((b, a), ...)`` for every axis of a normalised ``spec``."""
    return tuple(
        padding_amounts(spec if isinstance(spec, str) else spec[axis], k, d,
                        convolve=convolve)
        for axis, (k, d) in enumerate(zip(kshape, dilation)))


def output_length(n, before, after, k, s, d):
    """floor((n + before + after - (d*(k-1) + 1)) / s) + 1, or 0 if none fit."""
    span = n + before + after - (d * (k - 1) + 1)
    return span // s + 1 if span >= 0 else 0


def kernel_fit_error(where, n, k, d, before, after, name=None):
    """The ValueError for a kernel that reaches beyond the padded input
    along ``where`` (e.g. "axis 0"); ``name`` prefixes the parameter."""
    prefix = f"{name}: " if name else ""
    return ValueError(
        f"{prefix}the kernel reaches {d * (k - 1) + 1} pixels along {where} "
        f"(size {k}, dilation {d}), more than the padded input's "
        f"{n + before + after} ({n} + padding {before} + {after}), so the "
        "output would be empty; use more padding or padding='same'")


def forward_lengths(lengths, kshape, pads, stride, dilation, *, where=None,
                    name=None):
    """Forward output lengths per axis; :func:`kernel_fit_error` when the
    kernel does not fit.  ``where`` names the axes in the message (default
    "axis 0", "axis 1", ...).  An empty input axis gives an empty output
    axis, as scipy.ndimage gives (there is nothing for any padding to
    extend)."""
    out = []
    for axis, (n, k, (b, a), s, d) in enumerate(
            zip(lengths, kshape, pads, stride, dilation)):
        if n == 0:
            out.append(0)
            continue
        o = output_length(n, b, a, k, s, d)
        if o < 1:
            label = where[axis] if where is not None else f"axis {axis}"
            raise kernel_fit_error(label, n, k, d, b, a, name)
        out.append(o)
    return tuple(out)


def transposed_lengths(lengths, kshape, pads, stride, dilation, op):
    """Transposed output lengths; a ValueError when the padding removes the
    whole output."""
    out = []
    for axis, (n, k, (b, a), s, d, extra) in enumerate(
            zip(lengths, kshape, pads, stride, dilation, op)):
        full = s * (n - 1) + d * (k - 1) + 1 + extra
        o = full - b - a
        if o < 1:
            raise ValueError(
                f"padding: along axis {axis} the padding ({b} + {a}) removes "
                f"the whole transposed output of length {full} "
                f"(= stride*(n-1) + dilation*(k-1) + 1 + output_padding)")
        out.append(o)
    return tuple(out)
