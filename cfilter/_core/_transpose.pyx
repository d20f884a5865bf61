"""Transposed correlation of one plane: the adjoint of ``correlate_plane``.

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
   then interleaved with the others (``_gather_row``).  In both, a block of
   outputs accumulates in registers from contiguous loads (``_taps.pxd``),
   and only the few outputs whose taps leave ``y`` take a checked path.
2. The *fold*: a canvas entry outside the plane is added to the pixel the
   mode read it from (``map_index``); under 'constant' it is dropped, so that
   mode computes only the plane's own rows and columns.

Canvas rows outside the plane are gathered first into a buffer (their
columns folded).  Then each plane row is computed and, while it is in cache,
receives its own canvas columns beside the plane (a few taps each, listed
once for all rows) and the buffered rows that fold onto it.  Every output
row is written by one thread, in one parallel region, so the result does not
depend on the number of threads.
"""
import numpy as np
from cython.parallel cimport prange

from ._types cimport real
from ._boundary cimport BoundaryMode, CONSTANT, map_index, _pmod, extend_row
from ._taps cimport BLOCK, taps_unit_stride
from ._scratch cimport per_thread




cdef inline void _block_at(real* dst, const real** src, const real* wv,
                           Py_ssize_t ntaps, Py_ssize_t k0) noexcept nogil:
    """BLOCK outputs from k0 on, held in registers while every tap adds in."""
    cdef real acc[BLOCK]
    cdef real w
    cdef const real* s
    cdef Py_ssize_t t, k
    for k in range(BLOCK):
        acc[k] = 0
    for t in range(ntaps):
        w = wv[t]
        s = src[t] + k0
        for k in range(BLOCK):
            acc[k] += w * s[k]
    for k in range(BLOCK):
        dst[k0 + k] = acc[k]


cdef inline void _taps_block(real* dst, const real** src, const real* wv,
                             Py_ssize_t ntaps, Py_ssize_t n) noexcept nogil:
    """dst[k] = sum_t wv[t] * src[t][k] for k < n (every read in range)."""
    cdef real acc[BLOCK]
    cdef real w
    cdef const real* s
    cdef Py_ssize_t k0 = 0, t, k
    while k0 + BLOCK <= n:
        _block_at(dst, src, wv, ntaps, k0)
        k0 += BLOCK
    if k0 < n and n >= BLOCK:
        # One full block overlapping the last: vector code for the tail too
        # (the outputs computed twice get the same values).
        _block_at(dst, src, wv, ntaps, n - BLOCK)
    elif k0 < n:
        for k in range(n):
            acc[k] = 0
        for t in range(ntaps):
            w = wv[t]
            s = src[t]
            for k in range(n):
                acc[k] += w * s[k]
        for k in range(n):
            dst[k] = acc[k]


cdef inline void _taps_checked(real* dst, const real** rowp,
                               const Py_ssize_t* off, const real* wv,
                               Py_ssize_t ntaps, Py_ssize_t k0, Py_ssize_t k1,
                               Py_ssize_t ow) noexcept nogil:
    """As _taps_block for outputs k0 <= k < k1, skipping reads outside y."""
    cdef Py_ssize_t k, t, j
    cdef real acc
    for k in range(k0, k1):
        acc = 0
        for t in range(ntaps):
            j = off[t] + k
            if 0 <= j < ow:
                acc = acc + wv[t] * rowp[t][j]
        dst[k] = acc


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


