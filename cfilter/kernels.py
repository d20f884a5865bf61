"""Catalog of ready-made 2-D filter kernels.

Every entry is a function that builds a fresh :class:`Kernel` on each call: a
small immutable object holding a read-only 2-D float64 ``array``, its
separable ``factors`` ``(col, row)`` when it has them (so that
``np.outer(col, row) == array``), its catalog ``name`` and the ``params`` it
was built from.  A :class:`Kernel` implements ``__array__``, so it can be
passed anywhere an array goes, and answers the array methods people reach
for (``k.sum()``, ``k.shape``, ``k.dtype``, ``k.T``, ``k[i, j]``,
``k.astype(...)``, ``k.copy()``...) with numpy results, while the kernel
itself stays immutable.

Orientation convention: kernels are given for **correlation**, as
``scipy.ndimage.correlate`` and ``cv2.filter2D`` use them, with the kernel
centre at index ``(h // 2, w // 2)``.  For example
``scipy.ndimage.correlate(x, sobel(0).array)`` equals
``scipy.ndimage.sobel(x, axis=0)``.

===========  ==============================================  ===============
entry        call                                            separable
===========  ==============================================  ===============
identity     ``identity(size=3)``                            yes
box          ``box(size)``                                   yes
gaussian     ``gaussian(sigma, truncate=4.0, radius=None)``  yes
sobel        ``sobel(axis=0)``                               yes
prewitt      ``prewitt(axis=0)``                             yes
scharr       ``scharr(axis=0)``                              yes
laplacian    ``laplacian(diagonal=False)``                   no
log          ``log(sigma, truncate=4.0, radius=None)``       no
sharpen      ``sharpen(amount=1.0)``                         no
emboss       ``emboss()``                                    no
motion_blur  ``motion_blur(length, angle=0.0)``              at 0/90 degrees
===========  ==============================================  ===============

:func:`names` lists the entries, :func:`get` builds one by name or from a spec
string such as ``"gaussian:sigma=2"`` (the same strings the command line
takes), and :func:`parse_spec` / :func:`format_spec` convert between spec
strings and ``(name, params)``.

Every invalid parameter raises :class:`ValueError` (or :class:`TypeError` for
a value of the wrong type) with a message naming the kernel, the parameter,
the value given and what is allowed, e.g. ``gaussian: sigma=-1 must be > 0``.
"""
from __future__ import annotations

import inspect
import math
import numbers
import re
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ._validate import (as_flag, as_int, as_pair, as_real, as_real_pair,
                        is_int, is_pair_container)

if TYPE_CHECKING:
    from typing import Any, Mapping

    from ._typing import ArrayLike, DTypeLike, IntPair, NDArray, RealPair

    _Factors = tuple[NDArray[np.float64], NDArray[np.float64]]  # (col, row)

__all__ = [
    "Kernel",
    "identity",
    "box",
    "gaussian",
    "sobel",
    "prewitt",
    "scharr",
    "laplacian",
    "log",
    "sharpen",
    "emboss",
    "motion_blur",
    "names",
    "get",
    "parse_spec",
    "format_spec",
]


# ---------------------------------------------------------------------------
# Kernel object
# ---------------------------------------------------------------------------

def _frozen(values):
    """Return a read-only float64 copy of `values` whose flag cannot be reset."""
    base = np.array(values, dtype=np.float64, copy=True)
    base.flags.writeable = False
    view = base.view()
    view.flags.writeable = False
    return view


