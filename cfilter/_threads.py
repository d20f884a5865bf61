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


# Helper threads for the loops run from Python (the column blocks of the
# frequency transforms, template search's window scores): started on first
# use and kept, since a new thread per call costs its start and, in glibc,
# fresh memory for its allocations.
_POOL = []
# Kept scratch, (thread, name) -> bytes, least recently used first; at most
# SCRATCH_BYTES in all, for the whole process.
_SCRATCH = {}
_SCRATCH_LOCK = []
_SCRATCH_KEPT = [0]          # the bytes in _SCRATCH
SCRATCH_BYTES = 64 << 20


def _after_fork_in_child():
    """A forked child has none of its parent's helper threads, and may have
    been forked while another thread held the scratch lock: it starts its
    own pool and lock when it needs them."""
    _POOL.clear()
    _SCRATCH_LOCK.clear()
    _SCRATCH.clear()
    _SCRATCH_KEPT[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Shared:
    """An iterator several threads can share: each item goes to one, until
    :meth:`close`."""

    def __init__(self, items):
        import threading
        self._items = iter(items)
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._items)

    def close(self):
        """Hand out nothing more."""
        with self._lock:
            self._items = iter(())


def share_out(work, items, nthreads):
    """``work(share)`` on this thread and up to ``nthreads - 1`` helpers,
    ``share`` one iterator over ``items`` that they all draw from: each
    takes the next item when it is free, so a thread the machine holds back
    delays no one, and the calling thread works too (a loop never waits on
    a helper that never got a core).  ``work`` must release the GIL for
    its heavy parts.  A helper that has not started when this thread runs
    out of items is not waited for: the pool may be busy with another call
    or, after a fork, have no threads at all.  When this thread's ``work``
    raises (an interrupt, say), the helpers get no further items and the
    ones under way are waited for before the exception goes on: none is
    left writing into the call's buffers, which the next call reuses."""
    items = list(items)
    nthreads = min(nthreads, len(items), cpu_count())
    if nthreads <= 1:
        work(iter(items))
        return
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor
        _POOL.append(ThreadPoolExecutor(max(1, cpu_count() - 1),
                                        thread_name_prefix="cfilter"))
    shared = _Shared(items)
    helpers = [_POOL[0].submit(work, shared) for _ in range(nthreads - 1)]
    try:
        work(shared)
    except BaseException:
        shared.close()
        for done in helpers:
            if not done.cancel():
                done.exception()      # waits; this thread's error goes on
        raise
    for done in helpers:
        if not done.cancel():
            done.result()


def scratch(name, shape, dtype):
    """An uninitialised C-contiguous array of ``shape``, its memory kept
    for the calling thread's next request under the same ``name``.  The
    process keeps at most ``SCRATCH_BYTES`` in all, dropping the buffers
    used least recently (by any thread) to make room; a request larger
    than that is served and not kept.  A buffer a call still uses stays
    alive when it is dropped: only its reuse is lost.

    Fresh memory is slow the first time it is touched: on the machine the
    benchmarks run on, the page faults of a new full-size temporary cost as
    much as the FFTs it feeds, more when two threads take them at once."""
    import threading

    import numpy as np
    if not _SCRATCH_LOCK:
        _SCRATCH_LOCK.append(threading.Lock())
    lock = _SCRATCH_LOCK[0]
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    key = (threading.get_ident(), name)
    with lock:
        buf = _SCRATCH.pop(key, None)
        if buf is not None:
            _SCRATCH_KEPT[0] -= buf.size
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.uint8)
    if buf.size <= SCRATCH_BYTES:
        with lock:
            while _SCRATCH and _SCRATCH_KEPT[0] + buf.size > SCRATCH_BYTES:
                _SCRATCH_KEPT[0] -= _SCRATCH.pop(next(iter(_SCRATCH))).size
            _SCRATCH[key] = buf
            _SCRATCH_KEPT[0] += buf.size
    return buf[:size].view(dtype).reshape(shape)
