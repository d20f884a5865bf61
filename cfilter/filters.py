"""Named filters: catalog kernels applied with :func:`cfilter.correlate`.

Each filter takes the core keywords of :func:`cfilter.correlate` and passes
them on; the filters that combine several responses (gradient magnitude,
unsharp masking) combine them in floating point and cast once at the end.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from . import kernels
from ._api import correlate
from ._docstrings import docfiller
from ._output import deliver_array, output_dtype
from ._validate import as_image, as_pair, as_real, spatial_axes

if TYPE_CHECKING:
    from typing import Protocol

    from ._typing import (Array, ArrayLike, Axes, IntPair, Method, Mode,
                          NanPolicy, Output, RealPair)

    class _GradientFilter(Protocol):
        """The signature of :func:`sobel`, :func:`prewitt` and
        :func:`scharr`."""

        def __call__(self, image: ArrayLike, axis: int | None = None, *,
                     mode: Mode = ..., cval: float = ...,
                     stride: IntPair = ..., axes: Axes | None = ...,
                     channel_axis: int | None = ...,
                     output: Output | None = ...,
                     workers: int | None = ...) -> Array: ...

__all__ = ["gaussian_blur", "box_blur", "sobel", "prewitt", "scharr",
           "laplace", "sharpen", "unsharp_mask"]


@functools.lru_cache(maxsize=128)
def _cached_kernel(factory, *args, **params):
    return factory(*args, **params)


def _kernel(factory, *args, **params):
    """``factory(*args, **params)``, built once per distinct arguments:
    kernels are immutable, and building one (weights, factors, checks)
    cost more than filtering a small image."""
    try:
        return _cached_kernel(factory, *args, **params)
    except TypeError:           # unhashable arguments (a list for a pair)
        return factory(*args, **params)


def _float_output(output):
    """The ``output`` to ask of the intermediate responses: a float dtype."""
    wanted = output_dtype(output)
    if wanted is not None and wanted == np.float64:
        return np.float64
    return None


@docfiller
def gaussian_blur(image: ArrayLike, sigma: RealPair, *, truncate: float = 4.0,
                  radius: IntPair | None = None, mode: Mode = "reflect",
                  cval: float = 0.0, stride: IntPair = 1,
                  axes: Axes | None = None, channel_axis: int | None = None,
                  output: Output | None = None, method: Method = "auto",
                  workers: int | None = None,
                  nan_policy: NanPolicy = "propagate") -> Array:
    """Blur with a Gaussian of standard deviation ``sigma`` (pixels).

    Equals ``scipy.ndimage.gaussian_filter`` over the two spatial axes; the
    kernel is :func:`cfilter.kernels.gaussian`, run as two 1-D passes.

    Parameters
    ----------
    image : array_like
        Real image (2-D, or with ``channel_axis``/``axes``).
    sigma : float or pair of float
        Standard deviation along (rows, columns), > 0.
    truncate : float, optional
        The kernel's radius in sigmas: ``int(truncate * sigma + 0.5)``.
    radius : int or pair of int, optional
        The kernel's radius in pixels, instead of ``truncate``.
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(method)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        The blurred image.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> from scipy import ndimage
    >>> image = np.random.default_rng(0).random((32, 48))
    >>> np.allclose(cfilter.gaussian_blur(image, 2),
    ...             ndimage.gaussian_filter(image, 2))
    True
    """
    kernel = _kernel(kernels.gaussian, sigma, truncate=truncate,
                     radius=radius)
    return correlate(image, kernel, mode=mode, cval=cval, stride=stride,
                     axes=axes, channel_axis=channel_axis, output=output,
                     method=method, workers=workers, nan_policy=nan_policy)


@docfiller
def box_blur(image: ArrayLike, size: IntPair, *, mode: Mode = "reflect",
             cval: float = 0.0, stride: IntPair = 1, axes: Axes | None = None,
             channel_axis: int | None = None, output: Output | None = None,
             method: Method = "auto", workers: int | None = None,
             nan_policy: NanPolicy = "propagate") -> Array:
    """Mean over a ``size`` window: equals ``scipy.ndimage.uniform_filter``.

    'auto' uses moving sums (O(1) per pixel) when that is cheapest.

    Parameters
    ----------
    image : array_like
        Real image.
    size : int or pair of int
        Window height and width, >= 1.
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(method)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        The blurred image.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> cfilter.box_blur(np.eye(3), 3, mode="constant") * 9
    array([[2., 2., 1.],
           [2., 3., 2.],
           [1., 2., 2.]])
    """
    return correlate(image, _kernel(kernels.box, size), mode=mode, cval=cval,
                     stride=stride, axes=axes, channel_axis=channel_axis,
                     output=output, method=method, workers=workers,
                     nan_policy=nan_policy)


def _gradient(kernel_of, image, axis, mode, cval, stride, axes,
              channel_axis, output, workers):
    opts = dict(mode=mode, cval=cval, stride=stride, axes=axes,
                channel_axis=channel_axis, workers=workers)
    if axis is not None:
        return correlate(image, _kernel(kernel_of, axis), output=output,
                         **opts)
    work = _float_output(output)
    gy = correlate(image, _kernel(kernel_of, 0), output=work, **opts)
    gx = correlate(image, _kernel(kernel_of, 1), output=work, **opts)
    return deliver_array(np.hypot(gy, gx, out=gy), output)


_GRADIENT_DOC = """Image gradient with the {title} operator.

    ``axis`` 0 differentiates down the rows (and smooths along them), as
    ``scipy.ndimage.{name}(image, axis=0)``; ``axis=None`` gives the gradient
    magnitude ``hypot(g0, g1)``, unnormalised.

    Parameters
    ----------
    image : array_like
        Real image.
    axis : {{0, 1, None}}, optional
        The spatial axis to differentiate, or None for the magnitude.
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(workers)s

    Returns
    -------
    out : ndarray
        The derivative, or the gradient magnitude.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> ramp = np.tile(np.arange(5.0), (4, 1))     # grows along axis 1
    >>> float(cfilter.{name}(ramp, axis=1)[1, 2]), float(cfilter.{name}(ramp, axis=0)[1, 2])
    ({slope}, 0.0)
    """


def _make_gradient(name: str, title: str, slope: str) -> _GradientFilter:
    kernel_of = getattr(kernels, name)

    def gradient(image: ArrayLike, axis: int | None = None, *,
                 mode: Mode = "reflect", cval: float = 0.0,
                 stride: IntPair = 1, axes: Axes | None = None,
                 channel_axis: int | None = None,
                 output: Output | None = None,
                 workers: int | None = None) -> Array:
        return _gradient(kernel_of, image, axis, mode, cval, stride, axes,
                         channel_axis, output, workers)

    gradient.__name__ = gradient.__qualname__ = name
    gradient.__module__ = __name__
    gradient.__doc__ = _GRADIENT_DOC.format(name=name, title=title, slope=slope)
    return docfiller(gradient)


sobel = _make_gradient("sobel", "Sobel", "8.0")
prewitt = _make_gradient("prewitt", "Prewitt", "6.0")
scharr = _make_gradient("scharr", "Scharr", "32.0")


@docfiller
def laplace(image: ArrayLike, *, diagonal: bool = False,
            mode: Mode = "reflect", cval: float = 0.0, stride: IntPair = 1,
            axes: Axes | None = None, channel_axis: int | None = None,
            output: Output | None = None,
            workers: int | None = None) -> Array:
    """The discrete Laplacian: equals ``scipy.ndimage.laplace`` in 2-D.

    Parameters
    ----------
    image : array_like
        Real image.
    diagonal : bool, optional
        Use the 8-neighbour kernel ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``
        instead of the 4-neighbour one.
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(workers)s

    Returns
    -------
    out : ndarray
        The Laplacian.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> bowl = np.add.outer(np.arange(5.0) ** 2, np.arange(5.0) ** 2)
    >>> float(cfilter.laplace(bowl)[2, 2])
    4.0
    """
    return correlate(image, _kernel(kernels.laplacian, diagonal=diagonal),
                     mode=mode, cval=cval, stride=stride, axes=axes,
                     channel_axis=channel_axis, output=output,
                     workers=workers)


@docfiller
def sharpen(image: ArrayLike, amount: float = 1.0, *, mode: Mode = "reflect",
            cval: float = 0.0, stride: IntPair = 1, axes: Axes | None = None,
            channel_axis: int | None = None, output: Output | None = None,
            workers: int | None = None) -> Array:
    """Sharpen with the 3x3 kernel ``identity + amount * (identity - box3)``.

    The kernel sums to 1, so flat regions are unchanged.

    Parameters
    ----------
    image : array_like
        Real image.
    amount : float, optional
        Strength (default 1.0).
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(workers)s

    Returns
    -------
    out : ndarray
        The sharpened image (not clipped unless ``output`` is an integer type).

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> bool(np.allclose(cfilter.sharpen(np.full((4, 4), 7.0)), 7.0))
    True
    """
    return correlate(image, _kernel(kernels.sharpen, amount), mode=mode,
                     cval=cval, stride=stride, axes=axes,
                     channel_axis=channel_axis, output=output,
                     workers=workers)


@docfiller
def unsharp_mask(image: ArrayLike, sigma: RealPair, amount: float = 1.0, *,
                 truncate: float = 4.0, mode: Mode = "reflect",
                 cval: float = 0.0, stride: IntPair = 1,
                 axes: Axes | None = None, channel_axis: int | None = None,
                 output: Output | None = None, workers: int | None = None,
                 nan_policy: NanPolicy = "propagate") -> Array:
    """``image + amount * (image - gaussian_blur(image, sigma))``.

    Computed in floating point and not clipped for a float output; an
    integer ``output`` is rounded and saturated once, at the end.  With a
    stride the image term is the image sampled at the same pixels.

    Parameters
    ----------
    image : array_like
        Real image.
    sigma : float or pair of float
        The blur's standard deviation, > 0.
    amount : float, optional
        Strength (default 1.0).
    truncate : float, optional
        The blur kernel's radius in sigmas.
    %(mode)s
    %(cval)s
    %(stride)s
    %(axes)s
    %(channel_axis)s
    %(output)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        The sharpened image.

    Examples
    --------
    >>> import numpy as np, cfilter
    >>> edge = np.repeat([[0.0] * 4 + [1.0] * 4], 3, axis=0)
    >>> out = cfilter.unsharp_mask(edge, 1.0, amount=2.0)
    >>> bool(out.max() > 1.0), bool(out.min() < 0.0)    # overshoot both sides
    (True, True)
    """
    amount = as_real(amount, "amount")
    blurred = gaussian_blur(image, sigma, truncate=truncate, mode=mode,
                            cval=cval, stride=stride, axes=axes,
                            channel_axis=channel_axis,
                            output=_float_output(output), workers=workers,
                            nan_policy=nan_policy)
    # The image term at the pixels the stride kept, in the blur's dtype.
    base = np.asarray(as_image(image), dtype=blurred.dtype)
    index = [slice(None)] * base.ndim
    for axis, step in zip(spatial_axes(base.ndim, axes, channel_axis),
                          as_pair(stride, "stride")):
        index[axis] = slice(None, None, step)
    base = base[tuple(index)]
    result = base + amount * (base - blurred)
    return deliver_array(result.astype(blurred.dtype, copy=False), output)

