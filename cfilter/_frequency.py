"""Filtering in the frequency domain by a radial transfer function:
multiply the spectrum, transform back.

Each plane is extended by ``pad`` pixels per side with the boundary mode,
transformed with a real 2-D FFT (pocketfft, in compiled code on the thread
pool, single precision for float32), multiplied by ``H(f)`` -- a function
of the radial frequency ``f = sqrt(fy**2 + fx**2)`` in cycles per pixel on
the extended plane's frequency grid, evaluated in float64 in forms that
neither overflow nor cancel (``_core/_fftconv.pyx``) -- transformed back,
and cropped.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._engine import filter_spectra
from ._output import as_planes, deliver

if TYPE_CHECKING:
    from ._typing import (Array, ArrayLike, FrequencyKind, FrequencyShape,
                          Mode, Output, RealPair)

__all__ = ["frequency_filter"]

KINDS = ("lowpass", "highpass", "bandpass", "bandstop")
SHAPES = ("butterworth", "gaussian", "ideal")


def _cutoffs(cutoff, kind):
    """``(c,)`` for low/high-pass, ``(low, high)`` for the band kinds, each
    in (0, 0.5] cycles per pixel."""
    band = kind in ("bandpass", "bandstop")
    if band:
        if (not isinstance(cutoff, (tuple, list, np.ndarray))
                or len(cutoff) != 2):
            raise ValueError(f"kind={kind!r} needs cutoff=(low, high), a pair "
                             f"of frequencies; got {cutoff!r}")
        values = tuple(V.as_real(c, "cutoff") for c in cutoff)
    else:
        if isinstance(cutoff, (tuple, list, np.ndarray)):
            raise ValueError(f"kind={kind!r} takes one cutoff frequency; got "
                             f"{cutoff!r} (a pair is for 'bandpass' and "
                             "'bandstop')")
        values = (V.as_real(cutoff, "cutoff"),)
    for c in values:
        if not 0 < c <= 0.5:
            raise ValueError(f"cutoff={cutoff!r}: each frequency must be in "
                             "(0, 0.5] cycles per pixel (0.5 is Nyquist)")
    if band and not values[0] < values[1]:
        raise ValueError(f"cutoff={cutoff!r}: the band needs low < high")
    return values


def frequency_filter(image: ArrayLike, cutoff: RealPair, *,
                     kind: FrequencyKind = "lowpass",
                     shape: FrequencyShape = "butterworth",
                     order: float = 2.0, mode: Mode = "nearest",
                     cval: float = 0.0, pad: int = 0,
                     channel_axis: int | None = None,
                     output: Output | None = None,
                     workers: int | None = None) -> Array:
    """Filter by a transfer function of the radial frequency.

    The spectrum of each (extended) plane is multiplied by ``H(f)``, ``f``
    the radial frequency in cycles per pixel (0.5 is Nyquist), and
    transformed back.  With ``c`` the
    cutoff, the lowpass shapes are

    * butterworth: ``H = 1 / (1 + (f/c)**(2*order))`` (0.5 at ``f = c``);
    * gaussian: ``H = exp(-f**2 / (2*c**2))``;
    * ideal: ``H = 1`` where ``f <= c``, else 0;

    a highpass is ``1 - lowpass(c)``, a bandpass ``lowpass(high) *
    highpass(low)`` and a bandstop ``1 - bandpass``.

    Parameters
    ----------
    image : array_like
        Real image: 2-D, or 3-D with ``channel_axis``.  Never modified.
    cutoff : float or pair of float
        The cutoff frequency in (0, 0.5] cycles per pixel; a pair
        ``(low, high)`` for 'bandpass' and 'bandstop'.
    kind : {'lowpass', 'highpass', 'bandpass', 'bandstop'}, optional
        Which frequencies pass (default 'lowpass').
    shape : {'butterworth', 'gaussian', 'ideal'}, optional
        The transfer function's profile (default 'butterworth').
    order : float, optional
        The Butterworth order (> 0, default 2): higher is steeper.
    mode : {'nearest', 'reflect', 'mirror', 'wrap', 'constant'}, optional
        How the image is extended by ``pad`` (default 'nearest', as
        scikit-image's edge padding); aliases as for :func:`cfilter.correlate`.
    cval : float, optional
        The value outside the image when ``mode='constant'`` (default 0.0).
    pad : int, optional
        Pixels added on every side before the transform and cropped after
        (default 0: the transform treats the image as periodic, so opposite
        borders bleed into each other).  A few times ``1/cutoff`` hides the
        seams.
    channel_axis : int, optional
        The axis of colour channels; each channel is filtered independently.
    output : dtype or ndarray, optional
        The result's dtype, or an array to write it into; float64 images
        give float64 and everything else float32 (as :func:`cfilter.correlate`).
        An integer output is rounded and saturated.
    workers : int, optional
        Threads for the transforms; None uses :func:`cfilter.get_num_threads`.

    Returns
    -------
    out : ndarray
        The filtered image, of the image's shape.

    Notes
    -----
    With ``kind`` 'lowpass' or 'highpass', ``shape='butterworth'`` and
    ``mode='nearest'`` this equals ``skimage.filters.butterworth(image,
    cutoff, high_pass=(kind == 'highpass'), order=order, npad=pad)``:
    scikit-image's ``cutoff_frequency_ratio`` is this ``cutoff`` (cycles per
    pixel on the padded grid), its default ``squared_butterworth=True`` is
    the ``1 / (1 + (f/c)**(2*order))`` above, and its highpass is
    ``1 - lowpass``.  Images holding NaN or Inf are refused: the transform
    would spread them over the whole plane.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> y, x = np.mgrid[:64, :64]
    >>> slow, fast = np.sin(2 * np.pi * x / 32), np.sin(2 * np.pi * x / 4)
    >>> low = cfilter.frequency_filter(slow + fast, 0.1, shape="ideal")
    >>> bool(np.allclose(low, slow))       # 1/32 passes, 1/4 is removed
    True
    >>> high = cfilter.frequency_filter(slow + fast, 0.1, kind="highpass",
    ...                                 shape="ideal")
    >>> bool(np.allclose(high, fast))
    True
    """
    img = V.as_image(image)
    axes = V.spatial_axes(img.ndim, None, channel_axis)
    kind = V.as_choice(kind, "kind", KINDS)
    filter_shape = V.as_choice(shape, "shape", SHAPES)
    cutoffs = _cutoffs(cutoff, kind)
    order = V.as_real(order, "order", finite=True, positive=True)
    mode = V.normalize_mode(mode)
    cval = V.as_real(cval, "cval")
    pad = V.as_int(pad, "pad", 0)
    nthreads = V.pool_threads(workers)
    dtype = V.compute_dtype(img.dtype, output)
    planes = as_planes(img, axes, dtype)
    H, W = planes.shape[1:]

    def fill(out):
        if not filter_spectra(planes, out, pad, mode, cval, kind,
                              filter_shape, cutoffs, order, nthreads):
            raise ValueError(
                "frequency_filter cannot filter an image holding NaN or Inf "
                "(or values so large that a row's sum overflows): the "
                "transform would spread them over the whole image; fill them "
                "first (for instance with gaussian_blur(..., "
                "nan_policy='ignore'))")

    # An empty image (no rows, columns or planes) has nothing to transform:
    # the compiled step returns at once, and the result is empty.
    return deliver(fill, image=img, axes=axes, out_lens=(H, W),
                   work_dtype=dtype, output=output)
