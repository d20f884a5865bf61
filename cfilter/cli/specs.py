"""``-f`` specs: from text to filter steps, and the chain over one image.

A spec is ``name[:key=value,...]`` (see :func:`cfilter.kernels.get`) or
``file:PATH``.  A name that is also a named filter means that filter:
``sobel``/``prewitt``/``scharr`` without ``axis`` (or with ``axis=none``)
are the gradient magnitude (:func:`cfilter.sobel`), ``laplace`` is
:func:`cfilter.laplace` (the catalog calls its kernel ``laplacian``; both
names work), ``unsharp_mask`` is :func:`cfilter.unsharp_mask`.  Every step
runs through a public function of :mod:`cfilter`, which also casts the last
result into the output dtype (rounded and saturated).

A ``file:`` kernel is read once, by :func:`resolve` in the process that
parses the command line; what travels to the workers is a
:class:`FileKernel` holding its weights and their digest, so a worker never
opens the file (a relative path means nothing on another machine) and a
kernel file changed between two runs in one process is never taken from a
cache under its old weights.
"""
import hashlib
import inspect
import math
import numbers
from pathlib import Path

import numpy as np

import cfilter
from cfilter import kernels
from cfilter._validate import as_real

__all__ = ["UsageError", "Step", "FileKernel", "resolve", "recipe_entry",
           "step_key", "load_kernel", "load_step", "filter_image",
           "run_chain", "ALIASES", "NAMED", "MAX_SIDE", "MAX_TAPS"]


class UsageError(Exception):
    """A bad command line: reported before any file is touched (exit 2)."""


#: Spec names that are not catalog entries, and the entry they mean.
ALIASES = {"laplace": "laplacian"}

#: The longest kernel side accepted (separable kernels run as 1-D passes).
MAX_SIDE = 1 << 20
#: The most weights a kernel that is not run as 1-D passes may have
#: (32 MB of float64).
MAX_TAPS = 1 << 22
# Kernels up to this many weights are built whole, through kernels.get, as
# the Python API builds them; only longer separable ones are built as
# their two 1-D factors.
_WHOLE = 1 << 20

_GRADIENTS = ("sobel", "prewitt", "scharr")
_UNIT = np.ones((1, 1))

#: Named filters of :mod:`cfilter` that are not catalog kernels, with the
#: parameters a spec may give them (the rest are the command's options).
NAMED = {"unsharp_mask": ("sigma", "amount", "truncate")}


class Step:
    """One filter of the chain: a public cfilter function and its options.

    Calling it as ``step(image, mode=..., stride=..., output=...,
    workers=...)`` on a 2-D image returns the filtered image.

    Attributes
    ----------
    label : str
        What the step is, for messages and the resume record.
    convex : bool
        True if every weight is >= 0 and they sum to at most 1, so the result
        stays within the input's range (no clipping is possible).
    """

    def __init__(self, label, func, convex=False, interleaved=False):
        self.label, self._func, self.convex = label, func, convex
        # True if the step also filters an (H, W, C) image in one call,
        # given ``channel_axis=-1``
        self.interleaved = interleaved

    def __call__(self, image, **options):
        return self._func(image, **options)

    def __repr__(self):
        return f"Step({self.label!r})"


def _kernel_step(label, kernel):
    weights = np.asarray(kernel)
    convex = bool(np.all(weights >= 0) and weights.sum() <= 1 + 1e-12)

    def run(image, **options):
        return cfilter.correlate(image, kernel, **options)
    return Step(label, run, convex, interleaved=True)


def _factored_step(label, col, row):
    convex = bool(np.all(col >= 0) and np.all(row >= 0)
                  and col.sum() * row.sum() <= 1 + 1e-12)

    def run(image, *, output=None, **options):
        # one axis at a time: each pass pads only its own axis, so a kernel
        # far longer than the image never meets a 2-D padded canvas
        tmp = cfilter.correlate1d(image, col, axis=0, **options)
        return cfilter.correlate1d(tmp, row, axis=1, output=output,
                                   **options)
    return Step(label, run, convex)


def _named_step(label, func, **params):
    def run(image, **options):
        return func(image, **params, **options)
    return Step(label, run)


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


def _pair(value):
    if isinstance(value, tuple) and len(value) == 2:
        return value
    return (value, value)


