"""Normalise and validate user arguments: the one place that raises on input.

Everything below this layer (planning, engines, the compiled core) trusts
what it is given.
"""
import numbers
import operator

import numpy as np

from ._core._boundary import BoundaryMode

# name -> mode; canonical names first so the error message lists them first.
_MODE_NAMES = {
    "reflect": BoundaryMode.REFLECT,
    "mirror": BoundaryMode.MIRROR,
    "nearest": BoundaryMode.NEAREST,
    "wrap": BoundaryMode.WRAP,
    "constant": BoundaryMode.CONSTANT,
}
_MODE_ALIASES = {
    "symmetric": "reflect",
    "grid-mirror": "reflect",
    "reflect101": "mirror",
    "reflect_101": "mirror",
    "edge": "nearest",
    "replicate": "nearest",
    "circular": "wrap",
    "periodic": "wrap",
    "grid-wrap": "wrap",
    "zeros": "constant",
    "grid-constant": "constant",
}
METHODS = ("auto", "direct", "separable", "box", "fft")
PADDING_NAMES = ("same", "valid", "full")


def mode_names():
    """The canonical boundary-mode names, in documentation order.

    Every function's ``mode`` accepts these and the aliases listed in the
    user guide (``symmetric``, ``reflect101``, ``edge``, ``circular``, ...).

    Examples
    --------
    >>> import cfilter
    >>> cfilter.mode_names()
    ('reflect', 'mirror', 'nearest', 'wrap', 'constant')
    """
    return tuple(_MODE_NAMES)


def normalize_mode(mode):
    """Map a mode name or alias to its ``BoundaryMode``."""
    if isinstance(mode, BoundaryMode):
        return mode
    if isinstance(mode, str):
        key = mode.strip().lower()
        key = _MODE_ALIASES.get(key, key)
        if key in _MODE_NAMES:
            return _MODE_NAMES[key]
    aliases = ", ".join(f"{a}={c}" for a, c in _MODE_ALIASES.items())
    raise ValueError(
        f"mode={mode!r} is not a boundary mode; use one of: "
        f"{', '.join(_MODE_NAMES)} (aliases: {aliases})")


def canonical_mode_name(mode):
    """The canonical name of a mode given by name, alias or code."""
    code = normalize_mode(mode)
    return next(name for name, c in _MODE_NAMES.items() if c == code)


def as_int(value, name, minimum):
    """An integer parameter >= ``minimum`` (bools and floats are rejected)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name}={value} must be >= {minimum}")
    return value


def as_pair(value, name, minimum=1):
    """An int or a pair of ints, each >= ``minimum``, as a 2-tuple."""
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value)
        if len(items) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return tuple(as_int(v, name, minimum) for v in items)
    v = as_int(value, name, minimum)
    return (v, v)


def as_real(value, name):
    """A real scalar (used for ``cval``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _padding_error(padding, ndim):
    if ndim == 1:
        forms = "'same', 'valid', 'full', an int, or a pair (before, after)"
    else:
        forms = ("'same', 'valid', 'full', an int, a pair (ph, pw), or "
                 "((top, bottom), (left, right))")
    return ValueError(f"padding={padding!r} is not a padding; use {forms}, "
                      "all ints >= 0")


def normalize_padding(padding, ndim):
    """A padding spec as a name or as per-side ints ``((b, a),) * ndim``.

    ``ndim`` is the number of spatial axes (1 or 2).  Names are returned as
    strings; their per-side amounts depend on the kernel and are planned later.
    """
    if isinstance(padding, str):
        key = padding.strip().lower()
        if key in PADDING_NAMES:
            return key
        raise _padding_error(padding, ndim)

    def side(v):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise _padding_error(padding, ndim)
        v = operator.index(v)
        if v < 0:
            raise _padding_error(padding, ndim)
        return v

    if isinstance(padding, numbers.Integral) and not isinstance(padding, (bool, np.bool_)):
        p = side(padding)
        return ((p, p),) * ndim
    if not isinstance(padding, (tuple, list)) or len(padding) != 2:
        raise _padding_error(padding, ndim)
    if ndim == 1:
        return ((side(padding[0]), side(padding[1])),)
    per_axis = []
    for item in padding:
        if isinstance(item, (tuple, list)):
            if len(item) != 2:
                raise _padding_error(padding, ndim)
            per_axis.append((side(item[0]), side(item[1])))
        else:
            p = side(item)
            per_axis.append((p, p))
    return tuple(per_axis)


def as_image(image, name="image"):
    """An ndarray view of ``image`` (never modified), real-valued and non-empty."""
    arr = np.asarray(image)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); cfilter filters real "
                        "images: filter the real and imaginary parts separately")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def as_kernel(kernel, ndim, name="kernel"):
    """The kernel as a float64 array of exactly ``ndim`` dimensions."""
    arr = np.asarray(kernel)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); kernels must be real")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr.astype(np.float64)


