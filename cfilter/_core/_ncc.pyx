"""The normalisation of template search (``cfilter.match_template``) in one
pass: every window's mean and mean square by moving sums, its standard
deviation, and the score ``num / std``, without full-size temporaries.

The window of output ``[i, j]`` is ``ext[:, i:i + kh, j:j + kw]`` (all
channels).  Column sums of ``x - shift`` and ``(x - shift)**2`` over the
window's rows are kept in float64 and moved down by adding the row that
enters and subtracting the one that leaves; each output row then takes
running sums along them.  Both start afresh every RESTART steps, so rounding
error does not grow with the image's size (the box engine's scheme).
"""
import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, sqrt, sqrtf

from ._types cimport real
from ._scratch cimport per_thread

cnp.import_array()

ctypedef fused score_t:
    float
    double


cdef enum:
    RESTART = 64


cdef inline void _fresh(double* s1, double* s2, const real* ext, Py_ssize_t C,
                        Py_ssize_t EH, Py_ssize_t EW, Py_ssize_t i,
                        Py_ssize_t kh, double shift) noexcept nogil:
    """The column sums of rows ``i .. i + kh - 1`` of every channel."""
    cdef Py_ssize_t c, m, x
    cdef const real* row
    cdef double v
    for x in range(EW):
        s1[x] = 0
        s2[x] = 0
    for c in range(C):
        for m in range(kh):
            row = ext + (c * EH + i + m) * EW
            for x in range(EW):
                v = <double>row[x] - shift
                s1[x] += v
                s2[x] += v * v


cdef inline void _slide(double* s1, double* s2, const real* ext, Py_ssize_t C,
                        Py_ssize_t EH, Py_ssize_t EW, Py_ssize_t leave,
                        Py_ssize_t enter, double shift) noexcept nogil:
    """Move the column sums down one row: row ``enter`` in, ``leave`` out."""
    cdef Py_ssize_t c, x
    cdef const real* old
    cdef const real* new
    cdef double a, b
    for c in range(C):
        old = ext + (c * EH + leave) * EW
        new = ext + (c * EH + enter) * EW
        for x in range(EW):
            a = <double>new[x] - shift
            b = <double>old[x] - shift
            s1[x] += a - b
            s2[x] += a * a - b * b


cdef inline void _row_scores(const double* s1, const double* s2, double* var,
                             float* fvar, const score_t* num, score_t* out,
                             Py_ssize_t ow, Py_ssize_t kw, double inv_n,
                             double flat_ratio, double scale) noexcept nogil:
    """One output row: the window variances by running sums along the
    column sums (a serial chain; a flat window's variance becomes
    infinite, so its score is 0), then the scores in a branch-free loop
    the compiler vectorises (the module is built without errno for
    ``sqrt``: its argument is never negative).

    float32 scores take the square root and the division in float32,
    twice as wide and several times faster than float64's: ``scale`` is a
    power of two near ``1 / spread`` of the data (so scaling is exact),
    and the variance times ``scale**2`` is well inside float32's range for
    every window but those many decades off the data's spread, which are
    marked (-1) and computed in float64."""
    cdef Py_ssize_t j, l
    cdef double a1 = 0, a2 = 0, m1, m2, v, score, k2 = scale * scale
    cdef float fscale = <float>scale, f
    cdef bint odd = False
    for j in range(ow):
        if j % RESTART == 0:
            a1 = 0
            a2 = 0
            for l in range(kw):
                a1 += s1[j + l]
                a2 += s2[j + l]
        else:
            a1 += s1[j + kw - 1] - s1[j - 1]
            a2 += s2[j + kw - 1] - s2[j - 1]
        m1 = a1 * inv_n
        m2 = a2 * inv_n
        v = m2 - m1 * m1
        v = v if v > flat_ratio * m2 else INFINITY
        var[j] = v
        if score_t is float:
            v = v * k2
            if v == INFINITY or 1e-30 < v < 1e30:
                fvar[j] = <float>v
            else:
                fvar[j] = -1
                odd = True
    if score_t is float:
        for j in range(ow):
            f = num[j] * fscale / sqrtf(fvar[j])
            f = 1.0 if f > 1.0 else f
            f = -1.0 if f < -1.0 else f
            # (a marked window keeps num, which may be out, for below)
            out[j] = f if fvar[j] >= 0 else num[j]
        if not odd:
            return
    for j in range(ow):
        if score_t is float:
            if fvar[j] >= 0:
                continue
        score = <double>num[j] / sqrt(var[j])
        score = 1.0 if score > 1.0 else score
        score = -1.0 if score < -1.0 else score
        out[j] = <score_t>score


