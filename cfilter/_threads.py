"""The package-wide default number of threads."""
import os

from ._core._boundary import openmp_enabled

_ENV = "CFILTER_NUM_THREADS"


def _from_environment():
    raw = os.environ.get(_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        raise ValueError(f"{_ENV}={raw!r} must be a whole number >= 1")
    return os.cpu_count() or 1


_num_threads = _from_environment()


def get_num_threads():
    """Threads a call uses when it is not given ``workers``.

    Starts as ``CFILTER_NUM_THREADS`` from the environment, or the number of
    CPUs.  Builds without OpenMP run serially whatever this says.

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
    """Threads the core can really use for ``requested``."""
    return requested if openmp_enabled() else 1
