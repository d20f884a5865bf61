"""The element-wise steps of ``nan_policy='ignore'`` (normalised convolution).

``_engine.run_ignoring_nan`` filters two finite planes with the planned
engine and combines the results.  These two loops split the image into
those planes and combine the filtered planes, each in one pass over memory
(the numpy versions took about five passes each, as much time as the
engine runs themselves).  Element-wise, so every thread count gives the
same bits.
"""
from cython.parallel cimport prange
from libc.math cimport NAN

from ._types cimport real


cdef enum:
    # Elements per parallel chunk: a contiguous run per thread, large
    # enough that scheduling costs nothing next to the memory traffic.
    CHUNK = 1 << 16


cdef extern from *:
    """
    #include <math.h>
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
    /* combine_nan's rule for kernels without negative weights (then
       fa is f), branch-free for the same reason: every value is computed
       and the NaN chosen last. */
    #define CFILTER_COMBINE(NAME, REAL)                                      \
    static void NAME(const REAL *y, const REAL *restrict f, REAL *o,        \
                     Py_ssize_t n, REAL t, REAL small, REAL full, REAL s,    \
                     int nan_cval) {                                         \
        Py_ssize_t i;                                                        \
        for (i = 0; i < n; i++) {                                            \
            REAL fv = f[i];                                                  \
            REAL valid = nan_cval ? fv : t - fv;                             \
            int empty = nan_cval ? fv <= small : fv >= full;                 \
            REAL num = s != 0 ? y[i] + valid * s : y[i];                     \
            REAL r = num * (t / valid);                                      \
            o[i] = empty ? (REAL)NAN : r;                                    \
        }                                                                    \
    }
    CFILTER_COMBINE(cfilter_combine_f, float)
    CFILTER_COMBINE(cfilter_combine_d, double)
    """
    void cfilter_combine_f(const float* y, const float* f, float* o,
                           Py_ssize_t n, float t, float small, float full,
                           float s, int nan_cval) nogil
    void cfilter_combine_d(const double* y, const double* f, double* o,
                           Py_ssize_t n, double t, double small, double full,
                           double s, int nan_cval) nogil
    Py_ssize_t cfilter_split_f(const float* x, float* y, float* f,
                               Py_ssize_t n, float s, int flip) nogil
    Py_ssize_t cfilter_split_d(const double* x, double* y, double* f,
                               Py_ssize_t n, double s, int flip) nogil


def split_nan(const real[::1] x, real[::1] y, real[::1] flag,
              double shift, bint nan_cval, int nthreads):
    """``y = x - shift`` with NaN set to 0; ``flag`` = 1 at NaN and 0
    elsewhere (the other way round with ``nan_cval``).  Returns the number
    of NaNs found."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t c, start, stop, found = 0
    cdef int flip = 1 if nan_cval else 0
    if y.shape[0] != n or flag.shape[0] != n:
        raise ValueError("split_nan: x, y and flag differ in length")
    if n == 0:
        return 0
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=max(1, nthreads)):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        if real is float:
            found += cfilter_split_f(&x[start], &y[start], &flag[start],
                                     stop - start, <float>shift, flip)
        else:
            found += cfilter_split_d(&x[start], &y[start], &flag[start],
                                     stop - start, shift, flip)
    return found


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
    cdef bint empty, partial
    if f.shape[0] != n or fa.shape[0] != n or o.shape[0] != n:
        raise ValueError("combine_nan: the planes differ in length")
    if n == 0:
        return
    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=max(1, nthreads)):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        if not signed:
            if real is float:
                cfilter_combine_f(&y[start], &f[start], &o[start],
                                  stop - start, t, small, full, s, nan_cval)
            else:
                cfilter_combine_d(&y[start], &f[start], &o[start],
                                  stop - start, t, small, full, s, nan_cval)
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