class Kernel:
    """An immutable 2-D correlation kernel, optionally with separable factors.

    Parameters
    ----------
    array : array_like
        The 2-D kernel weights (real, finite, non-empty).  It is copied to a
        read-only float64 array.
    factors : tuple of two 1-D array_like, optional
        ``(col, row)`` such that ``np.outer(col, row)`` equals `array` (to
        float64 rounding).  Give it only if the kernel is separable.
    name : str, optional
        The catalog name; ``"custom"`` by default.
    params : mapping, optional
        The parameters the kernel was built from.

    Attributes
    ----------
    array : ndarray
        Read-only 2-D float64 weights.
    factors : tuple of ndarray or None
        Read-only 1-D float64 ``(col, row)`` factors, or ``None``.
    name : str
        The catalog name.
    params : mappingproxy
        Read-only view of the parameters; ``get(k.name, **k.params)`` rebuilds
        a catalog kernel.
    shape : tuple of int
        ``array.shape``.
    dtype : numpy.dtype
        ``float64``.
    ndim, size : int
        2, and the number of weights.
    T : ndarray
        The transposed weights (a read-only view).

    Notes
    -----
    Besides ``np.asarray(k)``, the array methods people reach for answer
    as numpy answers on ``k.array``, with numpy results: ``k.sum()``,
    ``k.min()``, ``k.max()``, ``k.mean()`` (with numpy's ``axis``,
    ``keepdims``... arguments), ``k[i, j]`` and slices (read-only views),
    ``len(k)`` (the rows), ``k.astype(dtype)``, ``k.copy()`` and
    ``k.tolist()`` (new, writable data).  The kernel itself never changes.

    Raises
    ------
    TypeError
        If `array` is complex, or not numeric.
    ValueError
        If `array` is not 2-D, is empty or not finite, or `factors` do not
        match it.

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter.kernels import Kernel
    >>> k = Kernel([[1, 2, 1]], factors=([1], [1, 2, 1]), name="smooth")
    >>> k.shape
    (1, 3)
    >>> k.array.flags.writeable
    False
    >>> np.asarray(k).tolist()
    [[1.0, 2.0, 1.0]]
    >>> float(k.sum()), k[0, 1], k.T.shape, len(k)
    (4.0, np.float64(2.0), (3, 1), 1)
    >>> w = k.copy()          # a writable array; k is unchanged
    >>> w[0, 0] = 9.0
    >>> float(k[0, 0])
    1.0
    """

    __slots__ = ("_array", "_factors", "_name", "_params")
    _array: NDArray[np.float64]
    _factors: _Factors | None
    _name: str
    _params: Mapping[str, Any]

    def __init__(self, array: ArrayLike,
                 factors: tuple[ArrayLike, ArrayLike] | None = None, *,
                 name: str = "custom",
                 params: Mapping[str, Any] | None = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Kernel: name={name!r} must be a str, "
                            f"not {type(name).__name__}")
        raw = np.asarray(array)
        if raw.dtype.kind == "c":
            raise TypeError(f"Kernel: array of dtype {raw.dtype} is complex; "
                            f"kernels must be real")
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"Kernel: array of dtype {raw.dtype} is not "
                            f"numeric; kernels must be real numbers")
        if raw.ndim != 2:
            raise ValueError(f"Kernel: array with shape {raw.shape} must be "
                             f"2-D")
        if raw.size == 0:
            raise ValueError(f"Kernel: array with shape {raw.shape} must not "
                             f"be empty")
        arr = _frozen(raw)
        if not np.all(np.isfinite(arr)):
            raise ValueError("Kernel: array must be finite (no NaN or inf)")
        if factors is not None:
            factors = _check_factors(factors, arr)
        object.__setattr__(self, "_array", arr)
        object.__setattr__(self, "_factors", factors)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_params",
                           MappingProxyType(dict(params or {})))

    # -- read-only attributes ------------------------------------------------
    @property
    def array(self) -> NDArray[np.float64]:
        """Read-only 2-D float64 weights."""
        return self._array

    @property
    def factors(self) -> _Factors | None:
        """``(col, row)`` read-only 1-D float64 arrays, or ``None``."""
        return self._factors

    @property
    def name(self) -> str:
        """Catalog name of the kernel."""
        return self._name

    @property
    def params(self) -> Mapping[str, Any]:
        """Read-only mapping of the parameters the kernel was built from."""
        return self._params

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``(h, w)`` of the kernel."""
        return self._array.shape

    # -- what an array answers (numpy results; the kernel never changes) ----
    @property
    def dtype(self) -> np.dtype[np.float64]:
        """``float64``, the weights' dtype."""
        return self._array.dtype

    @property
    def ndim(self) -> int:
        """2."""
        return self._array.ndim

    @property
    def size(self) -> int:
        """The number of weights."""
        return self._array.size

    @property
    def T(self) -> NDArray[np.float64]:
        """The transposed weights, a read-only view."""
        return self._array.T

    def __getitem__(self, index: Any) -> Any:
        # (views of the read-only array are read-only too)
        return self._array[index]

    def __len__(self) -> int:
        return len(self._array)

    def sum(self, *args: Any, **kwargs: Any) -> Any:
        """``np.sum`` of the weights (numpy's arguments)."""
        return self._array.sum(*args, **kwargs)

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        """``np.mean`` of the weights (numpy's arguments)."""
        return self._array.mean(*args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        """``np.min`` of the weights (numpy's arguments)."""
        return self._array.min(*args, **kwargs)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        """``np.max`` of the weights (numpy's arguments)."""
        return self._array.max(*args, **kwargs)

    def astype(self, dtype: DTypeLike, *args: Any,
               **kwargs: Any) -> NDArray[Any]:
        """The weights as ``dtype`` (numpy's ``astype``; a read-only
        float64 array when no copy is asked for and none is needed)."""
        return self._array.astype(dtype, *args, **kwargs)

    def copy(self) -> NDArray[np.float64]:
        """A writable copy of the weights (an ndarray)."""
        return self._array.copy()

    def tolist(self) -> Any:
        """The weights as nested lists of floats."""
        return self._array.tolist()

    # -- protocol --------------------------------------------------------------
    def __array__(self, dtype: DTypeLike | None = None,
                  copy: bool | None = None) -> NDArray[Any]:
        if dtype is None or np.dtype(dtype) == np.float64:
            if copy:
                return self._array.copy()
            if dtype is None or copy is False:
                return self._array
            return self._array.copy()
        if copy is False:
            raise ValueError(f"Kernel: cannot convert to dtype "
                             f"{np.dtype(dtype)} without a copy (copy=False)")
        return np.array(self._array, dtype=dtype, copy=True)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"Kernel is immutable; cannot set {attr!r}")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"Kernel is immutable; cannot delete {attr!r}")

    def __reduce__(self):
        return (_rebuild, (np.array(self._array), self._factors and
                           tuple(np.array(f) for f in self._factors),
                           self._name, dict(self._params)))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return (f"Kernel(name={self._name!r}, params={{{params}}}, "
                f"shape={self.shape}, separable={self._factors is not None})")


