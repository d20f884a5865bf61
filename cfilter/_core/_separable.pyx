"""Separable 2-D correlation of a stack of planes: a column pass, then a row
pass; or a sum of r such pairs (a kernel of rank r, ``method="lowrank"``).

out[i, j] = sum_k sum_l wrow_k[l] * t_k~[i, j*sx + l*dx - left],
t_k[i, c] = sum_m wcol_k[m] * x~[i*sy + m*dy - top, c]

The terms are summed in order k = 0, 1, ... into each output row while it is
in cache (no plane per term is kept), so the result does not depend on the
number of threads.

Both passes run for one output row at a time in a per-band row buffer, so the
intermediate never leaves cache.  Only the rows the stride keeps are computed.
Extending ``t`` by the mode equals extending ``x`` first, because every mode
maps columns independently of rows; for the constant mode an outside column of
``t`` is ``cval * sum(wcol)``, and an outside row is read from a row of cval.
With stride and dilation 1 in y, GROUP output rows share the input rows
fetched (converted once) and run their column passes a block of columns at a
time, so the input segments stay in L1 between them.  With a column stride sx > 1
the extended row is split into sx phase rows before the row pass, so its taps
read contiguously as at stride 1 (see ``phase_groups`` in _taps.pxd).
"""
import numpy as np
cimport numpy as cnp

from ._types cimport real
from ._scratch cimport LINE, STACK_ARENA, Block, arena
from ._samples cimport (Sample, Planes, RowCache, planes_of, is_native,
                        fetch_rows, out_row, flush_row)

cnp.import_array()
from ._boundary cimport BoundaryMode, fill_pixel_margins, map_index, split_row
from ._taps cimport (BLOCK, taps_block, taps_unit_stride, taps_groups, phase_groups,
                     phase_weights, phase_ngroups, phase_step)
from ._pool cimport run_items, rows_per_item


cdef enum:
    # Output rows whose column pass shares each loaded input row.
    GROUP = 4


cdef inline void _column_pass_group(real** dst, const real** rows,
                                    const real* wcol, Py_ssize_t kh,
                                    Py_ssize_t W) noexcept nogil:
    """GROUP consecutive output rows: dst[q][c] = sum_m wcol[m] *
    rows[q + m][c] for q < GROUP, each as the ungrouped column pass
    (``taps_unit_stride`` with a kh x 1 kernel) computes it, so a row's
    value does not depend on whether it was grouped.  The outputs go a
    block of columns at a time, so the rows' segments one output loads are
    in L1 for the next; a loop per output row over the whole width would
    read the kh + GROUP - 1 rows from L2 GROUP times."""
    cdef Py_ssize_t c0 = 0, q
    if W < BLOCK:
        for q in range(GROUP):
            taps_unit_stride(dst[q], rows + q, wcol, kh, 1, 1, W)
        return
    while c0 + BLOCK <= W:
        for q in range(GROUP):
            taps_block(dst[q], rows + q, wcol, kh, 1, 1, c0)
        c0 += BLOCK
    if c0 < W:
        # one full block overlapping the last, as taps_unit_stride does
        for q in range(GROUP):
            taps_block(dst[q], rows + q, wcol, kh, 1, 1, W - BLOCK)


cdef struct RowGeometry:
    # The row pass's geometry, fixed per call: W pixels of C samples held
    # at pixel ``left`` of a row buffer extended to ``wext`` pixels; ow
    # outputs, column stride sx and dilation dx; with sx > 1 the extended
    # row split into phase rows of plen, read in ng tap groups step apart
    # with tap counts cnt (see ``phase_groups``).
    Py_ssize_t kw, W, C, left, wext, sx, dx, ow, plen, ng, step
    BoundaryMode mode
    const Py_ssize_t* cnt


cdef inline void _row_pass(real* out, real* buf, const real* wrow,
                           const real* wg, real outside_col, real* phases,
                           const real** taps,
                           const RowGeometry* g) noexcept nogil:
    """Extend the column-pass row held in ``buf`` by the mode, then
    correlate it with the row weights.  A column stride sx > 1 (C == 1
    only) first splits the extended row into sx phase rows in ``phases``,
    so each tap reads contiguously (wg: the row weights in group order,
    see ``phase_weights``)."""
    cdef const real* row = buf
    fill_pixel_margins(buf, g.W, g.C, g.left, g.wext, g.mode, outside_col)
    if g.sx == 1:
        taps_unit_stride(out, &row, wrow, 1, g.kw, g.dx * g.C, g.ow * g.C)
        return
    split_row(buf, g.wext, phases, g.sx, g.plen, g.dx, g.ng)
    row = phases
    phase_groups(taps, &row, 1, g.kw, g.dx, g.sx, g.plen)
    taps_groups(out, taps, g.cnt, wg, g.ng, g.step, g.ow)