def _extent(name, params):
    """The kernel's (rows, columns) from its parameters, without building it,
    or None when the parameters are not plain numbers (kernels.get then says
    what is wrong with them)."""
    try:
        if name in ("gaussian", "log"):
            sigma = _pair(params["sigma"])
            truncate = params.get("truncate", 4.0)
            radius = params.get("radius")
            if radius is not None:
                radius = _pair(radius)
                if not all(isinstance(r, numbers.Integral) and r >= 0
                           for r in radius):
                    return None
                return tuple(2 * r + 1 for r in radius)
            if not all(_number(v) and v > 0 for v in (*sigma, truncate)):
                return None
            # the documented radius of kernels.gaussian
            return tuple(2 * int(truncate * s + 0.5) + 1 for s in sigma)
        if name in ("box", "identity"):
            size = _pair(params.get("size", 3))
        elif name == "motion_blur":
            size = _pair(params["length"])
        else:
            return (3, 3)
    except KeyError:
        return None
    if all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
           and s >= 1 for s in size):
        return tuple(int(s) for s in size)
    return None


def _too_large(spec, shape, limit_text):
    return UsageError(f"-f {spec!r}: the kernel would be {shape[0]} x "
                      f"{shape[1]}; {limit_text}")


def load_kernel(spec):
    """Build the kernel for one ``-f`` spec.

    Parameters
    ----------
    spec : str
        ``name[:key=value,...]`` for a catalog entry (see
        :func:`cfilter.kernels.get`), or ``file:PATH`` for a custom kernel
        stored as ``.npy`` (:func:`numpy.load`) or as text, ``.txt``/``.csv``
        (:func:`numpy.loadtxt`, comma-separated when the text has commas,
        otherwise whitespace-separated; ``#`` starts a comment).

    Returns
    -------
    cfilter.kernels.Kernel

    Raises
    ------
    UsageError
        With a message naming the spec, the bad key or value, and what is
        allowed.

    Examples
    --------
    >>> from cfilter.cli import load_kernel, UsageError
    >>> load_kernel("gaussian:sigma=2").shape
    (17, 17)
    >>> try:
    ...     load_kernel("gaussian:sigma=2,size=3")
    ... except UsageError as exc:
    ...     print(exc)
    -f 'gaussian:sigma=2,size=3': gaussian: unknown parameter(s) 'size'; valid parameters: sigma, truncate, radius
    """
    if spec.strip().lower().startswith("file:"):
        return _kernel_from_file(spec, spec.strip()[len("file:"):].strip())
    name, params = _parse(spec)
    shape = _extent(name, params)
    if shape is not None and shape[0] * shape[1] > MAX_TAPS:
        raise _too_large(spec, shape, f"at most {MAX_TAPS} weights")
    return _get(spec, name, params)


def _parse(spec):
    try:
        name, params = kernels.parse_spec(spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"-f {spec!r}: {exc}") from None
    name = name.lower()
    return ALIASES.get(name, name), params


def _get(spec, name, params):
    try:
        return kernels.get(name, **params)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"-f {spec!r}: {exc}") from None


class FileKernel:
    """A ``file:`` kernel, read once: its spec, weights and digest.

    Picklable; this is what a ``file:`` step sends to the workers instead
    of its path.

    Attributes
    ----------
    spec : str
        The spec as given (for messages).
    weights : ndarray
        The weights, read-only float64.
    digest : str
        BLAKE2b of the weights' shape and bytes: the kernel's identity in the
        resume record and in the workers' cache of built chains.
    """

    __slots__ = ("spec", "weights", "digest")

    def __init__(self, spec, weights):
        weights = np.array(weights, dtype=np.float64, order="C")
        weights.flags.writeable = False
        h = hashlib.blake2b(digest_size=16)
        h.update(repr(weights.shape).encode())   # a 3x3 is not a 1x9
        h.update(weights.tobytes())
        self.spec, self.weights, self.digest = spec.strip(), weights, \
            h.hexdigest()

    def __getstate__(self):
        return (self.spec, self.weights, self.digest)

    def __setstate__(self, state):
        self.spec, self.weights, self.digest = state
        self.weights.flags.writeable = False

    def __repr__(self):
        return f"FileKernel({self.spec!r}, {self.digest})"


def _is_file_spec(spec):
    return spec.strip().lower().startswith("file:")


