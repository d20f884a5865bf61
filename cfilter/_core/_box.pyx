"""Box (moving-sum) correlation of a stack of planes in O(1) work per pixel.

out[i, j] = scale * sum_{m < kh, l < kw} x~[i*sy + m - top, j*sx + l - left]

Column sums of the current window of rows are kept in a float64 row and
moved by adding the rows that enter and subtracting those that leave; each
output row then takes a running sum along that row.  Both sums run in
float64 and start afresh every RESTART steps along a row and at the start of
every band of BAND output rows, so rounding error does not grow with the
image's size.  The bands are the work items of the pool: each starts afresh,
so its rows are the same whichever thread computes them.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport fabs

from ._types cimport real
from ._boundary cimport BoundaryMode, CONSTANT, fill_margins, map_index
from ._scratch cimport per_thread
from ._pool cimport run_items, rows_per_item
from ._samples cimport Sample, U8, F64, Planes, planes_of, row_address, store_row

cnp.import_array()


cdef enum:
    RESTART = 256
    # Output rows per band: the column sums start afresh at each band's
    # first row (kh row additions instead of two), and the pool's threads
    # claim bands one at a time.
    BAND = 256


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


cdef enum:
    # Box widths up to this take their row sums tap by tap (vector adds, no
    # running state); wider ones a running sum.
    DIRECT_FLOAT_WIDTH = 5


cdef inline void _row_taps(real* out, const double* e, Py_ssize_t kw,
                           Py_ssize_t ow, double scale) noexcept nogil:
    """out[j] = scale * sum(e[j : j + kw]) for a narrow box at stride 1:
    one vector loop, the same operations whatever the row's neighbours."""
    cdef Py_ssize_t j
    cdef const double* e1 = e + 1
    cdef const double* e2 = e + 2
    cdef const double* e3 = e + 3
    cdef const double* e4 = e + 4
    if kw == 1:
        for j in range(ow):
            out[j] = <real>(e[j] * scale)
    elif kw == 2:
        for j in range(ow):
            out[j] = <real>((e[j] + e1[j]) * scale)
    elif kw == 3:
        for j in range(ow):
            out[j] = <real>((e[j] + e1[j] + e2[j]) * scale)
    elif kw == 4:
        for j in range(ow):
            out[j] = <real>((e[j] + e1[j] + e2[j] + e3[j]) * scale)
    else:
        for j in range(ow):
            out[j] = <real>((e[j] + e1[j] + e2[j] + e3[j] + e4[j]) * scale)


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


cdef struct BoxCall:
    const void* images      # (N, H, W) planes of real
    void* out               # (N, oh, ow) planes of real
    Py_ssize_t H, W, oh, ow, kh, kw, top, left, sy, sx, wext, blen, nbands
    BoundaryMode mode
    double cval, scale, outside_col
    double* bufs            # per thread: 4 * blen doubles, ``stride`` apart
    Py_ssize_t stride


cdef void _box_band(const BoxCall* g, Py_ssize_t item, int c,
                    real* dummy) noexcept nogil:
    """Band ``item`` (BAND output rows of one plane) with thread slot c's
    buffers."""
    cdef Py_ssize_t H = g.H, W = g.W, oh = g.oh, ow = g.ow, kh = g.kh
    cdef Py_ssize_t kw = g.kw, top = g.top, left = g.left, sy = g.sy
    cdef Py_ssize_t sx = g.sx, wext = g.wext, blen = g.blen
    cdef Py_ssize_t p = item // g.nbands
    cdef Py_ssize_t i = (item - p * g.nbands) * BAND
    cdef Py_ssize_t i1 = min(i + BAND, oh)
    cdef Py_ssize_t q, n, r0, slot = 0
    cdef BoundaryMode mode = g.mode
    cdef double* buf = g.bufs + c * g.stride
    cdef double* prev = NULL
    cdef double* cur
    cdef double* ext[4]
    cdef real* orows[4]
    cdef const real* src = <const real*> g.images + p * H * W
    cdef real* dst = <real*> g.out + p * oh * ow
    while i < i1:
        # Column sums for up to four output rows, then their row sums.
        n = i1 - i
        if n > 4 or sx != 1:
            n = 4 if sx == 1 else 1
        if sx == 1 and kw <= DIRECT_FLOAT_WIDTH:
            # no running sum to interleave: each row is summed
            # across while its column sums are in L1
            n = 1
        for q in range(n):
            cur = buf + slot * blen + left
            r0 = (i + q) * sy - top
            # Restarts fall on the same rows whatever the thread count:
            # the band's first row, and every row when the windows of
            # consecutive rows do not overlap.
            if prev == NULL or sy >= kh:
                _window_sum(cur, src, H, W, r0, kh, mode, g.cval)
            else:
                _advance(cur, prev, src, H, W, r0 - sy, r0 - sy + kh,
                         sy, mode, g.cval)
            fill_margins(cur - left, W, left, wext, mode, g.outside_col)
            ext[q] = cur - left
            orows[q] = dst + (i + q) * ow
            prev = cur
            slot = (slot + 1) % 4
        if sx == 1 and kw <= DIRECT_FLOAT_WIDTH:
            _row_taps(orows[0], ext[0], kw, ow, g.scale)
        elif n == 4:
            _row_box4(orows, ext, kw, ow, g.scale)
        else:
            for q in range(n):
                _row_box(orows[q], ext[q], kw, sx, ow, g.scale)
        i = i + n


