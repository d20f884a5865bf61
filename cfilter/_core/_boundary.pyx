"""Boundary-mode codes for the Python layer, and how the core was built."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #define CFILTER_HAVE_OPENMP 1
    #else
    #define CFILTER_HAVE_OPENMP 0
    #endif
    """
    int CFILTER_HAVE_OPENMP


def openmp_enabled():
    """True when the core was compiled with OpenMP (multi-threaded loops)."""
    return bool(CFILTER_HAVE_OPENMP)
