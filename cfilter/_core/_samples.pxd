# The engines read and write planes of any of the sample types below and
# compute in `real`: a row of another type is converted as it is read, into
# per-thread scratch, and an integer output row is rounded (half to even, as
# numpy.rint) and saturated as it is stored.  No full-size float copy of the
# input or of the result is ever made.
#
# Rows are addressed pixel-wise: a row holds W pixels of C interleaved
# samples (C = 1 for planes, C channels for an (H, W, C) image).
from libc.math cimport rint, rintf
cimport numpy as cnp

from ._types cimport real


cpdef enum Sample:
    F32 = 0
    F64 = 1
    U8 = 2
    I8 = 3
    U16 = 4
    I16 = 5


cdef struct Planes:
    # One stack of C-contiguous planes (N, H, W * C) of one sample type.
    char* data
    Sample kind
    Py_ssize_t H          # rows per plane
    Py_ssize_t n          # samples per row (W * C)
    Py_ssize_t row_bytes
    Py_ssize_t plane_bytes


cdef struct RowCache:
    # Per-thread record of which converted input row each scratch slot
    # holds: tags[s] is the row index, or -2 when the slot is free.
    Py_ssize_t* tags
    Py_ssize_t* used
    Py_ssize_t nslots
    Py_ssize_t plane


cdef inline bint is_native(Sample kind, real* dummy) noexcept nogil:
    """Whether samples of ``kind`` are the compute type (read in place)."""
    if real is float:
        return kind == F32
    else:
        return kind == F64


cdef inline char* row_address(const Planes* pl, Py_ssize_t p,
                              Py_ssize_t r) noexcept nogil:
    return pl.data + p * pl.plane_bytes + r * pl.row_bytes


cdef inline void load_row(real* dst, const char* src, Sample kind,
                          Py_ssize_t n) noexcept nogil:
    """dst[k] = src[k] converted to the compute type, for k < n.  Every
    supported integer is exact in float32."""
    cdef Py_ssize_t k
    cdef const unsigned char* u8
    cdef const signed char* i8
    cdef const unsigned short* u16
    cdef const short* i16
    cdef const float* f32
    cdef const double* f64
    if kind == U8:
        u8 = <const unsigned char*> src
        for k in range(n):
            dst[k] = u8[k]
    elif kind == I8:
        i8 = <const signed char*> src
        for k in range(n):
            dst[k] = i8[k]
    elif kind == U16:
        u16 = <const unsigned short*> src
        for k in range(n):
            dst[k] = u16[k]
    elif kind == I16:
        i16 = <const short*> src
        for k in range(n):
            dst[k] = i16[k]
    elif kind == F32:
        f32 = <const float*> src
        for k in range(n):
            dst[k] = <real>f32[k]
    else:
        f64 = <const double*> src
        for k in range(n):
            dst[k] = <real>f64[k]


cdef inline real _round(real v) noexcept nogil:
    if real is float:
        return rintf(v)
    else:
        return rint(v)


cdef inline real _clamp(real v, real lo, real hi) noexcept nogil:
    # Saturation; a NaN fails both comparisons and becomes lo, which is 0,
    # NaN's integer value, for the unsigned types (vector max and min).
    v = v if v > lo else lo
    return v if v < hi else hi


cdef inline real _clamp_signed(real v, real lo, real hi) noexcept nogil:
    # For lo < 0: a NaN is made 0 first (one more vector compare and
    # blend), since _clamp would make it lo.
    v = v if v == v else 0
    return _clamp(v, lo, hi)


cdef inline void store_row(char* dst, const real* src, Sample kind,
                           Py_ssize_t n) noexcept nogil:
    """dst[k] = src[k] in the sample type: integers rounded to nearest, half
    to even, and saturated at the type's limits (all exact in float32); NaN
    gives 0."""
    cdef Py_ssize_t k
    cdef unsigned char* u8
    cdef signed char* i8
    cdef unsigned short* u16
    cdef short* i16
    cdef float* f32
    cdef double* f64
    if kind == U8:
        u8 = <unsigned char*> dst
        for k in range(n):
            u8[k] = <unsigned char>_clamp(_round(src[k]), 0, 255)
    elif kind == I8:
        i8 = <signed char*> dst
        for k in range(n):
            i8[k] = <signed char>_clamp_signed(_round(src[k]), -128, 127)
    elif kind == U16:
        u16 = <unsigned short*> dst
        for k in range(n):
            u16[k] = <unsigned short>_clamp(_round(src[k]), 0, 65535)
    elif kind == I16:
        i16 = <short*> dst
        for k in range(n):
            i16[k] = <short>_clamp_signed(_round(src[k]), -32768,
                                              32767)
    elif kind == F32:
        f32 = <float*> dst
        for k in range(n):
            f32[k] = <float>src[k]
    else:
        f64 = <double*> dst
        for k in range(n):
            f64[k] = <double>src[k]