def normalize_axis(value, ndim, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = operator.index(value)
    if not -ndim <= value < ndim:
        raise ValueError(f"{name}={value} is out of range for an image with "
                         f"{ndim} dimensions")
    return value % ndim


def spatial_axes(ndim, axes, channel_axis):
    """The two spatial axes (non-negative, in the order given)."""
    if channel_axis is not None:
        channel_axis = normalize_axis(channel_axis, ndim, "channel_axis")
    if axes is None:
        if ndim == 2 and channel_axis is None:
            return (0, 1)
        if ndim == 3 and channel_axis is not None:
            return tuple(a for a in range(3) if a != channel_axis)
        if channel_axis is not None:
            raise ValueError(
                f"channel_axis={channel_axis} leaves {ndim - 1} axes of a "
                f"{ndim}-D image, not 2: pass axes=(row_axis, col_axis) to say "
                "which are spatial")
        raise ValueError(
            f"cannot tell the spatial axes of a {ndim}-D image: pass "
            "channel_axis for a colour image (e.g. channel_axis=-1 for (H, W, C)) "
            "or axes=(row_axis, col_axis) for a stack of planes")
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise ValueError(f"axes must be a pair of axis numbers, got {axes!r}")
    given = axes
    axes = tuple(normalize_axis(a, ndim, "axes") for a in axes)
    if axes[0] == axes[1]:
        raise ValueError(f"axes={given!r} names the same axis twice")
    if channel_axis is not None and channel_axis in axes:
        raise ValueError(f"channel_axis={channel_axis} is one of the spatial "
                         f"axes {axes}")
    return axes


def compute_dtype(image_dtype, output):
    """The float type the engines compute in.

    float64 stays float64; float32, float16, bool and integers of up to 16
    bits compute in float32.  Wider integers compute in float64, since float32
    cannot hold them exactly.  A float64 ``output`` asks for float64 work.
    """
    out_dtype = output_dtype(output)
    if out_dtype is not None and out_dtype == np.float64:
        return np.dtype(np.float64)
    dt = np.dtype(image_dtype)
    if dt.kind == "f" and dt.itemsize >= 8:
        return np.dtype(np.float64)
    if dt.kind in "iu" and dt.itemsize > 2:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def output_dtype(output):
    """The dtype asked for by ``output`` (an array or a dtype), or None."""
    if output is None:
        return None
    dt = output.dtype if isinstance(output, np.ndarray) else _as_dtype(output)
    if dt.kind not in "iuf":
        raise TypeError(f"output dtype must be a real float or integer type, "
                        f"got {dt}")
    return dt


def _as_dtype(value):
    try:
        return np.dtype(value)
    except TypeError:
        raise TypeError(f"output must be None, a dtype or an ndarray, "
                        f"got {value!r}") from None


def check_output_array(output, shape):
    """``output`` as given, if it is an array of the result's shape."""
    if not isinstance(output, np.ndarray):
        return None
    if output.shape != tuple(shape):
        raise ValueError(f"output has shape {output.shape}, but the result has "
                         f"shape {tuple(shape)}")
    if not output.flags.writeable:
        raise ValueError("output array is read-only")
    return output


def normalize_method(method, choices=METHODS):
    if isinstance(method, str) and method.strip().lower() in choices:
        return method.strip().lower()
    raise ValueError(f"method={method!r} is not a method; use one of: "
                     f"{', '.join(choices)}")


def normalize_workers(workers, default):
    """Threads for one call: ``None`` means the package default."""
    if workers is None:
        return default
    return as_int(workers, "workers", 1)


NAN_POLICIES = ("propagate", "ignore")


def normalize_nan_policy(nan_policy):
    """'propagate' (NaN spreads like plain arithmetic) or 'ignore'
    (normalised convolution, DESIGN section 8)."""
    if isinstance(nan_policy, str) and nan_policy.strip().lower() in NAN_POLICIES:
        return nan_policy.strip().lower()
    raise ValueError(f"nan_policy={nan_policy!r} is not a NaN policy; use one "
                     f"of: {', '.join(NAN_POLICIES)}")
