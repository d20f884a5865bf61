# The inner loops every engine shares: one output row from a set of input
# row pointers whose every tap is in range, so there are no boundary checks.
# A column stride is first undone by splitting the rows into phases
# (``extend_phases`` / ``split_phases`` in _boundary.pxd, ``phase_groups``
# here), so strided outputs run the same contiguous block loop.
from ._types cimport real


cdef enum:
    # Outputs accumulated together: 4 AVX-512 / 8 AVX2 float registers, enough
    # independent chains to hide the multiply-add latency.
    BLOCK = 64


cdef extern from "_blocks.h" nogil:
    void cf_taps_block_f(float* out, const float* const* rows,
                         const float* w, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t dx, Py_ssize_t j0)
    void cf_taps_block_d(double* out, const double* const* rows,
                         const double* w, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t dx, Py_ssize_t j0)
    void cf_taps_pair_f(float* out0, float* out1, const float* const* rows,
                        const float* w, Py_ssize_t kh, Py_ssize_t kw,
                        Py_ssize_t dx, Py_ssize_t j0)
    void cf_taps_pair_d(double* out0, double* out1,
                        const double* const* rows, const double* w,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                        Py_ssize_t j0)


cdef inline void taps_block(real* out, const real** rows, const real* w,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                        Py_ssize_t j0) noexcept nogil:
    """BLOCK outputs from j0 on, held in registers while every tap adds in
    (in C: see _blocks.h for why).  With kw = 1 it is the separable
    engine's column block."""
    if real is float:
        cf_taps_block_f(out, rows, w, kh, kw, dx, j0)
    else:
        cf_taps_block_d(out, rows, w, kh, kw, dx, j0)


cdef inline void taps_unit_stride(real* out, const real** rows, const real* w,
                                  Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                                  Py_ssize_t n) noexcept nogil:
    """One output row for column stride 1: contiguous multiply-adds."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t j0 = 0, m, l, t
    while j0 + BLOCK <= n:
        taps_block(out, rows, w, kh, kw, dx, j0)
        j0 += BLOCK
    if j0 < n and n >= BLOCK:
        # Finish with one full block that overlaps the last: vector code
        # throughout, and the outputs computed twice get the same values.
        taps_block(out, rows, w, kh, kw, dx, n - BLOCK)
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


cdef inline void taps_pair_unit_stride(real* out0, real* out1,
                                       const real** rows, const real* w,
                                       Py_ssize_t kh, Py_ssize_t kw,
                                       Py_ssize_t dx,
                                       Py_ssize_t n) noexcept nogil:
    """taps_unit_stride for two output rows at once: out0 from rows[0 ..
    kh-1], out1 from rows[1 .. kh] (the kh + 1 input rows of two
    consecutive outputs when the row stride equals the row dilation).  The
    values are those of two taps_unit_stride calls; an input vector loaded
    once serves both rows."""
    cdef Py_ssize_t j0 = 0
    if n < BLOCK:
        taps_unit_stride(out0, rows, w, kh, kw, dx, n)
        taps_unit_stride(out1, rows + 1, w, kh, kw, dx, n)
        return
    while j0 + BLOCK <= n:
        if real is float:
            cf_taps_pair_f(out0, out1, rows, w, kh, kw, dx, j0)
        else:
            cf_taps_pair_d(out0, out1, rows, w, kh, kw, dx, j0)
        j0 += BLOCK
    if j0 < n:
        if real is float:
            cf_taps_pair_f(out0, out1, rows, w, kh, kw, dx, n - BLOCK)
        else:
            cf_taps_pair_d(out0, out1, rows, w, kh, kw, dx, n - BLOCK)


cdef inline void _block_groups(real* out, const real** rows,
                               const Py_ssize_t* cnt, const real* w,
                               Py_ssize_t ng, Py_ssize_t step,
                               Py_ssize_t j0) noexcept nogil:
    """As _block, for ng groups of taps: group g has cnt[g] taps, step apart
    from rows[g] on, with their weights next in w."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t g, l, t, k = 0
    for t in range(BLOCK):
        acc[t] = 0
    for g in range(ng):
        for l in range(cnt[g]):
            wv = w[k]
            k = k + 1
            src = rows[g] + j0 + l * step
            for t in range(BLOCK):
                acc[t] += wv * src[t]
    for t in range(BLOCK):
        out[j0 + t] = acc[t]


