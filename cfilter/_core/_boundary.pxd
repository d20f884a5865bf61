# Boundary modes and the one place that maps an outside coordinate back
# into the image.  Every engine extends rows through these helpers, so the
# modes mean the same thing on every path.
from ._types cimport real

cpdef enum BoundaryMode:
    REFLECT = 0    # dcba|abcd|dcba   (numpy "symmetric", OpenCV BORDER_REFLECT)
    MIRROR = 1     # dcb|abcd|cba     (numpy "reflect", OpenCV BORDER_REFLECT_101)
    NEAREST = 2    # aaa|abcd|ddd
    WRAP = 3       # bcd|abcd|abc
    CONSTANT = 4   # kkk|abcd|kkk


cdef inline Py_ssize_t _pmod(Py_ssize_t a, Py_ssize_t p) noexcept nogil:
    cdef Py_ssize_t r = a % p
    if r < 0:
        r += p
    return r


cdef inline Py_ssize_t map_index(Py_ssize_t c, Py_ssize_t n, BoundaryMode mode) noexcept nogil:
    """Index in [0, n) that coordinate ``c`` reads under ``mode``; -1 means
    the constant value.  Works for any distance outside, as numpy.pad does."""
    if 0 <= c < n:
        return c
    if mode == CONSTANT:
        return -1
    if mode == NEAREST:
        return 0 if c < 0 else n - 1
    # Within one period of the edge (the common case: a kernel's reach
    # beside the image) the index follows without a division, which costs
    # tens of cycles and was a third of a small image's row overhead.
    if mode == WRAP:
        if -n <= c < 2 * n:
            return c + n if c < 0 else c - n
        return _pmod(c, n)
    if mode == REFLECT:
        if -n <= c < 2 * n:
            return -1 - c if c < 0 else 2 * n - 1 - c
        c = _pmod(c, 2 * n)
        return c if c < n else 2 * n - 1 - c
    # MIRROR: the edge sample is not repeated, so the period is 2n - 2.
    if n == 1:
        return 0
    if 1 - n <= c <= 2 * n - 2:
        return -c if c < 0 else 2 * n - 2 - c
    c = _pmod(c, 2 * n - 2)
    return c if c < n else 2 * n - 2 - c


cdef inline void extend_row(const real* src, Py_ssize_t n, real* dst,
                            Py_ssize_t start, Py_ssize_t length,
                            BoundaryMode mode, real cval) noexcept nogil:
    """dst[k] = src~[start + k] for k < length: the row seen through ``mode``."""
    cdef Py_ssize_t k, c, lo, hi
    # the part that lies inside the row is a plain copy
    lo = 0 if start >= 0 else -start
    if lo > length:
        lo = length
    hi = n - start
    if hi > length:
        hi = length
    if hi < lo:
        hi = lo
    for k in range(lo):
        c = map_index(start + k, n, mode)
        dst[k] = cval if c < 0 else src[c]
    for k in range(lo, hi):
        dst[k] = src[start + k]
    for k in range(hi, length):
        c = map_index(start + k, n, mode)
        dst[k] = cval if c < 0 else src[c]


cdef inline void extend_pixels(const real* src, Py_ssize_t n, Py_ssize_t C,
                               real* dst, Py_ssize_t start, Py_ssize_t length,
                               BoundaryMode mode, real cval) noexcept nogil:
    """extend_row for a row of n pixels of C interleaved samples: pixel k of
    dst is pixel start + k of the row seen through ``mode``."""
    cdef Py_ssize_t k, c, ch
    if C == 1:
        extend_row(src, n, dst, start, length, mode, cval)
        return
    for k in range(length):
        c = map_index(start + k, n, mode)
        for ch in range(C):
            dst[k * C + ch] = cval if c < 0 else src[c * C + ch]


cdef inline void fill_margins(real* buf, Py_ssize_t n, Py_ssize_t left,
                              Py_ssize_t length, BoundaryMode mode,
                              real outside) noexcept nogil:
    """A row held at buf[left:left+n], extended in place by ``mode`` over
    buf[0:length]; ``outside`` is what the constant mode puts there."""
    cdef Py_ssize_t k, c
    for k in range(left):
        c = map_index(k - left, n, mode)
        buf[k] = outside if c < 0 else buf[left + c]
    for k in range(left + n, length):
        c = map_index(k - left, n, mode)
        buf[k] = outside if c < 0 else buf[left + c]


cdef inline void fill_pixel_margins(real* buf, Py_ssize_t n, Py_ssize_t C,
                                    Py_ssize_t left, Py_ssize_t length,
                                    BoundaryMode mode,
                                    real outside) noexcept nogil:
    """fill_margins for a row of n pixels of C interleaved samples held at
    buf[left*C : (left+n)*C]; ``left`` and ``length`` count pixels."""
    cdef Py_ssize_t k, c, ch
    if C == 1:
        fill_margins(buf, n, left, length, mode, outside)
        return
    for k in range(left):
        c = map_index(k - left, n, mode)
        for ch in range(C):
            buf[k * C + ch] = outside if c < 0 else buf[(left + c) * C + ch]
    for k in range(left + n, length):
        c = map_index(k - left, n, mode)
        for ch in range(C):
            buf[k * C + ch] = outside if c < 0 else buf[(left + c) * C + ch]


