"""Whether a stack of planes holds only finite values (a parallel scan).

Engines that move sums (box) or transform the whole image (FFT) would spread
one NaN or Inf far beyond the pixels it touches, so the planner asks this
before choosing them."""
from cython.parallel cimport prange
from libc.math cimport isfinite

from ._types cimport real


def all_finite(const real[:, ::1] rows, int nthreads):
    """True when every value of the 2-D array ``rows`` is finite."""
    cdef Py_ssize_t n = rows.shape[0], w = rows.shape[1], i, j
    cdef Py_ssize_t bad = 0
    if n == 0 or w == 0:
        return True
    for i in prange(n, nogil=True, schedule="static", num_threads=max(nthreads, 1)):
        for j in range(w):
            if not isfinite(rows[i, j]):
                bad += 1
                break
    return bad == 0
