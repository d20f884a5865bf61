"""Box (moving-sum) correlation of a stack of planes in O(1) work per pixel.

out[i, j] = scale * sum_{m < kh, l < kw} x~[i*sy + m - top, j*sx + l - left]

Column sums of the current window of rows are kept in a float64 row and
moved by adding the rows that enter and subtracting those that leave; each
output row then takes a running sum along that row.  Both sums run in
float64 and start afresh every RESTART steps, so rounding error does not grow
with the image's size.
"""
import numpy as np
from cython.parallel cimport prange

from ._types cimport real
from ._boundary cimport BoundaryMode, fill_margins, map_index
from ._scratch cimport per_thread


cdef enum:
    RESTART = 256


cdef inline void _add_row(double* acc, const real* image, Py_ssize_t H,
                          Py_ssize_t W, Py_ssize_t r, double sign,
                          BoundaryMode mode, double cval) noexcept nogil:
    """acc += sign * x~[r, :]."""
    cdef Py_ssize_t rr = map_index(r, H, mode), c
    cdef const real* src
    if rr < 0:
        for c in range(W):
            acc[c] += sign * cval
    else:
        src = image + rr * W
        for c in range(W):
            acc[c] += sign * src[c]


cdef inline void _window_sum(double* acc, const real* image, Py_ssize_t H,
                             Py_ssize_t W, Py_ssize_t r0, Py_ssize_t kh,
                             BoundaryMode mode, double cval) noexcept nogil:
    """acc = sum of rows r0 .. r0 + kh - 1 of x~."""
    cdef Py_ssize_t c, m
    for c in range(W):
        acc[c] = 0
    for m in range(kh):
        _add_row(acc, image, H, W, r0 + m, 1.0, mode, cval)


cdef inline void _row_box(real* out, const double* ext, Py_ssize_t kw,
                          Py_ssize_t sx, Py_ssize_t ow, double scale) noexcept nogil:
    """out[j] = scale * sum(ext[j*sx : j*sx + kw]) by a restarted running sum."""
    cdef Py_ssize_t j, k, a
    cdef double s = 0
    for j in range(ow):
        a = j * sx
        if j % RESTART == 0 or sx >= kw:
            s = 0
            for k in range(a, a + kw):
                s += ext[k]
        else:
            # The same update as _row_box4, so a row's result does not
            # depend on whether it was summed alone or in a group of four.
            for k in range(a - sx, a):
                s += ext[k + kw] - ext[k]
        out[j] = <real>(s * scale)


cdef inline void _row_box4(real** out, double** ext, Py_ssize_t kw,
                           Py_ssize_t ow, double scale) noexcept nogil:
    """_row_box for four rows at stride 1: four independent running sums
    interleaved, each advanced by one add of a precomputed difference, so the
    loop runs at the adder's throughput rather than its latency."""
    cdef Py_ssize_t j, k, j0, j1
    cdef double s0, s1, s2, s3
    cdef const double* e0 = ext[0]
    cdef const double* e1 = ext[1]
    cdef const double* e2 = ext[2]
    cdef const double* e3 = ext[3]
    cdef real* o0 = out[0]
    cdef real* o1 = out[1]
    cdef real* o2 = out[2]
    cdef real* o3 = out[3]
    j0 = 0
    while j0 < ow:
        j1 = j0 + RESTART
        if j1 > ow:
            j1 = ow
        s0 = 0
        s1 = 0
        s2 = 0
        s3 = 0
        for k in range(j0, j0 + kw):
            s0 += e0[k]
            s1 += e1[k]
            s2 += e2[k]
            s3 += e3[k]
        o0[j0] = <real>(s0 * scale)
        o1[j0] = <real>(s1 * scale)
        o2[j0] = <real>(s2 * scale)
        o3[j0] = <real>(s3 * scale)
        for j in range(j0 + 1, j1):
            s0 += e0[j - 1 + kw] - e0[j - 1]
            s1 += e1[j - 1 + kw] - e1[j - 1]
            s2 += e2[j - 1 + kw] - e2[j - 1]
            s3 += e3[j - 1 + kw] - e3[j - 1]
            o0[j] = <real>(s0 * scale)
            o1[j] = <real>(s1 * scale)
            o2[j] = <real>(s2 * scale)
            o3[j] = <real>(s3 * scale)
        j0 = j1


