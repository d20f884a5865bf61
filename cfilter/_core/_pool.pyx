"""The process's one work-sharing pool, for the compiled loops (through
``run_items``, see ``_pool.pxd``) and for the steps driven from Python
(``share``).  The threads, their protocol and fork() are in ``_pool.h``."""
from cpython.ref cimport PyObject


cdef extern from "_pool.h":
    ctypedef void (*cf_item_fn)(void* ctx, Py_ssize_t item,
                                int slot) noexcept nogil
    void cf_pool_init(int max_helpers, long spin)
    void cf_pool_run(cf_item_fn fn, void* ctx, Py_ssize_t nitems,
                     int nthreads) nogil
    void cf_pool_stats(Py_ssize_t* out) nogil


cdef void run_items(item_fn fn, void* ctx, Py_ssize_t nitems,
                    int nthreads) noexcept nogil:
    if nitems > 0:
        cf_pool_run(<cf_item_fn> fn, ctx, nitems, nthreads)


def configure(int max_helpers, long spin):
    """At most ``max_helpers`` helper threads (the CPUs this process may
    use, less the caller's), each spinning ``spin`` pause instructions
    before it sleeps.  Called at import; helpers already started stay."""
    cf_pool_init(max_helpers, spin)


def stats():
    """The pool's counters: helpers started, helpers asleep, the cap,
    calls offered to helpers and items the helpers ran (for tests)."""
    cdef Py_ssize_t v[5]
    cf_pool_stats(v)
    return {"helpers": v[0], "idle": v[1], "max_helpers": v[2],
            "jobs": v[3], "items_helped": v[4]}


cdef struct PyShare:
    PyObject* fn        # fn(item), called with the GIL
    PyObject* errors    # a list: the first exception raised by any item
    int stop            # set after an exception: later items do nothing


cdef void _py_item(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef PyShare* sh = <PyShare*> ctx
    with gil:
        if sh.stop:
            return
        try:
            (<object> sh.fn)(item)
        except BaseException as exc:
            sh.stop = 1
            (<list> sh.errors).append(exc)


def share(fn, Py_ssize_t nitems, int nthreads):
    """``fn(item)`` for every item in ``range(nitems)``, on this thread and
    up to ``nthreads - 1`` of the pool's helpers, each item once; ``fn``
    must release the GIL for its heavy parts.  When an item raises, no
    further item starts, and the first exception is raised here once every
    item already running has finished (none is left writing into buffers a
    later call reuses)."""
    cdef PyShare sh
    errors = []
    sh.fn = <PyObject*> fn
    sh.errors = <PyObject*> errors
    sh.stop = 0
    if nitems <= 0:
        return
    with nogil:
        cf_pool_run(_py_item, &sh, nitems, nthreads)
    if errors:
        raise errors[0]


cdef struct CountCall:
    int* counts         # runs of each item
    int* slots          # items run by each slot
    long spin           # busy work per item, in pause instructions


cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    #define cf_count_inc(p) _InterlockedIncrement((volatile long *)(p))
    #define cf_count_pause() YieldProcessor()
    #else
    #define cf_count_inc(p) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
    #if defined(__x86_64__) || defined(__i386__)
    #define cf_count_pause() __builtin_ia32_pause()
    #else
    #define cf_count_pause() ((void)0)
    #endif
    #endif
    """
    void cf_count_inc(int* p) nogil
    void cf_count_pause() nogil


cdef void _count_item(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef CountCall* g = <CountCall*> ctx
    cdef long k
    for k in range(g.spin):
        cf_count_pause()
    cf_count_inc(&g.counts[item])
    cf_count_inc(&g.slots[slot])


def count_items(Py_ssize_t nitems, int nthreads, long spin=0):
    """Run ``nitems`` compiled items through the pool on ``nthreads``
    threads, each spinning ``spin`` pauses: returns how often each item
    ran and how many items each slot ran (for the pool's own tests)."""
    import numpy as np
    counts = np.zeros(max(nitems, 1), dtype=np.intc)
    slots = np.zeros(max(nthreads, 1), dtype=np.intc)
    cdef int[::1] c = counts
    cdef int[::1] s = slots
    cdef CountCall g
    g.counts, g.slots, g.spin = &c[0], &s[0], spin
    with nogil:
        run_items(_count_item, &g, nitems, nthreads)
    return counts[:nitems], slots
