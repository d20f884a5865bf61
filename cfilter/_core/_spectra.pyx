"""Products on spectra, in place (``cfilter.frequency_filter``).

A block of columns of 2-D spectra is multiplied by a real transfer function
given on the rows ``0 .. n0 // 2`` only: row ``k`` of a transform of length
``n0`` has the frequency of row ``n0 - k``, so the function repeats there.
numpy would multiply a complex array by a real one only after converting the
real factor to complex (several times slower than this loop), or by reals
after repeating each value for the real and the imaginary part (a second
array twice the size).
"""
from ._types cimport real


cdef inline void _scale_row(real* parts, const real* h,
                            Py_ssize_t b) noexcept nogil:
    """The ``b`` complex values at ``parts`` (real and imaginary parts
    interleaved) times ``h[0 .. b - 1]``."""
    cdef Py_ssize_t j
    for j in range(b):
        parts[2 * j] *= h[j]
        parts[2 * j + 1] *= h[j]


def scale_by_rows(real[:, :, ::1] parts, const real[:, ::1] half):
    """``spectra[n, k, j] *= half[min(k, n0 - k), j]`` for complex
    ``spectra`` of shape ``(N, n0, B)`` given as ``parts``, its ``(N, n0,
    2 * B)`` view as reals; ``half`` is ``(n0 // 2 + 1, B)``."""
    cdef Py_ssize_t N = parts.shape[0], n0 = parts.shape[1]
    cdef Py_ssize_t b = half.shape[1], n, k
    if (parts.shape[2] != 2 * b or half.shape[0] != n0 // 2 + 1):
        raise ValueError("scale_by_rows: the transfer function's shape "
                         "does not match the spectra's")
    if N == 0 or n0 == 0 or b == 0:
        return
    with nogil:
        for n in range(N):
            for k in range(n0):
                _scale_row(&parts[n, k, 0],
                           &half[k if k <= n0 - k else n0 - k, 0], b)
