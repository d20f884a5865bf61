# distutils: language = c++
"""The FFT engine: correlation by overlap-save over tiles, in compiled code.

The plane seen through the boundary mode (the "extended" plane, as the
direct engine reads it) is cut into tiles of nh x nw that overlap by the
kernel's extent less one; each tile's cyclic correlation with the kernel
(``_tiles.hpp``: forward 2-D real FFT, product with the kernel's
spectrum, inverse) is exact in its first nh - KH + 1 x nw - KW + 1 outputs;
tiles step by th x tw within those, and their outputs go straight into the output (with a stride, only
the rows and columns it keeps).  Tiles are the work items of the pool; each
thread fills its own kept input tile from the plane, extending the edges by
the mode, so there is never a padded copy of the image.  The kernel's
spectrum is computed once per call and shared.

Each tile is computed the same way whichever thread takes it, so the result
does not depend on the number of threads, to the last bit.
"""
from libc.string cimport memset

from ._types cimport real
from ._boundary cimport BoundaryMode, map_index, extend_row
from ._pool cimport run_items


cdef extern from "_tiles.hpp" nogil:
    void* cf_spectrum_f(const float* k, size_t kh, size_t kw, size_t nh,
                        size_t nw)
    void* cf_spectrum_d(const double* k, size_t kh, size_t kw, size_t nh,
                        size_t nw)
    void cf_spectrum_free_f(void* s)
    void cf_spectrum_free_d(void* s)
    float* cf_tile_input_f(const void* s)
    double* cf_tile_input_d(const void* s)
    const float* cf_tile_correlate_f(const void* s, size_t first, size_t step,
                                     size_t nkeep)
    const double* cf_tile_correlate_d(const void* s, size_t first,
                                      size_t step, size_t nkeep)


cdef struct FFTCall:
    const void* planes      # (N, H, W) of real, C-contiguous
    void* out               # (N, oh, ow) of real, C-contiguous
    const void* spec        # the kernel's spectrum (_tiles.hpp)
    Py_ssize_t H, W, oh, ow, top, left, sy, sx
    Py_ssize_t nh, nw, th, tw, nstrips, ntw
    Py_ssize_t hs, ws, ext_h, ext_w       # stride-1 outputs; extended plane
    BoundaryMode mode
    double cval
    double shift            # subtracted from every value read
    int failed              # set when a thread ran out of memory


cdef inline void _fill(const FFTCall* g, real* tile, const real* plane,
                       Py_ssize_t a0, Py_ssize_t b0) noexcept nogil:
    """The tile whose top left corner is (a0, b0) of the extended plane,
    zeros past its end."""
    cdef Py_ssize_t r, k, y, e
    cdef Py_ssize_t nw = g.nw, width = min(nw, g.ext_w - b0)
    cdef real* row
    cdef real cv = <real> (g.cval - g.shift)
    cdef real shift = <real> g.shift
    for r in range(g.nh):
        row = tile + r * nw
        e = a0 + r
        if e >= g.ext_h:
            memset(row, 0, nw * sizeof(real))
            continue
        y = map_index(e - g.top, g.H, g.mode)
        if y < 0:
            for k in range(width):
                row[k] = cv
        else:
            extend_row(plane + y * g.W, g.W, row, b0 - g.left, width,
                       g.mode, <real> g.cval)
            if shift != 0:
                for k in range(width):
                    row[k] = row[k] - shift
        if width < nw:
            memset(row + width, 0, (nw - width) * sizeof(real))


