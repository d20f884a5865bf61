"""Direct 2-D correlation of a stack of planes.

out[i, j] = sum_{m, l} w[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]

Rows: each kernel row reads the image row the mode maps it to (or a row of
cval), so there is never a padded copy of the image.  Columns: the outputs
whose taps all fall inside the row read the image directly; only the few
outputs near the left and right edges read short segments extended by the
mode.  A block of outputs stays in registers while every tap accumulates
into it (see _taps.pxd).  The edge segments are each at least a block
wide and kept per input row, so an input row is extended once, however
many output rows read it.

When the row stride equals the row dilation, output rows i and i + 1 read
kh + 1 input rows between them, kh - 1 of them shared, and are computed
together: each input vector loaded serves both rows' sums (``taps_pair_*``).

A column stride sx > 1 would make those loads strided.  Instead each input
row a kernel row reads is extended by the mode and split into sx phase rows
(column c to phase c % sx, index c // sx), whole, so the edge outputs need
no separate path; tap l then reads one phase row contiguously and the same
block loop applies.  Each thread keeps the split rows of its last output
row, so with row stride sy < kh a row is split about once, not kh/sy times.
"""
import numpy as np
cimport numpy as cnp

from ._types cimport real
from ._scratch cimport LINE, STACK_ARENA, Block, arena
from ._samples cimport (Sample, Planes, RowCache, planes_of, is_native,
                        fetch_rows, out_row, flush_row)

cnp.import_array()
from ._boundary cimport BoundaryMode, map_index, extend_pixels, extend_phases
from ._taps cimport (BLOCK, taps_unit_stride, taps_pair_unit_stride,
                     taps_groups, phase_groups,
                     phase_weights, phase_ngroups, phase_step)
from ._pool cimport run_items, rows_per_item


cdef inline void _row_span(real* out, const real** rows, const real* w,
                           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t dx,
                           Py_ssize_t n) noexcept nogil:
    if n > 0:
        taps_unit_stride(out, rows, w, kh, kw, dx, n)


cdef inline void _pair_span(real* out0, real* out1, const real** rows,
                            const real* w, Py_ssize_t kh, Py_ssize_t kw,
                            Py_ssize_t dx, Py_ssize_t n) noexcept nogil:
    if n > 0:
        taps_pair_unit_stride(out0, out1, rows, w, kh, kw, dx, n)


cdef inline void _place_rows(Py_ssize_t* tags, Py_ssize_t* used,
                             Py_ssize_t* slot, Py_ssize_t nslots,
                             Py_ssize_t y0, Py_ssize_t dy,
                             Py_ssize_t n) noexcept nogil:
    """slot[m]: the cache slot of row coordinate y0 + m * dy, for m < n.
    A row some slot holds (tags[s]) keeps it, used[s] = 1; the others take
    slots none of the n rows holds, tagged for them, used[s] = 2: the
    caller fills those.  Needs nslots >= n."""
    cdef Py_ssize_t m, s, y
    for s in range(nslots):
        used[s] = 0
    for m in range(n):
        y = y0 + m * dy
        slot[m] = -1
        for s in range(nslots):
            if tags[s] == y:
                slot[m] = s
                used[s] = 1
                break
    for m in range(n):
        if slot[m] < 0:
            s = 0
            while used[s]:
                s = s + 1
            tags[s] = y0 + m * dy
            used[s] = 2
            slot[m] = s


cdef struct DirectCall:
    # What every output row needs, fixed per call; the kernel, weights and
    # row of cval are of the compute type (real).
    Planes src
    Planes dst
    Py_ssize_t H, W, C, kh, kw, oh, ow, total, nrows
    Py_ssize_t top, left, sy, sx, dy, dx
    Py_ssize_t jlo, jhi, lw, rw, rstart, plen, psize, nph, step, ng, cstride
    bint pairs          # output rows computed two at a time (see _rows)
    BoundaryMode mode
    double cval
    const void* w
    const void* cvrow
    const void* wg
    const Py_ssize_t* cnt
    Block blk[7]        # per-thread scratch, row ``slot`` for each thread