cdef void _box_item_f(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    _box_band(<const BoxCall*> ctx, item, slot, <float*> NULL)


cdef void _box_item_d(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    _box_band(<const BoxCall*> ctx, item, slot, <double*> NULL)


def box_correlate_planes(const real[:, :, ::1] images, real[:, :, ::1] out,
                         Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t sy, Py_ssize_t sx,
                         BoundaryMode mode, double cval, double scale,
                         int nthreads):
    """``scale`` times the kh x kw window sums of each of the planes
    ``images`` into the planes ``out``.  The work items are bands of BAND
    output rows of all the planes together."""
    cdef BoxCall g
    cdef Py_ssize_t N = images.shape[0], nitems
    cdef double[:, ::1] bufs
    g.H, g.W = images.shape[1], images.shape[2]
    g.oh, g.ow = out.shape[1], out.shape[2]
    if N == 0 or g.oh == 0 or g.ow == 0:
        return
    g.kh, g.kw, g.top, g.left, g.sy, g.sx = kh, kw, top, left, sy, sx
    g.wext = (g.ow - 1) * sx + kw
    # Each buffer holds one row's column sums at [left, left + W) with the
    # mode's extension around them.
    g.blen = g.wext if g.wext > left + g.W else left + g.W
    g.nbands = (g.oh + BAND - 1) // BAND
    g.mode, g.cval, g.scale, g.outside_col = mode, cval, scale, cval * kh
    nitems = N * g.nbands
    if nthreads < 1:
        nthreads = 1
    if nthreads > nitems:
        nthreads = <int> nitems
    bufs = per_thread(nthreads, 4 * g.blen, np.float64)
    g.bufs, g.stride = &bufs[0, 0], bufs.shape[1]
    g.images, g.out = &images[0, 0, 0], &out[0, 0, 0]
    with nogil:
        if real is float:
            run_items(_box_item_f, &g, nitems, nthreads)
        else:
            run_items(_box_item_d, &g, nitems, nthreads)


# Integer samples: window sums are exact in 32-bit integers, so they need no
# restarts and any order of the additions gives the same result.
ctypedef unsigned char uchar
ctypedef signed char schar
ctypedef unsigned short ushort

ctypedef fused small_int:
    unsigned char
    signed char
    unsigned short
    short


cdef enum:
    # Box widths up to this sum their taps directly (vector adds over the
    # row); wider ones take a running sum along each channel.
    DIRECT_BOX_WIDTH = 16


cdef inline void _int_row_sums(real* out, int* tmp, const int* ext,
                               Py_ssize_t kw, Py_ssize_t C, Py_ssize_t n,
                               real scale) noexcept nogil:
    """out[o] = scale * sum_{l < kw} ext[o + l*C] for o < n, tap by tap
    over the whole row (vector adds)."""
    cdef Py_ssize_t o, l
    cdef const int* src
    for o in range(n):
        tmp[o] = ext[o]
    for l in range(1, kw):
        src = ext + l * C
        for o in range(n):
            tmp[o] = tmp[o] + src[o]
    for o in range(n):
        out[o] = tmp[o] * scale


cdef inline void _running(real* out, const int* ext, Py_ssize_t kw,
                          Py_ssize_t C, Py_ssize_t n,
                          real scale) noexcept nogil:
    cdef Py_ssize_t ch, o
    cdef int s
    for ch in range(C):
        s = 0
        for o in range(kw):
            s = s + ext[ch + o * C]
        out[ch] = s * scale
        o = ch + C
        while o < n:
            s = s + ext[o - C + kw * C] - ext[o - C]
            out[o] = s * scale
            o = o + C


cdef inline void _int_pixel(int* e, const int* acc, Py_ssize_t q,
                            Py_ssize_t rr, Py_ssize_t C,
                            int outside) noexcept nogil:
    """Pixel q of the extended row is pixel rr of acc (-1: ``outside``)."""
    cdef Py_ssize_t ch
    for ch in range(C):
        e[q * C + ch] = outside if rr < 0 else acc[rr * C + ch]


cdef inline void _int_add_row(int* acc, const small_int* plane,
                              Py_ssize_t rr, Py_ssize_t n,
                              int sign, int cval) noexcept nogil:
    """acc += sign * row rr of the plane (rows of n samples; rr < 0: a row
    of cval)."""
    cdef Py_ssize_t c
    cdef const small_int* row
    if rr < 0:
        for c in range(n):
            acc[c] = acc[c] + sign * cval
    elif sign > 0:
        row = plane + rr * n
        for c in range(n):
            acc[c] = acc[c] + row[c]
    else:
        row = plane + rr * n
        for c in range(n):
            acc[c] = acc[c] - row[c]


cdef struct IntBoxCall:
    # box_sum_int_planes and its uint8 path: integer planes (N, H, n) of
    # W pixels of C samples in, planes of ``dst`` out; per-thread buffers
    # buf[k] + slot * stride[k].
    const void* images
    Planes dst
    Py_ssize_t H, n, W, C, oh, ow, kh, kw, top, left, sy, wext, blen
    Py_ssize_t nrows, per_plane        # output rows per item, items per plane
    BoundaryMode mode
    int cval
    bint narrow
    double scale
    float fscale
    unsigned short M, area, outside
    int sh
    const unsigned char* cvals
    char* buf[6]
    Py_ssize_t stride[6]


cdef inline Py_ssize_t _item_rows(const IntBoxCall* g, Py_ssize_t item,
                                  Py_ssize_t* p, Py_ssize_t* i1) noexcept nogil:
    """Item ``item``'s plane and output rows [i0, i1); returns i0."""
    cdef Py_ssize_t i0
    p[0] = item // g.per_plane
    i0 = (item - p[0] * g.per_plane) * g.nrows
    i1[0] = min(i0 + g.nrows, g.oh)
    return i0


# uint8 in and out, the common photograph: window sums of at most 256
# samples fit in 16 bits, so the engine keeps them in unsigned shorts (16
# lanes to a 256-bit vector) and divides by a fixed-point multiply checked
# exact for every sum that can occur.  Each output row costs one pass that
# slides the column sums down a row (add the entering row, subtract the
# leaving one, straight from the uint8 rows) and one blocked pass that sums
# the taps across the row and divides, rounds and stores.
cdef enum:
    # Samples per block of the row pass: its tap sums stay in L1.
    U8_BLOCK = 1024
    # The widest box the uint8 path takes: wider rows have more taps than a
    # running sum would cost.
    U8_MAX_WIDTH = 32


_U8_DIVISORS = {}


def _u8_divisor(Py_ssize_t N):
    """(M, sh) with ((a * M) >> 16) >> sh == a // N for every a a window
    sum of N uint8 samples plus N // 2 can take, M < 2**16; None if there is
    none (then the general path serves)."""
    if N in _U8_DIVISORS:
        return _U8_DIVISORS[N]
    found = None
    if 1 < N <= 256:
        a = np.arange(255 * N + N // 2 + 1, dtype=np.int64)
        want = a // N
        for sh in range(17):
            M = -(-(1 << (16 + sh)) // N)
            if M >= 65536:
                break
            if np.array_equal(((a * M) >> 16) >> sh, want):
                found = (M, sh)
    _U8_DIVISORS[N] = found
    return found


cdef inline void _u8_slide(unsigned short* acc, const unsigned char* new_row,
                           const unsigned char* old_row,
                           Py_ssize_t n) noexcept nogil:
    """acc += new_row - old_row; wrapping 16-bit arithmetic is exact, since
    every true window sum fits."""
    cdef Py_ssize_t k
    for k in range(n):
        acc[k] = <unsigned short>(acc[k] + new_row[k] - old_row[k])


cdef inline void _u8_add(unsigned short* acc, const unsigned char* row,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        acc[k] = <unsigned short>(acc[k] + row[k])


cdef inline void _u8_taps(unsigned short* t, const unsigned short* e,
                          Py_ssize_t kw, Py_ssize_t C,
                          Py_ssize_t m) noexcept nogil:
    """t[o] = sum_{l < kw} e[o + l*C] for o < m: up to five taps in the
    first pass and four in each further one, each pass one vector loop over
    the block (in L1)."""
    cdef Py_ssize_t o, l, f = kw % 4
    cdef const unsigned short* e1
    cdef const unsigned short* e2
    cdef const unsigned short* e3
    cdef const unsigned short* e4
    if f == 0:
        f = 4
    elif f == 1 and kw > 1:
        f = 5
    e1 = e + C
    e2 = e + 2 * C
    e3 = e + 3 * C
    e4 = e + 4 * C
    if f == 1:
        for o in range(m):
            t[o] = e[o]
    elif f == 2:
        for o in range(m):
            t[o] = <unsigned short>(e[o] + e1[o])
    elif f == 3:
        for o in range(m):
            t[o] = <unsigned short>(e[o] + e1[o] + e2[o])
    elif f == 4:
        for o in range(m):
            t[o] = <unsigned short>(e[o] + e1[o] + e2[o] + e3[o])
    else:
        for o in range(m):
            t[o] = <unsigned short>(e[o] + e1[o] + e2[o] + e3[o] + e4[o])
    l = f
    while l < kw:
        e1 = e + l * C
        e2 = e1 + C
        e3 = e2 + C
        for o in range(m):
            t[o] = <unsigned short>(t[o] + e1[o] + e2[o] + e3[o] + e3[o + C])
        l = l + 4


cdef inline unsigned char _u8_mean(unsigned short t, unsigned short N,
                                  unsigned short M, int sh) noexcept nogil:
    """t / N rounded to nearest, half to even (numpy.rint of the exact
    mean): floor((t + N/2) / N) by the multiply, then, for an even N, a tie
    that landed on an odd quotient steps down."""
    cdef unsigned short a = <unsigned short>(t + N // 2)
    cdef unsigned short q = <unsigned short>((<unsigned int>a * M) >> 16) >> sh
    if N % 2 == 0:
        q = <unsigned short>(q - ((<unsigned short>(q * N) == a) & q & 1))
    return <unsigned char>q


cdef inline void _u8_means(unsigned char* out, unsigned short* t,
                           const unsigned short* e, Py_ssize_t kw,
                           Py_ssize_t C, Py_ssize_t m, unsigned short N,
                           unsigned short M, int sh) noexcept nogil:
    """out[o] = the mean of the kw taps e[o + l*C] of window sums of N
    samples, o < m: a narrow box in one vector loop, a wider one by way of
    the tap sums in ``t``."""
    cdef Py_ssize_t o
    cdef const unsigned short* e1 = e + C
    cdef const unsigned short* e2 = e + 2 * C
    cdef const unsigned short* e3 = e + 3 * C
    cdef const unsigned short* e4 = e + 4 * C
    if kw == 1:
        for o in range(m):
            out[o] = _u8_mean(e[o], N, M, sh)
    elif kw == 2:
        for o in range(m):
            out[o] = _u8_mean(<unsigned short>(e[o] + e1[o]), N, M, sh)
    elif kw == 3:
        for o in range(m):
            out[o] = _u8_mean(<unsigned short>(e[o] + e1[o] + e2[o]), N, M,
                              sh)
    elif kw == 4:
        for o in range(m):
            out[o] = _u8_mean(<unsigned short>(e[o] + e1[o] + e2[o] + e3[o]),
                              N, M, sh)
    elif kw == 5:
        for o in range(m):
            out[o] = _u8_mean(<unsigned short>(e[o] + e1[o] + e2[o] + e3[o]
                                               + e4[o]), N, M, sh)
    else:
        _u8_taps(t, e, kw, C, m)
        for o in range(m):
            out[o] = _u8_mean(t[o], N, M, sh)


cdef void _u8_item(void* ctx, Py_ssize_t item, int c) noexcept nogil:
    """Output rows of one item of the uint8 path, thread slot c."""
    cdef const IntBoxCall* g = <const IntBoxCall*> ctx
    cdef Py_ssize_t H = g.H, n = g.n, W = g.W, C = g.C, kh = g.kh
    cdef Py_ssize_t kw = g.kw, left = g.left, wext = g.wext, ow = g.ow
    cdef Py_ssize_t p, i, i1, q, k, m, b, rr, rprev = 0, cur
    cdef BoundaryMode mode = g.mode
    cdef unsigned short* e = <unsigned short*> (g.buf[0] + c * g.stride[0])
    cdef unsigned short* t = <unsigned short*> (g.buf[1] + c * g.stride[1])
    cdef unsigned short* acc = e + left * C
    cdef const unsigned char* cvals = g.cvals
    cdef const unsigned char* base
    cdef const unsigned char* new_row
    cdef const unsigned char* old_row
    cdef unsigned char* orow
    cdef bint fresh = True
    i = _item_rows(g, item, &p, &i1)
    base = <const unsigned char*> g.images + p * H * n
    while i < i1:
        cur = i * g.sy - g.top
        if fresh or cur - rprev >= kh:
            rr = map_index(cur, H, mode)
            new_row = cvals if rr < 0 else base + rr * n
            for k in range(n):
                acc[k] = new_row[k]
            for m in range(cur + 1, cur + kh):
                rr = map_index(m, H, mode)
                _u8_add(acc, cvals if rr < 0 else base + rr * n, n)
            fresh = False
        else:
            for m in range(rprev, cur):
                rr = map_index(m, H, mode)
                old_row = cvals if rr < 0 else base + rr * n
                rr = map_index(m + kh, H, mode)
                new_row = cvals if rr < 0 else base + rr * n
                _u8_slide(acc, new_row, old_row, n)
        rprev = cur
        # the column sums' extension by the mode, pixel by pixel
        for q in range(left if left < wext else wext):
            rr = map_index(q - left, W, mode)
            for k in range(C):
                e[q * C + k] = g.outside if rr < 0 else acc[rr * C + k]
        for q in range(left + W, wext):
            rr = map_index(q - left, W, mode)
            for k in range(C):
                e[q * C + k] = g.outside if rr < 0 else acc[rr * C + k]
        orow = <unsigned char*> row_address(&g.dst, p, i)
        b = 0
        while b < ow * C:
            m = ow * C - b
            if m > U8_BLOCK:
                m = U8_BLOCK
            _u8_means(orow + b, t, e + b, kw, C, m, g.area, g.M, g.sh)
            b = b + m
        i = i + 1


cdef void _u8_box(IntBoxCall* g, Py_ssize_t N, unsigned short M, int sh,
                  int nthreads):
    """The uint8 path of box_sum_int_planes (see there; 0 <= cval <= 255
    and kh * kw <= 256 checked by the caller)."""
    cdef unsigned short[:, ::1] ebuf, tbuf
    cdef unsigned char[::1] cvrow
    cdef Py_ssize_t nitems = N * g.per_plane
    if nthreads > nitems:
        nthreads = <int> nitems
    ebuf = per_thread(nthreads, g.blen, np.uint16)
    tbuf = per_thread(nthreads, U8_BLOCK, np.uint16)
    if g.mode != CONSTANT:
        g.cval = 0    # read by no row; any value outside uint8 then harmless
    cvrow = np.full(g.n, g.cval, dtype=np.uint8)
    g.cvals = &cvrow[0]
    g.M, g.sh = M, sh
    g.area = <unsigned short>(g.kh * g.kw)
    g.outside = <unsigned short>(g.cval * g.kh)
    g.buf[0], g.stride[0] = <char*> &ebuf[0, 0], ebuf.shape[1] * 2
    g.buf[1], g.stride[1] = <char*> &tbuf[0, 0], tbuf.shape[1] * 2
    with nogil:
        run_items(_u8_item, g, nitems, nthreads)


cdef void _int_rows(const IntBoxCall* g, Py_ssize_t item, int c,
                    small_int* dummy) noexcept nogil:
    """Output rows of one item of the general integer path, thread slot
    c."""
    cdef Py_ssize_t H = g.H, n = g.n, W = g.W, C = g.C, kh = g.kh
    cdef Py_ssize_t kw = g.kw, left = g.left, wext = g.wext, ow = g.ow
    cdef Py_ssize_t p, i, i1, q, k, m, q0, q1, rprev = 0, cur
    cdef BoundaryMode mode = g.mode
    cdef int cval = g.cval
    cdef int* acc = <int*> (g.buf[0] + c * g.stride[0])
    cdef int* e = <int*> (g.buf[1] + c * g.stride[1])
    cdef double* obuf = <double*> (g.buf[2] + c * g.stride[2])
    cdef float* fbuf = <float*> (g.buf[3] + c * g.stride[3])
    cdef int* tbuf = <int*> (g.buf[4] + c * g.stride[4])
    cdef const small_int* plane
    cdef bint fresh = True
    i = _item_rows(g, item, &p, &i1)
    plane = <const small_int*> g.images + p * H * n
    while i < i1:
        cur = i * g.sy - g.top
        if fresh or cur - rprev >= kh:
            for k in range(n):
                acc[k] = 0
            for m in range(kh):
                _int_add_row(acc, plane, map_index(cur + m, H, mode), n, 1,
                             cval)
            fresh = False
        else:
            # slide the window from rows [rprev, rprev + kh)
            for m in range(rprev, cur):
                _int_add_row(acc, plane, map_index(m, H, mode), n, -1, cval)
                _int_add_row(acc, plane, map_index(m + kh, H, mode), n, 1,
                             cval)
        rprev = cur
        # the window's column sums, extended pixel-wise by the mode:
        # pixels [q0, q1) are inside the row, a plain copy
        q0 = left if left < wext else wext
        q1 = left + W if left + W < wext else wext
        for q in range(q0):
            _int_pixel(e, acc, q, map_index(q - left, W, mode), C, cval * kh)
        for k in range((q1 - q0) * C):
            e[q0 * C + k] = acc[k]
        for q in range(q1, wext):
            _int_pixel(e, acc, q, map_index(q - left, W, mode), C, cval * kh)
        if kw <= DIRECT_BOX_WIDTH:
            if g.narrow:
                _int_row_sums(fbuf, tbuf, e, kw, C, ow * C, g.fscale)
            else:
                _int_row_sums(obuf, tbuf, e, kw, C, ow * C, g.scale)
        else:
            if g.narrow:
                _running(fbuf, e, kw, C, ow * C, g.fscale)
            else:
                _running(obuf, e, kw, C, ow * C, g.scale)
        if g.narrow:
            store_row(row_address(&g.dst, p, i), fbuf, g.dst.kind, ow * C)
        else:
            store_row(row_address(&g.dst, p, i), obuf, g.dst.kind, ow * C)
        i = i + 1


cdef void _int_item_u8(void* ctx, Py_ssize_t item, int c) noexcept nogil:
    _int_rows(<const IntBoxCall*> ctx, item, c, <unsigned char*> NULL)


cdef void _int_item_i8(void* ctx, Py_ssize_t item, int c) noexcept nogil:
    _int_rows(<const IntBoxCall*> ctx, item, c, <signed char*> NULL)


cdef void _int_item_u16(void* ctx, Py_ssize_t item, int c) noexcept nogil:
    _int_rows(<const IntBoxCall*> ctx, item, c, <unsigned short*> NULL)


cdef void _int_item_i16(void* ctx, Py_ssize_t item, int c) noexcept nogil:
    _int_rows(<const IntBoxCall*> ctx, item, c, <short*> NULL)


def box_sum_int_planes(const small_int[:, :, ::1] images, out,
                       Sample dst_kind, Py_ssize_t C, Py_ssize_t kh,
                       Py_ssize_t kw, Py_ssize_t top, Py_ssize_t left,
                       Py_ssize_t sy, BoundaryMode mode, int cval,
                       double scale, int nthreads):
    """``scale`` times the kh x kw window sums of integer planes (N, H,
    W * C) of C interleaved channels, at column stride 1, into the planes
    ``out`` (N, oh, ow * C) of type ``dst_kind`` (rounded and saturated
    for integers).  The caller checks that kh * kw * max|sample| (and
    |cval|) fit in an int.  The work items are blocks of output rows of
    one plane; each starts its window sums afresh, and integer sums are
    exact, so the result does not depend on the thread count.

    ``out``'s sample type is read from the array: a ``dst_kind`` that is
    not its type, or an output that is not C-contiguous, aligned and in
    the machine's byte order, is a TypeError or ValueError (as is an
    unaligned ``images``), never a misread."""
    cdef IntBoxCall g
    cdef Py_ssize_t N = images.shape[0], nitems
    cdef int[:, ::1] sums, ext, tbuf
    cdef double[:, ::1] obuf
    cdef float[:, ::1] fbuf
    g.dst = planes_of(out, dst_kind)
    if images.size and (<size_t> &images[0, 0, 0]) % sizeof(small_int):
        raise ValueError("box_sum_int_planes: images must be aligned")
    g.H, g.n = images.shape[1], images.shape[2]
    g.C, g.W = C, images.shape[2] // C
    g.oh, g.ow = g.dst.H, g.dst.n // C
    if N == 0 or g.oh == 0 or g.ow == 0:
        return
    g.kh, g.kw, g.top, g.left, g.sy = kh, kw, top, left, sy
    g.wext = g.ow - 1 + kw
    g.blen = (g.wext if g.wext > left + g.W else left + g.W) * C
    g.mode, g.cval, g.scale, g.fscale = mode, cval, scale, <float>scale
    g.images = &images[0, 0, 0]
    # About ITEM_WORK sample operations an item, at least 4 * kh rows so
    # that the fresh window sum at its start costs little.
    g.nrows = max(rows_per_item(4 * g.n), 4 * kh)
    g.per_plane = (g.oh + g.nrows - 1) // g.nrows
    nitems = N * g.per_plane
    if nthreads < 1:
        nthreads = 1
    # Window sums below 2^24 are exact in float32, whose rounding and
    # conversion run twice as wide as float64's.  A float64 result keeps
    # float64's scaling: a float32 1/N would cost it eight digits.
    g.narrow = dst_kind != F64 and kh * kw * (
        256 if sizeof(small_int) == 1 else 65536) + (abs(cval) * kh * kw) \
        < (1 << 24)
    if (small_int is uchar and dst_kind == U8 and kw <= U8_MAX_WIDTH
            and (mode != CONSTANT or 0 <= cval <= 255)
            and fabs(scale * (kh * kw) - 1) <= 1e-6):
        # A weight of 1/N to float precision (the product of two factors'
        # 1/n, or a float32 kernel's) means the mean: dividing the exact sum
        # by N gives the same uint8 as rounding sum * scale except at an
        # exact half, where it rounds the exact mean's half to even.
        divisor = _u8_divisor(kh * kw)
        if divisor is not None:
            _u8_box(&g, N, divisor[0], divisor[1], nthreads)
            return
    if nthreads > nitems:
        nthreads = <int> nitems
    sums = per_thread(nthreads, g.n, np.intc)
    ext = per_thread(nthreads, g.wext * C, np.intc)
    obuf = per_thread(nthreads, 1 if g.narrow else g.ow * C, np.float64)
    fbuf = per_thread(nthreads, g.ow * C if g.narrow else 1, np.float32)
    tbuf = per_thread(nthreads, g.ow * C, np.intc)
    g.buf[0], g.stride[0] = <char*> &sums[0, 0], sums.shape[1] * sizeof(int)
    g.buf[1], g.stride[1] = <char*> &ext[0, 0], ext.shape[1] * sizeof(int)
    g.buf[2], g.stride[2] = <char*> &obuf[0, 0], obuf.shape[1] * sizeof(double)
    g.buf[3], g.stride[3] = <char*> &fbuf[0, 0], fbuf.shape[1] * sizeof(float)
    g.buf[4], g.stride[4] = <char*> &tbuf[0, 0], tbuf.shape[1] * sizeof(int)
    with nogil:
        if small_int is uchar:
            run_items(_int_item_u8, &g, nitems, nthreads)
        elif small_int is schar:
            run_items(_int_item_i8, &g, nitems, nthreads)
        elif small_int is ushort:
            run_items(_int_item_u16, &g, nitems, nthreads)
        else:
            run_items(_int_item_i16, &g, nitems, nthreads)