cdef inline void fetch_rows(const real** rows, const Planes* pl,
                            RowCache* cache, real* store, Py_ssize_t stride,
                            Py_ssize_t p, const Py_ssize_t* want,
                            Py_ssize_t n, const real* cvrow) noexcept nogil:
    """rows[m] = row want[m] of plane p in the compute type, for m < n
    (want[m] < 0: the row of cval).  Native rows are read in place; others
    are converted into the cache's slots (``stride`` apart in ``store``),
    each at most once while it stays in use: a slot is refilled only when
    none of the n rows wants it.  The cache needs n distinct slots."""
    cdef Py_ssize_t m, s, r
    if is_native(pl.kind, <real*>NULL):
        for m in range(n):
            rows[m] = cvrow if want[m] < 0 else \
                <const real*> row_address(pl, p, want[m])
        return
    if cache.plane != p:
        cache.plane = p
        for s in range(cache.nslots):
            cache.tags[s] = -2
    for s in range(cache.nslots):
        cache.used[s] = 0
    # keep the rows already converted
    for m in range(n):
        rows[m] = NULL
        if want[m] < 0:
            rows[m] = cvrow
            continue
        for s in range(cache.nslots):
            if cache.tags[s] == want[m]:
                cache.used[s] = 1
                rows[m] = store + s * stride
                break
    # convert the others into slots no wanted row holds
    for m in range(n):
        if rows[m] != NULL:
            continue
        r = want[m]
        s = 0
        while cache.tags[s] != r and cache.used[s]:
            s = s + 1
        if cache.tags[s] != r:
            load_row(store + s * stride, row_address(pl, p, r), pl.kind, pl.n)
            cache.tags[s] = r
            cache.used[s] = 1
        rows[m] = store + s * stride


cdef inline real* out_row(const Planes* pl, Py_ssize_t p, Py_ssize_t i,
                          real* scratch) noexcept nogil:
    """Where to compute output row i of plane p: in place when the output
    is of the compute type, else in ``scratch`` (then ``flush_row``)."""
    if is_native(pl.kind, <real*>NULL):
        return <real*> row_address(pl, p, i)
    return scratch


cdef inline void flush_row(const Planes* pl, Py_ssize_t p, Py_ssize_t i,
                           const real* scratch) noexcept nogil:
    if not is_native(pl.kind, <real*>NULL):
        store_row(row_address(pl, p, i), scratch, pl.kind, pl.n)


cdef inline Sample sample_of(cnp.ndarray a) except *:
    """The sample type of ``a``'s elements, read from its dtype; a
    TypeError for any other dtype or a byte order not the machine's."""
    cdef int t = cnp.PyArray_TYPE(a)
    if not cnp.PyArray_ISNOTSWAPPED(a):
        raise TypeError(f"compiled core: {a.dtype} samples are not in the "
                        "machine's byte order")
    if t == cnp.NPY_FLOAT:
        return F32
    if t == cnp.NPY_DOUBLE:
        return F64
    if t == cnp.NPY_UBYTE:
        return U8
    if t == cnp.NPY_BYTE:
        return I8
    if t == cnp.NPY_USHORT:
        return U16
    if t == cnp.NPY_SHORT:
        return I16
    raise TypeError(f"compiled core: no sample type for {a.dtype}; it "
                    "reads and writes float32, float64, uint8, int8, "
                    "uint16 and int16")


cdef inline Planes planes_of(object array, Sample kind) except *:
    """The Planes of ``array``, a C-contiguous, aligned, native-order (N,
    H, n) ndarray of samples of ``kind``.  The type is read from the array
    itself, so a caller's ``kind`` that is not the array's is a TypeError,
    never a misread; any other layout is a ValueError.  (A few
    nanoseconds: flags and fields of the array struct.)"""
    cdef Planes pl
    cdef cnp.ndarray a = <cnp.ndarray?> array
    cdef Sample found = sample_of(a)
    if found != kind:
        names = ("float32", "float64", "uint8", "int8", "uint16", "int16")
        raise TypeError(
            f"compiled core: the planes hold {a.dtype} samples, but "
            + (f"{names[<int>kind]}" if 0 <= <int>kind < len(names)
               else f"sample code {<int>kind}") + " was passed")
    if cnp.PyArray_NDIM(a) != 3:
        raise ValueError(f"compiled core: planes must be 3-D (N, H, n), got "
                         f"{cnp.PyArray_NDIM(a)}-D")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a):
        raise ValueError("compiled core: planes must be C-contiguous and "
                         "aligned")
    pl.data = <char*> cnp.PyArray_DATA(a)
    pl.kind = found
    pl.H = cnp.PyArray_DIM(a, 1)
    pl.n = cnp.PyArray_DIM(a, 2)
    pl.row_bytes = cnp.PyArray_STRIDE(a, 1)
    pl.plane_bytes = cnp.PyArray_STRIDE(a, 0)
    return pl