cdef inline void taps_groups(real* out, const real** rows,
                             const Py_ssize_t* cnt, const real* w,
                             Py_ssize_t ng, Py_ssize_t step,
                             Py_ssize_t n) noexcept nogil:
    """One output row from tap groups (see ``phase_groups``): the block loop
    of taps_unit_stride, whose kernel rows are groups of kw taps.

    Within a group the tap address is affine in the tap number.  A flat list
    of arbitrary tap pointers would be simpler, but gcc's unroll-and-jam
    pairs two of its taps and then loads the second with gathers, at several
    times the cost."""
    cdef real acc[BLOCK]
    cdef real wv
    cdef const real* src
    cdef Py_ssize_t j0 = 0, g, l, t, k = 0
    while j0 + BLOCK <= n:
        _block_groups(out, rows, cnt, w, ng, step, j0)
        j0 += BLOCK
    if j0 < n and n >= BLOCK:
        _block_groups(out, rows, cnt, w, ng, step, n - BLOCK)
    elif j0 < n:
        for t in range(n):
            acc[t] = 0
        for g in range(ng):
            for l in range(cnt[g]):
                wv = w[k]
                k = k + 1
                src = rows[g] + l * step
                for t in range(n):
                    acc[t] += wv * src[t]
        for t in range(n):
            out[t] = acc[t]


cdef inline Py_ssize_t gcd(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """The greatest common divisor of a, b >= 0 (the one gcd of the core:
    every stride/dilation phase is worked out from it)."""
    cdef Py_ssize_t r
    while b:
        r = a % b
        a = b
        b = r
    return a


cdef inline Py_ssize_t phase_step(Py_ssize_t dx, Py_ssize_t sx) noexcept nogil:
    """Distance, in a phase row, between the taps of a group (see
    ``phase_groups``): dx / gcd(dx, sx)."""
    return dx // gcd(dx, sx)


cdef inline Py_ssize_t phase_ngroups(Py_ssize_t kw, Py_ssize_t dx,
                                     Py_ssize_t sx) noexcept nogil:
    """Tap groups per kernel row (see ``phase_groups``): sx / gcd(dx, sx),
    or kw if fewer."""
    cdef Py_ssize_t period = sx // gcd(dx, sx)
    return period if period < kw else kw


cdef inline void phase_weights(real* wg, Py_ssize_t* cnt, const real* w,
                               Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                               Py_ssize_t sx) noexcept nogil:
    """The weights in group order, and each group's tap count, for the
    kh * phase_ngroups groups of ``phase_groups``."""
    cdef Py_ssize_t period = sx // gcd(dx, sx)
    cdef Py_ssize_t ng = phase_ngroups(kw, dx, sx)
    cdef Py_ssize_t m, r, l, k = 0
    for m in range(kh):
        for r in range(ng):
            cnt[m * ng + r] = (kw - r + period - 1) // period
            l = r
            while l < kw:
                wg[k] = w[m * kw + l]
                k = k + 1
                l = l + period


cdef inline void phase_groups(const real** rows, const real** phrows,
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                              Py_ssize_t sx, Py_ssize_t plen) noexcept nogil:
    """Tap groups of output 0 for column stride sx > 1.

    phrows[m] holds kernel row m's input split into sx phase rows of plen
    (phase p, index q = column q*sx + p).  Output j reads column c = l*dx at
    tap l, which is phase c % sx, index j + c // sx: contiguous in j.  Taps
    period = sx / gcd(dx, sx) apart share a phase and lie phase_step apart
    in it, so kernel row m splits into groups r < period of the taps r,
    r + period, ..., each read like a kernel row at stride 1:
    ``taps_groups(out, rows, cnt, wg, kh * ng, phase_step(dx, sx), n)``
    with ``phase_weights``' wg and cnt.  Only the order of the taps within
    a kernel row differs from stride 1's."""
    cdef Py_ssize_t ng = phase_ngroups(kw, dx, sx), m, r, c
    for m in range(kh):
        for r in range(ng):
            c = r * dx
            rows[m * ng + r] = phrows[m] + (c % sx) * plen + c // sx
