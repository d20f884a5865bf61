"""Filtering in the frequency domain by a radial transfer function
(DESIGN section 8; seed 003: multiply the spectrum, transform back).

Each plane is extended by ``pad`` pixels per side with the boundary mode,
transformed with a real 2-D FFT (``scipy.fft``, single precision for
float32), multiplied by ``H(f)`` -- a function of the radial frequency
``f = sqrt(fy**2 + fx**2)`` in cycles per pixel on the extended plane's
frequency grid -- transformed back, and cropped.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._engine import scale_by_rows
from ._indexing import extend
from ._output import as_planes, deliver
from ._threads import scratch, share_out

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


def _squared_frequencies(shape, dtype):
    """``fy**2`` on the rows ``0 .. H//2`` of the ``rfft2`` grid of a plane of
    ``shape`` (the other rows repeat them: row ``k`` has the frequency of
    row ``H - k``, so only these are evaluated) and ``fx**2`` on its
    columns."""
    import scipy.fft   # here, not at the top: slow to import
    fy = np.arange(shape[0] // 2 + 1, dtype=dtype) / dtype.type(shape[0])
    fx = scipy.fft.rfftfreq(shape[1]).astype(dtype)
    return fy * fy, fx * fx


def _power(r, order):
    """``r**order``, overwriting ``r``; whole orders by repeated squaring,
    several times faster than ``np.power`` with a float exponent."""
    if order != int(order) or not 1 <= order <= 64:
        return np.power(r, order, out=r)
    n, result = int(order), None
    while True:
        if n & 1:
            if n == 1 and result is None:
                return r
            result = r.copy() if result is None else np.multiply(
                result, r, out=result)
        n >>= 1
        if not n:
            return result
        np.multiply(r, r, out=r)


def _inverse_square(c, dtype):
    """``1 / c**2`` as a ``dtype`` value, or None when it is not finite
    there (``c`` below about 5e-20 for float32, 1e-154 for float64)."""
    with np.errstate(over="ignore", divide="ignore"):
        k = 1.0 / np.float64(c) / np.float64(c)
        scaled = dtype(k)
    return scaled if np.isfinite(scaled) else None


def _butterworth(f2, c, order, high):
    """The Butterworth lowpass ``1 / (1 + (f/c)**(2*order))`` of cutoff
    ``c`` on ``f2 = f**2``, or (``high``) its complement ``1 - lowpass =
    1 / (1 + (c/f)**(2*order))``, evaluated so that nothing overflows for
    any order or cutoff: with ``p`` the ``order``-th power of ``(f/c)**2``
    below the cutoff and of ``(c/f)**2`` above it (a ratio <= 1, so ``0 <=
    p <= 1``), each side is ``1 / (1 + p)`` or ``p / (1 + p)``.  A steep
    filter's ``p`` goes to 0 away from the cutoff: it tends to the ideal
    filter (0.5 at ``f = c`` itself), never to inf / inf."""
    dtype = f2.dtype.type
    # Past 1e30 the order changes nothing (a ratio below 1 in float32 or
    # float64 raised to it is already 0), and it stays a float32 number.
    order = min(order, 1e30)
    k = _inverse_square(c, dtype)
    if k is not None:
        r = f2 * k                       # (f/c)**2
        below = r <= 1
        with np.errstate(divide="ignore"):
            np.reciprocal(r, out=r, where=~below)
        p = _power(r, order)
    else:
        # A cutoff so small that 1/c**2 is not a number here: the power
        # by logarithms, exp(-order * |log(f**2) - log(c**2)|).
        with np.errstate(divide="ignore"):
            r = np.log(f2)               # -inf at f = 0
        r -= dtype(2.0 * np.log(c))
        below = r <= 0
        np.abs(r, out=r)
        r *= dtype(-order)
        p = np.exp(r, out=r)
    q = p + 1
    # lowpass: 1/(1+p) below the cutoff, p/(1+p) above; highpass the other
    # way round
    ratio = below == high
    np.divide(p, q, out=p, where=ratio)
    np.reciprocal(q, out=p, where=~ratio)
    return p


def _profile(f2, c, shape, order, high):
    """The lowpass of cutoff ``c`` on ``f2``, or (``high``) its complement
    ``1 - lowpass``, computed without cancellation or overflow."""
    dtype = f2.dtype.type
    if shape == "butterworth":
        return _butterworth(f2, c, order, high)
    if shape == "gaussian":
        # exp(-f**2 / (2 c**2)); a cutoff whose 1/c**2 is not a number
        # here gives 1 at f = 0 and 0 elsewhere, its exact value there
        # (the largest finite factor already gives exp(-inf)'s 0).
        k = _inverse_square(c, dtype)
        k = np.finfo(dtype).max if k is None else k
        x = f2 * dtype(-0.5 * k)
        return np.negative(np.expm1(x, out=x), out=x) if high else \
            np.exp(x, out=x)
    inside = f2 > dtype(c * c) if high else f2 <= dtype(c * c)
    return inside.astype(f2.dtype)


def half_transfer(fy2, fx2, kind, filter_shape, cutoffs, order):
    """``H`` where ``f**2 = fy2 + fx2`` (rows by columns; see
    :func:`_squared_frequencies`), in their dtype."""
    f2 = np.add.outer(fy2, fx2)
    if kind in ("lowpass", "highpass"):
        return _profile(f2, cutoffs[0], filter_shape, order,
                        kind == "highpass")
    band = _profile(f2, cutoffs[0], filter_shape, order, True)
    band *= _profile(f2, cutoffs[1], filter_shape, order, False)
    if kind == "bandstop":
        np.subtract(1, band, out=band)
    return band


# Bytes of spectrum a block of columns may take: the column transform, the
# product and the inverse of a block then run in cache, where pocketfft's
# transform down whole columns of a large plane (rows kilobytes apart)
# runs about twice slower.
COLUMN_BLOCK_BYTES = 1 << 20


# Rows per block of the row transforms (:func:`row_spectra`).
ROW_BLOCK = 64


def row_spectra(rows_of, shape, n, dtype, workers):
    """The real transforms (``rfft`` of length ``n``) of the rows of ``N``
    planes of ``r`` rows, ``shape = (N, r)``, into a ``(N, r, n // 2 + 1)``
    array of complex ``dtype`` from ``_threads.scratch``: ``rows_of(c, i0,
    i1)`` gives rows ``i0:i1`` of plane ``c``.  Blocks of rows are
    transformed by ``workers`` threads, each block's small result copied
    into the scratch, whose memory is reused from call to call (a whole new
    spectrum each call is fresh memory, and its page faults cost as much
    as the transforms).  The scratch is the calling thread's: use the
    result before that thread asks for another."""
    import scipy.fft   # here, not at the top: slow to import
    N, r = shape
    spectra = scratch("spectra", (N, r, n // 2 + 1), dtype)
    blocks = [(c, i0) for c in range(N) for i0 in range(0, r, ROW_BLOCK)]

    def transform(block):
        c, i0 = block
        i1 = min(i0 + ROW_BLOCK, r)
        spectra[c, i0:i1] = scipy.fft.rfft(rows_of(c, i0, i1), n=n, axis=-1)

    share_out(transform, blocks, workers)
    return spectra


def filter_columns(rows, n0, apply, workers, out=None):
    """The column half of filtering by 2-D transforms, a block of columns
    at a time: for columns ``j0:j1`` of ``rows`` (``(N, r, K)`` complex,
    each plane's row transforms, ``r <= n0``), the column transforms
    (``fft`` of length ``n0``), ``apply(spectra, j0, j1)`` (multiplies,
    possibly in place, returns ``(M, n0, j1 - j0)``), and the inverse
    column transforms, into ``out`` (``(M, n0, K)``; ``rows`` itself when
    None, which needs ``M == N`` and ``r == n0``).  ``workers`` threads
    take the blocks one at a time; each block is computed the same way
    whoever takes it, so the result does not depend on their number.

    Each thread copies its blocks into its ``_threads.scratch`` and
    transforms them in place there (``apply`` may use the scratch too)."""
    import scipy.fft   # here, not at the top: slow to import
    if out is None:
        out = rows
    N, r, K = rows.shape
    step = max(8, COLUMN_BLOCK_BYTES // (n0 * rows.itemsize * N))
    starts = range(0, K, step)

    def blocks(j0):
        j1 = min(j0 + step, K)
        block = scratch("block", (N, n0, j1 - j0), rows.dtype)
        block[:, :r] = rows[..., j0:j1]
        block[:, r:] = 0
        spectra = scipy.fft.fft(block, axis=-2, overwrite_x=True)
        spectra = apply(spectra, j0, j1)
        out[..., j0:j1] = scipy.fft.ifft(spectra, axis=-2, overwrite_x=True)

    share_out(blocks, starts, workers)
    return out


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
    transformed back (seed 003's frequency filtering).  With ``c`` the
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
    import scipy.fft   # here, not at the top: slow to import
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
    if planes.size == 0:
        # No rows, columns or planes: an empty result of the image's shape
        # (nothing to transform, nor any spectrum to take a grid from).
        return deliver(lambda out: None, image=img, axes=axes,
                       out_lens=(H, W), work_dtype=dtype, output=output)

    def filtered():
        if pad:
            ext = scratch("frequency_ext",
                          (len(planes), H + 2 * pad, W + 2 * pad), dtype)
            for plane, e in zip(planes, ext):
                extend(plane, -pad, H + 2 * pad, -pad, W + 2 * pad, mode,
                       cval, out=e)
        else:
            ext = planes
        grid = ext.shape[1:]
        rows = row_spectra(lambda c, i0, i1: ext[c, i0:i1], ext.shape[:2],
                           grid[1], np.result_type(dtype, np.complex64),
                           nthreads)
        # Each row's first coefficient is its sum: NaN or Inf when the row
        # holds one (a scan of these few values, not of the image).
        if not np.isfinite(rows[..., 0]).all():
            raise ValueError(
                "frequency_filter cannot filter an image holding NaN or Inf "
                "(or values so large that a row's sum overflows): the "
                "transform would spread them over the whole image; fill them "
                "first (for instance with gaussian_blur(..., "
                "nan_policy='ignore'))")
        fy2, fx2 = _squared_frequencies(grid, np.dtype(dtype))

        def apply(spectra, j0, j1):
            # H for this block of columns only: it is made in cache.
            return scale_by_rows(spectra, half_transfer(
                fy2, fx2[j0:j1], kind, filter_shape, cutoffs, order))

        filter_columns(rows, grid[0], apply, nthreads)
        return scipy.fft.irfft(rows, n=grid[1], axis=-1, workers=nthreads,
                               overwrite_x=True)

    if not pad and output is None and img.ndim == 2:
        # The inverse transform is the result: no copy into a new array.
        return filtered()[0]

    def fill(out):
        out[...] = filtered()[:, pad:pad + H, pad:pad + W]

    return deliver(fill, image=img, axes=axes, out_lens=(H, W),
                   work_dtype=dtype, output=output)