cdef inline void _tile(FFTCall* g, Py_ssize_t item, real* dummy) noexcept nogil:
    cdef Py_ssize_t per_plane = g.nstrips * g.ntw
    cdef Py_ssize_t p = item // per_plane
    cdef Py_ssize_t s = (item - p * per_plane) // g.ntw
    cdef Py_ssize_t t = item - p * per_plane - s * g.ntw
    cdef Py_ssize_t a0 = s * g.th, b0 = t * g.tw
    cdef Py_ssize_t sy = g.sy, sx = g.sx
    # The stride-1 outputs of this tile that the stride keeps: rows
    # a0 + f0 + k*sy, columns b0 + c0 + j*sx.
    cdef Py_ssize_t f0 = (sy - a0 % sy) % sy, c0 = (sx - b0 % sx) % sx
    cdef Py_ssize_t rlim = min(g.th, g.hs - a0), clim = min(g.tw, g.ws - b0)
    cdef Py_ssize_t nkeep = (rlim - f0 + sy - 1) // sy if rlim > f0 else 0
    cdef Py_ssize_t ncols = (clim - c0 + sx - 1) // sx if clim > c0 else 0
    cdef Py_ssize_t k, j, i0 = (a0 + f0) // sy, j0 = (b0 + c0) // sx
    cdef real* tile
    cdef const real* res
    cdef const real* src
    cdef real* dst
    if nkeep == 0 or ncols == 0:
        return
    if real is float:
        tile = cf_tile_input_f(g.spec)
    else:
        tile = cf_tile_input_d(g.spec)
    if tile == NULL:
        g.failed = 1
        return
    _fill(g, tile, <const real*> g.planes + p * g.H * g.W, a0, b0)
    if real is float:
        res = cf_tile_correlate_f(g.spec, f0, sy, nkeep)
    else:
        res = cf_tile_correlate_d(g.spec, f0, sy, nkeep)
    if res == NULL:
        g.failed = 1
        return
    for k in range(nkeep):
        src = res + k * g.nw + c0
        dst = <real*> g.out + (p * g.oh + i0 + k) * g.ow + j0
        if sx == 1:
            for j in range(ncols):
                dst[j] = src[j]
        else:
            for j in range(ncols):
                dst[j] = src[j * sx]


