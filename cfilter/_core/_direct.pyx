"""Direct 2-D correlation of a stack of planes.

out[i, j] = sum_{m, l} w[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]

Rows: each kernel row reads the image row the mode maps it to (or a row of
cval), so there is never a padded copy of the image.  Columns: the outputs
whose taps all fall inside the row read the image directly; only the few
outputs near the left and right edges read short segments extended by the
mode.  A block of outputs stays in registers while every tap accumulates
into it (see _taps.pxd).

A column stride sx > 1 would make those loads strided.  Instead each input
row a kernel row reads is extended by the mode and split into sx phase rows
(column c to phase c % sx, index c // sx), whole, so the edge outputs need
no separate path; tap l then reads one phase row contiguously and the same
block loop applies.  Each thread keeps the split rows of its last output
row, so with row stride sy < kh a row is split about once, not kh/sy times.
"""
import numpy as np
from cython.parallel cimport prange

from ._types cimport real
from ._scratch cimport per_thread, LINE
from ._samples cimport (Sample, Planes, RowCache, planes_of, is_native,
                        fetch_rows, out_row, flush_row)
from ._boundary cimport BoundaryMode, map_index, extend_pixels, extend_phases
from ._taps cimport (taps_unit_stride, taps_groups, phase_groups,
                     phase_weights, phase_ngroups, phase_step)


cdef inline void _row_span(real* out, const real** rows, const real* w,
                           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                           Py_ssize_t n) noexcept nogil:
    if n > 0:
        taps_unit_stride(out, rows, w, kh, kw, dx, n)


