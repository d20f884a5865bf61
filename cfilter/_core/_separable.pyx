"""Separable 2-D correlation of one plane: a column pass, then a row pass.

out[i, j] = sum_l wr[l] * t~[i, j*sx + l*dx - left],
t[i, c]   = sum_m wc[m] * x~[i*sy + m*dy - top, c]

Both passes run for one output row at a time in a per-band row buffer, so the
intermediate never leaves cache.  Only the rows the stride keeps are computed.
Extending ``t`` by the mode equals extending ``x`` first, because every mode
maps columns independently of rows; for the constant mode an outside column of
``t`` is ``cval * sum(wc)``.
"""
import numpy as np
from cython.parallel cimport prange

from ._types cimport real
from ._boundary cimport BoundaryMode, map_index
from ._taps cimport BLOCK, taps_unit_stride, taps_strided


cdef inline void _column_pass(real* dst, const real* image, Py_ssize_t H,
                              Py_ssize_t W, const real* wc, Py_ssize_t kh,
                              Py_ssize_t r0, Py_ssize_t dy, BoundaryMode mode,
                              real cval) noexcept nogil:
    """dst[c] = sum_m wc[m] * x~[r0 + m*dy, c] for c in [0, W)."""
    cdef real acc[BLOCK]
    cdef real outside = 0
    cdef Py_ssize_t m, rr, c0 = 0, t, nb
    cdef const real* src
    # Rows that fall on the constant contribute one number to every column.
    for m in range(kh):
        if map_index(r0 + m * dy, H, mode) < 0:
            outside = outside + wc[m] * cval
    while c0 < W:
        nb = W - c0
        if nb > BLOCK:
            nb = BLOCK
        for t in range(BLOCK):
            acc[t] = outside
        for m in range(kh):
            rr = map_index(r0 + m * dy, H, mode)
            if rr >= 0:
                src = image + rr * W + c0
                if nb == BLOCK:
                    for t in range(BLOCK):
                        acc[t] += wc[m] * src[t]
                else:
                    for t in range(nb):
                        acc[t] += wc[m] * src[t]
        for t in range(nb):
            dst[c0 + t] = acc[t]
        c0 += BLOCK


def sep_correlate_plane(const real[:, ::1] image, const real[::1] wc,
                        const real[::1] wr, real[:, ::1] out,
                        Py_ssize_t top, Py_ssize_t left,
                        Py_ssize_t sy, Py_ssize_t sx,
                        Py_ssize_t dy, Py_ssize_t dx,
                        BoundaryMode mode, double cval, int nthreads):
    """Correlate ``image`` with ``outer(wc, wr)`` into ``out`` (all validated)."""
    cdef Py_ssize_t H = image.shape[0], W = image.shape[1]
    cdef Py_ssize_t kh = wc.shape[0], kw = wr.shape[0]
    cdef Py_ssize_t oh = out.shape[0], ow = out.shape[1]
    cdef Py_ssize_t wext = (ow - 1) * sx + (kw - 1) * dx + 1
    # The row buffer holds t at [left, left + W) and its extension around it.
    cdef Py_ssize_t blen = wext if wext > left + W else left + W
    cdef Py_ssize_t nchunks, c, i, k, mc
    cdef const real* row
    cdef real cv = <real>cval
    cdef real outside_col = 0
    cdef real[:, ::1] bufs
    cdef real* buf

    if oh == 0 or ow == 0:
        return
    for k in range(kh):
        outside_col += wc[k] * cv
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < oh else oh
    bufs = np.empty((nchunks, blen), dtype=np.asarray(out).dtype)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        buf = &bufs[c, 0]
        for i in range(c * oh // nchunks, (c + 1) * oh // nchunks):
            _column_pass(buf + left, &image[0, 0], H, W, &wc[0], kh,
                         i * sy - top, dy, mode, cv)
            for k in range(left):
                mc = map_index(k - left, W, mode)
                buf[k] = outside_col if mc < 0 else buf[left + mc]
            for k in range(left + W, wext):
                mc = map_index(k - left, W, mode)
                buf[k] = outside_col if mc < 0 else buf[left + mc]
            row = buf
            if sx == 1:
                taps_unit_stride(&out[i, 0], &row, &wr[0], 1, kw, dx, ow)
            else:
                taps_strided(&out[i, 0], &row, &wr[0], 1, kw, dx, sx, ow)