cdef inline void _advance(double* dst, const double* prev, const real* image,
                          Py_ssize_t H, Py_ssize_t W, Py_ssize_t r_old,
                          Py_ssize_t r_new, Py_ssize_t count, BoundaryMode mode,
                          double cval) noexcept nogil:
    """dst = prev - rows r_old.. + rows r_new.. (``count`` of each): the
    column sums of the next window, written beside the previous ones."""
    cdef Py_ssize_t c, m, ro, rn
    cdef const real* old_row
    cdef const real* new_row
    if count == 1:
        ro = map_index(r_old, H, mode)
        rn = map_index(r_new, H, mode)
        if ro >= 0 and rn >= 0:
            old_row = image + ro * W
            new_row = image + rn * W
            for c in range(W):
                dst[c] = prev[c] + (<double>new_row[c] - <double>old_row[c])
            return
    for c in range(W):
        dst[c] = prev[c]
    for m in range(count):
        _add_row(dst, image, H, W, r_old + m, -1.0, mode, cval)
        _add_row(dst, image, H, W, r_new + m, 1.0, mode, cval)


def box_correlate_planes(const real[:, :, ::1] images, real[:, :, ::1] out,
                         Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t sy, Py_ssize_t sx,
                         BoundaryMode mode, double cval, double scale,
                         int nthreads):
    """``scale`` times the kh x kw window sums of each of the planes
    ``images`` into the planes ``out``.  The threads share out the rows of
    all the planes together; a share that starts inside a plane catches up
    from the restart before it."""
    cdef Py_ssize_t N = images.shape[0], H = images.shape[1], W = images.shape[2]
    cdef Py_ssize_t oh = out.shape[1], ow = out.shape[2]
    cdef Py_ssize_t total = N * oh
    cdef Py_ssize_t wext = (ow - 1) * sx + kw
    # Each buffer holds one row's column sums at [left, left + W) with the
    # mode's extension around them.
    cdef Py_ssize_t blen = wext if wext > left + W else left + W
    cdef Py_ssize_t nchunks, c, i, i0, i1, r0, q, n, r, rend, p, slot = 0
    cdef double outside_col = cval * kh
    cdef double[:, ::1] bufs
    cdef size_t[:, ::1] ptrs
    cdef double* prev
    cdef double* cur
    cdef double** ext
    cdef real** orows
    cdef const real* src

    if N == 0 or oh == 0 or ow == 0:
        return
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < total else total
    bufs = per_thread(nchunks, 4 * blen, np.float64)
    ptrs = per_thread(nchunks, 8, np.uintp)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        ext = <double**> &ptrs[c, 0]
        orows = <real**> &ptrs[c, 4]
        r = c * total // nchunks
        rend = (c + 1) * total // nchunks
        while r < rend:
            # this share's rows [i0, i1) of plane p
            p = r // oh
            i0 = r - p * oh
            i1 = i0 + (rend - r)
            if i1 > oh:
                i1 = oh
            r = r + (i1 - i0)
            src = &images[p, 0, 0]
            i = i0
            slot = 0
            prev = &bufs[c, 3 * blen + left]
            if sy < kh and i0 % RESTART != 0:
                # Reach row i0 from the restart row before it, as a single
                # band would: every row then gets the same float64
                # operations, so the result does not depend on the number of
                # threads.
                r0 = (i0 // RESTART) * RESTART
                _window_sum(prev, src, H, W, r0 * sy - top, kh, mode, cval)
                for q in range(r0 + 1, i0):
                    cur = &bufs[c, (2 + q % 2) * blen + left]
                    _advance(cur, prev, src, H, W, q * sy - top - sy,
                             q * sy - top - sy + kh, sy, mode, cval)
                    prev = cur
            while i < i1:
                # Column sums for up to four output rows, then their row sums.
                n = i1 - i
                if n > 4 or sx != 1:
                    n = 4 if sx == 1 else 1
                for q in range(n):
                    cur = &bufs[c, slot * blen + left]
                    r0 = (i + q) * sy - top
                    # Restarts fall on the same rows whatever the thread
                    # count.
                    if (i + q) % RESTART == 0 or sy >= kh:
                        _window_sum(cur, src, H, W, r0, kh, mode, cval)
                    else:
                        _advance(cur, prev, src, H, W, r0 - sy, r0 - sy + kh,
                                 sy, mode, cval)
                    fill_margins(cur - left, W, left, wext, mode, outside_col)
                    ext[q] = cur - left
                    orows[q] = &out[p, i + q, 0]
                    prev = cur
                    slot = (slot + 1) % 4
                if n == 4:
                    _row_box4(orows, ext, kw, ow, scale)
                else:
                    for q in range(n):
                        _row_box(orows[q], ext[q], kw, sx, ow, scale)
                i = i + n