def correlate_planes(images, Sample src_kind, const real[:, ::1] kernel,
                     out, Sample dst_kind, Py_ssize_t C,
                     Py_ssize_t top, Py_ssize_t left,
                     Py_ssize_t sy, Py_ssize_t sx,
                     Py_ssize_t dy, Py_ssize_t dx,
                     BoundaryMode mode, double cval, int nthreads):
    """Correlate each of the C-contiguous planes ``images`` (N, H, W * C),
    of sample type ``src_kind``, with ``kernel`` into the planes ``out``
    (N, oh, ow * C) of type ``dst_kind``, computing in the kernel's type
    (all validated).  C > 1 interleaved channels (column stride 1 only) are
    filtered in place: a row is W * C samples, taps dx * C apart, and the
    border is extended pixel by pixel.

    The threads share out the rows of all the planes together, so a stack of
    small images is as parallel as one large one, and the scratch and the
    parallel region are set up once for the stack, not once a plane."""
    cdef Planes src = planes_of(images, src_kind)
    cdef Planes dst = planes_of(out, dst_kind)
    cdef Py_ssize_t N = images.shape[0], H = images.shape[1]
    cdef Py_ssize_t W = images.shape[2] // C
    cdef Py_ssize_t kh = kernel.shape[0], kw = kernel.shape[1]
    cdef Py_ssize_t oh = out.shape[1], ow = out.shape[2] // C
    cdef Py_ssize_t total = N * oh
    cdef Py_ssize_t reach = (kw - 1) * dx
    # Outputs [jlo, jhi) have every tap inside the row.
    cdef Py_ssize_t jlo = (left + sx - 1) // sx
    cdef Py_ssize_t jhi = (W - 1 - reach + left) // sx + 1 if W - 1 - reach + left >= 0 else 0
    cdef Py_ssize_t lw, rw, rstart
    # Strided columns: a phase row's length, and the split-row cache.
    cdef Py_ssize_t plen = ow + reach // sx, psize = sx * plen
    cdef Py_ssize_t nph = phase_ngroups(kw, dx, sx), step = phase_step(dx, sx)
    cdef Py_ssize_t ng = kh * nph
    cdef Py_ssize_t nchunks, c, i, m, rr, k, s, y, r, p, plane
    cdef Py_ssize_t* tags
    cdef Py_ssize_t* used
    cdef Py_ssize_t* slot
    cdef Py_ssize_t* want
    cdef RowCache* conv
    cdef real cv = <real>cval
    cdef const real* w = &kernel[0, 0]
    cdef const real* srow
    cdef real* orow
    cdef const real** rows
    cdef const real** lrows
    cdef const real** rrows
    cdef const real** taps
    cdef const real** srcs
    cdef real[:, ::1] lbuf, rbuf, phbuf, cbuf, obuf
    cdef real[::1] wg
    cdef Py_ssize_t[::1] cnt
    cdef real[::1] cvrow
    cdef size_t[:, ::1] ptrs
    cdef Py_ssize_t[:, ::1] cache
    cdef Py_ssize_t cstride

    if N == 0 or oh == 0 or ow == 0:
        return
    if jlo > ow:
        jlo = ow
    if jhi > ow:
        jhi = ow
    if jhi < jlo:
        jhi = jlo
    # Edge segments: the extended columns the left and right outputs read.
    lw = (jlo - 1) * sx + reach + 1 if jlo > 0 else 0
    rstart = jhi * sx - left
    rw = (ow - 1 - jhi) * sx + reach + 1 if jhi < ow else 0
    # Strided rows are split whole, edges included, so only stride 1 reads
    # edge segments, and only column stride > 1 needs phase rows.
    if sx > 1:
        lw = rw = 0
    else:
        psize = 0
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < total else total
    # Scratch is allocated here, so running out of memory is a MemoryError
    # rather than a crash inside the parallel loop.
    dtype = np.asarray(kernel).dtype
    lbuf = per_thread(nchunks, kh * lw * C + 1, dtype)
    rbuf = per_thread(nchunks, kh * rw * C + 1, dtype)
    phbuf = per_thread(nchunks, kh * psize + 1, dtype)
    cvrow = np.full((W + left + ow * sx + reach + 1) * C, cval, dtype=dtype)
    # Converted input rows (kh slots) and an output row, for sample types
    # other than the compute type.
    cstride = 0 if is_native(src_kind, <real*>NULL) else src.n + LINE
    cbuf = per_thread(nchunks, kh * cstride + 1, dtype)
    obuf = per_thread(nchunks, 1 if is_native(dst_kind, <real*>NULL)
                      else dst.n, dtype)
    # (pointers and cache tags are rewritten for every output row)
    ptrs = per_thread(nchunks, kh * (kw + 4), np.uintp)
    cache = per_thread(nchunks, 6 * kh + 4, np.intp)
    wg = np.empty(kh * kw, dtype=dtype)
    cnt = np.empty(ng, dtype=np.intp)
    phase_weights(&wg[0], &cnt[0], w, kh, kw, dx, sx)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        rows = <const real**> &ptrs[c, 0]
        lrows = rows + kh
        rrows = rows + 2 * kh
        srcs = rows + 3 * kh
        taps = rows + 4 * kh
        # Slot s of phbuf[c] holds the split of row coordinate tags[s]; no
        # row coordinate is below -top.
        tags = &cache[c, 0]
        used = tags + kh
        slot = tags + 2 * kh
        want = tags + 3 * kh
        conv = <RowCache*> (tags + 6 * kh)
        conv.tags = tags + 4 * kh
        conv.used = tags + 5 * kh
        conv.nslots = kh
        conv.plane = -1
        # output row i of plane p, stepped along without a division per row
        r = c * total // nchunks
        p = r // oh
        i = r - p * oh - 1
        plane = -1
        for r in range(c * total // nchunks, (c + 1) * total // nchunks):
            i = i + 1
            if i == oh:
                i = 0
                p = p + 1
            if p != plane:
                plane = p
                for s in range(kh):
                    tags[s] = -top - 1
            orow = out_row(&dst, p, i, &obuf[c, 0])
            if sx > 1:
                # Reuse the rows split for earlier outputs; split the others
                # into slots no row of this output holds.
                for s in range(kh):
                    used[s] = 0
                for m in range(kh):
                    y = i * sy + m * dy - top
                    slot[m] = -1
                    for s in range(kh):
                        if tags[s] == y:
                            slot[m] = s
                            used[s] = 1
                            break
                for m in range(kh):
                    if slot[m] < 0:
                        s = 0
                        while used[s]:
                            s = s + 1
                        y = i * sy + m * dy - top
                        want[0] = map_index(y, H, mode)
                        fetch_rows(srcs, &src, conv, &cbuf[c, 0], cstride,
                                   p, want, 1, &cvrow[0])
                        extend_phases(srcs[0], W, &phbuf[c, s * psize], -left,
                                      sx, plen, dx, nph, mode, cv)
                        tags[s] = y
                        used[s] = 1
                        slot[m] = s
                    rows[m] = &phbuf[c, slot[m] * psize]
                phase_groups(taps, rows, kh, kw, dx, sx, plen)
                taps_groups(orow, taps, &cnt[0], &wg[0], ng, step, ow)
                flush_row(&dst, p, i, orow)
                continue
            for m in range(kh):
                want[m] = map_index(i * sy + m * dy - top, H, mode)
            # A row outside under 'constant' reads the row of cval,
            # positioned so that its column 0 is image column 0.
            fetch_rows(srcs, &src, conv, &cbuf[c, 0], cstride, p, want, kh,
                       &cvrow[left * C])
            for m in range(kh):
                srow = srcs[m]
                rows[m] = srow + (jlo * sx - left) * C
                if lw > 0:
                    extend_pixels(srow, W, C, &lbuf[c, m * lw * C], -left, lw,
                                  mode, cv)
                    lrows[m] = &lbuf[c, m * lw * C]
                if rw > 0:
                    extend_pixels(srow, W, C, &rbuf[c, m * rw * C], rstart,
                                  rw, mode, cv)
                    rrows[m] = &rbuf[c, m * rw * C]
            _row_span(orow, lrows, w, kh, kw, dx * C, jlo * C)
            if jhi > jlo:
                _row_span(orow + jlo * C, rows, w, kh, kw, dx * C,
                          (jhi - jlo) * C)
            if jhi < ow:
                _row_span(orow + jhi * C, rrows, w, kh, kw, dx * C,
                          (ow - jhi) * C)
            flush_row(&dst, p, i, orow)