cdef void _gather_row(real* dst, Py_ssize_t er, Py_ssize_t ec0, Py_ssize_t ec1,
                      const real* y, Py_ssize_t oh, Py_ssize_t ow,
                      const real* w, Py_ssize_t kh, Py_ssize_t kw,
                      Py_ssize_t sy, Py_ssize_t sx, Py_ssize_t dy, Py_ssize_t dx,
                      const real** rowp, const real** src, Py_ssize_t* off,
                      real* wv, real* pbuf) noexcept nogil:
    """Canvas row ``er``, columns ``[ec0, ec1)``, into ``dst[0 : ec1 - ec0]``.

    ``rowp``, ``src``, ``off``, ``wv`` are scratch of ``kh*kw`` entries;
    ``pbuf`` of ``ec1 - ec0 + sx`` entries when ``sx > 1``: each phase is
    computed into its own contiguous run there, so the accumulators stay in
    registers and store as vectors, and the phases are interleaved at the end.
    """
    cdef Py_ssize_t rho, first, nq, q0, ntaps, m, num, i
    cdef Py_ssize_t omin, omax, klo, khi, t, k, g, sxp, dxp, l0, npr
    cdef Py_ssize_t plen = (ec1 - ec0 + sx - 1) // sx
    cdef real w0
    cdef real* base
    # With g = gcd(sx, dx), a phase's kernel columns are sxp = sx / g apart
    # and read y columns dxp = dx / g apart.
    g = dx
    t = sx
    while t != 0:
        g, t = t, g % t
    sxp = sx // g
    dxp = dx // g
    for rho in range(sx):
        # Canvas columns of this phase: first, first + sx, ... < ec1.
        if sx == 1:
            first = ec0
            nq = ec1 - ec0
            q0 = ec0
        else:
            first = ec0 + _pmod(rho - ec0, sx)
            nq = (ec1 - first + sx - 1) // sx
            q0 = (first - rho) // sx
        if nq <= 0:
            continue
        base = dst if sx == 1 else pbuf + (first - ec0) * plen
        # The kernel columns of this phase, l0, l0 + sxp, ... (those with
        # rho - l*dx divisible by sx): npr of them, the same on every row.
        l0 = 0
        while l0 < kw and l0 < sxp and _pmod(rho - l0 * dx, sx) != 0:
            l0 += 1
        npr = (kw - 1 - l0) // sxp + 1 if l0 < kw and l0 < sxp else 0
        ntaps = 0
        # y columns read by output k of the phase: o + k, falling with l
        omax = q0 + (rho - l0 * dx) // sx
        omin = omax - (npr - 1) * dxp
        for m in range(kh):
            if npr == 0:
                break
            num = er - m * dy
            if num < 0:
                break
            if sy == 1:
                i = num
            elif num % sy != 0:
                continue
            else:
                i = num // sy
            if i >= oh:
                continue
            for t in range(npr):
                rowp[ntaps] = y + i * ow
                off[ntaps] = omax - t * dxp
                wv[ntaps] = w[m * kw + l0 + t * sxp]
                ntaps += 1
        if ntaps == 0:
            for k in range(nq):
                base[k] = 0
            continue
        # Outputs [klo, khi) read y only inside its row.
        klo = -omin if omin < 0 else 0
        if klo > nq:
            klo = nq
        khi = ow - omax
        if khi > nq:
            khi = nq
        if khi < klo:
            khi = klo
        _taps_checked(base, rowp, off, wv, ntaps, 0, klo, ow)
        _taps_checked(base, rowp, off, wv, ntaps, khi, nq, ow)
        if khi <= klo:
            continue
        # Within a kernel row the phase's taps read y at offsets falling by
        # dxp: with each row's taps reversed this is a correlation, the
        # shared contiguous loop of _taps.pxd.
        for t in range(ntaps // npr):
            src[t] = rowp[t * npr] + omin + klo
            for k in range(npr // 2):
                w0 = wv[t * npr + k]
                wv[t * npr + k] = wv[t * npr + npr - 1 - k]
                wv[t * npr + npr - 1 - k] = w0
        taps_unit_stride(base + klo, src, wv, ntaps // npr, npr, dxp,
                         khi - klo)
    if sx > 1:
        _interleave(dst, pbuf, plen, sx, ec1 - ec0)


cdef inline void _fold_columns(real* row, const real* lside, Py_ssize_t left,
                               const real* rside, Py_ssize_t nright,
                               Py_ssize_t W, BoundaryMode mode) noexcept nogil:
    """Add the out-of-plane canvas columns (``left`` of them before the plane,
    ``nright`` after it) onto the plane row ``row`` where the mode read them
    from."""
    cdef Py_ssize_t e, c
    for e in range(left):
        c = map_index(e - left, W, mode)
        if c >= 0:
            row[c] += lside[e]
    for e in range(nright):
        c = map_index(W + e, W, mode)
        if c >= 0:
            row[c] += rside[e]


cdef inline void _unit_row(real* dst, Py_ssize_t r, const real* y,
                           Py_ssize_t oh, Py_ssize_t ow, const real* wf,
                           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t t0,
                           Py_ssize_t l0, Py_ssize_t dy, Py_ssize_t dx,
                           Py_ssize_t W, const real** rows, real* ebuf,
                           Py_ssize_t elen) noexcept nogil:
    """Row ``r`` of the canvas inside the plane at stride 1: a correlation of
    ``y`` (zeros outside) with the flipped kernel ``wf``, shifted by
    ``(t0, l0)``.  As in ``_direct.pyx``, the interior columns read ``y``
    directly and the few edge columns read zero-extended copies in ``ebuf``
    (``kh * elen`` entries)."""
    cdef Py_ssize_t reach = (kw - 1) * dx
    cdef Py_ssize_t mlo, mhi, nr, q, i, jlo, jhi, n, k
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


cdef inline void _add_outside(real* row, Py_ssize_t r, Py_ssize_t er,
                              const real* y, Py_ssize_t oh, Py_ssize_t ow,
                              const real* w, Py_ssize_t kh, Py_ssize_t kw,
                              Py_ssize_t sy, Py_ssize_t dy, Py_ssize_t W,
                              Py_ssize_t nside, const Py_ssize_t* sidecol,
                              const Py_ssize_t* cstart, const Py_ssize_t* ctap,
                              const Py_ssize_t* ccol, Py_ssize_t nborder,
                              const Py_ssize_t* target, const real* border,
                              Py_ssize_t wc, Py_ssize_t left,
                              Py_ssize_t* rm, Py_ssize_t* ri) noexcept nogil:
    """Add onto plane row ``r`` (canvas row ``er``) what the mode folds onto
    it: its own canvas columns beside the plane (``nside`` of them, the taps
    of each listed once for all rows in ``cstart``/``ctap``/``ccol``), and the
    border rows whose ``target`` is ``r``."""
    cdef Py_ssize_t nrow = 0, m, num, e, q, t, b, j
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
            if sidecol[e] < 0:
                continue
            acc = 0
            for q in range(nrow):
                for t in range(cstart[e], cstart[e + 1]):
                    acc = acc + w[rm[q] + ctap[t]] * y[ri[q] + ccol[t]]
            row[sidecol[e]] += acc
    for b in range(nborder):
        if target[b] == r:
            brow = border + b * wc + left
            for j in range(W):
                row[j] += brow[j]


def conv_transpose_plane(const real[:, ::1] y, const real[:, ::1] kernel,
                         real[:, ::1] out,
                         Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t sy, Py_ssize_t sx,
                         Py_ssize_t dy, Py_ssize_t dx,
                         BoundaryMode mode, int nthreads):
    """Write the adjoint of correlating ``out``'s shape into ``out`` (all
    arguments validated: ``y`` has the forward output's shape, or fewer rows
    and columns, and ``top``, ``left`` >= 0)."""
    cdef Py_ssize_t H = out.shape[0], W = out.shape[1]
    cdef Py_ssize_t oh = y.shape[0], ow = y.shape[1]
    cdef Py_ssize_t kh = kernel.shape[0], kw = kernel.shape[1]
    cdef Py_ssize_t ntap = kh * kw
    # Canvas extent reached by y: rows [0, lh), columns [0, lw).
    cdef Py_ssize_t lh = (oh - 1) * sy + (kh - 1) * dy + 1
    cdef Py_ssize_t lw = (ow - 1) * sx + (kw - 1) * dx + 1
    cdef bint fold = mode != CONSTANT
    # Stride 1 with the padding inside the kernel's reach: the canvas inside
    # the plane is a correlation with the flipped kernel, shifted by (t0, l0)
    # >= 0, which runs as fast as the forward call; otherwise the gather.
    cdef Py_ssize_t t0 = (kh - 1) * dy - top, l0 = (kw - 1) * dx - left
    cdef bint unit = sy == 1 and sx == 1 and t0 >= 0 and l0 >= 0
    cdef Py_ssize_t elen = W + (kw - 1) * dx + 1
    cdef Py_ssize_t wc, nright, ntop, nbottom, nborder, nside
    cdef Py_ssize_t nchunks, c, r, b, e, l, num, col, t
    cdef const real* yp = &y[0, 0]
    cdef const real* wp = &kernel[0, 0]
    cdef const real* wfp
    cdef const real** rowp
    cdef real* brow
    cdef size_t[:, ::1] ptrs
    cdef Py_ssize_t[:, ::1] offs, rowtaps
    cdef real[:, ::1] wvs, border, ebuf, pbufs
    cdef const real[:, ::1] wf
    cdef Py_ssize_t[::1] brows, target, cstart, ctap, ccol, sidecol

    if H == 0 or W == 0:
        return
    if nthreads < 1:
        nthreads = 1
    if fold and oh > 0 and ow > 0:
        wc = lw if lw > left + W else left + W
        nright = wc - left - W
        ntop = top if top < lh else lh
        nbottom = lh - top - H if lh > top + H else 0
    else:
        wc = left + W
        nright = 0
        ntop = 0
        nbottom = 0
    nside = left + nright if fold else 0
    nborder = ntop + nbottom
    # Scratch (one row per thread, for both loops below) is allocated here,
    # so running out of memory is a MemoryError rather than a crash inside
    # the parallel loop.
    dtype = np.asarray(out).dtype
    ptrs = per_thread(nthreads, 2 * ntap, np.uintp)
    offs = per_thread(nthreads, ntap, np.intp)
    wvs = per_thread(nthreads, ntap, dtype)
    rowtaps = per_thread(nthreads, 2 * kh, np.intp)
    ebuf = per_thread(nthreads, kh * elen if unit else 1, dtype)
    pbufs = per_thread(nthreads, wc + sx if sx > 1 else 1, dtype)
    wf = np.ascontiguousarray(np.asarray(kernel)[::-1, ::-1])
    wfp = &wf[0, 0]
    border = np.empty((nborder + 1, wc), dtype=dtype)
    brows = np.empty(nborder + 1, dtype=np.intp)
    target = np.empty(nborder + 1, dtype=np.intp)
    for b in range(ntop):
        brows[b] = b
    for b in range(nbottom):
        brows[ntop + b] = top + H + b
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

    # Canvas rows outside the plane first, whole rows with their columns
    # folded; in parallel only when there are many of them, since a parallel
    # region costs more than a few short rows.
    if nborder > 0:
        nchunks = nthreads if nthreads < nborder else nborder
        if nborder * wc < 65536:
            nchunks = 1
        for c in prange(nchunks, nogil=True, schedule="static",
                        num_threads=nchunks):
            rowp = <const real**> &ptrs[c, 0]
            for b in range(c * nborder // nchunks, (c + 1) * nborder // nchunks):
                brow = &border[b, 0]
                _gather_row(brow, brows[b], 0, wc, yp, oh, ow, wp, kh, kw,
                            sy, sx, dy, dx, rowp, rowp + ntap, &offs[c, 0],
                            &wvs[c, 0], &pbufs[c, 0])
                # The side entries do not overlap the plane's columns, so the
                # row can be folded in place.
                _fold_columns(brow + left, brow, left, brow + left + W, nright,
                              W, mode)
                # the plane row it folds onto (-1: none)
                target[b] = map_index(brows[b] - top, H, mode)

    # Then the plane rows, each followed at once (while it is in cache) by
    # what folds onto it, so every output row is written by one thread.
    nchunks = nthreads if nthreads < H else H
    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nchunks):
        rowp = <const real**> &ptrs[c, 0]
        for r in range(c * H // nchunks, (c + 1) * H // nchunks):
            if unit:
                _unit_row(&out[r, 0], r, yp, oh, ow, wfp, kh, kw, t0, l0,
                          dy, dx, W, rowp, &ebuf[c, 0], elen)
            else:
                _gather_row(&out[r, 0], r + top, left, left + W, yp, oh, ow,
                            wp, kh, kw, sy, sx, dy, dx, rowp, rowp + ntap,
                            &offs[c, 0], &wvs[c, 0], &pbufs[c, 0])
            if nside > 0 or nborder > 0:
                _add_outside(&out[r, 0], r, r + top, yp, oh, ow, wp, kh, kw,
                             sy, dy, W, nside, &sidecol[0], &cstart[0],
                             &ctap[0], &ccol[0], nborder, &target[0],
                             &border[0, 0], wc, left, &rowtaps[c, 0],
                             &rowtaps[c, kh])
