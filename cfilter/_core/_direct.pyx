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
cimport numpy as cnp
from cython.parallel cimport prange

from ._types cimport real
from ._scratch cimport LINE, STACK_ARENA, Block, arena
from ._samples cimport (Sample, Planes, RowCache, planes_of, is_native,
                        fetch_rows, out_row, flush_row)

cnp.import_array()
from ._boundary cimport BoundaryMode, map_index, extend_pixels, extend_phases
from ._taps cimport (BLOCK, taps_unit_stride, taps_groups, phase_groups,
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
    # Lengths from the array structs: reading ``.shape`` of an untyped
    # object costs a Python attribute lookup and a tuple per read.
    cdef Py_ssize_t N = cnp.PyArray_DIM(<cnp.ndarray> images, 0), H = src.H
    cdef Py_ssize_t W = src.n // C
    cdef Py_ssize_t kh = kernel.shape[0], kw = kernel.shape[1]
    cdef Py_ssize_t oh = dst.H, ow = dst.n // C
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
    cdef Block blk[10]
    cdef char stack[STACK_ARENA]
    cdef Py_ssize_t nbytes[10]
    cdef Py_ssize_t nrows[10]
    cdef real* lbuf
    cdef real* rbuf
    cdef real* phbuf
    cdef real* cbuf
    cdef real* obuf
    cdef real* wg
    cdef real* cvrow
    cdef Py_ssize_t* cnt
    cdef Py_ssize_t* cache
    cdef Py_ssize_t cstride, ncv, isz = sizeof(real)

    if N == 0 or oh == 0 or ow == 0:
        return
    if jlo > ow:
        jlo = ow
    if jhi > ow:
        jhi = ow
    if jhi < jlo or (jhi - jlo) * C < BLOCK:
        # Too few inside outputs for a whole block (a small image): extend
        # the whole row, once per kernel row, so that one span of blocks
        # computes it, rather than three short ones of scalar code.
        jlo = jhi = ow
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
    # rather than a crash inside the parallel loop: edge segments, phase
    # rows, converted input rows (for sample types other than the compute
    # type), an output row (likewise), row pointers and cache tags (per
    # thread); the row of cval, the weights in phase-group order and their
    # counts (shared).
    cstride = 0 if is_native(src_kind, <real*>NULL) else src.n + LINE
    ncv = (W + left + ow * sx + reach + 1) * C
    nbytes[0] = (kh * lw * C + 1) * isz
    nbytes[1] = (kh * rw * C + 1) * isz
    nbytes[2] = (kh * psize + 1) * isz
    nbytes[3] = (kh * cstride + 1) * isz
    nbytes[4] = (1 if is_native(dst_kind, <real*>NULL) else dst.n) * isz
    nbytes[5] = kh * (kw + 4) * sizeof(void*)
    nbytes[6] = (6 * kh + 4) * sizeof(Py_ssize_t)
    nbytes[7] = ncv * isz
    nbytes[8] = kh * kw * isz
    nbytes[9] = ng * sizeof(Py_ssize_t)
    for k in range(10):
        nrows[k] = nchunks if k < 7 else 1
    keep = arena(nbytes, nrows, 10, blk, stack)
    cvrow = <real*> blk[7].base
    for k in range(ncv):
        cvrow[k] = cv
    wg = <real*> blk[8].base
    cnt = <Py_ssize_t*> blk[9].base
    phase_weights(wg, cnt, w, kh, kw, dx, sx)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        lbuf = <real*> (blk[0].base + c * blk[0].stride)
        rbuf = <real*> (blk[1].base + c * blk[1].stride)
        phbuf = <real*> (blk[2].base + c * blk[2].stride)
        cbuf = <real*> (blk[3].base + c * blk[3].stride)
        obuf = <real*> (blk[4].base + c * blk[4].stride)
        rows = <const real**> (blk[5].base + c * blk[5].stride)
        lrows = rows + kh
        rrows = rows + 2 * kh
        srcs = rows + 3 * kh
        taps = rows + 4 * kh
        # Slot s of phbuf[c] holds the split of row coordinate tags[s]; no
        # row coordinate is below -top.
        tags = <Py_ssize_t*> (blk[6].base + c * blk[6].stride)
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
            orow = out_row(&dst, p, i, obuf)
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
                        fetch_rows(srcs, &src, conv, cbuf, cstride,
                                   p, want, 1, cvrow)
                        extend_phases(srcs[0], W, phbuf + s * psize, -left,
                                      sx, plen, dx, nph, mode, cv)
                        tags[s] = y
                        used[s] = 1
                        slot[m] = s
                    rows[m] = phbuf + slot[m] * psize
                phase_groups(taps, rows, kh, kw, dx, sx, plen)
                taps_groups(orow, taps, cnt, wg, ng, step, ow)
                flush_row(&dst, p, i, orow)
                continue
            for m in range(kh):
                want[m] = map_index(i * sy + m * dy - top, H, mode)
            # A row outside under 'constant' reads the row of cval,
            # positioned so that its column 0 is image column 0.
            fetch_rows(srcs, &src, conv, cbuf, cstride, p, want, kh,
                       cvrow + left * C)
            for m in range(kh):
                srow = srcs[m]
                rows[m] = srow + (jlo * sx - left) * C
                if lw > 0:
                    extend_pixels(srow, W, C, lbuf + m * lw * C, -left, lw,
                                  mode, cv)
                    lrows[m] = lbuf + m * lw * C
                if rw > 0:
                    extend_pixels(srow, W, C, rbuf + m * rw * C, rstart,
                                  rw, mode, cv)
                    rrows[m] = rbuf + m * rw * C
            _row_span(orow, lrows, w, kh, kw, dx * C, jlo * C)
            if jhi > jlo:
                _row_span(orow + jlo * C, rows, w, kh, kw, dx * C,
                          (jhi - jlo) * C)
            if jhi < ow:
                _row_span(orow + jhi * C, rrows, w, kh, kw, dx * C,
                          (ow - jhi) * C)
            flush_row(&dst, p, i, orow)
