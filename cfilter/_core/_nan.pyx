"""The element-wise steps of ``nan_policy='ignore'`` (normalised convolution).

``_engine.run_ignoring_nan`` filters two finite planes with the planned
engine and combines the results.  ``split_nan`` and ``combine_nan`` split
the image into those planes and combine the filtered planes, each in one
pass over memory (the numpy versions took about five passes each, as much
time as the engine runs themselves); element-wise, so every thread count
gives the same bits.  For an image with few NaNs, ``flag_positions`` lists
them and ``scatter_nan_weights`` makes the filtered NaN plane from them
alone.
"""
from cython.parallel cimport prange
from libc.math cimport NAN
from libc.string cimport memcpy

import numpy as np

from libc.stdint cimport uint8_t, uint64_t

from ._types cimport real


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
       and the subtraction done everywhere, for the same reason). */
    #define CFILTER_SPLIT(NAME, REAL, FLAG)                                  \
    static Py_ssize_t NAME(const REAL *restrict x, REAL *restrict y,        \
                           FLAG *restrict f, Py_ssize_t n, REAL s,           \
                           int flip) {                                       \
        Py_ssize_t i, count = 0;                                             \
        for (i = 0; i < n; i++) {                                            \
            REAL v = x[i];                                                   \
            REAL d = v - s;                                                  \
            int nan = isnan(v) != 0;                                         \
            y[i] = nan ? (REAL)0 : d;                                        \
            f[i] = (FLAG)(nan ^ flip);                                       \
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
       fa is f), in place on y.  One loop per case (NaN cval, shift), so
       no test is left in the loop; y restrict, so no aliasing check sends
       it down the scalar path; and the NaN set by OR-ing a quiet NaN's
       bits in, not by a select, which gcc does not vectorise after a
       float comparison (it could trap). */
    #define CFILTER_COMBINE_CASE(NAME, REAL, BITS, QNAN, NAN_CVAL, SHIFT)    \
    static void NAME(REAL *restrict y, const REAL *restrict f,              \
                     Py_ssize_t n, REAL t, REAL small, REAL full, REAL s) {  \
        Py_ssize_t i;                                                        \
        for (i = 0; i < n; i++) {                                            \
            REAL fv = f[i];                                                  \
            REAL valid = NAN_CVAL ? fv : t - fv;                             \
            BITS empty = NAN_CVAL ? fv <= small : fv >= full;                \
            REAL num = SHIFT ? y[i] + valid * s : y[i];                      \
            REAL r = num * (t / valid);                                      \
            BITS bits;                                                       \
            memcpy(&bits, &r, sizeof bits);                                  \
            bits |= (BITS)0 - empty & QNAN;                                  \
            memcpy(&y[i], &bits, sizeof bits);                               \
        }                                                                    \
    }
    #define CFILTER_COMBINE(NAME, REAL, BITS, QNAN)                          \
    CFILTER_COMBINE_CASE(NAME##_00, REAL, BITS, QNAN, 0, 0)                  \
    CFILTER_COMBINE_CASE(NAME##_01, REAL, BITS, QNAN, 0, 1)                  \
    CFILTER_COMBINE_CASE(NAME##_10, REAL, BITS, QNAN, 1, 0)                  \
    CFILTER_COMBINE_CASE(NAME##_11, REAL, BITS, QNAN, 1, 1)                  \
    static void NAME(REAL *y, const REAL *f, Py_ssize_t n, REAL t,           \
                     REAL small, REAL full, REAL s, int nan_cval) {          \
        if (nan_cval)                                                        \
            (s != 0 ? NAME##_11 : NAME##_10)(y, f, n, t, small, full, s);    \
        else                                                                 \
            (s != 0 ? NAME##_01 : NAME##_00)(y, f, n, t, small, full, s);    \
    }
    CFILTER_COMBINE(cfilter_combine_f, float, uint32_t, 0x7fc00000u)
    CFILTER_COMBINE(cfilter_combine_d, double, uint64_t,
                    0x7ff8000000000000ull)
    """
    void cfilter_combine_f(float* y, const float* f, Py_ssize_t n, float t,
                           float small, float full, float s,
                           int nan_cval) nogil
    void cfilter_combine_d(double* y, const double* f, Py_ssize_t n,
                           double t, double small, double full, double s,
                           int nan_cval) nogil
    Py_ssize_t cfilter_split_f(const float* x, float* y, float* f,
                               Py_ssize_t n, float s, int flip) nogil
    Py_ssize_t cfilter_split_d(const double* x, double* y, double* f,
                               Py_ssize_t n, double s, int flip) nogil
    Py_ssize_t cfilter_split_fu8(const float* x, float* y, uint8_t* f,
                                 Py_ssize_t n, float s, int flip) nogil
    Py_ssize_t cfilter_split_du8(const double* x, double* y,
                                 uint8_t* f, Py_ssize_t n, double s,
                                 int flip) nogil
    void cfilter_add_row_f(float* acc, const float* w, Py_ssize_t n) nogil
    void cfilter_add_row_d(double* acc, const double* w, Py_ssize_t n) nogil


ctypedef fused flag_t:
    uint8_t
    float
    double


def split_nan(const real[::1] x, real[::1] y, flag_t[::1] flag,
              double shift, bint nan_cval, int nthreads):
    """``y = x - shift`` with NaN set to 0; ``flag`` = 1 at NaN and 0
    elsewhere (the other way round with ``nan_cval``), of the compute type
    or uint8 (a quarter of the traffic, for the engines that read uint8).
    Returns the number of NaNs found."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t c, start, stop, found = 0
    cdef int flip = 1 if nan_cval else 0
    if y.shape[0] != n or flag.shape[0] != n:
        raise ValueError("split_nan: x, y and flag differ in length")
    if (flag_t is float and real is double) or (
            flag_t is double and real is float):
        raise TypeError("split_nan: flag is uint8 or of x's type")
    if n == 0:
        return 0
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=max(1, nthreads)):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        if flag_t is uint8_t:
            if real is float:
                found += cfilter_split_fu8(&x[start], &y[start], &flag[start],
                                           stop - start, <float>shift, flip)
            else:
                found += cfilter_split_du8(&x[start], &y[start], &flag[start],
                                           stop - start, shift, flip)
        elif real is float and flag_t is float:
            found += cfilter_split_f(&x[start], &y[start], &flag[start],
                                     stop - start, <float>shift, flip)
        elif real is double and flag_t is double:
            found += cfilter_split_d(&x[start], &y[start], &flag[start],
                                     stop - start, shift, flip)
    return found


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
    likewise.  The threads take bands of output rows and each adds the
    NaNs in the same order, so every pixel's sum is the same in every bit
    whatever the number of threads."""
    cdef Py_ssize_t N = acc.shape[0], oh = acc.shape[1], ow = acc.shape[2]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1]
    cdef Py_ssize_t nbands, ntasks, task, p, b, i0, i1, k, idx, r, col
    cdef Py_ssize_t a, e, ky, ky0, ky1, t, bq, q, kx, u, m0, m1
    cdef bint unit = sx == 1 and dx == 1
    cdef real* flipped
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
    nbands = max(1, min(nthreads, oh // 16))
    ntasks = N * nbands
    for task in prange(ntasks, nogil=True, schedule="static",
                       num_threads=max(1, min(nthreads, ntasks))):
        p = task // nbands
        b = task % nbands
        i0 = b * oh // nbands
        i1 = (b + 1) * oh // nbands
        for k in range(plane_start[p], plane_start[p + 1]):
            idx = where[k] - p * H * W
            r = idx // W
            col = idx - r * W
            for a in range(row_ptr[r], row_ptr[r + 1]):
                e = row_ext[a]
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
                    for bq in range(col_ptr[col], col_ptr[col + 1]):
                        q = col_ext[bq]
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
                                        &acc[p, t, q - kw + 1 + m0],
                                        &wf[ky, m0], m1 - m0)
                                else:
                                    cfilter_add_row_d(
                                        &acc[p, t, q - kw + 1 + m0],
                                        &wf[ky, m0], m1 - m0)
                            continue
                        for kx in range(kw):
                            u = q - kx * dx
                            if u < 0:
                                break
                            if u % sx == 0 and u // sx < ow:
                                acc[p, t, u // sx] += w[ky, kx]


def combine_nan(real[::1] y, const real[::1] f, const real[::1] fa,
                real[::1] o, double total, double total_abs, double tiny,
                double shift, bint nan_cval, bint signed, int nthreads):
    """The normalised result ``o`` (which may be ``y``) from ``y =
    corr(Y, w)``, ``f = corr(N, w)`` and ``fa = corr(N, |w|)`` (``M``
    instead of ``N`` with ``nan_cval``; ``fa`` may be ``f`` when no weight
    is negative).  The rules are run_ignoring_nan's: with ``valid =
    sum_valid(w)``, NaN where ``sum_valid(|w|) <= tiny``; else ``(y +
    valid * shift) * total / valid``, where for a signed kernel the
    rescaling is skipped (factor 1) where the valid weights cancel, and a
    zero-sum kernel gives 0 wherever some weight is invalid."""
    cdef Py_ssize_t n = y.shape[0]
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t c, i, start, stop
    cdef real t = <real>total, ta = <real>total_abs, small = <real>tiny
    cdef real s = <real>shift, full = ta - small
    cdef real fv, fav, valid, scale, mag
    cdef real nan = <real>NAN
    cdef bint empty, partial, in_place
    if f.shape[0] != n or fa.shape[0] != n or o.shape[0] != n:
        raise ValueError("combine_nan: the planes differ in length")
    if n == 0:
        return
    in_place = &o[0] == &y[0]
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=max(1, nthreads)):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        if not signed and in_place:
            if real is float:
                cfilter_combine_f(&y[start], &f[start], stop - start, t,
                                  small, full, s, nan_cval)
            else:
                cfilter_combine_d(&y[start], &f[start], stop - start, t,
                                  small, full, s, nan_cval)
            continue
        for i in range(start, stop):
            fv = f[i]
            fav = fa[i]
            if nan_cval:
                valid = fv
                empty = fav <= small
            else:
                valid = t - fv
                empty = fav >= full
            if empty:
                o[i] = nan
                continue
            if signed:
                if nan_cval:
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
                # Exactly 1 where every weight is valid (f == 0).
                scale = t / valid
            if s != 0:
                o[i] = (y[i] + valid * s) * scale
            else:
                o[i] = y[i] * scale


cdef inline Py_ssize_t _count_flags(const uint8_t* f,
                                    Py_ssize_t n) noexcept nogil:
    """Nonzero bytes among ``f[0 .. n - 1]``, eight at a time."""
    cdef Py_ssize_t i, j, count = 0, nwords = n // 8
    cdef uint64_t word
    for i in range(nwords):
        memcpy(&word, &f[8 * i], 8)
        if word != 0:
            count += cfilter_nonzero_bytes(word)
    for j in range(8 * nwords, n):
        count += f[j] != 0
    return count


cdef inline Py_ssize_t _list_flags(const uint8_t* f, Py_ssize_t n,
                                   Py_ssize_t offset, Py_ssize_t* pos,
                                   Py_ssize_t room) noexcept nogil:
    """Write ``offset + i`` for the nonzero ``f[i]``, ascending, into
    ``pos`` (at most ``room``); returns how many.  A sparse plane's
    nonzero words are few: the scan skips zero words eight bytes at a
    time, then takes each nonzero byte by its lowest set bit (one branch
    per flag, where testing the eight bytes mispredicted often)."""
    cdef Py_ssize_t i, j, k = 0, nwords = n // 8
    cdef uint64_t word
    for i in range(nwords):
        memcpy(&word, &f[8 * i], 8)    # one load, no aliasing
        while word != 0 and k < room:
            pos[k] = offset + 8 * i + cfilter_take_byte(&word)
            k += 1
    for j in range(8 * nwords, n):
        if f[j] != 0 and k < room:
            pos[k] = offset + j
            k += 1
    return k


def flag_positions(const uint8_t[::1] flags, Py_ssize_t count,
                   int nthreads=1):
    """The ``count`` indices where ``flags`` is nonzero, ascending.  With
    several threads each chunk's flags are counted first, then listed
    from their offsets, in parallel."""
    cdef Py_ssize_t n = flags.shape[0], nchunks, c, start, stop, total
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
                                &pos[0] if count else NULL, count)
        if total != count:
            raise ValueError("flag_positions: count differs from the flags")
        return result
    nchunks = (n + CHUNK - 1) // CHUNK
    offsets_arr = np.zeros(nchunks + 1, dtype=np.intp)
    offsets = offsets_arr
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=nthreads):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        offsets[c + 1] = _count_flags(&flags[start], stop - start)
    np.cumsum(offsets_arr, out=offsets_arr)
    if offsets[nchunks] != count:
        raise ValueError("flag_positions: count differs from the flags")
    if count == 0:
        return result
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=nthreads):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        # (a chunk without flags has no place in pos, not even its first)
        if offsets[c + 1] > offsets[c]:
            _list_flags(&flags[start], stop - start, start,
                        &pos[offsets[c]], offsets[c + 1] - offsets[c])
    return result


def column_flag_sums(const Py_ssize_t[::1] where, const Py_ssize_t[::1] starts,
                     Py_ssize_t H, Py_ssize_t W,
                     const Py_ssize_t[::1] source_row,
                     const real[::1] wcol, Py_ssize_t sy, Py_ssize_t dy,
                     real[:, :, ::1] out, int nthreads):
    """The column pass of ``corr(N, w)`` for a separable ``w`` from the
    NaNs alone: ``out[p, t, c]`` (all of it written) is the sum of
    ``wcol[ky]`` over the taps ``ky`` whose extended row ``t*sy + ky*dy``
    is a copy of a source row holding a NaN in column ``c``.  ``where``
    are the NaNs' flat indices into the (N, H, W) planes, ascending;
    ``starts[p * H + r]`` is the first of them in row ``r`` of plane ``p``
    (``starts`` has ``N * H + 1`` entries); ``source_row[e]`` is the source
    row extended row ``e`` copies, -1 outside (the boundary mode's map).
    Output row by output row, so each row's additions stay in cache and
    are made in the same order whatever the number of threads."""
    cdef Py_ssize_t N = out.shape[0], oh = out.shape[1], kh = wcol.shape[0]
    cdef Py_ssize_t task, p, t, ky, e, r, k, c, base
    cdef real* row
    cdef real wv
    if N == 0 or oh == 0 or W == 0:
        return
    if (out.shape[2] != W or starts.shape[0] != N * H + 1
            or source_row.shape[0] < (oh - 1) * sy + (kh - 1) * dy + 1
            or starts[N * H] > where.shape[0]):
        raise ValueError("column_flag_sums: inconsistent geometry")
    for task in prange(N * oh, nogil=True, schedule="static",
                       num_threads=max(1, nthreads)):
        p = task // oh
        t = task - p * oh
        row = &out[p, t, 0]
        for c in range(W):
            row[c] = 0
        base = p * H * W
        for ky in range(kh):
            e = t * sy + ky * dy
            r = source_row[e]
            if r < 0:
                continue
            wv = wcol[ky]
            for k in range(starts[p * H + r], starts[p * H + r + 1]):
                row[where[k] - base - r * W] += wv
