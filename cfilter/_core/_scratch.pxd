# Per-thread scratch that threads can write without slowing each other down.


cdef enum:
    # bytes in a cache line (x86-64 and most ARM cores)
    LINE = 64


cdef inline object per_thread(Py_ssize_t nthreads, Py_ssize_t n, object dtype):
    """An uninitialised ``(nthreads, m)`` array, ``m >= n``, for one row per
    thread.  The rows are padded to whole cache lines with at least one line
    between them: threads writing neighbouring rows of a plain
    ``(nthreads, n)`` array share the lines at the seams, and every write
    then invalidates the other core's copy (false sharing), which cost the
    parallel loops more than their work on small images."""
    import numpy as np
    cdef Py_ssize_t per_line = LINE // np.dtype(dtype).itemsize
    cdef Py_ssize_t m = (n + per_line - 1) // per_line * per_line + per_line
    return np.empty((nthreads, m), dtype=dtype)
