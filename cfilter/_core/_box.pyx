"""Box (moving-sum) correlation of one plane in O(1) work per pixel.

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
from ._boundary cimport BoundaryMode, map_index


cdef enum:
    RESTART = 64


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
            for k in range(a - sx, a):
                s -= ext[k]
            for k in range(a - sx + kw, a + kw):
                s += ext[k]
        out[j] = <real>(s * scale)


def box_correlate_plane(const real[:, ::1] image, real[:, ::1] out,
                        Py_ssize_t kh, Py_ssize_t kw,
                        Py_ssize_t top, Py_ssize_t left,
                        Py_ssize_t sy, Py_ssize_t sx,
                        BoundaryMode mode, double cval, double scale,
                        int nthreads):
    """``scale`` times the kh x kw window sums of ``image`` into ``out``."""
    cdef Py_ssize_t H = image.shape[0], W = image.shape[1]
    cdef Py_ssize_t oh = out.shape[0], ow = out.shape[1]
    cdef Py_ssize_t wext = (ow - 1) * sx + kw
    cdef Py_ssize_t nchunks, c, i, i0, k, r0, m, mc
    cdef double outside_col = cval * kh
    cdef double[:, ::1] accs, exts
    cdef double* acc
    cdef double* ext
    cdef const real* src = &image[0, 0]

    if oh == 0 or ow == 0:
        return
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < oh else oh
    accs = np.empty((nchunks, W), dtype=np.float64)
    exts = np.empty((nchunks, wext), dtype=np.float64)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        acc = &accs[c, 0]
        ext = &exts[c, 0]
        i0 = c * oh // nchunks
        for i in range(i0, (c + 1) * oh // nchunks):
            r0 = i * sy - top
            # Restarts fall on the same rows whatever the thread count.
            if i == i0 or i % RESTART == 0 or sy >= kh:
                _window_sum(acc, src, H, W, r0, kh, mode, cval)
            else:
                for m in range(r0 - sy, r0):
                    _add_row(acc, src, H, W, m, -1.0, mode, cval)
                for m in range(r0 - sy + kh, r0 + kh):
                    _add_row(acc, src, H, W, m, 1.0, mode, cval)
            for k in range(wext):
                mc = map_index(k - left, W, mode)
                ext[k] = outside_col if mc < 0 else acc[mc]
            _row_box(&out[i, 0], ext, kw, sx, ow, scale)
