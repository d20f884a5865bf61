# The inner loops every engine shares: one output row from a set of input
# row pointers whose every tap is in range, so there are no boundary checks.
from ._types cimport real


cdef enum:
    # Outputs accumulated together: 4 AVX-512 / 8 AVX2 float registers, enough
    # independent chains to hide the multiply-add latency.
    BLOCK = 64


cdef inline void _block(real* out, const real** rows, const real* w,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                        Py_ssize_t j0) noexcept nogil:
    """BLOCK outputs from j0 on, held in registers while every tap adds in."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t m, l, t
    for t in range(BLOCK):
        acc[t] = 0
    for m in range(kh):
        for l in range(kw):
            wv = w[m * kw + l]
            src = rows[m] + j0 + l * dx
            for t in range(BLOCK):
                acc[t] += wv * src[t]
    for t in range(BLOCK):
        out[j0 + t] = acc[t]


cdef inline void taps_unit_stride(real* out, const real** rows, const real* w,
                                  Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                                  Py_ssize_t n) noexcept nogil:
    """One output row for column stride 1: contiguous multiply-adds."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t j0 = 0, m, l, t
    while j0 + BLOCK <= n:
        _block(out, rows, w, kh, kw, dx, j0)
        j0 += BLOCK
    if j0 < n and n >= BLOCK:
        # Finish with one full block that overlaps the last: vector code
        # throughout, and the outputs computed twice get the same values.
        _block(out, rows, w, kh, kw, dx, n - BLOCK)
    elif j0 < n:
        for t in range(n):
            acc[t] = 0
        for m in range(kh):
            for l in range(kw):
                wv = w[m * kw + l]
                src = rows[m] + l * dx
                for t in range(n):
                    acc[t] += wv * src[t]
        for t in range(n):
            out[t] = acc[t]


cdef inline void taps_strided(real* out, const real** rows, const real* w,
                               Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                               Py_ssize_t sx, Py_ssize_t n) noexcept nogil:
    """One output row for column stride > 1: only the kept columns."""
    cdef Py_ssize_t j, m, l
    cdef real acc
    cdef const real* src
    for j in range(n):
        acc = 0
        for m in range(kh):
            src = rows[m] + j * sx
            for l in range(kw):
                acc += w[m * kw + l] * src[l * dx]
        out[j] = acc