cdef void _tile_f(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    _tile(<FFTCall*> ctx, item, <float*> NULL)


cdef void _tile_d(void* ctx, Py_ssize_t item, int slot) noexcept nogil:
    _tile(<FFTCall*> ctx, item, <double*> NULL)


def correlate_tiles(const real[:, :, ::1] planes, const real[:, ::1] kernel,
                    real[:, :, ::1] out, Py_ssize_t top, Py_ssize_t left,
                    Py_ssize_t sy, Py_ssize_t sx, BoundaryMode mode,
                    double cval, Py_ssize_t nh, Py_ssize_t th,
                    Py_ssize_t nw, Py_ssize_t tw, int nthreads,
                    double shift=0.0):
    """Correlate each plane (N, H, W) with the (dilated) ``kernel`` (KH, KW)
    into ``out`` (N, oh, ow): out[i, j] = sum kernel[m, l] * (x~[i*sy + m -
    top, j*sx + l - left] - shift), by overlap-save over nh x nw tiles
    keeping th x tw outputs each (1 <= th <= nh - KH + 1, 1 <= tw <= nw -
    KW + 1; the caller plans them).  All arguments validated by the
    caller."""
    cdef FFTCall g
    cdef Py_ssize_t N = planes.shape[0], KH = kernel.shape[0]
    cdef Py_ssize_t KW = kernel.shape[1], nitems
    if th < 1 or tw < 1 or th > nh - KH + 1 or tw > nw - KW + 1:
        raise ValueError("correlate_tiles: tiles do not fit the kernel")
    g.H, g.W = planes.shape[1], planes.shape[2]
    g.oh, g.ow = out.shape[1], out.shape[2]
    if N == 0 or g.oh == 0 or g.ow == 0:
        return
    g.top, g.left, g.sy, g.sx, g.mode, g.cval = top, left, sy, sx, mode, cval
    g.shift = shift
    g.nh, g.nw, g.th, g.tw = nh, nw, th, tw
    g.hs, g.ws = (g.oh - 1) * sy + 1, (g.ow - 1) * sx + 1
    g.ext_h, g.ext_w = g.hs + KH - 1, g.ws + KW - 1
    g.nstrips = (g.hs + th - 1) // th
    g.ntw = (g.ws + tw - 1) // tw
    g.planes, g.out, g.failed = &planes[0, 0, 0], &out[0, 0, 0], 0
    nitems = N * g.nstrips * g.ntw
    with nogil:
        if real is float:
            g.spec = cf_spectrum_f(&kernel[0, 0], KH, KW, nh, nw)
        else:
            g.spec = cf_spectrum_d(&kernel[0, 0], KH, KW, nh, nw)
    if g.spec == NULL:
        raise MemoryError("the FFT engine's kernel spectrum")
    try:
        with nogil:
            if real is float:
                run_items(_tile_f, &g, nitems, nthreads)
            else:
                run_items(_tile_d, &g, nitems, nthreads)
    finally:
        if real is float:
            cf_spectrum_free_f(<void*> g.spec)
        else:
            cf_spectrum_free_d(<void*> g.spec)
    if g.failed:
        raise MemoryError("the FFT engine's tile buffers")


# Frequency filtering (cfilter.frequency_filter): whole-plane transforms of
# the extended planes, a block at a time on the pool, with the transfer
# function evaluated in the column blocks.

cdef extern from "_tiles.hpp" nogil:
    float* cf_scratch_f(size_t n)
    double* cf_scratch_d(size_t n)
    int cf_rows_r2c_f(const float* x, size_t nrows, size_t n1, void* out,
                      size_t ld)
    int cf_rows_r2c_d(const double* x, size_t nrows, size_t n1, void* out,
                      size_t ld)
    int cf_cols_c2c_f(void* z, size_t n0, size_t ld, size_t ncols,
                      int forward, float fct)
    int cf_cols_c2c_d(void* z, size_t n0, size_t ld, size_t ncols,
                      int forward, double fct)
    int cf_rows_c2r_f(const void* z, size_t nrows, size_t ld, size_t n1,
                      float* out, float fct)
    int cf_rows_c2r_d(const void* z, size_t nrows, size_t ld, size_t n1,
                      double* out, double fct)


from libc.math cimport exp, expm1, pow, floor, sqrt, log, INFINITY

cpdef enum Kind:
    LOWPASS = 0
    HIGHPASS = 1
    BANDPASS = 2
    BANDSTOP = 3

cpdef enum Shape:
    BUTTERWORTH = 0
    GAUSSIAN = 1
    IDEAL = 2

cdef enum:
    # Rows per item of the row transforms; columns (complex) per item of
    # the column transforms: a block of 2048 x 16 complex float32 is
    # 256 KB, in L2 with its transform's scratch.
    FREQ_ROWS = 16
    FREQ_COLS = 16


cdef struct FreqCall:
    const void* planes      # (N, H, W) of real
    void* out               # (N, H, W) of real
    void* z                 # (N, n0, n1c) complex of real
    Py_ssize_t H, W, pad, n0, n1, n1c, row_items, col_items, out_items
    BoundaryMode mode
    double cval
    Kind kind
    Shape shape
    double c1, c2, order
    bint whole              # order a whole number up to 64
    int failed


cdef inline double _power(double r, double order, bint whole) noexcept nogil:
    """r ** order, by repeated squaring for a whole order."""
    cdef double result = 1.0
    cdef long n
    if not whole:
        return pow(r, order)
    n = <long> order
    while n:
        if n & 1:
            result *= r
        n >>= 1
        r *= r
    return result


cdef inline double _pass(double f2, double c, bint high,
                         const FreqCall* g) noexcept nogil:
    """The lowpass of cutoff c at squared frequency f2, or (high) its
    complement, in forms that neither overflow nor cancel: a steep
    Butterworth tends to the ideal filter, never to NaN, and a cutoff too
    small to square still gives 0 and 1."""
    cdef double r, q
    if g.shape == IDEAL:
        # f <= c, on f itself: a grid frequency equal to the cutoff passes
        # (the square root of a rounded square gives the value back)
        return (1.0 if sqrt(f2) > c else 0.0) if high else \
            (1.0 if sqrt(f2) <= c else 0.0)
    r = f2 / c / c
    if g.shape == BUTTERWORTH:
        if r <= 1.0:
            q = _power(r, g.order, g.whole)
            return q / (1.0 + q) if high else 1.0 / (1.0 + q)
        if r < INFINITY:
            q = _power(1.0 / r, g.order, g.whole)
        else:
            # (f/c)**2 beyond the largest double (a tiny cutoff): its
            # order-th power of the reciprocal by logarithms
            q = exp(-g.order * (log(f2) - 2.0 * log(c)))
        return 1.0 / (1.0 + q) if high else q / (1.0 + q)
    return -expm1(-0.5 * r) if high else exp(-0.5 * r)


cdef inline double _transfer(double f2, const FreqCall* g) noexcept nogil:
    cdef double band
    if g.kind == LOWPASS:
        return _pass(f2, g.c1, False, g)
    if g.kind == HIGHPASS:
        return _pass(f2, g.c1, True, g)
    band = _pass(f2, g.c1, True, g) * _pass(f2, g.c2, False, g)
    return band if g.kind == BANDPASS else 1.0 - band


cdef void _freq_rows(FreqCall* g, Py_ssize_t item, real* dummy) noexcept nogil:
    """Rows [q0, q1) of the N * n0 extended rows: filled from the plane by
    the mode, then their real transforms."""
    cdef Py_ssize_t q0 = item * FREQ_ROWS, q, p, e, y
    cdef Py_ssize_t q1 = min(q0 + FREQ_ROWS, g.row_items), n1 = g.n1
    cdef real* buf
    cdef real* row
    cdef real cv = <real> g.cval
    cdef int err
    if real is float:
        buf = cf_scratch_f(FREQ_ROWS * n1)
    else:
        buf = cf_scratch_d(FREQ_ROWS * n1)
    if buf == NULL:
        g.failed = 1
        return
    for q in range(q0, q1):
        p = q // g.n0
        e = q - p * g.n0
        row = buf + (q - q0) * n1
        y = map_index(e - g.pad, g.H, g.mode)
        if y < 0:
            for e in range(n1):
                row[e] = cv
        else:
            extend_row(<const real*> g.planes + (p * g.H + y) * g.W, g.W,
                       row, -g.pad, n1, g.mode, cv)
    if real is float:
        err = cf_rows_r2c_f(buf, q1 - q0, n1,
                            <float*> g.z + 2 * q0 * g.n1c, g.n1c)
    else:
        err = cf_rows_r2c_d(buf, q1 - q0, n1,
                            <double*> g.z + 2 * q0 * g.n1c, g.n1c)
    if err:
        g.failed = 1


cdef void _freq_cols(FreqCall* g, Py_ssize_t item, real* dummy) noexcept nogil:
    """A block of columns of one plane's spectrum: column transforms, the
    product with H (evaluated here for rows 0 .. n0 // 2, which the other
    rows mirror, and scaled by the inverse's 1 / (n0 * n1)), inverse."""
    cdef Py_ssize_t per = (g.n1c + FREQ_COLS - 1) // FREQ_COLS
    cdef Py_ssize_t p = item // per
    cdef Py_ssize_t j0 = (item - p * per) * FREQ_COLS
    cdef Py_ssize_t j1 = min(j0 + FREQ_COLS, g.n1c), nc = j1 - j0
    cdef Py_ssize_t n0 = g.n0, k, j, m
    cdef real* z = <real*> g.z + 2 * (p * n0 * g.n1c + j0)
    cdef real* r1
    cdef real* r2
    cdef double fy2, fx, h
    cdef double norm = 1.0 / (<double> n0 * <double> g.n1)
    cdef real hv
    cdef int err
    if real is float:
        err = cf_cols_c2c_f(z, n0, g.n1c, nc, 1, 1.0)
    else:
        err = cf_cols_c2c_d(z, n0, g.n1c, nc, 1, 1.0)
    if err:
        g.failed = 1
        return
    # The frequencies as numpy.fft.fftfreq gives them, k * (1 / n): a grid
    # frequency on an ideal filter's cutoff then falls on the same side.
    for k in range(n0 // 2 + 1):
        fy2 = <double> k * (1.0 / <double> n0)
        fy2 = fy2 * fy2
        r1 = z + 2 * k * g.n1c
        m = n0 - k
        r2 = z + 2 * m * g.n1c if 0 < k < m else NULL
        for j in range(nc):
            fx = <double> (j0 + j) * (1.0 / <double> g.n1)
            hv = <real> (_transfer(fy2 + fx * fx, g) * norm)
            r1[2 * j] *= hv
            r1[2 * j + 1] *= hv
            if r2 != NULL:
                r2[2 * j] *= hv
                r2[2 * j + 1] *= hv
    if real is float:
        err = cf_cols_c2c_f(z, n0, g.n1c, nc, 0, 1.0)
    else:
        err = cf_cols_c2c_d(z, n0, g.n1c, nc, 0, 1.0)
    if err:
        g.failed = 1


cdef void _freq_out(FreqCall* g, Py_ssize_t item, real* dummy) noexcept nogil:
    """A block of output rows of one plane: inverse real transforms of the
    extended rows pad + i, cropped into the output."""
    cdef Py_ssize_t per = (g.H + FREQ_ROWS - 1) // FREQ_ROWS
    cdef Py_ssize_t p = item // per
    cdef Py_ssize_t i0 = (item - p * per) * FREQ_ROWS
    cdef Py_ssize_t i1 = min(i0 + FREQ_ROWS, g.H), i, j, n1 = g.n1
    cdef real* buf
    cdef const real* src
    cdef real* dst
    cdef int err
    if real is float:
        buf = cf_scratch_f(FREQ_ROWS * n1)
    else:
        buf = cf_scratch_d(FREQ_ROWS * n1)
    if buf == NULL:
        g.failed = 1
        return
    src = <const real*> g.z + 2 * ((p * g.n0 + i0 + g.pad) * g.n1c)
    if real is float:
        err = cf_rows_c2r_f(src, i1 - i0, g.n1c, n1, buf, 1.0)
    else:
        err = cf_rows_c2r_d(src, i1 - i0, g.n1c, n1, buf, 1.0)
    if err:
        g.failed = 1
        return
    for i in range(i1 - i0):
        dst = <real*> g.out + (p * g.H + i0 + i) * g.W
        for j in range(g.W):
            dst[j] = buf[i * n1 + g.pad + j]


cdef void _rows_f(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_rows(<FreqCall*> g, item, <float*> NULL)


cdef void _rows_d(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_rows(<FreqCall*> g, item, <double*> NULL)


cdef void _cols_f(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_cols(<FreqCall*> g, item, <float*> NULL)


cdef void _cols_d(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_cols(<FreqCall*> g, item, <double*> NULL)


cdef void _out_f(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_out(<FreqCall*> g, item, <float*> NULL)


cdef void _out_d(void* g, Py_ssize_t item, int slot) noexcept nogil:
    _freq_out(<FreqCall*> g, item, <double*> NULL)


def filter_spectra(const real[:, :, ::1] planes, real[:, :, ::1] out,
                   real[:, :, ::1] z, Py_ssize_t pad, BoundaryMode mode,
                   double cval, Kind kind, Shape shape, double c1, double c2,
                   double order, int nthreads):
    """Frequency filtering of each plane (N, H, W) into ``out`` (N, H, W):
    the plane extended by ``pad`` per side with ``mode`` (n0 x n1 =
    H + 2 pad x W + 2 pad), its real 2-D transform into ``z`` (N, n0,
    2 * (n1 // 2 + 1), the complex coefficients as pairs of reals),
    multiplied by H(f) of ``kind`` and ``shape`` (cutoffs ``c1`` and, for
    the bands, ``c2``; ``order`` for the Butterworth), transformed back and
    cropped.  Returns False, with ``out`` unwritten, when a row's sum is
    not finite (the image holds NaN or Inf, which the transform would
    spread over the whole plane); arguments validated by the caller."""
    cdef FreqCall g
    cdef Py_ssize_t N = planes.shape[0], k
    cdef real v
    g.H, g.W, g.pad = planes.shape[1], planes.shape[2], pad
    g.n0, g.n1 = g.H + 2 * pad, g.W + 2 * pad
    g.n1c = g.n1 // 2 + 1
    if (out.shape[0] != N or out.shape[1] != g.H or out.shape[2] != g.W
            or z.shape[0] != N or z.shape[1] != g.n0
            or z.shape[2] != 2 * g.n1c):
        raise ValueError("filter_spectra: the arrays' shapes do not match")
    if N == 0 or g.H == 0 or g.W == 0:
        return True
    g.planes, g.out, g.z = &planes[0, 0, 0], &out[0, 0, 0], &z[0, 0, 0]
    g.mode, g.cval, g.kind, g.shape = mode, cval, kind, shape
    g.c1, g.c2, g.order = c1, c2, order
    g.whole = order == floor(order) and 0 <= order <= 64
    g.failed = 0
    g.row_items = N * g.n0
    with nogil:
        if real is float:
            run_items(_rows_f, &g, (g.row_items + FREQ_ROWS - 1) // FREQ_ROWS,
                      nthreads)
        else:
            run_items(_rows_d, &g, (g.row_items + FREQ_ROWS - 1) // FREQ_ROWS,
                      nthreads)
    if g.failed:
        raise MemoryError("frequency filtering's row transforms")
    # Each row's first coefficient is its sum: not finite when the row
    # holds NaN or Inf (a scan of these few values, not of the image).
    for k in range(g.row_items):
        v = z[k // g.n0, k % g.n0, 0]
        if not (v - v == 0):
            return False
    with nogil:
        if real is float:
            run_items(_cols_f, &g, N * ((g.n1c + FREQ_COLS - 1) // FREQ_COLS),
                      nthreads)
            run_items(_out_f, &g, N * ((g.H + FREQ_ROWS - 1) // FREQ_ROWS),
                      nthreads)
        else:
            run_items(_cols_d, &g, N * ((g.n1c + FREQ_COLS - 1) // FREQ_COLS),
                      nthreads)
            run_items(_out_d, &g, N * ((g.H + FREQ_ROWS - 1) // FREQ_ROWS),
                      nthreads)
    if g.failed:
        raise MemoryError("frequency filtering's transforms")
    return True