cdef void _rows(const DirectCall* g, Py_ssize_t r0, Py_ssize_t r1, int c,
                real* dummy) noexcept nogil:
    """Output rows [r0, r1) of the stack (row r: row r % oh of plane
    r // oh), with the scratch of thread slot c."""
    cdef Py_ssize_t kh = g.kh, kw = g.kw, H = g.H, W = g.W, C = g.C
    cdef Py_ssize_t oh = g.oh, ow = g.ow, top = g.top, left = g.left
    cdef Py_ssize_t sy = g.sy, sx = g.sx, dy = g.dy, dx = g.dx
    cdef Py_ssize_t jlo = g.jlo, jhi = g.jhi, lw = g.lw, rw = g.rw
    cdef Py_ssize_t psize = g.psize, plen = g.plen, nph = g.nph
    cdef Py_ssize_t i, m, s, r, p, plane, nr
    cdef Py_ssize_t K = kh + 1
    cdef bint pairs = g.pairs
    cdef BoundaryMode mode = g.mode
    cdef real cv = <real> g.cval
    cdef const real* w = <const real*> g.w
    cdef const real* cvrow = <const real*> g.cvrow
    cdef real* orow
    cdef real* orow2
    cdef real* lbuf = <real*> (g.blk[0].base + c * g.blk[0].stride)
    cdef real* rbuf = <real*> (g.blk[1].base + c * g.blk[1].stride)
    cdef real* phbuf = <real*> (g.blk[2].base + c * g.blk[2].stride)
    cdef real* cbuf = <real*> (g.blk[3].base + c * g.blk[3].stride)
    cdef real* obuf = <real*> (g.blk[4].base + c * g.blk[4].stride)
    cdef const real** rows = <const real**> (g.blk[5].base + c * g.blk[5].stride)
    # K = kh + 1 entries each: two output rows together read kh + 1 rows
    cdef const real** lrows = rows + K
    cdef const real** rrows = rows + 2 * K
    cdef const real** srcs = rows + 3 * K
    cdef const real** taps = rows + 4 * K
    # Slot s of phbuf (or of the edge segments) holds the split (the
    # segments) of row coordinate tags[s]; no row coordinate is below -top.
    cdef Py_ssize_t* tags = <Py_ssize_t*> (g.blk[6].base + c * g.blk[6].stride)
    cdef Py_ssize_t* used = tags + K
    cdef Py_ssize_t* slot = tags + 2 * K
    cdef Py_ssize_t* want = tags + 3 * K
    # (its converted rows are kept from item to item: set up per call)
    cdef RowCache* conv = <RowCache*> (tags + 6 * K)
    # output row i of plane p, stepped along without a division per row
    p = r0 // oh
    i = r0 - p * oh - 1
    plane = -1
    r = r0
    while r < r1:
        i = i + 1
        if i == oh:
            i = 0
            p = p + 1
        r = r + 1
        if p != plane:
            plane = p
            for s in range(K):
                tags[s] = -top - 1
        orow = out_row(&g.dst, p, i, obuf)
        if sx > 1:
            # Reuse the rows split for earlier outputs; split the others
            # into slots no row of this output holds.
            _place_rows(tags, used, slot, kh, i * sy - top, dy, kh)
            for m in range(kh):
                s = slot[m]
                if used[s] == 2:
                    want[0] = map_index(i * sy + m * dy - top, H, mode)
                    fetch_rows(srcs, &g.src, conv, cbuf, g.cstride,
                               p, want, 1, cvrow)
                    extend_phases(srcs[0], W, phbuf + s * psize, -left,
                                  sx, plen, dx, nph, mode, cv)
                rows[m] = phbuf + s * psize
            phase_groups(taps, rows, kh, kw, dx, sx, plen)
            taps_groups(orow, taps, g.cnt, <const real*> g.wg, g.ng,
                        g.step, ow)
            flush_row(&g.dst, p, i, orow)
            continue
        # Output rows i and i + 1 together when the row stride equals the
        # row dilation: row i + 1's kernel row m reads row i's row m + 1,
        # so nr = kh + 1 input rows serve both.
        nr = kh
        if pairs and i + 1 < oh and r < r1:
            nr = K
        for m in range(nr):
            want[m] = map_index(i * sy + m * dy - top, H, mode)
        # A row outside under 'constant' reads the row of cval,
        # positioned so that its column 0 is image column 0.
        fetch_rows(srcs, &g.src, conv, cbuf, g.cstride, p, want, nr,
                   cvrow + left * C)
        for m in range(nr):
            rows[m] = srcs[m] + (jlo * sx - left) * C
        if lw > 0 or rw > 0:
            # Slot s of the edge segments holds those of row coordinate
            # tags[s]: the output rows that read an input row extend it
            # once, not kh times.
            _place_rows(tags, used, slot, K, i * sy - top, dy, nr)
            for m in range(nr):
                s = slot[m]
                if used[s] == 2:
                    if lw > 0:
                        extend_pixels(srcs[m], W, C, lbuf + s * lw * C,
                                      -left, lw, mode, cv)
                    if rw > 0:
                        extend_pixels(srcs[m], W, C, rbuf + s * rw * C,
                                      g.rstart, rw, mode, cv)
                lrows[m] = lbuf + s * lw * C
                rrows[m] = rbuf + s * rw * C
        if nr == K:
            orow2 = out_row(&g.dst, p, i + 1, obuf + g.dst.n)
            _pair_span(orow, orow2, lrows, w, kh, kw, dx * C, jlo * C)
            if jhi > jlo:
                _pair_span(orow + jlo * C, orow2 + jlo * C, rows, w, kh, kw,
                           dx * C, (jhi - jlo) * C)
            if jhi < ow:
                _pair_span(orow + jhi * C, orow2 + jhi * C, rrows, w, kh,
                           kw, dx * C, (ow - jhi) * C)
            flush_row(&g.dst, p, i, orow)
            flush_row(&g.dst, p, i + 1, orow2)
            i = i + 1
            r = r + 1
            continue
        _row_span(orow, lrows, w, kh, kw, dx * C, jlo * C)
        if jhi > jlo:
            _row_span(orow + jlo * C, rows, w, kh, kw, dx * C,
                      (jhi - jlo) * C)
        if jhi < ow:
            _row_span(orow + jhi * C, rrows, w, kh, kw, dx * C,
                      (ow - jhi) * C)
        flush_row(&g.dst, p, i, orow)


