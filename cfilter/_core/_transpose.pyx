"""Transposed correlation of a stack of planes: the adjoint of
``correlate_planes``.

The forward map (``_direct.pyx``) is

    y[i, j] = sum_{m, l} w[m, l] * x~[i*sy + m*dy - top, j*sx + l*dx - left]

with ``x~`` the plane extended by the mode.  Its adjoint sends ``y`` back to
the plane's shape.  It is computed in two steps, both gathers:

1. The *canvas*: in extended coordinates ``(er, ec) = (r' + top, c' + left)``,
   ``E[er, ec] = sum w[m, l] * y[i, j]`` over the taps with
   ``i*sy + m*dy == er`` and ``j*sx + l*dx == ec``.
   At stride 1 this is a correlation of ``y`` (zeros outside) with the
   flipped kernel, and the plane's rows run exactly as the forward call's
   (``_unit_row``).  Otherwise each canvas row knows the kernel rows that
   reach it, and its columns split into ``sx`` phases (``ec % sx``); within a
   phase a kernel row's taps read ``y`` at offsets a fixed step apart, so a
   phase is again a correlation, computed into its own contiguous run and
   then interleaved with the others (``_gather_row``; at stride 2 the two
   phases are computed together and stored interleaved, ``_pair_row``).
   The phases' columns, taps and reversed weights are the same on every
   row, so they are tabulated once per call.  In both, a block of
   outputs accumulates in registers from contiguous loads (``_taps.pxd``),
   and only the few outputs whose taps leave ``y`` take a checked path.
2. The *fold*: a canvas entry outside the plane is added to the pixel the
   mode read it from (``map_index``); under 'constant' it is dropped, so that
   mode computes only the plane's own rows and columns.

What every row needs and is fixed per call (the geometry, the phase
tables, the side columns' taps, the weights) is worked out once into a
``Canvas`` struct (``_tables``), and each thread's buffers are a
``Scratch``; the row functions take a row and those two.

Canvas rows outside the plane are gathered first into a buffer (their
columns folded).  Then each plane row is computed and, while it is in cache,
receives its own canvas columns beside the plane (a few taps each, listed
once for all rows) and the buffered rows that fold onto it.  Every output
row is written by one thread, from one work item, so the result does not
depend on the number of threads.
"""
import numpy as np
cimport numpy as cnp

from ._types cimport real
from ._boundary cimport BoundaryMode, CONSTANT, map_index, extend_row
from ._taps cimport BLOCK, gcd, taps_unit_stride
from ._scratch cimport Block, arena
from ._pool cimport run_items, rows_per_item

cnp.import_array()


cdef inline void _interleave(real* dst, const real* phases, Py_ssize_t plen,
                             Py_ssize_t sx, Py_ssize_t n) noexcept nogil:
    """dst[p + k*sx] = phases[p*plen + k] for the n entries of dst."""
    cdef Py_ssize_t k, p, full = n // sx
    cdef const real* a = phases
    cdef const real* b = phases + plen
    cdef const real* c = phases + 2 * plen
    cdef const real* d = phases + 3 * plen
    # The common strides get loops of their own: the compiler vectorises a
    # fixed group of interleaved stores, not a variable one.
    if sx == 2:
        for k in range(full):
            dst[2 * k] = a[k]
            dst[2 * k + 1] = b[k]
    elif sx == 3:
        for k in range(full):
            dst[3 * k] = a[k]
            dst[3 * k + 1] = b[k]
            dst[3 * k + 2] = c[k]
    elif sx == 4:
        for k in range(full):
            dst[4 * k] = a[k]
            dst[4 * k + 1] = b[k]
            dst[4 * k + 2] = c[k]
            dst[4 * k + 3] = d[k]
    else:
        for k in range(full):
            for p in range(sx):
                dst[k * sx + p] = phases[p * plen + k]
    for p in range(n - full * sx):
        dst[full * sx + p] = phases[p * plen + full]


