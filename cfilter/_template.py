"""Template search by zero-normalised cross-correlation.

The score of a window ``x`` against the template ``t`` (``n`` values each)
is their Pearson correlation::

    score = sum((x - mean x) * (t - mean t))
            / sqrt(sum((x - mean x)**2) * sum((t - mean t)**2))

Because ``t' = t - mean t`` sums to zero, the numerator is just
``correlate(x, t')``.  The planner of :func:`cfilter.correlate` picks the
method; a direct numerator is that call, an FFT one runs the FFT engine's
tiles channel by channel into the result itself, the image shifted by a
value near the data as the tiles are filled.  The window means of ``x`` and
``x**2``, the standard deviation and the division are one compiled pass
(``_engine.window_scores``): float64 moving sums, restarted so rounding does
not grow, of the image shifted by a representative value, so ``mean(x**2)
- mean(x)**2`` does not lose the variance to cancellation.  An image
holding NaN or Inf takes its means from :func:`cfilter.correlate` instead,
whose planner keeps a NaN to the windows it touches.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _validate as V
from ._api import correlate, plan
from ._engine import correlate_channels_fft, window_scores
from ._indexing import extend
from ._output import core_array
from ._shapes import conv_output_shape
from ._threads import scratch

if TYPE_CHECKING:
    from typing import Any

    from ._typing import (Array, ArrayLike, Mode, Padding,
                          TemplateMethod)

__all__ = ["match_template"]

# A window is "flat" (scores 0) when its variance is below what the
# arithmetic resolves: var <= ratio * mean((x - shift)**2) over the window,
# ``shift`` a value near the data (so a pedestal or an offset common to the
# image counts for nothing: the mean square is about the data's spread).
# The variance is the difference mean((x-s)**2) - mean(x-s)**2, whose
# rounding is a few epsilons of the mean square (not of its square: it is
# no sum of squared deviations); the float64 moving sums leave residues of
# a few 1e-15 of it (measured on flat patches of random images), so 256
# float64 epsilons keep a wide margin.  For float32 work the numerator
# itself is only good to a few float32 epsilons of its scale, so a window
# whose standard deviation is below 8 float32 epsilons of its
# root-mean-square is noise there.  (The template's own test is exact: see
# _unit_template.)
_FLAT64 = 256 * np.finfo(np.float64).eps


def _flat_ratio(dtype):
    eps = np.finfo(dtype).eps
    return max(_FLAT64, (8 * eps) ** 2)


def _spatial(image, template, channel_axis):
    """Both arrays with the channels first, ``(C, H, W)`` and ``(C, h, w)``."""
    if channel_axis is None:
        if image.ndim != 2:
            raise ValueError(
                f"image must be 2-D (got shape {image.shape}); pass "
                "channel_axis for a colour image")
        if template.ndim != 2:
            raise ValueError(
                f"template must be 2-D like the image (got shape "
                f"{template.shape})")
        return image[np.newaxis], template[np.newaxis]
    if image.ndim != 3:
        raise ValueError(f"with channel_axis, image must be 3-D (got shape "
                         f"{image.shape})")
    axis = V.normalize_axis(channel_axis, 3, "channel_axis")
    if template.ndim != 3 or template.shape[axis] != image.shape[axis]:
        raise ValueError(
            f"with channel_axis={channel_axis}, template must be 3-D with the "
            f"image's {image.shape[axis]} channels on that axis (got shape "
            f"{template.shape} for an image of shape {image.shape})")
    return np.moveaxis(image, axis, 0), np.moveaxis(template, axis, 0)


def match_template(image: ArrayLike, template: ArrayLike, *,
                   padding: Padding = "valid", mode: Mode = "constant",
                   cval: float = 0.0, channel_axis: int | None = None,
                   method: TemplateMethod = "auto",
                   workers: int | None = None) -> Array:
    """Find a template: the zero-normalised cross-correlation at every offset.

    Each score is the Pearson correlation between the template and the image
    window it covers, in ``[-1, 1]``; 1 is a perfect match up to brightness
    and contrast.  A window (or template) with no variance scores 0.

    Parameters
    ----------
    image : array_like
        Real image: 2-D, or 3-D with ``channel_axis``.  Integer images are
        accepted; never modified.
    template : array_like
        The pattern to find: 2-D, or 3-D with the image's channels on the
        same axis.  With channels a window spans all of them (one score per
        position).
    padding : {'valid', 'same', 'full'}, int, pair or per-side pairs, optional
        'valid' (default) scores windows inside the image: shape
        ``(H - h + 1, W - w + 1)``, the score at ``[i, j]`` belongs to the
        window whose top-left corner is ``(i, j)``.  'same' gives the
        image's shape, the score at ``[i, j]`` belonging to the window
        centred there (its top-left corner at ``(i - h//2, j - w//2)``, as
        ``skimage.feature.match_template(..., pad_input=True)``); the
        window's part outside the image is filled by ``mode`` and counts in
        its statistics.  Other forms pad as for :func:`cfilter.correlate`.
    mode : {'constant', 'reflect', 'mirror', 'nearest', 'wrap'}, optional
        How the image is extended where padding asks for it (default
        'constant', as scikit-image).  The names are cfilter's: numpy's and
        scikit-image's 'reflect' is 'mirror' here, their 'symmetric' is
        'reflect' (both spellings of the aliases are accepted).
    cval : float, optional
        The value outside the image when ``mode='constant'`` (default 0.0,
        scikit-image's ``constant_values``).
    channel_axis : int, optional
        The channel axis of a colour image and template.
    method : {'auto', 'direct', 'fft'}, optional
        How the numerator (the correlation with the zero-mean template) is
        computed: 'direct' sums the taps, 'fft' multiplies spectra, 'auto'
        (default) lets the planner of :func:`cfilter.correlate` pick the
        cheapest.  The window statistics always come from moving sums.
    workers : int, optional
        Threads for this call; None uses :func:`cfilter.get_num_threads`.

    Returns
    -------
    out : ndarray
        The scores, float64 for a float64 image and float32 otherwise (as
        :func:`cfilter.correlate`'s dtype rules), without a channel axis.

    Notes
    -----
    With the default 'valid' padding the result equals
    ``skimage.feature.match_template(image, template)`` and
    ``cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)``; a colour
    match equals scikit-image's 3-D match (its channel-aligned slice), while
    OpenCV's colour score removes each channel's own mean instead.

    The scores do not change when a constant is added to the image or the
    template (a camera's pedestal, data far from zero), beyond the rounding
    of the offset values themselves.  A template is flat when all its
    values are equal.  A window is flat when its variance is below ``256 *
    eps(float64)`` (float32 work: ``(8 * eps(float32))**2``) of its mean
    square about a value near the image's data, i.e. below what the
    arithmetic can tell from zero.  With ``mode='constant'`` and a NaN
    ``cval``, the windows that read the padding score NaN and the others
    keep their scores.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> image = np.random.default_rng(1).random((40, 50))
    >>> template = image[12:19, 30:35].copy()
    >>> scores = cfilter.match_template(image, template)
    >>> scores.shape
    (34, 46)
    >>> [int(i) for i in np.unravel_index(np.argmax(scores), scores.shape)]
    [12, 30]
    >>> round(float(scores.max()), 6)
    1.0
    >>> same = cfilter.match_template(image, template, padding="same")
    >>> [int(i) for i in np.unravel_index(np.argmax(same), same.shape)]
    [15, 32]
    """
    img = V.as_image(image)
    tpl = V.as_image(template, "template")
    planes, tplanes = _spatial(img, tpl, channel_axis)
    pad = V.normalize_padding(padding, 2)
    method = V.normalize_method(method, ("auto", "direct", "fft"))
    mode = V.normalize_mode(mode)
    cval = V.as_real(cval, "cval")
    if mode != V.CONSTANT:
        cval = 0.0          # (unread: a NaN given here must not matter)
    nthreads = V.pool_threads(workers)
    dtype = V.compute_dtype(img.dtype, None)
    h, w = tplanes.shape[1:]
    if h == 0 or w == 0:
        raise ValueError(f"template is empty (spatial shape {(h, w)}): it "
                         "needs at least one row and one column")
    if planes.size == 0:
        # No values (no rows, no columns or no channels): the result has
        # the shape correlate would give (an empty axis stays empty), and
        # a window without values has no variance, so it scores 0.
        shape = plan(planes, np.ones((h, w)), axes=(1, 2), mode=mode,
                     cval=0.0, padding=pad, method="direct").output_shape
        return np.zeros(shape[1:], dtype=dtype)
    if pad == "valid" and (h > planes.shape[1] or w > planes.shape[2]):
        raise ValueError(
            f"the template's spatial shape {(h, w)} is larger than the "
            f"image's {planes.shape[1:]}: with padding='valid' no window fits; "
            "use padding='same'")

    t = _unit_template(tplanes)
    if t is None:
        # A flat template correlates with nothing: every score is 0.
        return np.zeros(conv_output_shape(planes.shape[1:], (h, w), pad),
                        dtype=dtype)
    # The numerator's shift: one for every channel (the zero-mean template
    # cancels it), near the data, so the float32 rounding stays small.
    sample = planes[:, ::8, ::8]
    shift = float(np.nanmean(sample)) if np.isfinite(sample).any() else 0.0
    opts = dict(mode=mode, padding=pad, workers=nthreads)
    # The planner decides between direct and FFT, as for correlate (its
    # finite scan done once, here).
    chosen = plan(planes, t[0], axes=(1, 2), mode=mode, cval=cval - shift,
                  padding=pad, method=method, workers=nthreads)
    oh, ow = chosen.output_shape[1:]
    num: Any        # the summed numerator (the result itself for the FFT)
    if chosen.method == "fft" and np.isfinite(cval):
        # The FFT engine's tiles, channel by channel, straight into the
        # result; the shift taken off as the tiles are filled.
        num = out = np.empty((oh, ow), dtype)
        correlate_channels_fft(core_array(planes, dtype), t,
                               chosen.padding, chosen.fft_tiles,
                               mode, cval, shift, nthreads, out)

        def num_rows(i0, i1):
            return out[i0:i1]
    else:
        num = None
        for plane, tk in zip(planes, t):
            xs = np.subtract(plane, shift, dtype=dtype)
            part = correlate(xs, tk, cval=cval - shift, method=chosen.method,
                             **opts)
            num = part if num is None else np.add(num, part, out=num)
        out = num if num.flags.c_contiguous else np.empty(num.shape, dtype)

        def num_rows(i0, i1):
            return num[i0:i1]
    # (The planner picks the transform only for a finite image, having
    # scanned it: no second scan then.)
    if np.isfinite(cval) and (planes.dtype.kind in "biu"
                              or chosen.method == "fft"
                              or bool(np.isfinite(planes).all())):
        # The window statistics and the scores in one compiled pass of
        # float64 moving sums over the extended planes.
        window_scores(_stats_planes(planes, chosen.padding, mode, cval),
                      num_rows, out, h, w, shift, _flat_ratio(dtype),
                      _scale(sample, shift), nthreads)
        return out
    # NaN or Inf would spread along the moving sums: the statistics come
    # from correlate, whose planner keeps them to the windows they touch.
    # They are taken about ``shift`` too (the padding value moved with
    # them), so a pedestal does not swamp the variance; a NaN cval reaches
    # only the windows that read it.
    box = np.full((h, w), 1.0 / (h * w))
    dev = np.subtract(planes, shift, dtype=np.float64)
    m1 = correlate(dev, box, axes=(1, 2), cval=cval - shift, **opts)
    np.multiply(dev, dev, out=dev)
    m2 = correlate(dev, box, axes=(1, 2), cval=(cval - shift) ** 2, **opts)
    del dev
    # Each channel gives h*w of the n values: average the channels.
    _scores(num, m1.mean(axis=0), m2.mean(axis=0), _flat_ratio(dtype), out)
    return out


def _unit_template(tplanes):
    """The template less its mean, scaled to ``sum(t**2) == 1 / n`` (so
    only the window's standard deviation is left to divide by: the window
    statistics are means), as float64 ``(C, h, w)``; None for a flat one.

    One of its own values is taken out first and the rest divided by the
    largest difference left: the values then span [-1, 1] whatever their
    offset (a uint32 pedestal, data far from zero), and a template is flat
    exactly when all its values are equal.  Otherwise two of its values
    differ by at least 1, so the centred sum of squares is at least 1/2:
    far above its rounding (a few float64 epsilons squared), never taken
    for zero."""
    t = tplanes.astype(np.float64)
    t -= t.flat[0]
    spread = float(np.max(np.abs(t)))
    if spread == 0:
        return None
    if np.isfinite(spread):          # (NaN or Inf: NaN scores follow)
        t /= spread
    t -= t.mean()
    t /= np.sqrt(t.size * float(np.sum(t * t)))
    return t


def _scale(sample, shift):
    """A power of two near ``1 / spread`` of the sampled values about
    ``shift`` (1 when they do not spread): float32 variances times its
    square sit near 1, far from float32's limits."""
    spread = float(np.sqrt(np.mean(np.square(sample - shift,
                                             dtype=np.float64))))
    if not 0 < spread < np.inf:
        return 1.0
    return float(2.0 ** -np.round(np.log2(spread)))


def _stats_planes(planes, pads, mode, cval):
    """The planes extended by ``pads`` with ``mode``: the values every
    window covers, C-contiguous float32 or float64 (float64 when they have
    to be extended or converted)."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right) and planes.dtype in (
            np.float32, np.float64):
        return core_array(planes)
    c, H, W = planes.shape
    eh, ew = H + top + bottom, W + left + right
    ext = scratch("template_stats", (c, eh, ew), np.float64)
    for plane, e in zip(planes, ext):
        extend(plane.astype(np.float64, copy=False), -top, eh, -left, ew,
               mode, cval, out=e)
    return ext


# Elements per block of the final step: its temporaries stay in cache.
_BLOCK = 1 << 14


def _scores(num, m1, m2, flat_ratio, out):
    """``num / sqrt(m2 - m1**2)`` into ``out`` (which may be ``num``),
    clipped to [-1, 1]; 0 where the window is flat (``m1`` and ``m2`` are
    overwritten).  Rows at a time, so the six steps cost about one pass
    over memory; ``num`` may be a view with longer rows (the FFT's crop),
    read where it lies instead of copied first."""
    rows = max(1, _BLOCK // max(1, out.shape[1]))
    for start in range(0, out.shape[0], rows):
        block = slice(start, start + rows)
        o, a, var = num[block], m1[block], m2[block]
        threshold = var * flat_ratio
        np.multiply(a, a, out=a)
        var -= a
        # A flat window's deviation becomes infinite: its score is then 0.
        np.copyto(var, np.inf, where=var <= threshold)
        np.sqrt(var, out=var)
        res = out[block]
        np.divide(o, var, out=res)
        np.clip(res, -1.0, 1.0, out=res)