def resolve(spec):
    """Check one ``-f`` spec and read what it needs, once.

    Parameters
    ----------
    spec : str
        As for :func:`load_kernel`.

    Returns
    -------
    str or FileKernel
        The spec itself for a catalog entry or a named filter (the workers
        build it from the text), a :class:`FileKernel` with the weights for
        ``file:PATH``.

    Raises
    ------
    UsageError
        As :func:`load_step`.

    Examples
    --------
    >>> from cfilter.cli.specs import resolve
    >>> resolve("gaussian:sigma=2")
    'gaussian:sigma=2'
    """
    if _is_file_spec(spec):
        return FileKernel(spec, load_kernel(spec).array)
    load_step(spec)
    return spec


def recipe_entry(source):
    """The text that stands for a resolved spec in the resume record: the
    spec, and for a ``file:`` kernel also its weights' digest."""
    if isinstance(source, FileKernel):
        return f"{source.spec}#{source.digest}"
    return source.strip()


def step_key(source):
    """What identifies the step built from a resolved spec (a cache key)."""
    if isinstance(source, FileKernel):
        return ("file", source.digest)
    return ("spec", source)


def load_step(spec):
    """The chain step for one ``-f`` spec.

    Parameters
    ----------
    spec : str or FileKernel
        As for :func:`load_kernel`, or a ``file:`` kernel already read by
        :func:`resolve`.

    Returns
    -------
    Step

    Raises
    ------
    UsageError
        For a bad spec, or a kernel too large to build (more than
        :data:`MAX_SIDE` weights along a side, or more than
        :data:`MAX_TAPS` weights when it is not separable).

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter.cli import load_step
    >>> step = load_step("sobel")            # the gradient magnitude
    >>> ramp = np.tile(np.arange(6.0), (5, 1))
    >>> float(step(ramp)[2, 2])
    8.0
    >>> load_step("gaussian:sigma=2000").label
    'gaussian:sigma=2000 (as 1-D passes)'
    """
    if isinstance(spec, FileKernel):
        return _kernel_step(spec.spec, kernels.Kernel(spec.weights,
                                                      name=spec.spec))
    if _is_file_spec(spec):
        kernel = load_kernel(spec)
        return _kernel_step(spec, kernel)
    name, params = _parse(spec)
    if name in NAMED:
        return _named_filter_step(spec, name, params)
    if name in _GRADIENTS and params.get("axis") is None:
        # no axis (or axis=none): the gradient magnitude; any other
        # parameter is reported as the catalog entry reports it
        others = {k: v for k, v in params.items() if k != "axis"}
        if others:
            _get(spec, name, others)
        return _named_step(spec, getattr(cfilter, name))
    shape = _extent(name, params)
    if shape is not None and max(shape) > MAX_SIDE:
        raise _too_large(spec, shape, f"at most {MAX_SIDE} weights per side")
    if shape is not None and shape[0] * shape[1] > _WHOLE \
            and name in ("gaussian", "box"):
        return _factors_step(spec, name, params, shape)
    kernel = load_kernel(spec)
    if name == "laplacian":
        return _named_step(spec, cfilter.laplace, **kernel.params)
    return _kernel_step(spec, kernel)


def _named_filter_step(spec, name, params):
    """A named filter of :data:`NAMED` (``unsharp_mask``), its parameters
    checked here, before any file: the blur's by the catalog's Gaussian
    (built with radius 0, so a huge sigma costs nothing) and the size
    guard, ``amount`` as a real number."""
    valid = NAMED[name]
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise UsageError(f"-f {spec!r}: {name}: unknown parameter(s) "
                         f"{', '.join(map(repr, unknown))}; valid parameters: "
                         f"{', '.join(valid)}")
    func = getattr(cfilter, name)
    required = [k for k in valid if inspect.signature(func).parameters[k]
                .default is inspect.Parameter.empty]
    missing = [k for k in required if k not in params]
    if missing:
        raise UsageError(f"-f {spec!r}: {name}: missing required "
                         f"parameter(s) {', '.join(map(repr, missing))}; "
                         f"valid parameters: {', '.join(valid)}")
    blur = {k: params[k] for k in ("sigma", "truncate") if k in params}
    _get(spec, "gaussian", {**blur, "radius": 0})
    shape = _extent("gaussian", blur)
    # cfilter.unsharp_mask builds its blur kernel whole: the 2-D limit
    if shape is not None and shape[0] * shape[1] > MAX_TAPS:
        raise _too_large(spec, shape, f"at most {MAX_TAPS} weights")
    if "amount" in params:
        try:
            as_real(params["amount"], "amount", context=name, finite=True)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"-f {spec!r}: {exc}") from None
    step = _named_step(spec, func, **params)
    step.interleaved = True         # it takes channel_axis
    return step


