# The inner loops every engine shares: one output row from a set of input
# row pointers whose every tap is in range, so there are no boundary checks.
from ._types cimport real


cdef enum:
    # Outputs accumulated together: 4 AVX-512 / 8 AVX2 float registers, enough
    # independent chains to hide the multiply-add latency.
    BLOCK = 64


cdef inline void taps_unit_stride(real* out, const real** rows, const real* w,
                                   Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                                   Py_ssize_t n) noexcept nogil:
    """One output row for column stride 1: contiguous multiply-adds."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t j0 = 0, m, l, t, rest
    while j0 + BLOCK <= n:
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
        j0 += BLOCK
    rest = n - j0
    if rest > 0 and n >= BLOCK:
        # Finish with one full block that overlaps the last: vector code
        # throughout, and the outputs computed twice get the same values.
        j0 = n - BLOCK
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
    elif rest > 0:
        for t in range(rest):
            acc[t] = 0
        for m in range(kh):
            for l in range(kw):
                wv = w[m * kw + l]
                src = rows[m] + j0 + l * dx
                for t in range(rest):
                    acc[t] += wv * src[t]
        for t in range(rest):
            out[j0 + t] = acc[t]


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