cdef struct SepCall:
    # What every band needs, fixed per call; the weights and the row of
    # cval are of the compute type (real).
    Planes src
    Planes dst
    Py_ssize_t H, W, C, kh, kw, oh, top, sy, dy, blen, nrows, nslots, cstride
    Py_ssize_t ngroups, total, bands     # bands: per work item
    Py_ssize_t terms, orow_len           # rank; samples per output row
    bint grouped
    BoundaryMode mode
    const double* outside_col            # per term
    const void* wcol                     # (terms, kh)
    const void* wrow                     # (terms, kw)
    const void* wg                       # (terms, kw), phase-group order
    const void* cvrow
    RowGeometry geo
    Block blk[7]        # per-thread scratch, row ``slot`` for each thread


cdef inline void _add_into(real* dst, const real* src,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        dst[j] = dst[j] + src[j]


cdef void _bands(const SepCall* g, Py_ssize_t b0, Py_ssize_t b1, int c,
                 real* dummy) noexcept nogil:
    """Bands [b0, b1) of GROUP output rows of the stack (band b: rows
    starting at (b % ngroups) * GROUP of plane b // ngroups), with the
    scratch of thread slot c."""
    cdef Py_ssize_t kh = g.kh, kw = g.kw, H = g.H, W = g.W, C = g.C
    cdef Py_ssize_t oh = g.oh, top = g.top, sy = g.sy, dy = g.dy
    cdef Py_ssize_t blen = g.blen, nrows = g.nrows, nslots = g.nslots
    cdef Py_ssize_t left = g.geo.left, n = g.orow_len, terms = g.terms
    cdef Py_ssize_t b, p, i, i1, k, q, t
    cdef BoundaryMode mode = g.mode
    cdef const real* wcol = <const real*> g.wcol
    cdef const real* wrow = <const real*> g.wrow
    cdef const real* wg = <const real*> g.wg
    cdef const real* cvrow = <const real*> g.cvrow
    cdef real* bufs = <real*> (g.blk[0].base + c * g.blk[0].stride)
    cdef real* phbuf = <real*> (g.blk[1].base + c * g.blk[1].stride)
    cdef real* cbuf = <real*> (g.blk[2].base + c * g.blk[2].stride)
    cdef real* obuf = <real*> (g.blk[3].base + c * g.blk[3].stride)
    cdef const real** rows = <const real**> (g.blk[4].base + c * g.blk[4].stride)
    cdef real** dst_rows = <real**> (rows + nrows)
    cdef const real** taps = <const real**> (rows + nrows + GROUP)
    cdef real** orows = <real**> (taps + kw)
    cdef Py_ssize_t* want = <Py_ssize_t*> (g.blk[5].base + c * g.blk[5].stride)
    # (its converted rows are kept from item to item: set up per call)
    cdef RowCache* conv = <RowCache*> (want + nrows + 2 * nslots)
    cdef real* tbuf = <real*> (g.blk[6].base + c * g.blk[6].stride)
    cdef real* orow
    cdef real outside
    for b in range(b0, b1):
        # band b: output rows [i, i1) of plane p
        p = b // g.ngroups
        i = (b - p * g.ngroups) * GROUP
        i1 = i + GROUP
        if i1 > oh:
            i1 = oh
        while i < i1:
            if g.grouped and i + GROUP <= i1:
                # Rows i - top + t for t < kh + GROUP - 1 feed GROUP
                # outputs.
                for k in range(kh + GROUP - 1):
                    want[k] = map_index(i - top + k, H, mode)
                fetch_rows(rows, &g.src, conv, cbuf, g.cstride, p,
                           want, kh + GROUP - 1, cvrow)
                for q in range(GROUP):
                    dst_rows[q] = bufs + q * blen + left * C
                if terms == 1:
                    # One term: each row is stored while it is in cache,
                    # through one row of scratch for a converted output.
                    _column_pass_group(dst_rows, rows, wcol, kh, W * C)
                    for q in range(GROUP):
                        orow = out_row(&g.dst, p, i + q, obuf)
                        _row_pass(orow, bufs + q * blen, wrow, wg,
                                  <real> g.outside_col[0], phbuf, taps,
                                  &g.geo)
                        flush_row(&g.dst, p, i + q, orow)
                    i = i + GROUP
                    continue
                for q in range(GROUP):
                    orows[q] = out_row(&g.dst, p, i + q, obuf + q * n)
                for t in range(terms):
                    _column_pass_group(dst_rows, rows, wcol + t * kh, kh,
                                       W * C)
                    outside = <real> g.outside_col[t]
                    for q in range(GROUP):
                        orow = orows[q] if t == 0 else tbuf
                        _row_pass(orow, bufs + q * blen, wrow + t * kw,
                                  wg + t * kw, outside, phbuf, taps, &g.geo)
                        if t > 0:
                            _add_into(orows[q], tbuf, n)
                for q in range(GROUP):
                    flush_row(&g.dst, p, i + q, orows[q])
                i = i + GROUP
            else:
                for k in range(kh):
                    want[k] = map_index(i * sy - top + k * dy, H, mode)
                fetch_rows(rows, &g.src, conv, cbuf, g.cstride, p,
                           want, kh, cvrow)
                orows[0] = out_row(&g.dst, p, i, obuf)
                for t in range(terms):
                    taps_unit_stride(bufs + left * C, rows, wcol + t * kh,
                                     kh, 1, 1, W * C)
                    orow = orows[0] if t == 0 else tbuf
                    _row_pass(orow, bufs, wrow + t * kw, wg + t * kw,
                              <real> g.outside_col[t], phbuf, taps, &g.geo)
                    if t > 0:
                        _add_into(orows[0], tbuf, n)
                flush_row(&g.dst, p, i, orows[0])
                i = i + 1


cdef void _item_f(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef const SepCall* g = <const SepCall*> ctx
    cdef Py_ssize_t b0 = item * g.bands
    _bands(g, b0, min(b0 + g.bands, g.total), slot, <float*> NULL)


cdef void _item_d(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    cdef const SepCall* g = <const SepCall*> ctx
    cdef Py_ssize_t b0 = item * g.bands
    _bands(g, b0, min(b0 + g.bands, g.total), slot, <double*> NULL)


def sep_correlate_planes(images, Sample src_kind, const real[:, ::1] wcol,
                         const real[:, ::1] wrow, out, Sample dst_kind,
                         Py_ssize_t C, Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t sy, Py_ssize_t sx,
                         Py_ssize_t dy, Py_ssize_t dx,
                         BoundaryMode mode, double cval, int nthreads):
    """Correlate each of the C-contiguous planes ``images`` (N, H, W * C),
    of sample type ``src_kind``, with ``sum_k outer(wcol[k], wrow[k])``
    (``wcol`` (r, kh), ``wrow`` (r, kw), r >= 1) into the planes ``out``
    (N, oh, ow * C) of type ``dst_kind``, computing in the weights' type
    (all validated; C > 1 interleaved channels at column stride 1 only).
    The work items are blocks of bands of all the planes together, as in
    ``_direct.pyx``."""
    cdef SepCall g
    g.src = planes_of(images, src_kind)
    g.dst = planes_of(out, dst_kind)
    # Lengths from the array structs: reading ``.shape`` of an untyped
    # object costs a Python attribute lookup and a tuple per read.
    cdef Py_ssize_t N = cnp.PyArray_DIM(<cnp.ndarray> images, 0), H = g.src.H
    cdef Py_ssize_t W = g.src.n // C
    cdef Py_ssize_t terms = wcol.shape[0]
    cdef Py_ssize_t kh = wcol.shape[1], kw = wrow.shape[1]
    cdef Py_ssize_t oh = g.dst.H, ow = g.dst.n // C
    cdef Py_ssize_t wext = (ow - 1) * sx + (kw - 1) * dx + 1
    # A row buffer holds a column-pass row at pixels [left, left + W) and
    # its extension around it.
    cdef Py_ssize_t blen = (wext if wext > left + W else left + W) * C
    # With column stride sx > 1, the extended row split into sx phase rows.
    cdef Py_ssize_t plen = ow + (kw - 1) * dx // sx
    cdef Py_ssize_t ngroups, total, k, t, nrows, nitems
    cdef Py_ssize_t cstride, nslots = kh + GROUP - 1
    cdef real cv = <real>cval
    cdef Block blk[11]
    cdef char stack[STACK_ARENA]
    cdef Py_ssize_t nbytes[11]
    cdef Py_ssize_t nbrows[11]
    cdef real* wg
    cdef real* cvrow
    cdef double* outside
    cdef Py_ssize_t* cnt
    cdef Py_ssize_t* want
    cdef RowCache* conv
    cdef Py_ssize_t isz = sizeof(real)

    if wrow.shape[0] != terms or terms < 1:
        raise ValueError("sep_correlate_planes: wcol and wrow hold "
                         "different numbers of terms")
    if N == 0 or oh == 0 or ow == 0:
        return
    if nthreads < 1:
        nthreads = 1
    # Bands of GROUP output rows start at multiples of GROUP in every plane,
    # so every output row is computed by the same code (grouped or not)
    # whatever the number of threads, and results do not depend on it even
    # in the last bit.
    ngroups = (oh + GROUP - 1) // GROUP
    total = N * ngroups
    # Several bands an item: a thread's next band then shares most of its
    # input rows with the last, converted once (sixteen for a sample type
    # that is converted, whose rows would otherwise be converted again at
    # every item a thread takes: the threads take alternate items).
    g.bands = rows_per_item(GROUP * (W * kh + ow * kw) * C * terms) // GROUP
    k = 4 if is_native(src_kind, <real*>NULL) else 16
    if g.bands < k:
        g.bands = k
    nitems = (total + g.bands - 1) // g.bands
    if nthreads > nitems:
        nthreads = <int> nitems
    # All scratch in one allocation: row buffers, phase rows, converted
    # input rows and GROUP output rows (for sample types other than the
    # compute type), row pointers, cache tags, a term's row (per thread);
    # the weights in phase-group order, their counts, the row of cval and
    # each term's value outside (shared).
    cstride = 0 if is_native(src_kind, <real*>NULL) else g.src.n + LINE
    nrows = (kh - 1) * dy + GROUP
    nbytes[0] = GROUP * blen * isz
    nbytes[1] = ((sx * plen if sx > 1 else 0) + 1) * isz
    nbytes[2] = (nslots * cstride + 1) * isz
    nbytes[3] = (1 if is_native(dst_kind, <real*>NULL) else GROUP * g.dst.n) * isz
    nbytes[4] = (nrows + 2 * GROUP + kw) * sizeof(void*)
    nbytes[5] = (nrows + 2 * nslots + 4) * sizeof(Py_ssize_t)
    nbytes[6] = (g.dst.n if terms > 1 else 1) * isz
    nbytes[7] = terms * kw * isz
    nbytes[8] = kw * sizeof(Py_ssize_t)
    nbytes[9] = W * C * isz
    nbytes[10] = terms * sizeof(double)
    for k in range(11):
        nbrows[k] = nthreads if k < 7 else 1
    keep = arena(nbytes, nbrows, 11, blk, stack)
    wg = <real*> blk[7].base
    cnt = <Py_ssize_t*> blk[8].base
    cvrow = <real*> blk[9].base
    outside = <double*> blk[10].base
    for k in range(W * C):
        cvrow[k] = cv
    for t in range(terms):
        phase_weights(wg + t * kw, cnt, &wrow[t, 0], 1, kw, dx, sx)
        outside[t] = 0
        for k in range(kh):
            outside[t] += wcol[t, k] * cv
        # as the compute type sums it
        outside[t] = <real> outside[t]
    g.geo.kw, g.geo.W, g.geo.C, g.geo.left, g.geo.wext = kw, W, C, left, wext
    g.geo.sx, g.geo.dx, g.geo.ow, g.geo.plen = sx, dx, ow, plen
    g.geo.ng, g.geo.step = phase_ngroups(kw, dx, sx), phase_step(dx, sx)
    g.geo.mode = mode
    g.geo.cnt = cnt
    for k in range(7):
        g.blk[k] = blk[k]
    # Each thread's cache of converted input rows, empty; kept from one
    # work item to the next, so that consecutive bands of a thread do not
    # convert their shared rows again.
    for k in range(nthreads):
        want = <Py_ssize_t*> (blk[5].base + k * blk[5].stride)
        conv = <RowCache*> (want + nrows + 2 * nslots)
        conv.tags = want + nrows
        conv.used = want + nrows + nslots
        conv.nslots = nslots
        conv.plane = -1
    g.H, g.W, g.C, g.kh, g.kw, g.oh = H, W, C, kh, kw, oh
    g.top, g.sy, g.dy = top, sy, dy
    g.blen, g.nrows, g.nslots, g.cstride = blen, nrows, nslots, cstride
    g.ngroups, g.total, g.terms, g.orow_len = ngroups, total, terms, g.dst.n
    g.grouped = sy == 1 and dy == 1 and kh >= 3
    g.mode, g.outside_col = mode, outside
    g.wcol, g.wrow, g.wg, g.cvrow = &wcol[0, 0], &wrow[0, 0], wg, cvrow
    with nogil:
        if real is float:
            run_items(_item_f, &g, nitems, nthreads)
        else:
            run_items(_item_d, &g, nitems, nthreads)