cdef struct Canvas:
    # Everything a row needs that is fixed per call.  The geometry: planes
    # of H x W, y planes of oh x ow, a kh x kw kernel, strides and
    # dilations; the plane sits at (top, left) of the canvas, whose rows
    # are ``width`` long (the columns of ``ph_border``).
    Py_ssize_t H, W, oh, ow, kh, kw, sy, sx, dy, dx, top, left, width
    BoundaryMode mode
    # dy = dq*sy + dr: stepping to the next kernel row moves the y row read
    # by whole and partial strides, tracked without a division per row.
    Py_ssize_t dq, dr
    # With g = gcd(sx, dx), a phase's kernel columns are sxp = sx / g apart
    # and read y columns dxp = dx / g apart.
    Py_ssize_t sxp, dxp
    # Stride 1 with the padding inside the kernel's reach: the canvas
    # inside the plane is a correlation with the flipped kernel ``wf``
    # shifted by (t0, l0) >= 0 (``_unit_row``), its edges read from
    # zero-extended copies of y's rows, ``elen`` long.
    bint unit
    Py_ssize_t t0, l0, elen
    # The column phase tables (PH_SIZE entries per phase) of the plane's
    # columns [left, left + W) and of the whole canvas row [0, width).
    const Py_ssize_t* ph_plane
    const Py_ssize_t* ph_border
    # The nside canvas columns beside the plane: ``sidecol[e]``, the plane
    # column it folds onto (-1: none); its taps ``cstart[e] <= t <
    # cstart[e + 1]``, kernel column ``ctap[t]`` reading y column ``ccol[t]``.
    Py_ssize_t nside
    const Py_ssize_t* sidecol
    const Py_ssize_t* cstart
    const Py_ssize_t* ctap
    const Py_ssize_t* ccol
    # The nborder canvas rows outside the plane: border row b is canvas row
    # ``brows[b]`` and folds onto plane row ``target[b]`` (-1: none).
    Py_ssize_t nborder
    const Py_ssize_t* brows
    const Py_ssize_t* target
    # The weights, of the planes' type (a struct cannot hold a fused type):
    # the kernel, flipped (``unit`` only), and per phase reversed (``wtab``,
    # ``[rho, m, t]``, kh*kw per phase), so that every phase is a
    # correlation run by the shared loop of _taps.pxd.
    const void* w
    const void* wf
    const void* wtab


cdef struct Scratch:
    # One thread's scratch: row pointers (``rows``, kh; ``src``, 2*kh),
    # kernel rows and y row offsets (``rm``, ``ri``, kh each), weights
    # (``wv``, kh*kw), and of the planes' type, the phase rows (``pbuf``,
    # width + sx, when sx > 1) and the zero-extended rows of y (``ebuf``,
    # kh*elen, ``unit`` only).
    void** rows
    void** src
    Py_ssize_t* rm
    Py_ssize_t* ri
    void* wv
    void* pbuf
    void* ebuf


cdef enum:
    # Border-row samples (canvas rows outside the planes, all planes) below
    # which folding them runs on one thread: a parallel region costs more
    # than a few short rows.
    MIN_PARALLEL_BORDER = 65536


cdef enum:
    # Columns of a phase table (``_phases.phase_table``, which works the
    # phases out for this module and for cfilter.nn): per column phase
    # ``rho``, its first column's position PH_POS and length PH_N; its
    # kernel columns ``l0, l0 + sxp, ...`` (PH_NPR of them, from PH_L0);
    # PH_O0, the y column that its output 0 reads by its last tap (the
    # leftmost); and [PH_KLO, PH_KHI), the outputs whose taps all stay
    # inside y's row.
    PH_POS, PH_N, PH_O0, PH_NPR, PH_L0, PH_KLO, PH_KHI, PH_SIZE


cdef inline void _checked(real* dst, const real** rows, const real* wv,
                          Py_ssize_t nr, Py_ssize_t npr, Py_ssize_t o0,
                          Py_ssize_t dxp, Py_ssize_t k0, Py_ssize_t k1,
                          Py_ssize_t ow) noexcept nogil:
    """Outputs ``k0 <= k < k1`` of a phase, tap by tap, skipping the reads
    outside y's row (``rows[q]`` point at the rows' starts, each row's taps
    read columns ``o0 + t*dxp + k``)."""
    cdef Py_ssize_t k, q, t, j
    cdef real acc
    for k in range(k0, k1):
        acc = 0
        for q in range(nr):
            for t in range(npr):
                j = o0 + t * dxp + k
                if 0 <= j < ow:
                    acc = acc + wv[q * npr + t] * rows[q][j]
        dst[k] = acc


