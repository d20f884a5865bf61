"""Parameter text shared by the public docstrings, filled in from one place.

A docstring names a shared entry as ``%(name)s``; :func:`docfiller` substitutes
it, so a parameter is described the same way everywhere.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    # (the decorated function keeps its signature for type checkers)
    _F = TypeVar("_F", bound=Callable[..., Any])

_mode = """\
mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}, optional
    How the image is extended beyond its border (default 'reflect'):

    ========  ======================  =================================
    mode      picture (``abcd``)      also known as
    ========  ======================  =================================
    reflect   ``dcba|abcd|dcba``      symmetric, grid-mirror; OpenCV
                                      BORDER_REFLECT
    mirror    ``dcb|abcd|cba``        reflect101, reflect_101; numpy.pad
                                      'reflect'; OpenCV BORDER_REFLECT_101
    nearest   ``aaa|abcd|ddd``        edge, replicate
    wrap      ``bcd|abcd|abc``        circular, periodic, grid-wrap
    constant  ``kkk|abcd|kkk``        zeros, grid-constant (``k = cval``)
    ========  ======================  =================================

    Padding wider than the image keeps following the mode, as numpy.pad
    does (reflect and mirror bounce back and forth, wrap tiles)."""

_cval = """\
cval : float, optional
    The value outside the image when ``mode='constant'`` (default 0.0)."""

_padding = """\
padding : {'same', 'valid', 'full'}, int, pair or per-side pairs, optional
    Extension of the image before the kernel slides over it (default
    'same'). 'same' keeps the image's shape at stride 1 (and matches
    scipy.ndimage); 'valid' adds nothing; 'full' adds the kernel's reach
    ``d*(k-1)`` on each side.  An int pads every side by that much, a pair
    ``(ph, pw)`` pads rows and columns, and ``((top, bottom), (left, right))``
    gives each side.  The padded values follow ``mode``."""

_padding1d = """\
padding : {'same', 'valid', 'full'}, int or pair, optional
    As for :func:`cfilter.correlate`, along ``axis`` only: an int pads both
    ends, ``(before, after)`` each end (default 'same')."""

_stride = """\
stride : int or pair of int, optional
    Step between output pixels, per axis (default 1).  Only the kept pixels
    are computed; with 'same' padding the result is the stride-1 result
    ``[::sy, ::sx]``."""

_stride_transposed = """\
stride : int or pair of int, optional
    The forward call's stride, per axis (default 1): each input pixel
    stamps the kernel ``stride`` pixels after the previous one, so the
    result is about ``stride`` times larger per axis (upsampling)."""

_dilation = """\
dilation : int or pair of int, optional
    Spacing between kernel taps, per axis (default 1): a dilated kernel of
    size ``k`` reaches ``d*(k-1) + 1`` pixels."""

_axes = """\
axes : pair of int, optional
    The two spatial axes.  None means ``(0, 1)`` for a 2-D image and the two
    non-channel axes of a 3-D image with ``channel_axis``; other inputs must
    name them.  Every other axis indexes independent planes.  The kernel's
    axis 0 runs along ``axes[0]`` and its axis 1 along ``axes[1]``, in the
    order given (scipy.ndimage lays it along the lower-numbered axis first,
    so the two differ for decreasing axes such as ``(1, 0)``)."""

_channel_axis = """\
channel_axis : int, optional
    The axis of colour channels, as in scikit-image; each channel is
    filtered independently."""

_output = """\
output : dtype or ndarray, optional
    The result's dtype, or an array to write it into (its shape must be the
    result's; it is returned).  By default float64 images give float64 and
    every other input gives float32 (integers wider than 16 bits give
    float64).  An integer output is rounded to nearest (``np.rint``) and
    saturated to the dtype's range.  A float64 output makes the computation
    run in float64."""

_workers = """\
workers : int, optional
    Threads for this call; None uses :func:`cfilter.get_num_threads`.  The
    GIL is released while computing."""

_method = """\
method : {'auto', 'direct', 'separable', 'box', 'fft'}, optional
    The engine (default 'auto').  'direct' sums every tap; 'separable' runs
    a column pass and a row pass and needs a kernel of rank 1 (an outer
    product); 'box' keeps moving sums, O(1) per pixel whatever the size, and
    needs all weights equal and dilation 1; 'fft' multiplies spectra tile by
    tile (the convolution theorem), fastest for large kernels.  Box and fft
    refuse images holding NaN or Inf, which they would spread (with
    ``nan_policy='ignore'`` NaN is no obstacle, only Inf).  'auto' picks
    the cheapest that applies by a cost model (see :func:`cfilter.plan`).
    Every method gives the same result to float tolerance."""

_nan_policy = """\
nan_policy : {'propagate', 'ignore'}, optional
    'propagate' (default): NaN spreads to every output whose kernel touches
    it, like plain arithmetic.  'ignore': normalised convolution, NaN pixels
    are left out and the remaining weights rescaled,
    ``sum_valid(w*x) * sum(w) / sum_valid(w)``; the result is NaN only where
    no weight is valid.  Values the mode supplies outside the image are
    valid (``cval`` too) unless they copy a NaN.  See the user guide,
    "Missing data"."""

_returns = """\
out : ndarray
    The filtered image: the input's shape with the spatial axes' lengths
    given by ``floor((n + p_before + p_after - (d*(k-1) + 1)) / s) + 1``."""

DOCDICT = {
    "mode": _mode, "cval": _cval, "padding": _padding, "padding1d": _padding1d,
    "stride": _stride, "stride_transposed": _stride_transposed,
    "dilation": _dilation, "axes": _axes,
    "channel_axis": _channel_axis, "output": _output, "workers": _workers,
    "method": _method, "returns": _returns, "nan_policy": _nan_policy,
}


def docfiller(func: _F) -> _F:
    """Fill ``%(name)s`` entries of ``func.__doc__`` from :data:`DOCDICT`,
    indented like the line they stand on."""
    doc = func.__doc__
    lines = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("%(") and stripped.endswith(")s"):
            indent = line[: len(line) - len(line.lstrip())]
            key = stripped[2:-2]
            lines.append(textwrap.indent(DOCDICT[key], indent))
        else:
            lines.append(line)
    func.__doc__ = "\n".join(lines)
    return func
