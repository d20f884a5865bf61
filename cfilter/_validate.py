"""Normalise and validate user arguments: the one place that raises on input.

Everything below this layer (planning, engines, the compiled core) trusts
what it is given.
"""
import math
import numbers
import operator
import threading
from collections import OrderedDict

import numpy as np

from ._core._boundary import BoundaryMode
# The output checks live with the delivery; re-exported for the callers
# that validate an output before any work.
from ._output import check_output as check_output_array, output_dtype  # noqa: F401
from ._threads import after_fork, cpu_count, get_num_threads, threads_in_effect

# name -> mode; canonical names first so the error message lists them first.
_MODE_NAMES = {
    "reflect": BoundaryMode.REFLECT,
    "mirror": BoundaryMode.MIRROR,
    "nearest": BoundaryMode.NEAREST,
    "wrap": BoundaryMode.WRAP,
    "constant": BoundaryMode.CONSTANT,
}
CONSTANT = BoundaryMode.CONSTANT
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
METHODS = ("auto", "direct", "separable", "lowrank", "box", "fft")
PADDING_NAMES = ("same", "valid", "full")


def mode_names() -> tuple[str, ...]:
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


# Every helper below words its errors one way:
#     "[context: ]name=value must be <what is allowed>"
# with ``context`` naming the function or kernel when the parameter name
# alone is ambiguous (the kernel catalog passes the kernel's name).

def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def is_int(value):
    """Is ``value`` an integer (a bool is not)?"""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def is_pair_container(value):
    """Is ``value`` a container that may hold a pair (tuple, list, 1-D array)?"""
    return (isinstance(value, (tuple, list))
            or (isinstance(value, np.ndarray) and value.ndim == 1))


def _prefix(context):
    return f"{context}: " if context else ""


def as_int(value, name, minimum=None, *, context=None, shown=None,
           pair=False):
    """An integer parameter >= ``minimum`` (bools and floats are rejected).

    ``shown`` is the value to quote (the whole pair, for a pair's item);
    ``pair`` says the parameter also takes a pair, for the message.
    """
    shown = value if shown is None else shown
    if not is_int(value):
        what = "an int" + (" or a pair of ints" if pair else "")
        raise TypeError(f"{_prefix(context)}{name}={shown!r} must be {what}, "
                        f"not {type(value).__name__}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        each = " (each)" if pair else ""
        raise ValueError(f"{_prefix(context)}{name}={shown!r} must be >= "
                         f"{minimum}{each}")
    return value


def as_pair(value, name, minimum=1, *, context=None):
    """An int or a pair of ints, each >= ``minimum``, as a 2-tuple."""
    if is_pair_container(value):
        if len(value) != 2:
            raise ValueError(f"{_prefix(context)}{name}={value!r} must be an "
                             f"int or a pair of ints, not {len(value)} values")
        return tuple(as_int(v, name, minimum, context=context, shown=value,
                            pair=True) for v in value)
    v = as_int(value, name, minimum, context=context, pair=True)
    return (v, v)


def as_ints(value, name, ndim, minimum):
    """``value`` (an int, or a sequence of ``ndim`` ints) as an ``ndim``-tuple
    of ints >= ``minimum`` (the shape functions' lengths)."""
    items = list(value) if isinstance(value, (tuple, list, np.ndarray)) else [value]
    if len(items) == 1:
        items = items * ndim
    if len(items) != ndim or not all(is_int(v) for v in items):
        raise TypeError(f"{name}={value!r} must be an int or a sequence of "
                        f"{ndim} ints")
    items = tuple(operator.index(v) for v in items)
    if any(v < minimum for v in items):
        what = "negative" if any(v < 0 for v in items) else "zero"
        raise ValueError(f"{name}={value!r} has a {what} entry; every entry "
                         f"must be >= {minimum}")
    return items


def as_real(value, name, *, context=None, finite=False, positive=False,
            shown=None, pair=False):
    """A real scalar as a float; ``finite``/``positive`` add those checks."""
    shown = value if shown is None else shown
    if _is_bool(value) or not isinstance(value, numbers.Real):
        what = "a real number" + (" or a pair of them" if pair else "")
        raise TypeError(f"{_prefix(context)}{name}={shown!r} must be {what}, "
                        f"not {type(value).__name__}")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError(f"{_prefix(context)}{name}={shown!r} must be finite")
    if positive and not value > 0:
        each = " (each)" if pair else ""
        raise ValueError(f"{_prefix(context)}{name}={shown!r} must be > "
                         f"0{each}")
    return value


def as_real_pair(value, name, *, context=None, finite=False, positive=False):
    """A real number or a pair of them, as a 2-tuple of floats."""
    if is_pair_container(value):
        if len(value) != 2:
            raise ValueError(f"{_prefix(context)}{name}={value!r} must be a "
                             f"real number or a pair of them, not "
                             f"{len(value)} values")
        return tuple(as_real(v, name, context=context, finite=finite,
                             positive=positive, shown=value, pair=True)
                     for v in value)
    v = as_real(value, name, context=context, finite=finite,
                positive=positive, pair=True)
    return (v, v)


def as_flag(value, name, *, context=None):
    """A ``True``/``False`` parameter (numpy bools too; ints are rejected)."""
    if not _is_bool(value):
        raise TypeError(f"{_prefix(context)}{name}={value!r} must be True or "
                        f"False, not {type(value).__name__}")
    return bool(value)


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
    """An ndarray view of ``image`` (never modified), real-valued.  An
    empty image is valid: it gives an empty result, as in scipy.ndimage."""
    arr = np.asarray(image)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); cfilter filters real "
                        "images: filter the real and imaginary parts separately")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
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


