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


# One allocation per call for all of an engine's scratch: a small image then
# costs one numpy array, not a dozen (each with its buffer checks), which
# was most of the time of a call on a 64 x 64 image.
cimport numpy as cnp


cdef struct Block:
    # Per-thread rows of ``stride`` bytes from ``base`` (row t of thread t).
    char* base
    Py_ssize_t stride


cdef inline Py_ssize_t line_up(Py_ssize_t nbytes) noexcept nogil:
    """Bytes of one thread's row: whole cache lines plus one between rows
    (see per_thread)."""
    return (nbytes + LINE - 1) // LINE * LINE + LINE


cdef enum:
    # Bytes of scratch an engine keeps on its caller's stack: a small
    # image's whole arena, which then costs no allocation at all.
    STACK_ARENA = 16384


cdef inline object arena(const Py_ssize_t* nbytes, const Py_ssize_t* nrows,
                         Py_ssize_t nblocks, Block* blocks,
                         char* stack=NULL):
    """Allocate blocks[b]: nrows[b] rows of at least nbytes[b] bytes each,
    every row aligned to a cache line, all in ``stack`` (if given:
    STACK_ARENA bytes the caller holds while the blocks are used) when they
    fit, else in one array (returned: keep it alive while the blocks are
    used)."""
    cdef Py_ssize_t b, total = LINE
    cdef cnp.npy_intp dim
    cdef char* p = stack
    buf = None
    for b in range(nblocks):
        total += nrows[b] * line_up(nbytes[b])
    if stack == NULL or total > STACK_ARENA:
        dim = total
        buf = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_UINT8, 0)
        p = <char*> cnp.PyArray_DATA(<cnp.ndarray> buf)
    p = p + (LINE - (<size_t> p) % LINE) % LINE
    for b in range(nblocks):
        blocks[b].base = p
        blocks[b].stride = line_up(nbytes[b])
        p = p + nrows[b] * blocks[b].stride
    return buf
