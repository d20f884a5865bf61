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
from libc.math cimport INFINITY, sqrt, sqrtf

from ._types cimport real

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


cdef inline void _scan4(const double* s, double* a, Py_ssize_t j0,
                        Py_ssize_t kw) noexcept nogil:
    """``a[j] = sum(s[j:j + kw])`` for the four segments of RESTART
    outputs from ``j0``: a fresh sum at each segment's start, then running
    sums.  Each running sum is a serial chain of additions; four
    independent ones, interleaved, keep the adder busy where one would
    wait on its own latency."""
    cdef Py_ssize_t j, l, q
    cdef double acc[4]
    for q in range(4):
        acc[q] = 0
    for l in range(kw):
        for q in range(4):
            acc[q] += s[j0 + q * RESTART + l]
    for q in range(4):
        a[j0 + q * RESTART] = acc[q]
    for j in range(j0 + 1, j0 + RESTART):
        for q in range(4):
            acc[q] += s[j + q * RESTART + kw - 1] - s[j + q * RESTART - 1]
            a[j + q * RESTART] = acc[q]


cdef inline void _window_sums(const double* s, double* a, Py_ssize_t ow,
                              Py_ssize_t kw) noexcept nogil:
    """``a[j] = sum(s[j:j + kw])`` for ``j < ow`` rounded up to whole
    groups of ``4 * RESTART`` (``s`` holds that many plus ``kw - 1``),
    restarted every RESTART outputs so rounding does not grow along the
    row.  The lanes past ``ow`` keep every group interleaved; nothing
    reads them."""
    cdef Py_ssize_t j0 = 0
    while j0 < ow:
        _scan4(s, a, j0, kw)
        j0 += 4 * RESTART


cdef inline void _row_scores(const double* s1, const double* s2, double* var,
                             double* sq, float* fvar, const score_t* num,
                             score_t* out, Py_ssize_t ow, Py_ssize_t kw,
                             double inv_n, double flat_ratio,
                             double scale) noexcept nogil:
    """One output row: the window sums along the column sums (see
    :func:`_window_sums`), then in branch-free loops the compiler
    vectorises the variances (a flat window's becomes infinite, so its
    score is 0) and the scores (the module is built without errno for
    ``sqrt``: its argument is never negative).

    float32 scores take the square root and the division in float32,
    twice as wide and several times faster than float64's: ``scale`` is a
    power of two near ``1 / spread`` of the data (so scaling is exact),
    and the variance times ``scale**2`` is well inside float32's range for
    every window but those many decades off the data's spread, which are
    marked (-1) and computed in float64."""
    cdef Py_ssize_t j
    cdef double m1, m2, v, score, k2 = scale * scale
    cdef float fscale = <float>scale, f
    cdef int odd = 0, inside
    _window_sums(s1, var, ow, kw)
    _window_sums(s2, sq, ow, kw)
    for j in range(ow):
        m1 = var[j] * inv_n
        m2 = sq[j] * inv_n
        v = m2 - m1 * m1
        v = v if v > flat_ratio * m2 else INFINITY
        var[j] = v
        if score_t is float:
            # (bitwise, not "or", and the conversion outside the choice:
            # a branch, or a conversion that only some lanes would make,
            # stops the compiler vectorising)
            v = v * k2
            inside = (v == INFINITY) | ((v > 1e-30) & (v < 1e30))
            f = <float>v
            fvar[j] = f if inside else -1
            odd |= not inside
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


# Output rows per block: the unit of :func:`window_scores`' work, at whose
# start the moving sums restart.
BLOCK_ROWS = RESTART


def window_scores(const real[:, :, ::1] ext, const score_t[:, :] num,
                  score_t[:, ::1] out, Py_ssize_t kh, Py_ssize_t kw,
                  double shift, double flat_ratio, double scale,
                  Py_ssize_t b, Py_ssize_t first):
    """``out = clip(num / std, -1, 1)`` on the output rows of block ``b``
    (``BLOCK_ROWS`` rows from ``b * BLOCK_ROWS``), without the GIL.  Row
    ``k`` of ``num`` is the numerator of output row ``first + k``; its rows
    are contiguous, its row stride any (``num`` may be ``out``'s own rows).
    ``std`` is the standard deviation of the window ``ext[:, i:i + kh, j:j
    + kw]`` over all its ``C * kh * kw`` values; 0 where the window is flat
    (``var <= flat_ratio * mean((x - shift)**2)``).  ``scale``, a power of
    two near ``1 / spread`` of the data, lets float32 scores be computed in
    float32 (see ``_row_scores``).  ``shift`` is a value near the data, so
    the variance ``mean((x-s)**2) - mean(x-s)**2`` does not lose itself to
    cancellation.  The sums restart at each block, so blocks computed by
    different threads, in any order, give the same result."""
    cdef Py_ssize_t C = ext.shape[0], EH = ext.shape[1], EW = ext.shape[2]
    cdef Py_ssize_t oh = out.shape[0], ow = out.shape[1]
    cdef Py_ssize_t i, r0, r1, owp
    cdef double inv_n
    cdef double[::1] s1, s2, var, sq
    cdef float[::1] fvar
    cdef const real* base

    if oh == 0 or ow == 0:
        return
    r0 = b * RESTART
    r1 = min(r0 + RESTART, oh)
    if (b < 0 or r0 >= oh or first < 0 or first > r0
            or num.shape[0] < r1 - first or num.shape[1] != ow
            or EH != oh + kh - 1 or EW != ow + kw - 1 or C == 0
            or num.strides[1] != sizeof(score_t)):
        raise ValueError("window_scores: inconsistent shapes or block, or "
                         "rows of num not contiguous")
    inv_n = 1.0 / <double>(C * kh * kw)
    # The row scans run whole groups of four segments (_window_sums): the
    # column sums get zeros past EW for the lanes beyond ow.
    owp = (ow + 4 * RESTART - 1) // (4 * RESTART) * (4 * RESTART)
    s1 = np.zeros(owp + kw - 1)
    s2 = np.zeros(owp + kw - 1)
    var = np.empty(owp)
    sq = np.empty(owp)
    fvar = np.empty(ow, dtype=np.float32)
    base = &ext[0, 0, 0]
    with nogil:
        _fresh(&s1[0], &s2[0], base, C, EH, EW, r0, kh, shift)
        for i in range(r0, r1):
            if i > r0:
                _slide(&s1[0], &s2[0], base, C, EH, EW, i - 1, i - 1 + kh,
                       shift)
            _row_scores(&s1[0], &s2[0], &var[0], &sq[0], &fvar[0],
                        &num[i - first, 0], &out[i, 0], ow, kw, inv_n,
                        flat_ratio, scale)