def as_choice(value, name, choices, what="valid"):
    """``value`` as one of the strings ``choices`` (case and surrounding
    blanks ignored); otherwise a ValueError listing them.

    >>> as_choice(" Gaussian", "shape", ("butterworth", "gaussian"))
    'gaussian'
    """
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise ValueError(f"{name}={value!r} is not {what}; use one of: "
                     f"{', '.join(choices)}")


def normalize_method(method, choices=METHODS):
    return as_choice(method, "method", choices, "a method")


def normalize_workers(workers, default):
    """Threads for one call: ``None`` means the package default."""
    if workers is None:
        return default
    return as_int(workers, "workers", 1)


def pool_threads(workers):
    """Threads for one call of the steps that Python shares out (the
    transforms of the frequency filters and template search): ``workers``
    checked, ``None`` the package default, and no more than the CPUs
    (``workers=2**64`` or a huge ``CFILTER_NUM_THREADS`` is the CPU
    count, as for :func:`cfilter.correlate`)."""
    return min(normalize_workers(workers, get_num_threads()), cpu_count())


NAN_POLICIES = ("propagate", "ignore")


def normalize_nan_policy(nan_policy):
    """'propagate' (NaN spreads like plain arithmetic) or 'ignore'
    (normalised convolution)."""
    return as_choice(nan_policy, "nan_policy", NAN_POLICIES, "a NaN policy")


class RecentCache:
    """A cache of at most ``size`` entries that drops the least recently
    used one to make room (a hit counts as a use), shared by threads.

    Keys and values are the caller's; a value of None is never stored (it
    means "not cached").  An unhashable key raises TypeError, as a dict
    does.  A forked child starts with the cache empty and a lock of its
    own (the parent's could have been held by a thread the child does not
    have, and the entries hold the parent's thread counts)."""

    def __init__(self, size):
        self.size = size
        self._data = OrderedDict()
        self._lock = threading.Lock()
        after_fork(self._after_fork)

    def _after_fork(self):
        self._lock = threading.Lock()
        self._data = OrderedDict()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self):
        with self._lock:
            self._data.clear()

    def __contains__(self, key):
        with self._lock:
            return key in self._data

    def __len__(self):
        return len(self._data)


# Normalised options of recent calls, by the options as given (with their
# types, so that True never passes for 1) and what they are judged against:
# a repeated call skips the checks it has passed before.  Only valid
# options are stored, so every error is still raised where it is now.
OPTIONS_CACHE_SIZE = 256
_OPTIONS = RecentCache(OPTIONS_CACHE_SIZE)


def _typed(value):
    if isinstance(value, tuple):
        return (tuple,) + tuple(_typed(v) for v in value)
    return (type(value), value)


# What a NaN cval stands for in a key: every NaN is equal there (NaN !=
# NaN, and two NaN objects hash apart), and its type stays beside it.
_NAN = "nan"


def options_key(image, options, methods=METHODS):
    """A hashable key of the ``options`` of a call on ``image`` as given
    (the arguments of :class:`Request` after ``image``, in order, but
    ``methods``), with their types, so that True never passes for 1: equal
    keys are validated and normalised alike.  Hashing it raises a TypeError
    if an option is unhashable (a list, an array)."""
    output, cval = options[7], options[1]
    if isinstance(output, np.ndarray):
        options = options[:7] + (output.dtype,) + options[8:]
    types = tuple(map(type, options))
    if isinstance(cval, (float, np.floating)) and cval != cval:
        # (after the types: a str cval never shares a NaN's key)
        options = options[:1] + (_NAN,) + options[2:]
    if tuple in types:
        # A pair among the options: type its items too, so that (True, 1)
        # is never taken for (1, 1).
        options = tuple(_typed(v) for v in options)
    # ``methods`` is the callers' own tuple of names and needs no typing.
    return (image.ndim, image.dtype, get_num_threads(), types, options,
            methods)


class Request:
    """The validated, normalised arguments shared by every 2-D entry point
    (:func:`cfilter.correlate` and its kin, :func:`cfilter.conv_transpose`)."""

    def __init__(self, image, *, mode, cval, padding, stride, dilation, axes,
                 channel_axis, output, method, workers, methods=METHODS,
                 nan_policy="propagate"):
        self.image = as_image(image)
        self.output = output
        key = options_key(self.image, (mode, cval, padding, stride,
                                       dilation, axes, channel_axis, output,
                                       method, workers, nan_policy), methods)
        try:
            known = _OPTIONS.get(key)
        except TypeError:       # an array or list among the options
            key = known = None
        if known is not None:
            (self.axes, self.mode, self.cval, self.padding, self.stride,
             self.dilation, self.method, self.nthreads, self.dtype,
             self.nan_policy) = known
            self.spatial_shape = self._spatial_shape()
            return
        self.axes = spatial_axes(self.image.ndim, axes, channel_axis)
        self.mode = normalize_mode(mode)
        self.cval = as_real(cval, "cval")
        self.padding = normalize_padding(padding, 2)
        self.stride = as_pair(stride, "stride")
        self.dilation = as_pair(dilation, "dilation")
        self.method = normalize_method(method, methods)
        self.nthreads = threads_in_effect(
            normalize_workers(workers, get_num_threads()))
        self.dtype = compute_dtype(self.image.dtype, output)
        self.nan_policy = normalize_nan_policy(nan_policy)
        output_dtype(output)   # rejects a bad output type before any work
        if key is not None:
            _OPTIONS.put(key, (self.axes, self.mode, self.cval,
                               self.padding, self.stride, self.dilation,
                               self.method, self.nthreads, self.dtype,
                               self.nan_policy))
        self.spatial_shape = self._spatial_shape()

    def _spatial_shape(self):
        shape = self.image.shape
        return (shape[self.axes[0]], shape[self.axes[1]])