cdef void _item_f(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef const DirectCall* g = <const DirectCall*> ctx
    cdef Py_ssize_t r0 = item * g.nrows
    _rows(g, r0, min(r0 + g.nrows, g.total), slot, <float*> NULL)


cdef void _item_d(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef const DirectCall* g = <const DirectCall*> ctx
    cdef Py_ssize_t r0 = item * g.nrows
    _rows(g, r0, min(r0 + g.nrows, g.total), slot, <double*> NULL)


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

    The work items are blocks of output rows of all the planes together
    (fixed by the shapes), so a stack of small images is as parallel as
    one large one, and the scratch is set up once for the stack."""
    cdef DirectCall g
    g.src = planes_of(images, src_kind)
    g.dst = planes_of(out, dst_kind)
    # Lengths from the array structs: reading ``.shape`` of an untyped
    # object costs a Python attribute lookup and a tuple per read.
    cdef Py_ssize_t N = cnp.PyArray_DIM(<cnp.ndarray> images, 0)
    cdef Py_ssize_t H = g.src.H, W = g.src.n // C
    cdef Py_ssize_t kh = kernel.shape[0], kw = kernel.shape[1]
    cdef Py_ssize_t oh = g.dst.H, ow = g.dst.n // C
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
    cdef Py_ssize_t k, nitems, bpx
    cdef Block blk[10]
    cdef char stack[STACK_ARENA]
    cdef Py_ssize_t nbytes[10]
    cdef Py_ssize_t nrows[10]
    cdef real* wg
    cdef real* cvrow
    cdef Py_ssize_t* cnt
    cdef Py_ssize_t cstride, ncv, isz = sizeof(real)
    cdef real cv = <real>cval
    cdef Py_ssize_t* tags
    cdef RowCache* conv

    if N == 0 or oh == 0 or ow == 0:
        return
    if jlo > ow:
        jlo = ow
    if jhi > ow:
        jhi = ow
    if jhi < jlo or (jhi - jlo) * C < BLOCK:
        # Too few inside outputs for a whole block (a small image): extend
        # the whole row (once per input row, as any edge segment), so that
        # one span of blocks computes it, rather than three short ones of
        # scalar code.
        jlo = jhi = ow
    elif sx == 1:
        # Edge segments wide enough for a whole block each, and an inside
        # span of none or at least a block: a span shorter than a block
        # runs scalar code whose sums chain through memory, which cost
        # more than all the vector blocks of a 256-wide row.  Spans may
        # overlap; an output computed twice gets the same value.
        bpx = (BLOCK + C - 1) // C
        if jlo > 0 and jlo < bpx:
            jlo = bpx
        if jhi < ow and jhi > ow - bpx:
            jhi = ow - bpx
        if jhi - jlo > 0 and (jhi - jlo) * C < BLOCK:
            if jhi < ow:
                jhi = jlo
            else:
                jlo = ow
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
    # Pairs of output rows share kh - 1 input rows (kh >= 2); items hold
    # whole pairs, so the pairing, like the items, is fixed by the shapes.
    g.pairs = sx == 1 and sy == dy and kh >= 2
    g.nrows = rows_per_item(ow * C * kh * kw, 2 if g.pairs else 1)
    nitems = (total + g.nrows - 1) // g.nrows
    if nthreads > nitems:
        nthreads = <int> nitems
    # Scratch is allocated here, so running out of memory is a MemoryError
    # rather than a crash inside the parallel loop: edge segments, phase
    # rows, converted input rows (for sample types other than the compute
    # type), an output row (likewise), row pointers and cache tags (per
    # thread); the row of cval, the weights in phase-group order and their
    # counts (shared).
    cstride = 0 if is_native(src_kind, <real*>NULL) else g.src.n + LINE
    ncv = (W + left + ow * sx + reach + 1) * C
    nbytes[0] = ((kh + 1) * lw * C + 1) * isz
    nbytes[1] = ((kh + 1) * rw * C + 1) * isz
    nbytes[2] = (kh * psize + 1) * isz
    nbytes[3] = ((kh + 1) * cstride + 1) * isz
    nbytes[4] = (1 if is_native(dst_kind, <real*>NULL) else 2 * g.dst.n) * isz
    nbytes[5] = (4 * (kh + 1) + kh * kw) * sizeof(void*)
    nbytes[6] = (6 * (kh + 1) + 4) * sizeof(Py_ssize_t)
    nbytes[7] = ncv * isz
    nbytes[8] = kh * kw * isz
    nbytes[9] = ng * sizeof(Py_ssize_t)
    for k in range(10):
        nrows[k] = nthreads if k < 7 else 1
    keep = arena(nbytes, nrows, 10, blk, stack)
    cvrow = <real*> blk[7].base
    for k in range(ncv):
        cvrow[k] = cv
    wg = <real*> blk[8].base
    cnt = <Py_ssize_t*> blk[9].base
    phase_weights(wg, cnt, &kernel[0, 0], kh, kw, dx, sx)
    for k in range(7):
        g.blk[k] = blk[k]
    # Each thread's cache of converted input rows, empty; kept from one
    # work item to the next, so that consecutive items of a thread do not
    # convert their shared rows again.
    for k in range(nthreads):
        tags = <Py_ssize_t*> (blk[6].base + k * blk[6].stride)
        conv = <RowCache*> (tags + 6 * (kh + 1))
        conv.tags = tags + 4 * (kh + 1)
        conv.used = tags + 5 * (kh + 1)
        conv.nslots = kh + 1
        conv.plane = -1
    g.H, g.W, g.C, g.kh, g.kw, g.oh, g.ow, g.total = H, W, C, kh, kw, oh, ow, total
    g.top, g.left, g.sy, g.sx, g.dy, g.dx = top, left, sy, sx, dy, dx
    g.jlo, g.jhi, g.lw, g.rw, g.rstart = jlo, jhi, lw, rw, rstart
    g.plen, g.psize, g.nph, g.step, g.ng, g.cstride = plen, psize, nph, step, ng, cstride
    g.mode, g.cval = mode, cval
    g.w, g.cvrow, g.wg, g.cnt = &kernel[0, 0], cvrow, wg, cnt
    with nogil:
        if real is float:
            run_items(_item_f, &g, nitems, nthreads)
        else:
            run_items(_item_d, &g, nitems, nthreads)
