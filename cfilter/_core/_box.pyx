"""Box (moving-sum) correlation of a stack of planes in O(1) work per pixel.

out[i, j] = scale * sum_{m < kh, l < kw} x~[i*sy + m - top, j*sx + l - left]

Column sums of the current window of rows are kept in a float64 row and
moved by adding the rows that enter and subtracting those that leave; each
output row then takes a running sum along that row.  Both sums run in
float64 and start afresh every RESTART steps, so rounding error does not grow
with the image's size.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport fabs
from cython.parallel cimport prange

from ._types cimport real
from ._boundary cimport BoundaryMode, CONSTANT, fill_margins, map_index
from ._scratch cimport per_thread
from ._samples cimport Sample, U8, F64, Planes, planes_of, row_address, store_row

cnp.import_array()


cdef enum:
    RESTART = 256


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


def box_correlate_planes(const real[:, :, ::1] images, real[:, :, ::1] out,
                         Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t top, Py_ssize_t left,
                         Py_ssize_t sy, Py_ssize_t sx,
                         BoundaryMode mode, double cval, double scale,
                         int nthreads):
    """``scale`` times the kh x kw window sums of each of the planes
    ``images`` into the planes ``out``.  The threads share out the rows of
    all the planes together; a share that starts inside a plane catches up
    from the restart before it."""
    cdef Py_ssize_t N = images.shape[0], H = images.shape[1], W = images.shape[2]
    cdef Py_ssize_t oh = out.shape[1], ow = out.shape[2]
    cdef Py_ssize_t total = N * oh
    cdef Py_ssize_t wext = (ow - 1) * sx + kw
    # Each buffer holds one row's column sums at [left, left + W) with the
    # mode's extension around them.
    cdef Py_ssize_t blen = wext if wext > left + W else left + W
    cdef Py_ssize_t nchunks, c, i, i0, i1, r0, q, n, r, rend, p, slot = 0
    cdef double outside_col = cval * kh
    cdef double[:, ::1] bufs
    cdef size_t[:, ::1] ptrs
    cdef double* prev
    cdef double* cur
    cdef double** ext
    cdef real** orows
    cdef const real* src

    if N == 0 or oh == 0 or ow == 0:
        return
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < total else total
    bufs = per_thread(nchunks, 4 * blen, np.float64)
    ptrs = per_thread(nchunks, 8, np.uintp)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        ext = <double**> &ptrs[c, 0]
        orows = <real**> &ptrs[c, 4]
        r = c * total // nchunks
        rend = (c + 1) * total // nchunks
        while r < rend:
            # this share's rows [i0, i1) of plane p
            p = r // oh
            i0 = r - p * oh
            i1 = i0 + (rend - r)
            if i1 > oh:
                i1 = oh
            r = r + (i1 - i0)
            src = &images[p, 0, 0]
            i = i0
            slot = 0
            prev = &bufs[c, 3 * blen + left]
            if sy < kh and i0 % RESTART != 0:
                # Reach row i0 from the restart row before it, as a single
                # band would: every row then gets the same float64
                # operations, so the result does not depend on the number of
                # threads.
                r0 = (i0 // RESTART) * RESTART
                _window_sum(prev, src, H, W, r0 * sy - top, kh, mode, cval)
                for q in range(r0 + 1, i0):
                    cur = &bufs[c, (2 + q % 2) * blen + left]
                    _advance(cur, prev, src, H, W, q * sy - top - sy,
                             q * sy - top - sy + kh, sy, mode, cval)
                    prev = cur
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
                    cur = &bufs[c, slot * blen + left]
                    r0 = (i + q) * sy - top
                    # Restarts fall on the same rows whatever the thread
                    # count.
                    if (i + q) % RESTART == 0 or sy >= kh:
                        _window_sum(cur, src, H, W, r0, kh, mode, cval)
                    else:
                        _advance(cur, prev, src, H, W, r0 - sy, r0 - sy + kh,
                                 sy, mode, cval)
                    fill_margins(cur - left, W, left, wext, mode, outside_col)
                    ext[q] = cur - left
                    orows[q] = &out[p, i + q, 0]
                    prev = cur
                    slot = (slot + 1) % 4
                if sx == 1 and kw <= DIRECT_FLOAT_WIDTH:
                    _row_taps(orows[0], ext[0], kw, ow, scale)
                elif n == 4:
                    _row_box4(orows, ext, kw, ow, scale)
                else:
                    for q in range(n):
                        _row_box(orows[q], ext[q], kw, sx, ow, scale)
                i = i + n


# Integer samples: window sums are exact in 32-bit integers, so they need no
# restarts and any order of the additions gives the same result.
ctypedef unsigned char uchar

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


cdef inline void _int_add_row(int* acc, const small_int[:, :, ::1] images,
                              Py_ssize_t p, Py_ssize_t rr, Py_ssize_t n,
                              int sign, int cval) noexcept nogil:
    """acc += sign * row rr of plane p (rr < 0: a row of cval)."""
    cdef Py_ssize_t c
    cdef const small_int* row
    if rr < 0:
        for c in range(n):
            acc[c] = acc[c] + sign * cval
    elif sign > 0:
        row = &images[p, rr, 0]
        for c in range(n):
            acc[c] = acc[c] + row[c]
    else:
        row = &images[p, rr, 0]
        for c in range(n):
            acc[c] = acc[c] - row[c]


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


cdef void _u8_box(const unsigned char[:, :, ::1] images, unsigned char* dst,
                  Py_ssize_t dst_plane, Py_ssize_t dst_row, Py_ssize_t C,
                  Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t top,
                  Py_ssize_t left, Py_ssize_t sy, BoundaryMode mode,
                  int cval, Py_ssize_t oh, Py_ssize_t ow,
                  unsigned short M, int sh, int nthreads):
    """The uint8 path of box_sum_int_planes (see there; 0 <= cval <= 255
    and kh * kw <= 256 checked by the caller)."""
    cdef Py_ssize_t N = images.shape[0], H = images.shape[1]
    cdef Py_ssize_t n = images.shape[2], W = n // C
    cdef Py_ssize_t total = N * oh, wext = ow - 1 + kw
    cdef Py_ssize_t blen = (wext if wext > left + W else left + W) * C
    cdef Py_ssize_t nchunks, c, r, i, p, q, k, m, b, rr, rprev, cur, plane
    cdef unsigned short area = <unsigned short>(kh * kw)
    cdef unsigned short outside = <unsigned short>(cval * kh)
    cdef unsigned short[:, ::1] ebuf, tbuf
    cdef unsigned char[::1] cvrow
    cdef const unsigned char* cvals
    cdef unsigned short* e
    cdef unsigned short* acc
    cdef const unsigned char* base
    cdef const unsigned char* new_row
    cdef const unsigned char* old_row
    cdef unsigned char* orow

    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < total else total
    ebuf = per_thread(nchunks, blen, np.uint16)
    tbuf = per_thread(nchunks, U8_BLOCK, np.uint16)
    if mode != CONSTANT:
        cval = 0    # read by no row; any value outside uint8 then harmless
    cvrow = np.full(n, cval, dtype=np.uint8)
    cvals = &cvrow[0]

    for c in prange(nchunks, nogil=True, schedule="static",
                    num_threads=nthreads):
        e = &ebuf[c, 0]
        acc = e + left * C
        plane = -1
        rprev = 0
        for r in range(c * total // nchunks, (c + 1) * total // nchunks):
            p = r // oh
            i = r - p * oh
            cur = i * sy - top
            base = &images[p, 0, 0]
            if plane != p or cur - rprev >= kh:
                rr = map_index(cur, H, mode)
                new_row = cvals if rr < 0 else base + rr * n
                for k in range(n):
                    acc[k] = new_row[k]
                for m in range(cur + 1, cur + kh):
                    rr = map_index(m, H, mode)
                    _u8_add(acc, cvals if rr < 0 else base + rr * n, n)
                plane = p
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
                    e[q * C + k] = outside if rr < 0 else acc[rr * C + k]
            for q in range(left + W, wext):
                rr = map_index(q - left, W, mode)
                for k in range(C):
                    e[q * C + k] = outside if rr < 0 else acc[rr * C + k]
            orow = dst + p * dst_plane + i * dst_row
            b = 0
            while b < ow * C:
                m = ow * C - b
                if m > U8_BLOCK:
                    m = U8_BLOCK
                _u8_means(orow + b, &tbuf[c, 0], e + b, kw, C, m, area, M,
                          sh)
                b = b + m


def box_sum_int_planes(const small_int[:, :, ::1] images, out,
                       Sample dst_kind, Py_ssize_t C, Py_ssize_t kh,
                       Py_ssize_t kw, Py_ssize_t top, Py_ssize_t left,
                       Py_ssize_t sy, BoundaryMode mode, int cval,
                       double scale, int nthreads):
    """``scale`` times the kh x kw window sums of integer planes (N, H,
    W * C) of C interleaved channels, at column stride 1, into the planes
    ``out`` (N, oh, ow * C) of type ``dst_kind`` (rounded and saturated
    for integers).  The caller checks that kh * kw * max|sample| (and
    |cval|) fit in an int."""
    cdef Planes dst = planes_of(out, dst_kind)
    cdef Py_ssize_t N = images.shape[0], H = images.shape[1]
    cdef Py_ssize_t n = images.shape[2], W = n // C
    cdef Py_ssize_t oh = out.shape[1], ow = out.shape[2] // C
    cdef Py_ssize_t total = N * oh, wext = ow - 1 + kw
    cdef Py_ssize_t nchunks, c, r, i, p, q, k, m, rr, rprev, cur, q0, q1
    cdef int[:, ::1] sums, ext, tbuf
    cdef double[:, ::1] obuf
    cdef float[:, ::1] fbuf
    # Window sums below 2^24 are exact in float32, whose rounding and
    # conversion run twice as wide as float64's.  A float64 result keeps
    # float64's scaling: a float32 1/N would cost it eight digits.
    cdef bint narrow = dst_kind != F64 and kh * kw * (
        256 if sizeof(small_int) == 1 else 65536) + (abs(cval) * kh * kw) \
        < (1 << 24)
    cdef float fscale = <float>scale
    cdef int* acc
    cdef int* e
    cdef Py_ssize_t[:, ::1] state

    if N == 0 or oh == 0 or ow == 0:
        return
    if (small_int is uchar and dst_kind == U8 and kw <= U8_MAX_WIDTH
            and (mode != CONSTANT or 0 <= cval <= 255)
            and fabs(scale * (kh * kw) - 1) <= 1e-6):
        # A weight of 1/N to float precision (the product of two factors'
        # 1/n, or a float32 kernel's) means the mean: dividing the exact sum
        # by N gives the same uint8 as rounding sum * scale except at an
        # exact half, where it rounds the exact mean's half to even.
        divisor = _u8_divisor(kh * kw)
        if divisor is not None:
            _u8_box(images, <unsigned char*> dst.data, dst.plane_bytes,
                    dst.row_bytes, C, kh, kw, top, left, sy, mode, cval, oh,
                    ow, divisor[0], divisor[1], nthreads)
            return
    if nthreads < 1:
        nthreads = 1
    nchunks = nthreads if nthreads < total else total
    sums = per_thread(nchunks, n, np.intc)
    ext = per_thread(nchunks, wext * C, np.intc)
    obuf = per_thread(nchunks, 1 if narrow else ow * C, np.float64)
    fbuf = per_thread(nchunks, ow * C if narrow else 1, np.float32)
    tbuf = per_thread(nchunks, ow * C, np.intc)
    state = per_thread(nchunks, 1, np.intp)

    for c in prange(nchunks, nogil=True, schedule="static", num_threads=nthreads):
        acc = &sums[c, 0]
        e = &ext[c, 0]
        # state[c, 0]: the plane whose row window acc holds (-1: none)
        state[c, 0] = -1
        rprev = 0
        for r in range(c * total // nchunks, (c + 1) * total // nchunks):
            p = r // oh
            i = r - p * oh
            cur = i * sy - top
            if state[c, 0] != p or cur - rprev >= kh:
                for k in range(n):
                    acc[k] = 0
                for m in range(kh):
                    _int_add_row(acc, images, p, map_index(cur + m, H, mode),
                                 n, 1, cval)
                state[c, 0] = p
            else:
                # slide the window from rows [rprev, rprev + kh)
                for m in range(rprev, cur):
                    _int_add_row(acc, images, p, map_index(m, H, mode), n,
                                 -1, cval)
                    _int_add_row(acc, images, p, map_index(m + kh, H, mode),
                                 n, 1, cval)
            rprev = cur
            # the window's column sums, extended pixel-wise by the mode:
            # pixels [q0, q1) are inside the row, a plain copy
            q0 = left if left < wext else wext
            q1 = left + W if left + W < wext else wext
            for q in range(q0):
                _int_pixel(e, acc, q, map_index(q - left, W, mode), C,
                           cval * kh)
            for k in range((q1 - q0) * C):
                e[q0 * C + k] = acc[k]
            for q in range(q1, wext):
                _int_pixel(e, acc, q, map_index(q - left, W, mode), C,
                           cval * kh)
            if kw <= DIRECT_BOX_WIDTH:
                if narrow:
                    _int_row_sums(&fbuf[c, 0], &tbuf[c, 0], e, kw, C, ow * C,
                                  fscale)
                else:
                    _int_row_sums(&obuf[c, 0], &tbuf[c, 0], e, kw, C, ow * C,
                                  scale)
            else:
                if narrow:
                    _running(&fbuf[c, 0], e, kw, C, ow * C, fscale)
                else:
                    _running(&obuf[c, 0], e, kw, C, ow * C, scale)
            if narrow:
                store_row(row_address(&dst, p, i), &fbuf[c, 0], dst_kind,
                          ow * C)
            else:
                store_row(row_address(&dst, p, i), &obuf[c, 0], dst_kind,
                          ow * C)
