"""Threads: the package-wide default count, the process's one pool for
the steps driven from Python (``share_out``, a client of the compiled pool
in ``_core/_pool.h``), kept scratch memory, and fork() safety."""
import os
import sys
import warnings

from ._core import _pool

_ENV = "CFILTER_NUM_THREADS"

# Pause instructions a waiting thread spins before it sleeps (a few
# microseconds): a helper that just finished an item is usually about to
# be asked again, and a caller's last helper about to finish.  Longer
# spins take the core from a process that needs it on a busy machine.
SPIN = 4000


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


def get_num_threads() -> int:
    """Threads a call uses when it is not given ``workers``.

    Starts as ``CFILTER_NUM_THREADS`` from the environment, or the number of
    CPUs.  A call never runs more threads than the CPUs this process may
    use, whatever this or ``workers`` says.  ``threadpoolctl``'s
    ``threadpool_limits`` sets it too, for as long as its limit lasts.

    Examples
    --------
    >>> import cfilter
    >>> cfilter.get_num_threads() >= 1
    True
    """
    return _num_threads


def set_num_threads(n: int) -> int:
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
    """Threads a call can really use for ``requested``: no more than the
    CPUs this process may run on."""
    return max(1, min(requested, cpu_count()))


def _configure_pool():
    # At most one helper per CPU besides the caller's, for all callers.
    _pool.configure(cpu_count() - 1, SPIN)


_configure_pool()

# Kept scratch, (thread, name) -> bytes, least recently used first; at most
# SCRATCH_BYTES in all, for the whole process.
_SCRATCH = {}
_SCRATCH_LOCK = []
_SCRATCH_KEPT = [0]          # the bytes in _SCRATCH
SCRATCH_BYTES = 64 << 20
# What else keeps pool or thread state: cleared in a forked child.
_AFTER_FORK = []


def after_fork(callback):
    """Call ``callback()`` in every child forked from now on, before it
    runs anything else of cfilter's: for the caches that hold thread
    counts or pool state (a child may run on other CPUs, and has none of
    its parent's threads).  Returns ``callback``."""
    _AFTER_FORK.append(callback)
    return callback


def _after_fork_in_child():
    """A forked child has none of its parent's helper threads (the compiled
    pool resets itself, see _pool.h), may have been forked while another
    thread held the scratch lock, and may run on fewer CPUs: it starts its
    own lock, scratch and pool limit, and clears the caches that hold
    thread state."""
    _SCRATCH_LOCK.clear()
    _SCRATCH.clear()
    _SCRATCH_KEPT[0] = 0
    _configure_pool()
    for callback in _AFTER_FORK:
        callback()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _register_controller(threadpoolctl):
    """Make the pool visible to and limitable by ``threadpoolctl`` (its
    custom-controller API): ``threadpool_limits(n)`` then sets cfilter's
    default thread count for as long as its limit lasts, as it does for
    BLAS and OpenMP libraries, and ``threadpool_info()`` lists cfilter."""

    class CfilterController(threadpoolctl.LibController):
        user_api = "cfilter"
        internal_api = "cfilter"
        # the compiled pool's extension module, whatever its suffix
        filename_prefixes = ("_pool.",)

        def get_num_threads(self):
            return get_num_threads()

        def set_num_threads(self, num_threads):
            set_num_threads(max(1, int(num_threads)))

        def get_version(self):
            return getattr(sys.modules.get("cfilter"), "__version__", None)

    threadpoolctl.register(CfilterController)


class _RegisterOnImport:
    """A finder that steps aside for ``threadpoolctl``'s own import and
    registers cfilter's controller once that module has run, so that
    ``import cfilter`` does not pay for importing threadpoolctl."""

    def find_spec(self, name, path=None, target=None):
        if name != "threadpoolctl":
            return None
        import importlib.util
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _register_controller(module)

        spec.loader.exec_module = exec_module
        return spec


if "threadpoolctl" in sys.modules:
    _register_controller(sys.modules["threadpoolctl"])
else:
    sys.meta_path.insert(0, _RegisterOnImport())


def share_out(fn, items, nthreads):
    """``fn(item)`` for each of ``items`` on this thread and up to
    ``nthreads - 1`` of the pool's helpers, each item once (the compiled
    pool's ``share``): every thread claims the next item when it is free,
    the calling thread included, so a helper the machine holds back delays
    no one, and a helper that has not started when the items run out is
    not waited for.  ``fn`` must release the GIL for its heavy parts.  When
    an item raises, no further item starts, and the exception is raised
    here once the items under way have finished: none is left writing into
    the call's buffers, which the next call reuses."""
    items = list(items)
    nthreads = threads_in_effect(min(nthreads, len(items)))
    if nthreads <= 1:
        for item in items:
            fn(item)
        return
    _pool.share(lambda k: fn(items[k]), len(items), nthreads)


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
