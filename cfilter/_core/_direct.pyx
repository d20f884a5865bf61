"""Direct 2-D correlation of one plane.

out[i, j] = sum_{m, l} w[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]

Each thread owns a band of output rows and a ring of input rows extended by
the boundary mode (the extension is done once per input row, in cache, so the
hot loop has no boundary branches and there is no whole-image padded copy).
A block of outputs stays in registers while every tap accumulates into it.
"""
import numpy as np
from cython.parallel cimport prange

from cpython.pyport cimport PY_SSIZE_T_MIN

from ._types cimport real
from ._boundary cimport BoundaryMode, map_index, extend_row, _pmod
from ._taps cimport taps_unit_stride, taps_strided


cdef enum:
    # Above this many bytes per band the row ring holds one row per kernel
    # row instead of the whole dilated span (large dilations).
    RING_BYTES = 16 * 1024 * 1024


def correlate_plane(const real[:, ::1] image, const real[:, ::1] kernel,
                    real[:, ::1] out,
                    Py_ssize_t top, Py_ssize_t left,
                    Py_ssize_t sy, Py_ssize_t sx,
                    Py_ssize_t dy, Py_ssize_t dx,
                    BoundaryMode mode, double cval, int nthreads):
    """Correlate ``image`` with ``kernel`` into ``out`` (all validated)."""
    cdef Py_ssize_t H = image.shape[0], W = image.shape[1]
    cdef Py_ssize_t kh = kernel.shape[0], kw = kernel.shape[1]
    cdef Py_ssize_t oh = out.shape[0], ow = out.shape[1]
    cdef Py_ssize_t wext = (ow - 1) * sx + (kw - 1) * dx + 1
    cdef Py_ssize_t span = (kh - 1) * dy + 1
    cdef Py_ssize_t nslots = span
    cdef bint ring = True
    cdef Py_ssize_t nchunks, c, i, i0, i1, m, r, rr, slot, k
    cdef real cv = <real>cval
    cdef const real* w = &kernel[0, 0]
    cdef real[:, ::1] bufs
    cdef Py_ssize_t[:, ::1] held, rows
    cdef real* buf

    if oh == 0 or ow == 0:
        return
    if span * wext * <Py_ssize_t>sizeof(real) > RING_BYTES and span > kh:
        nslots = kh
        ring = False
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < oh else oh
    # Per-band scratch, allocated here so that running out of memory is a
    # MemoryError and not a crash inside the parallel loop.
    bufs = np.empty((nchunks, nslots * wext), dtype=np.asarray(out).dtype)
    held = np.empty((nchunks, nslots), dtype=np.intp)
    rows = np.empty((nchunks, kh), dtype=np.intp)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        # A band of consecutive output rows, so the ring is reused.
        buf = &bufs[c, 0]
        i0 = c * oh // nchunks
        i1 = (c + 1) * oh // nchunks
        for k in range(nslots):
            held[c, k] = PY_SSIZE_T_MIN   # no row lives here yet
        for i in range(i0, i1):
            for m in range(kh):
                r = i * sy + m * dy - top
                slot = _pmod(r, nslots) if ring else m
                if held[c, slot] != r:
                    rr = map_index(r, H, mode)
                    if rr < 0:
                        for k in range(wext):
                            buf[slot * wext + k] = cv
                    else:
                        extend_row(&image[rr, 0], W, buf + slot * wext,
                                   -left, wext, mode, cv)
                    held[c, slot] = r
                rows[c, m] = slot * wext
            if sx == 1:
                taps_unit_stride(&out[i, 0], buf, &rows[c, 0], w, kh, kw, dx, ow)
            else:
                taps_strided(&out[i, 0], buf, &rows[c, 0], w, kh, kw, dx, sx, ow)