def window_scores(const real[:, :, ::1] ext, const score_t[:, :] num,
                  score_t[:, ::1] out, Py_ssize_t kh, Py_ssize_t kw,
                  double shift, double flat_ratio, double scale,
                  int nthreads):
    """``out = clip(num / std, -1, 1)`` (``num``'s rows contiguous, its
    row stride any), ``std`` the standard deviation of
    the window ``ext[:, i:i + kh, j:j + kw]`` over all its ``C * kh * kw``
    values; 0 where the window is flat (``var <= flat_ratio * mean((x -
    shift)**2)``).  ``out`` may be ``num``.  ``scale``, a power of two near
    ``1 / spread`` of the data, lets float32 scores be computed in float32
    (see ``_row_scores``).  ``shift`` is a value near the
    data, so the variance ``mean((x-s)**2) - mean(x-s)**2`` does not lose
    itself to cancellation.  Blocks of rows are dealt out to ``nthreads``
    threads; the result does not depend on their number."""
    cdef Py_ssize_t C = ext.shape[0], EH = ext.shape[1], EW = ext.shape[2]
    cdef Py_ssize_t oh = out.shape[0], ow = out.shape[1]
    cdef Py_ssize_t nchunks, nblocks, b, t, i, r0, r1
    cdef double inv_n
    cdef double[:, ::1] sums1, sums2, vars_
    cdef float[:, ::1] fvars
    cdef double* s1
    cdef double* s2
    cdef const real* base

    if oh == 0 or ow == 0:
        return
    if (num.shape[0] != oh or num.shape[1] != ow or EH != oh + kh - 1
            or EW != ow + kw - 1 or C == 0
            or num.strides[1] != sizeof(score_t)):
        raise ValueError("window_scores: inconsistent shapes, or rows of "
                         "num not contiguous")
    inv_n = 1.0 / <double>(C * kh * kw)
    # The threads take blocks of RESTART rows, the next free block each
    # (a thread the machine holds back then delays no one); the sums
    # restart at each block, so the result does not depend on who computed
    # which.
    nblocks = (oh + RESTART - 1) // RESTART
    nchunks = nthreads if nthreads > 1 else 1
    if nchunks > nblocks:
        nchunks = nblocks
    sums1 = per_thread(nchunks, EW, np.float64)
    sums2 = per_thread(nchunks, EW, np.float64)
    vars_ = per_thread(nchunks, ow, np.float64)
    fvars = per_thread(nchunks, ow, np.float32)
    base = &ext[0, 0, 0]
    for b in prange(nblocks, nogil=True, schedule="dynamic",
                    num_threads=nchunks):
        t = threadid()
        s1 = &sums1[t, 0]
        s2 = &sums2[t, 0]
        r0 = b * RESTART
        r1 = r0 + RESTART
        if r1 > oh:
            r1 = oh
        _fresh(s1, s2, base, C, EH, EW, r0, kh, shift)
        for i in range(r0, r1):
            if i > r0:
                _slide(s1, s2, base, C, EH, EW, i - 1, i - 1 + kh, shift)
            _row_scores(s1, s2, &vars_[t, 0], &fvars[t, 0], &num[i, 0],
                        &out[i, 0], ow, kw, inv_n, flat_ratio, scale)