def _factors_step(spec, name, params, shape):
    """A long separable catalog kernel as its two 1-D factors, each built
    as a one-row (or one-column) kernel of the same entry."""
    rows, cols = shape
    if name == "box":
        col = _get(spec, name, {"size": (rows, 1)}).factors[0]
        row = _get(spec, name, {"size": (1, cols)}).factors[1]
    else:
        col = _get(spec, name, {**params, "radius": ((rows - 1) // 2, 0)})
        row = _get(spec, name, {**params, "radius": (0, (cols - 1) // 2)})
        col, row = col.factors[0], row.factors[1]
    return _factored_step(f"{spec} (as 1-D passes)", col, row)


def _kernel_from_file(spec, path):
    if not path:
        raise UsageError(f"-f {spec!r}: no path after 'file:'")
    ext = Path(path).suffix.lower()
    if ext not in (".npy", ".txt", ".csv"):
        raise UsageError(f"-f {spec!r}: kernel file extension {ext or '(none)'!r}"
                         f" is not supported; use .npy, .txt or .csv")
    try:
        if ext == ".npy":
            weights = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            body = "\n".join(line.split("#")[0] for line in text.splitlines())
            delimiter = "," if "," in body else None
            weights = np.loadtxt(path, delimiter=delimiter, ndmin=2,
                                 dtype=np.float64)
    except OSError as exc:
        raise UsageError(f"-f {spec!r}: cannot read kernel file: "
                         f"{exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"-f {spec!r}: kernel file is not a table of "
                         f"numbers: {exc}") from None
    if np.ndim(weights) == 1:
        weights = np.asarray(weights)[None, :]
    if np.size(weights) > MAX_TAPS:
        raise _too_large(spec, np.shape(weights), f"at most {MAX_TAPS} "
                                                  f"weights")
    try:
        return kernels.Kernel(weights, name=f"file:{path}")
    except (ValueError, TypeError) as exc:
        raise UsageError(f"-f {spec!r}: {exc}") from None


# ---------------------------------------------------------------------------
# The chain over one image
# ---------------------------------------------------------------------------

def split_alpha(image):
    """(colour part, alpha or None): 2 channels are grey+alpha, 4 RGBA."""
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        colour = image[..., :-1]
        if colour.shape[-1] == 1:
            colour = colour[..., 0]
        return colour, image[..., -1]
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0], None
    return image, None


def cast(values, dtype):
    """``values`` (2-D, or channels last) as ``dtype``, through
    :func:`cfilter.correlate`'s ``output=`` (integers rounded and
    saturated); a no-op for the same dtype."""
    dtype = np.dtype(dtype)
    if values.dtype == dtype:
        return values
    channel_axis = -1 if values.ndim == 3 else None
    return cfilter.correlate(values, _UNIT, channel_axis=channel_axis,
                             output=dtype, workers=1)


def _out_of_range(values, dtype):
    """True if casting float ``values`` to integer ``dtype`` will clip."""
    if dtype.kind not in "iu" or values.size == 0:
        return False
    info = np.iinfo(dtype)
    # rounding to nearest: values within half a step of the ends still fit
    return bool(values.min() < info.min - 0.5 or values.max() > info.max + 0.5)


def _rescale(planes, dtype):
    """Map the range of all ``planes`` together onto the output's range."""
    low = min(float(p.min()) for p in planes)
    high = max(float(p.max()) for p in planes)
    top = float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0
    if high > low:
        scale = top / (high - low)
        return [(p - low) * scale for p in planes]
    return [np.zeros_like(p) for p in planes]


def run_chain(image, chain, *, mode="reflect", stride=1, dtype=None,
              workers=None, absolute=False, rescale=False):
    """Run a chain over one decoded image; also tell whether it clipped.

    Returns
    -------
    out : ndarray
        As :func:`filter_image`.
    clipped : bool
        True if some values fell outside an integer output's range and were
        saturated.
    """
    dtype = np.dtype(image.dtype if dtype is None else dtype)
    colour, alpha = split_alpha(image)
    mapped = absolute or rescale
    # the last step writes the output dtype directly unless its values must
    # be looked at first: a mapping, or a response that may leave the range
    direct = not mapped and (
        dtype.kind == "f" or (all(s.convex for s in chain)
                              and _fits(image.dtype, dtype)))
    if not chain:
        direct = not mapped and _fits(image.dtype, dtype)
    out = None
    if direct and chain and image.ndim == 3:
        rows, cols = (-(-n // stride) for n in image.shape[:2])
        out = np.empty((rows, cols, image.shape[2]), dtype)
    if chain and colour.ndim == 3 and all(s.interleaved for s in chain):
        # the colour channels in one call, interleaved: the engines filter
        # (H, W, C) in place several times faster than a lone plane each
        # written into a strided slot (1024x768 RGB Gaussian sigma 2:
        # 6-9 ms against 13-26 ms split into planes, 60 ms into out[..., c])
        plane = colour
        for i, step in enumerate(chain):
            last = i == len(chain) - 1
            target = None
            if last and direct:
                target = out if alpha is None else dtype
            plane = step(plane, mode=mode, stride=stride if last else 1,
                         output=target, workers=workers, channel_axis=-1)
        if out is not None and alpha is None:
            return out, False
        results = [plane[..., c] for c in range(plane.shape[2])]
        if out is not None:
            out[..., :-1] = plane
    else:
        # one 2-D call per channel (steps that take no channel axis)
        planes = [colour] if colour.ndim == 2 else \
            [np.ascontiguousarray(colour[..., c])
             for c in range(colour.shape[2])]
        results = []
        for c, plane in enumerate(planes):
            for i, step in enumerate(chain):
                last = i == len(chain) - 1
                target = None
                if last and direct:
                    # a contiguous plane, copied into its slot after: the
                    # engines write a strided slot several times slower
                    target = dtype
                plane = step(plane, mode=mode, stride=stride if last else 1,
                             output=target, workers=workers)
            if not chain:
                plane = plane[::stride, ::stride]
            if out is not None:
                out[..., c] = plane
            results.append(plane)
    if out is not None:
        if alpha is not None:
            out[..., -1] = cast(alpha[::stride, ::stride], dtype)
        return out, False
    clipped = False
    if not direct:
        results = [r.astype(np.float32) if r.dtype.kind != "f" else r
                   for r in results]
        if absolute:
            results = [np.abs(r) for r in results]
        if rescale:     # one map for every channel, so colours keep
            results = _rescale(results, dtype)
        clipped = any(_out_of_range(r, dtype) for r in results)
    results = [cast(r, dtype) for r in results]
    if alpha is not None:
        results.append(cast(alpha[::stride, ::stride], dtype))
    if image.ndim == 2:
        return results[0], clipped
    return np.stack(results, axis=-1), clipped


def _fits(src, dst):
    """True if every value of dtype ``src`` is a value of dtype ``dst``."""
    src, dst = np.dtype(src), np.dtype(dst)
    if dst.kind == "f":
        return True
    if src.kind not in "iu":
        return False
    return np.can_cast(src, dst, "safe")


def filter_image(image, chain, *, mode="reflect", stride=1, dtype=None,
                 workers=None, absolute=False, rescale=False):
    """Run a chain of filters over one decoded image, as ``apply`` does.

    Each step is applied in turn, to each colour channel as a 2-D image of
    its own; an alpha channel (the last of 2 or 4 channels)
    is not filtered but copied (subsampled like the image when
    ``stride > 1``).  Intermediate results stay in floating point; the last
    step casts to `dtype` (rounded and saturated for integers).

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` or ``(H, W, C)``, channels last.
    chain : sequence of Step or array_like
        Steps (:func:`load_step`) or kernels, applied in order.
    mode : str, optional
        Boundary mode for every step.
    stride : int, optional
        Applied by the last step only, so the result is the full-resolution
        chain sampled every `stride` pixels.
    dtype : dtype_like, optional
        The output sample type; by default the input's.
    workers : int, optional
        Threads per call.
    absolute : bool, optional
        Take the absolute value of the last response (``--abs``).
    rescale : bool, optional
        Map the response's range linearly onto the integer output's full
        range, or onto [0, 1] for a float output (``--rescale``).

    Returns
    -------
    ndarray
        The filtered image, alpha re-attached.

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter.cli import filter_image, load_step
    >>> rgba = np.zeros((4, 4, 4), dtype=np.uint8); rgba[..., 3] = 7
    >>> out = filter_image(rgba, [load_step("box:size=3")], stride=2)
    >>> out.shape, out.dtype, int(out[..., 3].max())
    ((2, 2, 4), dtype('uint8'), 7)
    """
    chain = [s if isinstance(s, Step) else _kernel_step("kernel", s)
             for s in chain]
    return run_chain(image, chain, mode=mode, stride=stride, dtype=dtype,
                     workers=workers, absolute=absolute, rescale=rescale)[0]