cdef inline void _pair_block(real* dst, const real** sa, const real* wa,
                             Py_ssize_t na, const real** sb, const real* wb,
                             Py_ssize_t nb, Py_ssize_t nr, Py_ssize_t dxp,
                             Py_ssize_t k0) noexcept nogil:
    """Outputs k0 .. k0 + BLOCK of both phases of a column stride of 2, kept
    in registers and stored interleaved: ``dst[2k]`` from phase a (``na``
    taps per row), ``dst[2k + 1]`` from phase b."""
    cdef real a[BLOCK]
    cdef real b[BLOCK]
    cdef real w
    cdef const real* s
    cdef Py_ssize_t q, t, k
    for k in range(BLOCK):
        a[k] = 0
        b[k] = 0
    for q in range(nr):
        for t in range(na):
            w = wa[q * na + t]
            s = sa[q] + k0 + t * dxp
            for k in range(BLOCK):
                a[k] += w * s[k]
        for t in range(nb):
            w = wb[q * nb + t]
            s = sb[q] + k0 + t * dxp
            for k in range(BLOCK):
                b[k] += w * s[k]
    for k in range(BLOCK):
        dst[2 * (k0 + k)] = a[k]
        dst[2 * (k0 + k) + 1] = b[k]


cdef bint _pair_row(real* dst, const Py_ssize_t* ph, Py_ssize_t nr,
                    Py_ssize_t plen, const Canvas* g,
                    const Scratch* s) noexcept nogil:
    """A canvas row at column stride 2 (as for ``_gather_row``, with the
    scratch's ``rows``, ``rm`` holding its ``nr`` kernel rows, and phase
    rows ``plen`` long), or False, with nothing written, when phases a (even
    positions) and b (odd) do not share a block of outputs that read inside
    y.  The outputs they share go straight to ``dst``, interleaved from registers: through the phase buffer, the extra pass
    over the row cost more than the taps of a small kernel.  The few
    outputs at the ends take the checked path and the phase buffer."""
    cdef const Py_ssize_t* ea = ph
    cdef const Py_ssize_t* eb = ph + PH_SIZE
    cdef const Py_ssize_t* tmp
    cdef Py_ssize_t na, nb, la, lb, kc0, kc1, q, t, k, k0
    cdef Py_ssize_t kh = g.kh, kw = g.kw, dxp = g.dxp, ow = g.ow
    cdef const real* wtab = <const real*> g.wtab
    cdef const real** rows = <const real**> s.rows
    cdef const real** src = <const real**> s.src
    cdef const Py_ssize_t* rm = s.rm
    cdef real* wa = <real*> s.wv
    cdef real* wb
    cdef real* pa = <real*> s.pbuf
    cdef real* pb = pa + plen
    cdef const real* wr
    if ea[PH_POS] != 0:
        tmp = ea
        ea = eb
        eb = tmp
    na = ea[PH_N]
    nb = eb[PH_N]
    la = ea[PH_NPR]
    lb = eb[PH_NPR]
    kc0 = ea[PH_KLO] if ea[PH_KLO] > eb[PH_KLO] else eb[PH_KLO]
    kc1 = ea[PH_KHI] if ea[PH_KHI] < eb[PH_KHI] else eb[PH_KHI]
    if kc1 - kc0 < BLOCK:
        return False
    wb = wa + nr * la
    for q in range(nr):
        wr = wtab + ((ea - ph) // PH_SIZE * kh + rm[q]) * kw
        for t in range(la):
            wa[q * la + t] = wr[t]
        wr = wtab + ((eb - ph) // PH_SIZE * kh + rm[q]) * kw
        for t in range(lb):
            wb[q * lb + t] = wr[t]
    # the ends
    _checked(pa, rows, wa, nr, la, ea[PH_O0], dxp, 0, kc0, ow)
    _checked(pa, rows, wa, nr, la, ea[PH_O0], dxp, kc1, na, ow)
    _checked(pb, rows, wb, nr, lb, eb[PH_O0], dxp, 0, kc0, ow)
    _checked(pb, rows, wb, nr, lb, eb[PH_O0], dxp, kc1, nb, ow)
    for k in range(kc0):
        dst[2 * k] = pa[k]
        dst[2 * k + 1] = pb[k]
    for k in range(kc1, nb):
        dst[2 * k] = pa[k]
        dst[2 * k + 1] = pb[k]
    if na > nb:
        dst[2 * nb] = pa[nb]
    # the shared span, in blocks, the last one overlapping the one before
    for q in range(nr):
        src[q] = rows[q] + ea[PH_O0]
        src[nr + q] = rows[q] + eb[PH_O0]
    k0 = kc0
    while k0 + BLOCK <= kc1:
        _pair_block(dst, src, wa, la, src + nr, wb, lb, nr, dxp, k0)
        k0 += BLOCK
    if k0 < kc1:
        _pair_block(dst, src, wa, la, src + nr, wb, lb, nr, dxp, kc1 - BLOCK)
    return True


cdef void _gather_row(real* dst, Py_ssize_t er, Py_ssize_t n, const real* y,
                      const Py_ssize_t* ph, const Canvas* g,
                      const Scratch* s) noexcept nogil:
    """Canvas row ``er`` over the columns of the phase table ``ph`` (``n`` of
    them: ``g.ph_plane`` or ``g.ph_border``) into ``dst[0 : n]``.

    When sx > 1 each phase is computed into its own contiguous run of the
    scratch's ``pbuf``, so the accumulators stay in registers and store as
    vectors, and the phases are interleaved at the end (at stride 2 only
    the ends of the row, see ``_pair_row``).
    """
    cdef Py_ssize_t sx = g.sx, plen = (n + sx - 1) // sx
    cdef Py_ssize_t kh = g.kh, kw = g.kw, sy = g.sy, oh = g.oh, ow = g.ow
    cdef Py_ssize_t dxp = g.dxp
    cdef Py_ssize_t nr = 0, m, qi, ri, rho, q, t, npr, nq, o0, klo, khi
    cdef const real* wtab = <const real*> g.wtab
    cdef const real** rows = <const real**> s.rows
    cdef const real** src = <const real**> s.src
    cdef Py_ssize_t* rm = s.rm
    cdef real* wv = <real*> s.wv
    cdef real* pbuf = <real*> s.pbuf
    cdef const Py_ssize_t* e
    cdef const real* wr
    cdef real* base
    # The kernel rows reaching canvas row er, and the y row each reads:
    # er - m*dy = qi*sy + ri with 0 <= ri < sy, stepped along m.
    qi = er // sy
    ri = er - qi * sy
    for m in range(kh):
        if qi < 0:
            break
        if ri == 0 and qi < oh:
            rows[nr] = y + qi * ow
            rm[nr] = m
            nr += 1
        qi -= g.dq
        ri -= g.dr
        if ri < 0:
            ri += sy
            qi -= 1
    if sx == 2 and nr > 0 and _pair_row(dst, ph, nr, plen, g, s):
        return
    for rho in range(sx):
        e = ph + rho * PH_SIZE
        nq = e[PH_N]
        if nq <= 0:
            continue
        base = dst if sx == 1 else pbuf + e[PH_POS] * plen
        npr = e[PH_NPR]
        if nr == 0 or npr == 0:
            for t in range(nq):
                base[t] = 0
            continue
        for q in range(nr):
            wr = wtab + (rho * kh + rm[q]) * kw
            for t in range(npr):
                wv[q * npr + t] = wr[t]
        o0 = e[PH_O0]
        klo = e[PH_KLO]
        khi = e[PH_KHI]
        _checked(base, rows, wv, nr, npr, o0, dxp, 0, klo, ow)
        _checked(base, rows, wv, nr, npr, o0, dxp, khi, nq, ow)
        if khi > klo:
            for q in range(nr):
                src[q] = rows[q] + o0 + klo
            taps_unit_stride(base + klo, src, wv, nr, npr, dxp, khi - klo)
    if sx > 1:
        _interleave(dst, pbuf, plen, sx, n)


cdef inline void _fold_columns(real* brow, const Canvas* g) noexcept nogil:
    """Add the columns of the canvas row ``brow`` that lie beside the plane
    (``left`` before it, ``width - left - W`` after it) onto the row's
    plane columns, where the mode read them from (``g.sidecol``, the same
    on every row).  They do not overlap the plane's columns, so the row is
    folded in place."""
    cdef Py_ssize_t left = g.left, W = g.W, e, c
    cdef real* row = brow + left
    for e in range(g.nside):
        c = g.sidecol[e]
        if c >= 0:
            row[c] += brow[e if e < left else W + e]


cdef inline void _unit_row(real* dst, Py_ssize_t r, const real* y,
                           const Canvas* g, const Scratch* s) noexcept nogil:
    """Row ``r`` of the canvas inside the plane at stride 1 (``g.unit``): a
    correlation of ``y`` (zeros outside) with the flipped kernel, shifted by
    ``(t0, l0)``.  As in ``_direct.pyx``, the interior columns read ``y``
    directly and the few edge columns read zero-extended copies in the
    scratch's ``ebuf``."""
    cdef Py_ssize_t oh = g.oh, ow = g.ow, kh = g.kh, kw = g.kw, W = g.W
    cdef Py_ssize_t dy = g.dy, dx = g.dx, t0 = g.t0, l0 = g.l0, elen = g.elen
    cdef Py_ssize_t reach = (kw - 1) * dx
    cdef Py_ssize_t mlo, mhi, nr, q, i, jlo, jhi, n, k
    cdef const real* wf = <const real*> g.wf
    cdef const real** rows = <const real**> s.rows
    cdef real* ebuf = <real*> s.ebuf
    # kernel rows reading a row of y: 0 <= r - t0 + m*dy < oh
    mlo = 0 if r >= t0 else (t0 - r + dy - 1) // dy
    mhi = (oh - 1 - r + t0) // dy + 1 if oh - 1 - r + t0 >= 0 else 0
    if mhi > kh:
        mhi = kh
    if mhi <= mlo:
        for k in range(W):
            dst[k] = 0
        return
    nr = mhi - mlo
    # outputs [jlo, jhi) read y inside its rows
    jlo = l0 if l0 < W else W
    jhi = ow + l0 - reach
    if jhi > W:
        jhi = W
    if jhi < jlo:
        jhi = jlo
    if jhi > jlo:
        for q in range(nr):
            i = r - t0 + (mlo + q) * dy
            rows[q] = y + i * ow + (jlo - l0)
        taps_unit_stride(dst + jlo, rows, wf + mlo * kw, nr, kw, dx, jhi - jlo)
    # Edges: [0, jlo) and [jhi, W) from extended copies of the rows.
    if jlo > 0:
        n = jlo + reach
        for q in range(nr):
            i = r - t0 + (mlo + q) * dy
            extend_row(y + i * ow, ow, ebuf + q * elen, -l0, n, CONSTANT, 0)
            rows[q] = ebuf + q * elen
        taps_unit_stride(dst, rows, wf + mlo * kw, nr, kw, dx, jlo)
    if jhi < W:
        n = W - jhi + reach
        for q in range(nr):
            i = r - t0 + (mlo + q) * dy
            extend_row(y + i * ow, ow, ebuf + q * elen, jhi - l0, n,
                       CONSTANT, 0)
            rows[q] = ebuf + q * elen
        taps_unit_stride(dst + jhi, rows, wf + mlo * kw, nr, kw, dx, W - jhi)


cdef inline void _add_outside(real* row, Py_ssize_t r, const real* y,
                              const real* border, const Canvas* g,
                              const Scratch* s) noexcept nogil:
    """Add onto plane row ``r`` what the mode folds onto it: its own canvas
    columns beside the plane (``g.nside`` of them, a few taps each), and
    the rows of ``border`` (the plane's border rows, ``g.width`` long)
    whose ``g.target`` is ``r``."""
    cdef Py_ssize_t er = r + g.top, nside = g.nside, W = g.W
    cdef Py_ssize_t kh = g.kh, kw = g.kw, sy = g.sy, dy = g.dy
    cdef Py_ssize_t oh = g.oh, ow = g.ow
    cdef Py_ssize_t nrow = 0, m, num, e, q, t, b, j, c
    cdef const real* w = <const real*> g.w
    cdef const Py_ssize_t* sidecol = g.sidecol
    cdef const Py_ssize_t* cstart = g.cstart
    cdef const Py_ssize_t* ctap = g.ctap
    cdef const Py_ssize_t* ccol = g.ccol
    cdef Py_ssize_t* rm = s.rm
    cdef Py_ssize_t* ri = s.ri
    cdef real acc
    cdef const real* brow
    if nside > 0:
        # the kernel rows reaching canvas row er, and the y row each reads
        for m in range(kh):
            num = er - m * dy
            if num >= 0 and num % sy == 0 and num // sy < oh:
                rm[nrow] = m * kw
                ri[nrow] = (num // sy) * ow
                nrow += 1
        for e in range(nside):
            c = sidecol[e]
            if c < 0:
                continue
            acc = 0
            for q in range(nrow):
                for t in range(cstart[e], cstart[e + 1]):
                    acc = acc + w[rm[q] + ctap[t]] * y[ri[q] + ccol[t]]
            row[c] += acc
    for b in range(g.nborder):
        if g.target[b] == r:
            brow = border + b * g.width + g.left
            for j in range(W):
                row[j] += brow[j]


cdef object _tables(Canvas* g, const real[:, ::1] kernel):
    """Fill in the rest of ``g`` from its geometry (sizes, strides,
    dilations, padding, mode) and phase tables: the canvas width, the
    border rows and side columns, and the weights.  Returns the arrays it
    points into: keep them while ``g`` is in use."""
    cdef Py_ssize_t H = g.H, W = g.W, oh = g.oh, ow = g.ow
    cdef Py_ssize_t kh = g.kh, kw = g.kw, sy = g.sy, sx = g.sx
    cdef Py_ssize_t dy = g.dy, dx = g.dx, top = g.top, left = g.left
    cdef BoundaryMode mode = g.mode
    cdef bint fold = mode != CONSTANT
    # Canvas rows reached by y: [0, lh).
    cdef Py_ssize_t lh = (oh - 1) * sy + (kh - 1) * dy + 1
    cdef Py_ssize_t planew = 0, width = 0, nright = 0, ntop = 0, nbottom = 0
    cdef Py_ssize_t rho, m, t, e, l, b, col, num, npr, lfirst, nside, nborder
    cdef const real* wp = &kernel[0, 0]
    cdef real[::1] wtab
    cdef const real[:, ::1] wf
    cdef Py_ssize_t[::1] brows, target, cstart, ctap, ccol, sidecol
    # The canvas row's width is the caller's (the columns of ph_border); a
    # table that does not hold the plane's columns would send the gather
    # past its buffers.
    for rho in range(sx):
        planew += g.ph_plane[rho * PH_SIZE + PH_N]
        width += g.ph_border[rho * PH_SIZE + PH_N]
    if planew != W or width < left + W:
        raise ValueError("phase tables do not cover the canvas columns")
    g.width = width
    if fold and oh > 0 and ow > 0:
        nright = width - left - W
        ntop = top if top < lh else lh
        nbottom = lh - top - H if lh > top + H else 0
    nside = left + nright if fold else 0
    nborder = ntop + nbottom
    dtype = np.asarray(kernel).dtype
    g.dq = dy // sy
    g.dr = dy - g.dq * sy
    g.sxp = sx // gcd(sx, dx)
    g.dxp = dx // gcd(sx, dx)
    g.t0 = (kh - 1) * dy - top
    g.l0 = (kw - 1) * dx - left
    g.unit = sy == 1 and sx == 1 and g.t0 >= 0 and g.l0 >= 0
    g.elen = W + (kw - 1) * dx + 1
    g.w = wp
    g.wf = NULL
    wf = None
    if g.unit:
        wf = np.ascontiguousarray(np.asarray(kernel)[::-1, ::-1])
        g.wf = &wf[0, 0]
    # Per column phase its reversed weights: the same on every row, so
    # worked out once here (the kernel columns of a phase do not depend on
    # the column range).
    wtab = np.empty(sx * kh * kw, dtype=dtype)
    for rho in range(sx):
        npr = g.ph_plane[rho * PH_SIZE + PH_NPR]
        lfirst = g.ph_plane[rho * PH_SIZE + PH_L0]
        for m in range(kh):
            for t in range(npr):
                wtab[(rho * kh + m) * kw + t] = \
                    wp[m * kw + lfirst + (npr - 1 - t) * g.sxp]
    g.wtab = &wtab[0]
    # The border rows and the plane row each folds onto (-1: none).
    brows = np.empty(nborder + 1, dtype=np.intp)
    target = np.empty(nborder + 1, dtype=np.intp)
    for b in range(ntop):
        brows[b] = b
    for b in range(nbottom):
        brows[ntop + b] = top + H + b
    for b in range(nborder):
        target[b] = map_index(brows[b] - top, H, mode)
    g.nborder, g.brows, g.target = nborder, &brows[0], &target[0]
    # The canvas columns beside the plane: for each, the kernel columns that
    # reach it and the y column each reads are the same on every row, so
    # they are listed once, and each entry is then a sum of a few taps.
    cstart = np.zeros(nside + 1, dtype=np.intp)
    ctap = np.empty(nside * kw + 1, dtype=np.intp)
    ccol = np.empty(nside * kw + 1, dtype=np.intp)
    sidecol = np.empty(nside + 1, dtype=np.intp)
    t = 0
    for e in range(nside):
        col = e if e < left else W + e    # canvas column
        sidecol[e] = map_index(col - left, W, mode)
        for l in range(kw):
            num = col - l * dx
            if num >= 0 and num % sx == 0 and num // sx < ow:
                ctap[t] = l
                ccol[t] = num // sx
                t += 1
        cstart[e + 1] = t
    g.nside, g.sidecol, g.cstart = nside, &sidecol[0], &cstart[0]
    g.ctap, g.ccol = &ctap[0], &ccol[0]
    return wf, wtab, brows, target, cstart, ctap, ccol, sidecol


cdef struct TransposeCall:
    const Canvas* g
    Scratch* scr
    const void* ys          # (N, oh, ow)
    void* out               # (N, H, W)
    void* border            # (N, nborder + 1, width)
    Py_ssize_t nrows, total


cdef void _border_rows(const TransposeCall* t, Py_ssize_t item, int c,
                       real* dummy) noexcept nogil:
    """Canvas rows outside the planes, whole, with their columns folded."""
    cdef const Canvas* g = t.g
    cdef Py_ssize_t r, p, b
    cdef real* brow
    for r in range(item * t.nrows, min((item + 1) * t.nrows, t.total)):
        p = r // g.nborder
        b = r - p * g.nborder
        brow = <real*> t.border + (p * (g.nborder + 1) + b) * g.width
        _gather_row(brow, g.brows[b], g.width,
                    <const real*> t.ys + p * g.oh * g.ow, g.ph_border, g,
                    &t.scr[c])
        _fold_columns(brow, g)


cdef void _plane_rows(const TransposeCall* t, Py_ssize_t item, int c,
                      real* dummy) noexcept nogil:
    """Plane rows, each followed at once (while it is in cache) by what
    folds onto it."""
    cdef const Canvas* g = t.g
    cdef Py_ssize_t r, p, i
    cdef const real* yp
    cdef real* orow
    for r in range(item * t.nrows, min((item + 1) * t.nrows, t.total)):
        p = r // g.H
        i = r - p * g.H
        yp = <const real*> t.ys + p * g.oh * g.ow
        orow = <real*> t.out + r * g.W
        if g.unit:
            _unit_row(orow, i, yp, g, &t.scr[c])
        else:
            _gather_row(orow, i + g.top, g.W, yp, g.ph_plane, g, &t.scr[c])
        if g.nside > 0 or g.nborder > 0:
            _add_outside(orow, i, yp,
                         <const real*> t.border + p * (g.nborder + 1) * g.width,
                         g, &t.scr[c])


cdef void _border_f(void* t, Py_ssize_t item, int c) noexcept nogil:
    _border_rows(<const TransposeCall*> t, item, c, <float*> NULL)


cdef void _border_d(void* t, Py_ssize_t item, int c) noexcept nogil:
    _border_rows(<const TransposeCall*> t, item, c, <double*> NULL)


cdef void _plane_f(void* t, Py_ssize_t item, int c) noexcept nogil:
    _plane_rows(<const TransposeCall*> t, item, c, <float*> NULL)


cdef void _plane_d(void* t, Py_ssize_t item, int c) noexcept nogil:
    _plane_rows(<const TransposeCall*> t, item, c, <double*> NULL)


def conv_transpose_planes(const real[:, :, ::1] ys, const real[:, ::1] kernel,
                          real[:, :, ::1] out,
                          Py_ssize_t top, Py_ssize_t left,
                          Py_ssize_t sy, Py_ssize_t sx,
                          Py_ssize_t dy, Py_ssize_t dx,
                          BoundaryMode mode, int nthreads,
                          const Py_ssize_t[:, ::1] ph_plane,
                          const Py_ssize_t[:, ::1] ph_border):
    """Write into each plane of ``out`` the adjoint of correlating its shape,
    applied to the plane of ``ys`` (all arguments validated: a plane of
    ``ys`` has the forward output's shape, or fewer rows and columns, and
    ``top``, ``left`` >= 0).  ``ph_plane`` and ``ph_border`` are the column
    phase tables (``_phases.phase_table``) of the plane's canvas columns
    ``[left, left + W)`` and of the whole canvas row ``[0, width)``, which
    holds the plane's columns and those y reaches: the caller works out the
    width, and its table is the one place this module reads it from.  The
    threads share out the rows of all the planes together, as the forward
    engines do."""
    cdef Py_ssize_t N = out.shape[0], H = out.shape[1], W = out.shape[2]
    cdef Py_ssize_t total = N * H, nbtotal, c, b
    cdef Py_ssize_t isz = sizeof(real)
    cdef Canvas g
    cdef Scratch* scr
    cdef Block blk[6]
    cdef Py_ssize_t nbytes[6]
    cdef Py_ssize_t nbrows[6]
    cdef real[:, :, ::1] border

    if N == 0 or H == 0 or W == 0:
        return
    if nthreads < 1:
        nthreads = 1
    # A table of another shape would send the gather past its end.
    if (ph_plane.shape[0] != sx or ph_plane.shape[1] != PH_SIZE
            or ph_border.shape[0] != sx or ph_border.shape[1] != PH_SIZE):
        raise ValueError(f"phase tables must be ({sx}, {PH_SIZE})")
    g.H, g.W, g.oh, g.ow = H, W, ys.shape[1], ys.shape[2]
    g.kh, g.kw = kernel.shape[0], kernel.shape[1]
    g.sy, g.sx, g.dy, g.dx = sy, sx, dy, dx
    g.top, g.left, g.mode = top, left, mode
    g.ph_plane, g.ph_border = &ph_plane[0, 0], &ph_border[0, 0]
    tables = _tables(&g, kernel)
    # Scratch (one row per thread, for both loops below) is allocated here,
    # so running out of memory is a MemoryError rather than a crash inside
    # the parallel loop.
    nbytes[0] = 3 * g.kh * sizeof(void*)
    nbytes[1] = 2 * g.kh * sizeof(Py_ssize_t)
    nbytes[2] = g.kh * g.kw * isz
    nbytes[3] = ((g.width + sx) if sx > 1 else 1) * isz
    nbytes[4] = (g.kh * g.elen if g.unit else 1) * isz
    nbytes[5] = nthreads * sizeof(Scratch)
    for b in range(6):
        nbrows[b] = nthreads if b < 5 else 1
    keep = arena(nbytes, nbrows, 6, blk)
    scr = <Scratch*> blk[5].base
    for c in range(nthreads):
        scr[c].rows = <void**> (blk[0].base + c * blk[0].stride)
        scr[c].src = scr[c].rows + g.kh
        scr[c].rm = <Py_ssize_t*> (blk[1].base + c * blk[1].stride)
        scr[c].ri = scr[c].rm + g.kh
        scr[c].wv = blk[2].base + c * blk[2].stride
        scr[c].pbuf = blk[3].base + c * blk[3].stride
        scr[c].ebuf = blk[4].base + c * blk[4].stride
    border = np.empty((N, g.nborder + 1, g.width), dtype=np.asarray(out).dtype)

    cdef TransposeCall tc
    # (y may have no rows or columns: the rows then read none of it)
    tc.g, tc.scr, tc.out = &g, scr, &out[0, 0, 0]
    tc.ys = &ys[0, 0, 0] if ys.shape[1] > 0 and ys.shape[2] > 0 else NULL
    tc.border = &border[0, 0, 0]
    # Canvas rows outside the planes first, whole rows with their columns
    # folded; in parallel only when there are many of them, since handing
    # out work costs more than a few short rows.
    nbtotal = N * g.nborder
    if nbtotal > 0:
        tc.total = nbtotal
        tc.nrows = rows_per_item(g.width * g.kh * g.kw)
        with nogil:
            if real is float:
                run_items(_border_f, &tc, (nbtotal + tc.nrows - 1) // tc.nrows,
                          1 if nbtotal * g.width < MIN_PARALLEL_BORDER
                          else nthreads)
            else:
                run_items(_border_d, &tc, (nbtotal + tc.nrows - 1) // tc.nrows,
                          1 if nbtotal * g.width < MIN_PARALLEL_BORDER
                          else nthreads)

    # Then the plane rows, each followed at once (while it is in cache) by
    # what folds onto it, so every output row is written by one thread.
    tc.total = total
    tc.nrows = rows_per_item(W * g.kh * g.kw)
    with nogil:
        if real is float:
            run_items(_plane_f, &tc, (total + tc.nrows - 1) // tc.nrows,
                      nthreads)
        else:
            run_items(_plane_d, &tc, (total + tc.nrows - 1) // tc.nrows,
                      nthreads)
