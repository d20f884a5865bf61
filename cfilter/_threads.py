"""The package-wide default number of threads."""
import os
import warnings

from ._core._boundary import openmp_enabled

_ENV = "CFILTER_NUM_THREADS"


def cpu_count():
    """The CPUs this process may run on (its affinity mask, where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _from_environment():
    """``CFILTER_NUM_THREADS`` (clamped to the CPUs when used); a bad value is a
    warning (an import must not fail over it) and the CPU count is used."""
    raw = os.environ.get(_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        warnings.warn(f"{_ENV}={raw!r} is not a whole number >= 1; using "
                      f"the number of CPUs ({cpu_count()})", RuntimeWarning,
                      stacklevel=2)
    return cpu_count()


_num_threads = _from_environment()


def get_num_threads():
    """Threads a call uses when it is not given ``workers``.

    Starts as ``CFILTER_NUM_THREADS`` from the environment, or the number of
    CPUs.  A call never runs more threads than the CPUs this process may
    use, whatever this or ``workers`` says.  Builds without OpenMP run serially
    whatever this says.

    Examples
    --------
    >>> import cfilter
    >>> cfilter.get_num_threads() >= 1
    True
    """
    return _num_threads


def set_num_threads(n):
    """Set the default number of threads; returns the previous value.

    Parameters
    ----------
    n : int
        Threads, >= 1.

    Examples
    --------
    >>> import cfilter
    >>> old = cfilter.set_num_threads(1)
    >>> cfilter.get_num_threads()
    1
    >>> _ = cfilter.set_num_threads(old)
    """
    from ._validate import as_int
    global _num_threads
    previous = _num_threads
    _num_threads = as_int(n, "n", 1)
    return previous


def threads_in_effect(requested):
    """Threads the core can really use for ``requested``: no more than the
    CPUs (libgomp aborts on absurd thread counts), 1 without OpenMP."""
    return min(requested, cpu_count()) if openmp_enabled() else 1