def _rebuild(array, factors, name, params):
    return Kernel(array, factors, name=name, params=params)


def _check_factors(factors, arr):
    if not (isinstance(factors, (tuple, list)) and len(factors) == 2):
        raise ValueError("Kernel: factors must be a pair (col, row) of 1-D "
                         "arrays")
    col, row = (_frozen(f) for f in factors)
    if col.ndim != 1 or row.ndim != 1 or (col.size, row.size) != arr.shape:
        raise ValueError(f"Kernel: factors with shapes {col.shape} and "
                         f"{row.shape} must be 1-D of lengths {arr.shape}")
    # each product col[i]*row[j] is exact to half an ulp, so a few ulps of the
    # largest product is a rounding-only bound
    scale = float(np.max(np.abs(col)) * np.max(np.abs(row)))
    tol = 4 * np.finfo(np.float64).eps * scale
    if np.max(np.abs(np.outer(col, row) - arr)) > tol:
        raise ValueError("Kernel: np.outer(*factors) does not equal array")
    return (col, row)


def _kernel(name, params, array=None, factors=None):
    """Build a catalog kernel; a separable one gets its array from factors."""
    if factors is not None:
        col = np.asarray(factors[0], dtype=np.float64)
        row = np.asarray(factors[1], dtype=np.float64)
        array = np.outer(col, row)
        factors = (col, row)
    return Kernel(array, factors, name=name, params=params)


# ---------------------------------------------------------------------------
# Parameter validation (messages: "<kernel>: <param>=<value> <what is allowed>")
# ---------------------------------------------------------------------------

def _axis(kernel, value):
    if not is_int(value):
        raise TypeError(f"{kernel}: axis={value!r} must be an int in "
                        f"(0, 1, -1, -2), not {type(value).__name__}")
    if int(value) not in (0, 1, -1, -2):
        raise ValueError(f"{kernel}: axis={value!r} must be one of "
                         f"0, 1, -1, -2")
    return int(value) % 2


def _same_form(value, pair):
    """Keep a scalar as a scalar and a pair as a tuple in ``params``."""
    return tuple(pair) if is_pair_container(value) else pair[0]


# ---------------------------------------------------------------------------
# 1-D building blocks
# ---------------------------------------------------------------------------

def _gauss1d(sigma, radius, order=0):
    """Sampled Gaussian (order 0) or its 2nd derivative (order 2), as scipy.

    The order-0 weights are ``exp(-x**2 / (2 sigma**2))`` normalised to sum 1
    on ``x = -radius..radius``; the 2nd derivative multiplies them by
    ``(x**2 - sigma**2) / sigma**4`` (the same normalised samples
    ``scipy.ndimage.gaussian_filter`` uses for ``order=2``).
    """
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    var = sigma * sigma
    phi = np.exp((-0.5 / var) * (x * x))
    phi /= phi.sum()
    if order == 0:
        return phi
    return (x * x / (var * var) - 1.0 / var) * phi


def _gauss_radius(kernel, sigma, truncate, radius):
    if radius is None:
        return tuple(int(truncate * s + 0.5) for s in sigma)
    return as_pair(radius, "radius", 0, context=kernel)


def _one_hot(n, i):
    v = np.zeros(n)
    v[i] = 1.0
    return v


# ---------------------------------------------------------------------------
# Catalog entries
# ---------------------------------------------------------------------------

