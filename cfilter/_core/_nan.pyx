"""The element-wise steps of ``nan_policy='ignore'`` (normalised convolution).

``_engine.run_ignoring_nan`` filters two finite planes with the planned
engine and combines the results.  ``split_nan`` and ``combine_nan`` split
the image into those planes and combine the filtered planes, each in one
pass over memory (the numpy versions took about five passes each, as much
time as the engine runs themselves); element-wise, so every thread count
gives the same bits.  For an image with few NaNs, ``flag_positions`` lists
them and ``scatter_nan_weights`` or ``column_valid_sums`` add up their
weights alone (in float64, whatever the work type: the valid weights'
sum is then the total less those, and no digit the work type keeps is
lost where few weights are valid).
"""
from libc.math cimport NAN
from libc.string cimport memcpy

import numpy as np

from libc.stdint cimport uint8_t, uint64_t

from ._types cimport real
from ._pool cimport run_items
from ._scratch cimport per_thread


cdef enum:
    # Elements per parallel chunk: a contiguous run per thread, large
    # enough that scheduling costs nothing next to the memory traffic.
    CHUNK = 1 << 16


cdef extern from *:
    """
    #include <stdint.h>
    /* The memory index (0-7) of the first nonzero byte of the nonzero
       word *w, a copy of eight bytes; that byte is cleared in *w. */
    #if defined(_MSC_VER)
    #include <intrin.h>
    static int cfilter_take_byte(uint64_t *w) {
        unsigned long bit;
        _BitScanForward64(&bit, *w);
        *w &= ~((uint64_t)0xFF << (bit & ~7u));
        return (int)(bit >> 3);
    }
    #elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    static int cfilter_take_byte(uint64_t *w) {
        int idx = __builtin_clzll(*w) >> 3;
        *w &= ~((uint64_t)0xFF << (56 - 8 * idx));
        return idx;
    }
    #else
    static int cfilter_take_byte(uint64_t *w) {
        int idx = __builtin_ctzll(*w) >> 3;
        *w &= ~((uint64_t)0xFF << (8 * idx));
        return idx;
    }
    #endif
    /* How many of the word's eight bytes are nonzero: each byte's bits
       folded onto its lowest, then counted. */
    static int cfilter_nonzero_bytes(uint64_t w) {
        w |= w >> 4;
        w |= w >> 2;
        w |= w >> 1;
        w &= (uint64_t)0x0101010101010101ULL;
        return (int)((w * (uint64_t)0x0101010101010101ULL) >> 56);
    }
    """
    int cfilter_take_byte(uint64_t* w) nogil
    int cfilter_nonzero_bytes(uint64_t w) nogil


cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>
    /* One branch-free loop per type pair, in plain C with restrict
       pointers, so the compiler vectorises it (isnan() rather than v != v,
       for the same reason).  y is x with NaN set to 0; f the validity, 1
       where x is a number. */
    #define CFILTER_SPLIT(NAME, REAL, FLAG)                                  \
    static Py_ssize_t NAME(const REAL *restrict x, REAL *restrict y,        \
                           FLAG *restrict f, Py_ssize_t n) {                 \
        Py_ssize_t i, count = 0;                                             \
        for (i = 0; i < n; i++) {                                            \
            REAL v = x[i];                                                   \
            int nan = isnan(v) != 0;                                         \
            y[i] = nan ? (REAL)0 : v;                                        \
            f[i] = (FLAG)(1 - nan);                                          \
            count += nan;                                                    \
        }                                                                    \
        return count;                                                        \
    }
    CFILTER_SPLIT(cfilter_split_f, float, float)
    CFILTER_SPLIT(cfilter_split_d, double, double)
    CFILTER_SPLIT(cfilter_split_fu8, float, unsigned char)
    CFILTER_SPLIT(cfilter_split_du8, double, unsigned char)
    /* One row of a NaN's weights added onto the running sums. */
    #define CFILTER_ADD_ROW(NAME, REAL)                                      \
    static void NAME(REAL *restrict acc, const REAL *restrict w,            \
                     Py_ssize_t n) {                                         \
        Py_ssize_t i;                                                        \
        for (i = 0; i < n; i++)                                              \
            acc[i] += w[i];                                                  \
    }
    CFILTER_ADD_ROW(cfilter_add_row_f, float)
    CFILTER_ADD_ROW(cfilter_add_row_d, double)
    /* combine_nan's rule for kernels without negative weights (then
       fa is f), in place on y, from the weights' sums f of type ACC: the
       valid weights' (VALID) or the NaNs' (else; the valid weights' sum
       is then t - f, taken in ACC).  One loop per case, so no test is
       left in the loop; y restrict, so no aliasing check sends it down
       the scalar path; and the NaN set by OR-ing a quiet NaN's bits in,
       not by a select, which gcc does not vectorise after a float
       comparison (it could trap). */
    #define CFILTER_COMBINE_CASE(NAME, REAL, ACC, BITS, QNAN, VALID)         \
    static void NAME(REAL *restrict y, const ACC *restrict f,               \
                     Py_ssize_t n, ACC t, ACC small, ACC full) {             \
        Py_ssize_t i;                                                        \
        for (i = 0; i < n; i++) {                                            \
            ACC fv = f[i];                                                   \
            ACC valid = VALID ? fv : t - fv;                                 \
            BITS empty = VALID ? fv <= small : fv >= full;                   \
            REAL r = (REAL)((ACC)y[i] * (t / valid));                        \
            BITS bits;                                                       \
            memcpy(&bits, &r, sizeof bits);                                  \
            bits |= ((BITS)0 - empty) & QNAN;                                \
            memcpy(&y[i], &bits, sizeof bits);                               \
        }                                                                    \
    }
    #define CFILTER_COMBINE(NAME, REAL, ACC, BITS, QNAN)                     \
    CFILTER_COMBINE_CASE(NAME##_valid, REAL, ACC, BITS, QNAN, 1)             \
    CFILTER_COMBINE_CASE(NAME##_nan, REAL, ACC, BITS, QNAN, 0)               \
    static void NAME(REAL *y, const ACC *f, Py_ssize_t n, ACC t, ACC small,  \
                     ACC full, int valid_sums) {                             \
        (valid_sums ? NAME##_valid : NAME##_nan)(y, f, n, t, small, full);   \
    }
    CFILTER_COMBINE(cfilter_combine_ff, float, float, uint32_t, 0x7fc00000u)
    CFILTER_COMBINE(cfilter_combine_fd, float, double, uint32_t, 0x7fc00000u)
    CFILTER_COMBINE(cfilter_combine_dd, double, double, uint64_t,
                    0x7ff8000000000000ull)
    """
    void cfilter_combine_ff(float* y, const float* f, Py_ssize_t n, float t,
                            float small, float full, int valid_sums) nogil
    void cfilter_combine_fd(float* y, const double* f, Py_ssize_t n,
                            double t, double small, double full,
                            int valid_sums) nogil
    void cfilter_combine_dd(double* y, const double* f, Py_ssize_t n,
                            double t, double small, double full,
                            int valid_sums) nogil
    Py_ssize_t cfilter_split_f(const float* x, float* y, float* f,
                               Py_ssize_t n) nogil
    Py_ssize_t cfilter_split_d(const double* x, double* y, double* f,
                               Py_ssize_t n) nogil
    Py_ssize_t cfilter_split_fu8(const float* x, float* y, uint8_t* f,
                                 Py_ssize_t n) nogil
    Py_ssize_t cfilter_split_du8(const double* x, double* y,
                                 uint8_t* f, Py_ssize_t n) nogil
    void cfilter_add_row_f(float* acc, const float* w, Py_ssize_t n) nogil
    void cfilter_add_row_d(double* acc, const double* w, Py_ssize_t n) nogil


ctypedef fused flag_t:
    uint8_t
    float
    double


cdef struct SplitCall:
    const void* x
    void* y
    void* flag
    Py_ssize_t n
    Py_ssize_t* found       # per chunk


cdef void _split_rows(const SplitCall* g, Py_ssize_t c, real* r,
                      flag_t* f) noexcept nogil:
    cdef Py_ssize_t start = c * CHUNK
    cdef Py_ssize_t stop = min(start + CHUNK, g.n)
    cdef const real* x = <const real*> g.x + start
    cdef real* y = <real*> g.y + start
    cdef flag_t* flag = <flag_t*> g.flag + start
    if flag_t is uint8_t:
        if real is float:
            g.found[c] = cfilter_split_fu8(x, y, flag, stop - start)
        else:
            g.found[c] = cfilter_split_du8(x, y, flag, stop - start)
    elif real is float and flag_t is float:
        g.found[c] = cfilter_split_f(x, y, flag, stop - start)
    elif real is double and flag_t is double:
        g.found[c] = cfilter_split_d(x, y, flag, stop - start)


cdef void _split_fu8(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _split_rows(<const SplitCall*> g, c, <float*> NULL, <uint8_t*> NULL)


cdef void _split_du8(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _split_rows(<const SplitCall*> g, c, <double*> NULL, <uint8_t*> NULL)


cdef void _split_ff(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _split_rows(<const SplitCall*> g, c, <float*> NULL, <float*> NULL)


cdef void _split_dd(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _split_rows(<const SplitCall*> g, c, <double*> NULL, <double*> NULL)


def split_nan(const real[::1] x, real[::1] y, flag_t[::1] flag,
              int nthreads):
    """``y = x`` with NaN set to 0, and ``flag`` the validity mask: 1
    where ``x`` is a number, 0 at NaN; of the compute type or uint8 (a
    quarter of the traffic, for the engines that read uint8).  Returns the
    number of NaNs found."""
    cdef SplitCall g
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    if y.shape[0] != n or flag.shape[0] != n:
        raise ValueError("split_nan: x, y and flag differ in length")
    if (flag_t is float and real is double) or (
            flag_t is double and real is float):
        raise TypeError("split_nan: flag is uint8 or of x's type")
    if n == 0:
        return 0
    found = np.zeros(nchunks, dtype=np.intp)
    cdef Py_ssize_t[::1] counts = found
    g.x, g.y, g.flag, g.n = &x[0], &y[0], &flag[0], n
    g.found = &counts[0]
    with nogil:
        if flag_t is uint8_t:
            if real is float:
                run_items(_split_fu8, &g, nchunks, nthreads)
            else:
                run_items(_split_du8, &g, nchunks, nthreads)
        elif real is float:
            run_items(_split_ff, &g, nchunks, nthreads)
        else:
            run_items(_split_dd, &g, nchunks, nthreads)
    return int(found.sum())


cdef struct ScatterCall:
    const Py_ssize_t* where
    const Py_ssize_t* plane_start
    const Py_ssize_t* row_ptr
    const Py_ssize_t* row_ext
    const Py_ssize_t* col_ptr
    const Py_ssize_t* col_ext
    const void* w           # (kh, kw) weights
    const void* wf          # the same, each row reversed
    void* acc               # (N, oh, ow)
    Py_ssize_t H, W, oh, ow, kh, kw, sy, sx, dy, dx, nbands


cdef void _scatter_band(const ScatterCall* g, Py_ssize_t task,
                        real* dummy) noexcept nogil:
    """Band ``task % nbands`` of the output rows of plane ``task //
    nbands``: every NaN of the plane adds its weights that land there."""
    cdef Py_ssize_t H = g.H, W = g.W, oh = g.oh, ow = g.ow
    cdef Py_ssize_t kh = g.kh, kw = g.kw, sy = g.sy, sx = g.sx
    cdef Py_ssize_t dy = g.dy, dx = g.dx
    cdef Py_ssize_t p = task // g.nbands, b = task % g.nbands
    cdef Py_ssize_t i0 = b * oh // g.nbands, i1 = (b + 1) * oh // g.nbands
    cdef Py_ssize_t k, idx, r, col, a, e, ky, ky0, ky1, t, bq, q, kx, u
    cdef Py_ssize_t m0, m1
    cdef bint unit = sx == 1 and dx == 1
    cdef const real* w = <const real*> g.w
    cdef const real* wf = <const real*> g.wf
    cdef real* acc = <real*> g.acc + p * oh * ow
    for k in range(g.plane_start[p], g.plane_start[p + 1]):
        idx = g.where[k] - p * H * W
        r = idx // W
        col = idx - r * W
        for a in range(g.row_ptr[r], g.row_ptr[r + 1]):
            e = g.row_ext[a]
            if sy == 1 and dy == 1:
                # output i = e - ky: no division on this common path
                ky0 = e - i1 + 1
                if ky0 < 0:
                    ky0 = 0
                ky1 = e - i0 + 1
                if ky1 > kh:
                    ky1 = kh
            else:
                ky0 = 0
                ky1 = kh
            for ky in range(ky0, ky1):
                t = e - ky * dy
                if t < 0:
                    break
                if sy != 1:
                    if t % sy != 0:
                        continue
                    t = t // sy
                if t < i0 or t >= i1:
                    continue
                for bq in range(g.col_ptr[col], g.col_ptr[col + 1]):
                    q = g.col_ext[bq]
                    if unit:
                        # outputs j = q - kx, kx in [0, kw), within [0, ow)
                        m0 = kw - 1 - q
                        if m0 < 0:
                            m0 = 0
                        m1 = ow + kw - 1 - q
                        if m1 > kw:
                            m1 = kw
                        if m1 > m0:
                            if real is float:
                                cfilter_add_row_f(
                                    acc + t * ow + q - kw + 1 + m0,
                                    wf + ky * kw + m0, m1 - m0)
                            else:
                                cfilter_add_row_d(
                                    acc + t * ow + q - kw + 1 + m0,
                                    wf + ky * kw + m0, m1 - m0)
                        continue
                    for kx in range(kw):
                        u = q - kx * dx
                        if u < 0:
                            break
                        if u % sx == 0 and u // sx < ow:
                            acc[t * ow + u // sx] += w[ky * kw + kx]


cdef void _scatter_f(void* g, Py_ssize_t task, int slot) noexcept nogil:
    _scatter_band(<const ScatterCall*> g, task, <float*> NULL)


cdef void _scatter_d(void* g, Py_ssize_t task, int slot) noexcept nogil:
    _scatter_band(<const ScatterCall*> g, task, <double*> NULL)


def scatter_nan_weights(const Py_ssize_t[::1] where,
                        const Py_ssize_t[::1] plane_start,
                        Py_ssize_t H, Py_ssize_t W,
                        const Py_ssize_t[::1] row_ptr,
                        const Py_ssize_t[::1] row_ext,
                        const Py_ssize_t[::1] col_ptr,
                        const Py_ssize_t[::1] col_ext,
                        const real[:, ::1] w, Py_ssize_t sy, Py_ssize_t sx,
                        Py_ssize_t dy, Py_ssize_t dx, real[:, :, ::1] acc,
                        int nthreads):
    """Add ``corr(N, w)`` onto ``acc`` (N, oh, ow) from the NaNs alone:
    each NaN's weights go to the outputs that read it.  ``where`` are the
    NaNs' flat indices into the (N, H, W) planes, ascending; the planes'
    NaNs are ``where[plane_start[n]:plane_start[n + 1]]``.  The extended
    rows ``e`` (output ``i``, tap ``ky`` reads ``e = i*sy + ky*dy``) that
    hold a copy of source row ``r`` are ``row_ext[row_ptr[r]:row_ptr[r +
    1]]`` (the boundary mode's inverse; none for the constant), columns
    likewise.  The work items are bands of output rows (fixed by the
    shape), and each adds the NaNs in the same order, so every pixel's sum
    is the same in every bit whatever the number of threads."""
    cdef Py_ssize_t N = acc.shape[0], oh = acc.shape[1], ow = acc.shape[2]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1]
    cdef Py_ssize_t ky, kx
    if where.shape[0] == 0 or N == 0 or oh == 0 or ow == 0:
        return
    if plane_start.shape[0] != N + 1 or row_ptr.shape[0] != H + 1 \
            or col_ptr.shape[0] != W + 1:
        raise ValueError("scatter_nan_weights: inconsistent geometry")
    # The rows reversed, so that a NaN's taps along an output row are one
    # contiguous run of weights.
    flipped_arr = np.empty((kh, kw), dtype=np.float32 if real is float
                           else np.float64)
    cdef real[:, ::1] wf = flipped_arr
    for ky in range(kh):
        for kx in range(kw):
            wf[ky, kx] = w[ky, kw - 1 - kx]
    cdef ScatterCall g
    # Bands fixed by the shape: every pixel's NaNs are added in the same
    # order whatever the number of threads.
    g.nbands = max(1, min(16, oh // 32))
    g.where, g.plane_start = &where[0], &plane_start[0]
    g.row_ptr, g.row_ext = &row_ptr[0], (&row_ext[0] if row_ext.shape[0] else NULL)
    g.col_ptr, g.col_ext = &col_ptr[0], (&col_ext[0] if col_ext.shape[0] else NULL)
    g.w, g.wf, g.acc = &w[0, 0], &wf[0, 0], &acc[0, 0, 0]
    g.H, g.W, g.oh, g.ow, g.kh, g.kw = H, W, oh, ow, kh, kw
    g.sy, g.sx, g.dy, g.dx = sy, sx, dy, dx
    with nogil:
        if real is float:
            run_items(_scatter_f, &g, N * g.nbands, nthreads)
        else:
            run_items(_scatter_d, &g, N * g.nbands, nthreads)


ctypedef fused acc_t:
    float
    double


cdef struct CombineCall:
    void* y
    const void* f
    const void* fa
    void* o
    Py_ssize_t n
    double t, small, full
    bint valid_sums, signed, in_place


cdef void _combine_chunk(const CombineCall* g, Py_ssize_t c, real* dummy,
                         acc_t* dummy_acc) noexcept nogil:
    cdef Py_ssize_t start = c * CHUNK
    cdef Py_ssize_t stop = min(start + CHUNK, g.n), i
    cdef real* y = <real*> g.y
    cdef const acc_t* f = <const acc_t*> g.f
    cdef const acc_t* fa = <const acc_t*> g.fa
    cdef real* o = <real*> g.o
    cdef acc_t t = <acc_t> g.t, small = <acc_t> g.small
    cdef acc_t full = <acc_t> g.full
    cdef acc_t fv, fav, valid, scale, mag
    cdef real nan = <real>NAN
    cdef bint empty, partial
    cdef bint valid_sums = g.valid_sums
    if not g.signed and g.in_place:
        if real is float and acc_t is float:
            cfilter_combine_ff(&y[start], &f[start], stop - start, t,
                               small, full, valid_sums)
        elif real is float:
            cfilter_combine_fd(&y[start], &f[start], stop - start, t,
                               small, full, valid_sums)
        elif acc_t is double:
            cfilter_combine_dd(&y[start], &f[start], stop - start, t,
                               small, full, valid_sums)
        return
    for i in range(start, stop):
        fv = f[i]
        fav = fa[i]
        if valid_sums:
            valid = fv
            empty = fav <= small
        else:
            valid = t - fv
            empty = fav >= full
        if empty:
            o[i] = nan
            continue
        if g.signed:
            if valid_sums:
                partial = fav < full
            else:
                partial = fav > small
            scale = 1
            if t != 0:
                mag = valid if valid >= 0 else -valid
                if partial and mag > small:
                    scale = t / valid
            elif partial:
                scale = 0
        else:
            # Exactly 1 where every weight is valid (f == 0 from the NaNs'
            # sums).
            scale = t / valid
        o[i] = <real>(y[i] * scale)


cdef void _combine_ff(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _combine_chunk(<const CombineCall*> g, c, <float*> NULL, <float*> NULL)


cdef void _combine_fd(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _combine_chunk(<const CombineCall*> g, c, <float*> NULL, <double*> NULL)


cdef void _combine_dd(void* g, Py_ssize_t c, int slot) noexcept nogil:
    _combine_chunk(<const CombineCall*> g, c, <double*> NULL, <double*> NULL)


def combine_nan(real[::1] y, const acc_t[::1] f, const acc_t[::1] fa,
                real[::1] o, double total, double total_abs, double tiny,
                bint valid_sums, bint signed, int nthreads):
    """The normalised result ``o`` (which may be ``y``) from ``y =
    corr(Y, w)`` and the weights' sums ``f`` (of ``w``) and ``fa`` (of
    ``|w|``; it may be ``f`` when no weight is negative): with
    ``valid_sums`` those of the valid weights, ``corr(M, w)``, else those
    of the NaNs' weights, ``corr(N, w)``, taken in float64 so that the
    valid weights' ``total - f`` (in float64 too) loses no digit of a
    float32 ``y``.  ``f`` is of ``y``'s type or float64.  The rules are
    run_ignoring_nan's: with ``valid = sum_valid(w)``, NaN where
    ``sum_valid(|w|) <= tiny``; else ``y * total / valid``, where for a
    signed kernel the rescaling is skipped (factor 1) where the valid
    weights cancel, and a zero-sum kernel gives 0 wherever some weight is
    invalid."""
    cdef CombineCall g
    cdef Py_ssize_t n = y.shape[0]
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    if real is double and acc_t is float:
        raise TypeError("combine_nan: float32 sums for float64 values")
    if f.shape[0] != n or fa.shape[0] != n or o.shape[0] != n:
        raise ValueError("combine_nan: the planes differ in length")
    if n == 0:
        return
    g.y, g.f, g.fa, g.o, g.n = &y[0], &f[0], &fa[0], &o[0], n
    # The constants in the sums' type, as the loops compare them.
    g.t, g.small = <acc_t>total, <acc_t>tiny
    g.full = <acc_t>(<acc_t>total_abs - <acc_t>tiny)
    g.valid_sums, g.signed, g.in_place = valid_sums, signed, &o[0] == &y[0]
    with nogil:
        if real is float and acc_t is float:
            run_items(_combine_ff, &g, nchunks, nthreads)
        elif real is float:
            run_items(_combine_fd, &g, nchunks, nthreads)
        elif acc_t is double:
            run_items(_combine_dd, &g, nchunks, nthreads)


cdef enum:
    # XOR-ed onto eight flag bytes of 0 or 1 to count or list the zeros.
    ONES = 0x01010101


cdef inline Py_ssize_t _count_flags(const uint8_t* f, Py_ssize_t n,
                                    uint64_t flip) noexcept nogil:
    """Nonzero bytes among ``f[0 .. n - 1]`` XOR the byte ``flip & 1``,
    eight at a time (``flip`` 0 or eight bytes of 1)."""
    cdef Py_ssize_t i, j, count = 0, nwords = n // 8
    cdef uint64_t word
    for i in range(nwords):
        memcpy(&word, &f[8 * i], 8)
        word ^= flip
        if word != 0:
            count += cfilter_nonzero_bytes(word)
    for j in range(8 * nwords, n):
        count += (f[j] ^ <uint8_t>(flip & 1)) != 0
    return count


cdef inline Py_ssize_t _list_flags(const uint8_t* f, Py_ssize_t n,
                                   Py_ssize_t offset, Py_ssize_t* pos,
                                   Py_ssize_t room,
                                   uint64_t flip) noexcept nogil:
    """Write ``offset + i`` for the nonzero ``f[i] ^ (flip & 1)``,
    ascending, into ``pos`` (at most ``room``); returns how many.  A
    sparse plane's nonzero words are few: the scan skips zero words eight
    bytes at a time, then takes each nonzero byte by its lowest set bit
    (one branch per flag, where testing the eight bytes mispredicted
    often)."""
    cdef Py_ssize_t i, j, k = 0, nwords = n // 8
    cdef uint64_t word
    for i in range(nwords):
        memcpy(&word, &f[8 * i], 8)    # one load, no aliasing
        word ^= flip
        while word != 0 and k < room:
            pos[k] = offset + 8 * i + cfilter_take_byte(&word)
            k += 1
    for j in range(8 * nwords, n):
        if (f[j] ^ <uint8_t>(flip & 1)) != 0 and k < room:
            pos[k] = offset + j
            k += 1
    return k


cdef struct FlagCall:
    const uint8_t* flags
    Py_ssize_t n
    Py_ssize_t* offsets     # nchunks + 1
    Py_ssize_t* pos
    uint64_t flip


cdef void _count_item(void* ctx, Py_ssize_t c, int slot) noexcept nogil:
    cdef const FlagCall* g = <const FlagCall*> ctx
    cdef Py_ssize_t start = c * CHUNK
    cdef Py_ssize_t stop = min(start + CHUNK, g.n)
    g.offsets[c + 1] = _count_flags(g.flags + start, stop - start, g.flip)


cdef void _list_item(void* ctx, Py_ssize_t c, int slot) noexcept nogil:
    cdef const FlagCall* g = <const FlagCall*> ctx
    cdef Py_ssize_t start = c * CHUNK
    cdef Py_ssize_t stop = min(start + CHUNK, g.n)
    # (a chunk without flags has no place in pos, not even its first)
    if g.offsets[c + 1] > g.offsets[c]:
        _list_flags(g.flags + start, stop - start, start,
                    g.pos + g.offsets[c], g.offsets[c + 1] - g.offsets[c],
                    g.flip)


def flag_positions(const uint8_t[::1] flags, Py_ssize_t count,
                   int nthreads=1, bint zeros=False):
    """The ``count`` indices where ``flags`` is nonzero, ascending; with
    ``zeros``, where it is 0 (then every flag must be 0 or 1: the NaNs of
    a validity mask).  With several threads each chunk's flags are counted
    first, then listed from their offsets, in parallel."""
    cdef FlagCall g
    cdef Py_ssize_t n = flags.shape[0], nchunks, total
    cdef uint64_t flip = (<uint64_t>ONES << 32 | ONES) if zeros else 0
    result = np.empty(count, dtype=np.intp)
    cdef Py_ssize_t[::1] pos = result
    cdef Py_ssize_t[::1] offsets
    if n == 0:
        if count != 0:
            raise ValueError("flag_positions: count differs from the flags")
        return result
    if nthreads <= 1:
        with nogil:
            total = _list_flags(&flags[0], n, 0,
                                &pos[0] if count else NULL, count, flip)
        if total != count:
            raise ValueError("flag_positions: count differs from the flags")
        return result
    nchunks = (n + CHUNK - 1) // CHUNK
    offsets_arr = np.zeros(nchunks + 1, dtype=np.intp)
    offsets = offsets_arr
    g.flags, g.n, g.offsets, g.flip = &flags[0], n, &offsets[0], flip
    g.pos = &pos[0] if count else NULL
    with nogil:
        run_items(_count_item, &g, nchunks, nthreads)
    np.cumsum(offsets_arr, out=offsets_arr)
    if offsets[nchunks] != count:
        raise ValueError("flag_positions: count differs from the flags")
    if count == 0:
        return result
    with nogil:
        run_items(_list_item, &g, nchunks, nthreads)
    return result


cdef struct ColumnCall:
    const Py_ssize_t* where
    const Py_ssize_t* starts
    const Py_ssize_t* source_row
    const double* wcol
    void* out
    double* rows            # per thread: a row of sums, ``stride`` apart
    Py_ssize_t stride
    double total
    Py_ssize_t H, W, oh, kh, sy, dy, nrows, count


cdef void _column_rows(const ColumnCall* g, Py_ssize_t item, int slot,
                       real* dummy) noexcept nogil:
    cdef Py_ssize_t task, p, t, ky, e, r, k, c, base
    cdef Py_ssize_t H = g.H, W = g.W
    cdef const double* wcol = g.wcol
    cdef double* acc = g.rows + slot * g.stride
    cdef double total = g.total
    cdef real* row
    cdef double wv
    for task in range(item * g.nrows, min((item + 1) * g.nrows, g.count)):
        p = task // g.oh
        t = task - p * g.oh
        for c in range(W):
            acc[c] = 0
        base = p * H * W
        for ky in range(g.kh):
            e = t * g.sy + ky * g.dy
            r = g.source_row[e]
            if r < 0:
                continue
            wv = wcol[ky]
            for k in range(g.starts[p * H + r], g.starts[p * H + r + 1]):
                acc[g.where[k] - base - r * W] += wv
        row = <real*> g.out + task * W
        for c in range(W):
            row[c] = <real>(total - acc[c])


cdef void _column_f(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _column_rows(<const ColumnCall*> g, item, slot, <float*> NULL)


cdef void _column_d(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _column_rows(<const ColumnCall*> g, item, slot, <double*> NULL)


def column_valid_sums(const Py_ssize_t[::1] where,
                      const Py_ssize_t[::1] starts, Py_ssize_t H,
                      Py_ssize_t W, const Py_ssize_t[::1] source_row,
                      const double[::1] wcol, Py_ssize_t sy, Py_ssize_t dy,
                      real[:, :, ::1] out, int nthreads):
    """The column pass of ``corr(M, w)`` for a separable ``w`` (M the
    validity, 1 outside the image) from the NaNs alone: ``out[p, t, c]``
    (all of it written) is ``sum(wcol)`` less the sum of ``wcol[ky]`` over
    the taps ``ky`` whose extended row ``t*sy + ky*dy`` is a copy of a
    source row holding a NaN in column ``c``.  Both sums are taken in
    float64, so a column with few valid taps keeps its work type's
    digits.  ``where`` are the NaNs' flat indices into the (N, H, W)
    planes, ascending; ``starts[p * H + r]`` is the first of them in row
    ``r`` of plane ``p`` (``starts`` has ``N * H + 1`` entries);
    ``source_row[e]`` is the source row extended row ``e`` copies, -1
    outside (the boundary mode's map).  Output row by output row, so each
    row's additions stay in cache and are made in the same order whatever
    the number of threads.  Returns ``sum(wcol)`` as added here (a
    column outside the image has that valid sum in constant mode)."""
    cdef Py_ssize_t N = out.shape[0], oh = out.shape[1], kh = wcol.shape[0]
    cdef ColumnCall g
    cdef double[:, ::1] rows
    cdef Py_ssize_t nitems, ky
    cdef double total = 0
    for ky in range(kh):
        total += wcol[ky]
    if N == 0 or oh == 0 or W == 0:
        return total
    if (out.shape[2] != W or starts.shape[0] != N * H + 1
            or source_row.shape[0] < (oh - 1) * sy + (kh - 1) * dy + 1
            or starts[N * H] > where.shape[0]):
        raise ValueError("column_valid_sums: inconsistent geometry")
    g.where = &where[0] if where.shape[0] else NULL
    g.starts, g.source_row = &starts[0], &source_row[0]
    g.wcol, g.out = &wcol[0], &out[0, 0, 0]
    g.total = total
    g.H, g.W, g.oh, g.kh, g.sy, g.dy = H, W, oh, kh, sy, dy
    # Output rows per item: a few thousand additions at least.
    g.nrows = max(1, 16384 // W)
    g.count = N * oh
    nitems = (g.count + g.nrows - 1) // g.nrows
    if nthreads < 1:
        nthreads = 1
    if nthreads > nitems:
        nthreads = <int> nitems
    rows = per_thread(nthreads, W, np.float64)
    g.rows, g.stride = &rows[0, 0], rows.shape[1]
    with nogil:
        if real is float:
            run_items(_column_f, &g, nitems, nthreads)
        else:
            run_items(_column_d, &g, nitems, nthreads)
    return total