cdef inline void _split2(const real* src, real* dst, Py_ssize_t plen,
                         Py_ssize_t nq) noexcept nogil:
    # A constant stride lets the compiler de-interleave with vector shuffles.
    cdef Py_ssize_t q
    for q in range(nq):
        dst[q] = src[2 * q]
        dst[plen + q] = src[2 * q + 1]


cdef inline void _split3(const real* src, real* dst, Py_ssize_t plen,
                         Py_ssize_t nq) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(nq):
        dst[q] = src[3 * q]
        dst[plen + q] = src[3 * q + 1]
        dst[2 * plen + q] = src[3 * q + 2]


cdef inline void _split4(const real* src, real* dst, Py_ssize_t plen,
                         Py_ssize_t nq) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(nq):
        dst[q] = src[4 * q]
        dst[plen + q] = src[4 * q + 1]
        dst[2 * plen + q] = src[4 * q + 2]
        dst[3 * plen + q] = src[4 * q + 3]


cdef inline void split_phases(const real* src, real* dst, Py_ssize_t sx,
                              Py_ssize_t plen, Py_ssize_t nq) noexcept nogil:
    """dst[p*plen + q] = src[q*sx + p] for p < sx, q < nq."""
    cdef Py_ssize_t p, q
    cdef real* d
    if sx == 2:
        _split2(src, dst, plen, nq)
    elif sx == 3:
        _split3(src, dst, plen, nq)
    elif sx == 4:
        _split4(src, dst, plen, nq)
    else:
        for p in range(sx):
            d = dst + p * plen
            for q in range(nq):
                d[q] = src[q * sx + p]


cdef inline void split_row(const real* src, Py_ssize_t n, real* dst,
                           Py_ssize_t sx, Py_ssize_t plen, Py_ssize_t dx,
                           Py_ssize_t nph) noexcept nogil:
    """dst[p*plen + q] = src[q*sx + p] for q*sx + p < n, q < plen: a row
    already extended, split into the phases p = (r*dx) % sx, r < nph, that
    taps dx apart read (as extend_phases)."""
    cdef Py_ssize_t nq = n // sx, p, q, r, m
    cdef real* d
    if nph == sx:
        if nq > plen:
            nq = plen
        split_phases(src, dst, sx, plen, nq)
        if nq < plen:
            for p in range(n - nq * sx):
                dst[p * plen + nq] = src[nq * sx + p]
        return
    for r in range(nph):
        p = (r * dx) % sx
        d = dst + p * plen
        m = (n - p + sx - 1) // sx if n > p else 0
        if m > plen:
            m = plen
        for q in range(m):
            d[q] = src[q * sx + p]


cdef inline void extend_phases(const real* src, Py_ssize_t n, real* dst,
                               Py_ssize_t start, Py_ssize_t sx, Py_ssize_t plen,
                               Py_ssize_t dx, Py_ssize_t nph,
                               BoundaryMode mode, real cval) noexcept nogil:
    """dst[p*plen + q] = src~[start + q*sx + p] for q < plen: the row seen
    through ``mode``, split into its column phases p, so that a strided
    output reads each tap from one contiguous phase row.  Only the phases
    p = (r*dx) % sx for r < nph are written, those that taps dx apart read:
    all sx when nph == sx, else a few, so a stride far larger than the
    kernel does not copy whole rows."""
    cdef Py_ssize_t p, q, r, c, q0, q1
    cdef real* d
    cdef const real* s
    # [q0, q1): the q whose sx columns all lie inside the row, a plain split
    q0 = 0 if start >= 0 else (sx - 1 - start) // sx
    q1 = (n - sx - start) // sx + 1 if n - sx - start >= 0 else 0
    if q0 > plen:
        q0 = plen
    if q1 > plen:
        q1 = plen
    if q1 < q0:
        q1 = q0
    for r in range(nph):
        p = (r * dx) % sx
        d = dst + p * plen
        for q in range(q0):
            c = map_index(start + q * sx + p, n, mode)
            d[q] = cval if c < 0 else src[c]
        for q in range(q1, plen):
            c = map_index(start + q * sx + p, n, mode)
            d[q] = cval if c < 0 else src[c]
        if nph < sx and q1 > q0:
            s = src + start + q0 * sx + p
            d = d + q0
            for q in range(q1 - q0):
                d[q] = s[q * sx]
    if nph == sx and q1 > q0:
        split_phases(src + start + q0 * sx, dst + q0, sx, plen, q1 - q0)