def identity(size: IntPair = 3) -> Kernel:
    """Identity kernel: a single 1 at the centre.

    Parameters
    ----------
    size : int or (int, int), optional
        Kernel shape ``(h, w)``; an int means ``(size, size)``.  Each >= 1,
        odd or even.  Default 3.

    Returns
    -------
    Kernel
        Zeros with a 1 at ``(h // 2, w // 2)`` (the correlation centre);
        separable.

    Raises
    ------
    TypeError
        If `size` is not an int or a pair of ints (bools are rejected).
    ValueError
        If a size is < 1.

    Examples
    --------
    >>> from cfilter.kernels import identity
    >>> identity().array.tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    >>> identity((1, 2)).array.tolist()
    [[0.0, 1.0]]
    """
    h, w = as_pair(size, "size", 1, context="identity")
    return _kernel("identity", {"size": _same_form(size, (h, w))},
                   factors=(_one_hot(h, h // 2), _one_hot(w, w // 2)))


def box(size: IntPair) -> Kernel:
    """Box (mean) kernel normalised to sum 1.

    Parameters
    ----------
    size : int or (int, int)
        Kernel shape ``(h, w)``; an int means ``(size, size)``.  Each >= 1.

    Returns
    -------
    Kernel
        All weights ``1 / (h * w)``; factors ``(ones(h) / h, ones(w) / w)``.

    Raises
    ------
    TypeError
        If `size` is not an int or a pair of ints (bools are rejected).
    ValueError
        If a size is < 1.

    Examples
    --------
    >>> from cfilter.kernels import box
    >>> k = box(3)
    >>> k.shape
    (3, 3)
    >>> round(float(k.array.sum()), 12)
    1.0
    >>> box((1, 4)).array.tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    h, w = as_pair(size, "size", 1, context="box")
    return _kernel("box", {"size": _same_form(size, (h, w))},
                   factors=(np.full(h, 1.0 / h), np.full(w, 1.0 / w)))


def gaussian(sigma: RealPair, truncate: float = 4.0,
             radius: IntPair | None = None) -> Kernel:
    """Sampled Gaussian kernel, as ``scipy.ndimage.gaussian_filter`` uses.

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviation in pixels, > 0; a pair is ``(sigma_y, sigma_x)``.
    truncate : float, optional
        Cut the kernel off at this many standard deviations, > 0: the radius
        per axis is ``int(truncate * sigma + 0.5)``.  Default 4.0.
    radius : int or (int, int), optional
        Explicit radius per axis (>= 0); overrides `truncate`.

    Returns
    -------
    Kernel
        Shape ``(2 * ry + 1, 2 * rx + 1)``; each 1-D factor is
        ``exp(-x**2 / (2 * sigma**2))`` normalised to sum 1, so
        ``scipy.ndimage.correlate(x, gaussian(s).array, mode=m)`` equals
        ``scipy.ndimage.gaussian_filter(x, s, mode=m)``.

    Raises
    ------
    TypeError
        If a parameter has the wrong type (e.g. a string sigma).
    ValueError
        If `sigma` or `truncate` is not finite and > 0, or `radius` < 0.

    Examples
    --------
    >>> from cfilter.kernels import gaussian
    >>> gaussian(2).shape
    (17, 17)
    >>> gaussian((1, 2), truncate=2).shape
    (5, 9)
    >>> gaussian(1, radius=1).factors[0].round(4).tolist()
    [0.2741, 0.4519, 0.2741]
    """
    sig = as_real_pair(sigma, "sigma", context="gaussian", finite=True, positive=True)
    trunc = as_real(truncate, "truncate", context="gaussian", finite=True, positive=True)
    ry, rx = _gauss_radius("gaussian", sig, trunc, radius)
    params = {"sigma": _same_form(sigma, sig), "truncate": trunc,
              "radius": None if radius is None
              else _same_form(radius, (ry, rx))}
    return _kernel("gaussian", params,
                   factors=(_gauss1d(sig[0], ry), _gauss1d(sig[1], rx)))


def _gradient(name, axis, smooth):
    ax = _axis(name, axis)
    deriv = np.array([-1.0, 0.0, 1.0])
    smooth = np.asarray(smooth, dtype=np.float64)
    factors = (deriv, smooth) if ax == 0 else (smooth, deriv)
    return _kernel(name, {"axis": ax}, factors=factors)


def sobel(axis: int = 0) -> Kernel:
    """Sobel derivative kernel (unnormalised), as ``scipy.ndimage.sobel``.

    Parameters
    ----------
    axis : {0, 1, -2, -1}, optional
        Axis of the derivative: 0 (rows, y) or 1 (columns, x); negative values
        count from the end of a 2-D image.  Default 0.

    Returns
    -------
    Kernel
        Derivative ``[-1, 0, 1]`` along `axis` times smoothing ``[1, 2, 1]``
        along the other; ``scipy.ndimage.correlate(x, sobel(a).array)``
        equals ``scipy.ndimage.sobel(x, axis=a)``.

    Raises
    ------
    TypeError
        If `axis` is not an int.
    ValueError
        If `axis` is not one of 0, 1, -1, -2.

    Examples
    --------
    >>> from cfilter.kernels import sobel
    >>> sobel(0).array.tolist()
    [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]
    >>> sobel(-1).params["axis"]
    1
    """
    return _gradient("sobel", axis, [1.0, 2.0, 1.0])


def prewitt(axis: int = 0) -> Kernel:
    """Prewitt derivative kernel (unnormalised), as ``scipy.ndimage.prewitt``.

    Parameters
    ----------
    axis : {0, 1, -2, -1}, optional
        Axis of the derivative: 0 (rows, y) or 1 (columns, x).  Default 0.

    Returns
    -------
    Kernel
        Derivative ``[-1, 0, 1]`` along `axis` times ``[1, 1, 1]`` along the
        other.

    Raises
    ------
    TypeError
        If `axis` is not an int.
    ValueError
        If `axis` is not one of 0, 1, -1, -2.

    Examples
    --------
    >>> from cfilter.kernels import prewitt
    >>> prewitt(1).array.tolist()
    [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]
    """
    return _gradient("prewitt", axis, [1.0, 1.0, 1.0])


def scharr(axis: int = 0) -> Kernel:
    """Scharr derivative kernel (unnormalised), as OpenCV's ``cv2.Scharr``.

    Parameters
    ----------
    axis : {0, 1, -2, -1}, optional
        Axis of the derivative: 0 (rows, y; OpenCV ``dx=0, dy=1``) or 1
        (columns, x; ``dx=1, dy=0``).  Default 0.

    Returns
    -------
    Kernel
        Derivative ``[-1, 0, 1]`` along `axis` times ``[3, 10, 3]`` along the
        other, not normalised (as OpenCV, unlike ``skimage.filters.scharr``
        which divides by 32).

    Raises
    ------
    TypeError
        If `axis` is not an int.
    ValueError
        If `axis` is not one of 0, 1, -1, -2.

    Examples
    --------
    >>> from cfilter.kernels import scharr
    >>> scharr(0).array.tolist()
    [[-3.0, -10.0, -3.0], [0.0, 0.0, 0.0], [3.0, 10.0, 3.0]]
    """
    return _gradient("scharr", axis, [3.0, 10.0, 3.0])


def laplacian(diagonal: bool = False) -> Kernel:
    """Discrete 3x3 Laplacian.

    Parameters
    ----------
    diagonal : bool, optional
        False (default): the 4-neighbour stencil, for which correlation equals
        ``scipy.ndimage.laplace`` on a 2-D image.  True: the 8-neighbour
        stencil including the diagonals.

    Returns
    -------
    Kernel
        Not separable (``factors`` is None).

    Raises
    ------
    TypeError
        If `diagonal` is not a bool.

    Examples
    --------
    >>> from cfilter.kernels import laplacian
    >>> laplacian().array.tolist()
    [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]
    >>> laplacian(diagonal=True).array.tolist()
    [[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]]
    """
    diag = as_flag(diagonal, "diagonal", context="laplacian")
    if diag:
        arr = np.ones((3, 3))
        arr[1, 1] = -8.0
    else:
        arr = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    return _kernel("laplacian", {"diagonal": diag}, array=arr)


def log(sigma: RealPair, truncate: float = 4.0,
        radius: IntPair | None = None) -> Kernel:
    """Laplacian of Gaussian, as ``scipy.ndimage.gaussian_laplace``.

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviation in pixels, > 0; a pair is ``(sigma_y, sigma_x)``.
    truncate : float, optional
        Radius per axis is ``int(truncate * sigma + 0.5)``, > 0.  Default 4.0.
    radius : int or (int, int), optional
        Explicit radius per axis (>= 0); overrides `truncate`.

    Returns
    -------
    Kernel
        ``outer(g2_y, g_x) + outer(g_y, g2_x)`` where ``g`` is the sampled
        Gaussian of :func:`gaussian` and ``g2`` its sampled second derivative
        (scipy's ``order=2`` weights).  Not separable (``factors`` is None).

    Raises
    ------
    TypeError
        If a parameter has the wrong type.
    ValueError
        If `sigma` or `truncate` is not finite and > 0, or `radius` < 0.

    Examples
    --------
    >>> from cfilter.kernels import log
    >>> k = log(1.5)
    >>> k.shape, k.factors
    ((13, 13), None)
    >>> bool(k.array[6, 6] < 0)
    True
    """
    sig = as_real_pair(sigma, "sigma", context="log", finite=True, positive=True)
    trunc = as_real(truncate, "truncate", context="log", finite=True, positive=True)
    ry, rx = _gauss_radius("log", sig, trunc, radius)
    gy, gx = _gauss1d(sig[0], ry), _gauss1d(sig[1], rx)
    arr = (np.outer(_gauss1d(sig[0], ry, order=2), gx)
           + np.outer(gy, _gauss1d(sig[1], rx, order=2)))
    params = {"sigma": _same_form(sigma, sig), "truncate": trunc,
              "radius": None if radius is None
              else _same_form(radius, (ry, rx))}
    return _kernel("log", params, array=arr)


def sharpen(amount: float = 1.0) -> Kernel:
    """3x3 sharpening kernel ``identity + amount * (identity - box(3))``.

    Parameters
    ----------
    amount : float, optional
        Strength, any finite real (0 gives the identity, negative values
        blur).  Default 1.0.

    Returns
    -------
    Kernel
        Centre ``1 + 8 * amount / 9``, others ``-amount / 9``; the weights sum
        to 1 so flat regions are unchanged.  Not separable.

    Raises
    ------
    TypeError
        If `amount` is not a real number.
    ValueError
        If `amount` is not finite.

    Examples
    --------
    >>> from cfilter.kernels import sharpen
    >>> k = sharpen(9)
    >>> k.array.tolist()
    [[-1.0, -1.0, -1.0], [-1.0, 9.0, -1.0], [-1.0, -1.0, -1.0]]
    >>> float(k.array.sum())
    1.0
    """
    a = as_real(amount, "amount", context="sharpen", finite=True)
    arr = np.full((3, 3), -a / 9.0)
    arr[1, 1] = 1.0 + 8.0 * a / 9.0
    return _kernel("sharpen", {"amount": a}, array=arr)


def emboss() -> Kernel:
    """The classic 3x3 emboss kernel (light from the top left); sums to 1.

    Returns
    -------
    Kernel
        ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]``.  Not separable.

    Examples
    --------
    >>> from cfilter.kernels import emboss
    >>> emboss().array.tolist()
    [[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]
    """
    arr = np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    return _kernel("emboss", {}, array=arr)


def motion_blur(length: int, angle: float = 0.0) -> Kernel:
    """Linear motion blur: an equal-weight line of pixels through the centre.

    The line is a segment of Euclidean length ``length - 1`` between the
    centres of its end pixels, centred on the kernel's geometric centre
    ``((length - 1) / 2, (length - 1) / 2)``, at `angle` degrees
    counter-clockwise from horizontal (rows grow downward, so a positive angle
    rises to the right).  It is rasterised nearest-pixel (no anti-aliasing):
    ``ceil(max(|dy|, |dx|))`` equal steps along the segment, each point
    rounded to the nearest pixel, giving an 8-connected line; every pixel hit
    gets the same weight and the weights sum to 1.  A diagonal line therefore
    spans about ``length / sqrt(2)`` pixels per axis.  Ties: for an odd
    length, halves round away from the centre, so the kernel is
    point-symmetric; for an even length they round to the larger index, so
    the line at 0 or 90 degrees lies in row/column ``length // 2`` (the
    correlation centre).  `angle` and ``angle + 180`` give the same kernel.

    Parameters
    ----------
    length : int
        Length of the blur in pixels, >= 1; the kernel is
        ``(length, length)``.
    angle : float, optional
        Direction in degrees, any finite real.  Default 0.0 (horizontal).

    Returns
    -------
    Kernel
        Separable (factors given) when the line is a single row or column,
        e.g. at 0 and 90 degrees.

    Raises
    ------
    TypeError
        If `length` is not an int or `angle` not a real number.
    ValueError
        If `length` < 1 or `angle` is not finite.

    Examples
    --------
    >>> from cfilter.kernels import motion_blur
    >>> k = motion_blur(3)
    >>> k.array.round(4).tolist()
    [[0.0, 0.0, 0.0], [0.3333, 0.3333, 0.3333], [0.0, 0.0, 0.0]]
    >>> (motion_blur(5, angle=45).array > 0).astype(int).tolist()
    [[0, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]
    """
    n = as_int(length, "length", 1, context="motion_blur")
    ang = as_real(angle, "angle", context="motion_blur", finite=True)
    theta = math.radians(ang)
    dy, dx = -math.sin(theta), math.cos(theta)
    half = (n - 1) / 2.0
    # round away float noise (e.g. cos(90 deg) = 6e-17) before ceil / floor
    steps = math.ceil(round(max(abs(dy), abs(dx)) * (n - 1), 9))
    t = np.linspace(-half, half, steps + 1)

    def nearest(offset):
        offset = np.round(offset, 9)
        if n % 2:   # integer centre: halves round away from it (symmetric)
            idx = half + np.sign(offset) * np.floor(np.abs(offset) + 0.5)
        else:       # half-integer centre: halves round up, to index n // 2
            idx = np.floor(half + offset + 0.5)
        return np.clip(idx.astype(np.intp), 0, n - 1)

    rows, cols = nearest(t * dy), nearest(t * dx)
    arr = np.zeros((n, n))
    arr[rows, cols] = 1.0
    arr /= arr.sum()
    params = {"length": n, "angle": ang}
    hit_rows = np.flatnonzero(arr.any(axis=1))
    hit_cols = np.flatnonzero(arr.any(axis=0))
    if hit_rows.size == 1:
        return _kernel("motion_blur", params,
                       factors=(_one_hot(n, hit_rows[0]), arr[hit_rows[0]]))
    if hit_cols.size == 1:
        return _kernel("motion_blur", params,
                       factors=(arr[:, hit_cols[0]], _one_hot(n, hit_cols[0])))
    return _kernel("motion_blur", params, array=arr)


# ---------------------------------------------------------------------------
# Registry and spec strings
# ---------------------------------------------------------------------------

_CATALOG = MappingProxyType({
    f.__name__: f for f in (identity, box, gaussian, sobel, prewitt, scharr,
                            laplacian, log, sharpen, emboss, motion_blur)
})


def names() -> list[str]:
    """List the names of the catalog entries, sorted.

    Returns
    -------
    list of str
        The entry names, each accepted by :func:`get`.

    Examples
    --------
    >>> from cfilter.kernels import names
    >>> names()[:4]
    ['box', 'emboss', 'gaussian', 'identity']
    >>> len(names())
    11
    """
    return sorted(_CATALOG)


def _lookup(name):
    if not isinstance(name, str):
        raise TypeError(f"kernel name={name!r} must be a str, not "
                        f"{type(name).__name__}")
    key = name.strip().lower()
    if key not in _CATALOG:
        raise ValueError(f"kernel name={name!r} is not in the catalog; use "
                         f"one of: {', '.join(names())}")
    return key, _CATALOG[key]


def get(name: str, /, **params: Any) -> Kernel:
    """Build a catalog kernel by name or from a spec string.

    Parameters
    ----------
    name : str
        An entry of :func:`names` (case-insensitive), or a spec string
        ``"name:key=value,..."`` as parsed by :func:`parse_spec`.
    **params
        Parameters of the entry.  They are merged with those of a spec
        string; giving the same parameter in both is a ``ValueError`` (no
        silent override).

    Returns
    -------
    Kernel
        A freshly built kernel.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists :func:`names`), a parameter
        is unknown or missing (the message lists the entry's parameters), a
        parameter is given twice, the spec string is malformed, or a value is
        invalid.
    TypeError
        If a value has the wrong type.

    Examples
    --------
    >>> from cfilter.kernels import get
    >>> get("gaussian:sigma=2").shape
    (17, 17)
    >>> get("gaussian:sigma=1x2,truncate=2").shape
    (5, 9)
    >>> get("sobel", axis=1).params["axis"]
    1
    >>> get("motion_blur:length=9", angle=30).params["angle"]
    30.0
    """
    spec_name, spec_params = parse_spec(name)
    both = sorted(set(spec_params) & set(params))
    if both:
        raise ValueError(f"get: parameter(s) {', '.join(both)} given both in "
                         f"the spec {name!r} and as keywords; give each once")
    merged = {**spec_params, **params}
    key, func = _lookup(spec_name)
    sig = inspect.signature(func)
    valid = list(sig.parameters)
    shown = ", ".join(valid) if valid else "(none)"
    unknown = [p for p in merged if p not in sig.parameters]
    if unknown:
        raise ValueError(f"{key}: unknown parameter(s) "
                         f"{', '.join(map(repr, unknown))}; valid parameters: "
                         f"{shown}")
    missing = [p for p, v in sig.parameters.items()
               if v.default is inspect.Parameter.empty and p not in merged]
    if missing:
        raise ValueError(f"{key}: missing required parameter(s) "
                         f"{', '.join(map(repr, missing))}; valid parameters: "
                         f"{shown}")
    return func(**merged)


_INT_RE = re.compile(r"[+-]?\d+")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _scalar(text):
    """Convert one scalar spec value: int, float, bool, None, else str."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    if _INT_RE.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _number(text):
    value = _scalar(text.strip())
    return value if isinstance(value, (int, float)) and \
        not isinstance(value, bool) else None


def _value(text, spec, key):
    if not text:
        raise ValueError(f"spec {spec!r}: parameter {key!r} has no value")
    if text[0] in "([" or text[-1] in ")]":
        if (text[0], text[-1]) not in (("(", ")"), ("[", "]")):
            raise ValueError(f"spec {spec!r}: {key}={text} has unbalanced "
                             f"brackets")
        items = [s.strip() for s in text[1:-1].split(",")]
        if any(not s for s in items):
            raise ValueError(f"spec {spec!r}: {key}={text} has an empty "
                             f"item; write pairs as (2,3) or 2x3")
        return tuple(_scalar(s) for s in items)
    parts = text.lower().split("x")
    if len(parts) == 2:
        pair = tuple(_number(p) for p in parts)
        if None not in pair:
            return pair
    return _scalar(text)


def _split_top(text):
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse a kernel spec string ``"name[:key=value,...]"``.

    Values are converted as follows: ``true``/``false`` (any case) to bool,
    ``none`` to None, integers to int, other numbers to float, pairs written
    ``2x3``, ``(2,3)`` or ``[2,3]`` to a tuple of those; anything else stays a
    str (and is rejected by the entry's own validation).  Whitespace around
    names, keys and values is ignored.  The name is returned as written
    (:func:`get` matches it case-insensitively).

    Parameters
    ----------
    spec : str
        For example ``"gaussian:sigma=2"``, ``"box:size=3x5"``,
        ``"motion_blur:length=9,angle=30"`` or ``"emboss"``.

    Returns
    -------
    name : str
        The kernel name, stripped of surrounding whitespace.
    params : dict
        Parameter names mapped to converted values, in spec order.

    Raises
    ------
    TypeError
        If `spec` is not a str.
    ValueError
        If the name is empty, an item has no ``=``, a key is not an
        identifier or is repeated, a value is empty, or brackets do not
        balance.

    See Also
    --------
    format_spec : The inverse.

    Examples
    --------
    >>> from cfilter.kernels import parse_spec
    >>> parse_spec("gaussian:sigma=2x3,truncate=3.5")
    ('gaussian', {'sigma': (2, 3), 'truncate': 3.5})
    >>> parse_spec("laplacian: diagonal = true")
    ('laplacian', {'diagonal': True})
    >>> parse_spec("box:size=(3, 5)")
    ('box', {'size': (3, 5)})
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec={spec!r} must be a str, not "
                        f"{type(spec).__name__}")
    name, sep, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise ValueError(f"spec {spec!r} has no kernel name; write "
                         f"'name[:key=value,...]'")
    params: dict[str, Any] = {}
    if not rest.strip():
        return name, params
    if rest.count("(") + rest.count("[") != rest.count(")") + rest.count("]"):
        raise ValueError(f"spec {spec!r} has unbalanced brackets")
    for item in _split_top(rest):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"spec {spec!r}: item {item.strip()!r} is not "
                             f"key=value")
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"spec {spec!r}: {key!r} is not a parameter "
                             f"name")
        if key in params:
            raise ValueError(f"spec {spec!r}: parameter {key!r} is given "
                             f"twice")
        params[key] = _value(text.strip(), spec, key)
    return name, params


def _format_value(value, name, key):
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if is_pair_container(value):
        return "(" + ",".join(_format_value(v, name, key) for v in value) + ")"
    if isinstance(value, str) and value and not re.search(r"[,:=()\[\]]",
                                                          value):
        return value
    raise ValueError(f"format_spec: {name}: {key}={value!r} cannot be "
                     f"written in a spec string")


def format_spec(name: str,
                params: Mapping[str, Any] | None = None) -> str:
    """Write ``name`` and ``params`` as a spec string that :func:`parse_spec` reads.

    Parameters
    ----------
    name : str
        Kernel name.
    params : mapping, optional
        Parameter values: int, float, bool, None, simple str, or tuples of
        those (written ``(a,b)``).

    Returns
    -------
    str
        ``"name"`` or ``"name:key=value,..."``.

    Raises
    ------
    ValueError
        If a value cannot be written (e.g. a str containing ``,`` or ``=``).

    Examples
    --------
    >>> from cfilter.kernels import format_spec, gaussian
    >>> k = gaussian((2, 3))
    >>> format_spec(k.name, k.params)
    'gaussian:sigma=(2.0,3.0),truncate=4.0,radius=none'
    >>> format_spec("emboss")
    'emboss'
    """
    params = dict(params or {})
    if not params:
        return name
    body = ",".join(f"{k}={_format_value(v, name, k)}"
                    for k, v in params.items())
    return f"{name}:{body}"
