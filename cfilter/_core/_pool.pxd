# The process's one work-sharing pool (see _pool.h): every parallel loop of
# the compiled core hands its items to run_items.

ctypedef void (*item_fn)(void* ctx, Py_ssize_t item, int slot) noexcept nogil

# fn(ctx, item, slot) for every item in [0, nitems), each exactly once, on
# the calling thread (slot 0) and up to nthreads - 1 helpers (slots 1 ..
# nthreads - 1, each a thread's own for its scratch).  Returns when all
# have finished.  Items must not depend on nthreads, so neither do results.
cdef void run_items(item_fn fn, void* ctx, Py_ssize_t nitems,
                    int nthreads) noexcept nogil


cdef enum:
    # The work of one item, in multiply-adds: about 10 us of one core.
    # Items much shorter make the claims a cost; much longer ones leave a
    # thread that lost its core holding a large part of the call.
    ITEM_WORK = 1 << 17


cdef inline Py_ssize_t rows_per_item(Py_ssize_t row_work,
                                     Py_ssize_t multiple=1) noexcept nogil:
    """Rows per work item when one row costs ``row_work`` multiply-adds:
    about ITEM_WORK, a whole number of ``multiple`` rows, at least one
    ``multiple``.  Fixed by the shapes, never by the thread count."""
    cdef Py_ssize_t r
    if row_work < 1:
        row_work = 1
    r = ITEM_WORK // (row_work * multiple)
    return (r if r > 1 else 1) * multiple
