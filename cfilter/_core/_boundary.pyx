"""Boundary-mode codes for the Python layer, and how the core was built."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #define CFILTER_HAVE_OPENMP 1
    #else
    #define CFILTER_HAVE_OPENMP 0
    #endif
    #ifndef CFILTER_BUILD_FLAGS
    #define CFILTER_BUILD_FLAGS "unknown"
    #endif
    #ifndef CFILTER_BUILD_DEBUG
    #define CFILTER_BUILD_DEBUG 0
    #endif
    """
    int CFILTER_HAVE_OPENMP
    const char* CFILTER_BUILD_FLAGS
    int CFILTER_BUILD_DEBUG


def openmp_enabled():
    """True when the core was compiled with OpenMP (multi-threaded loops)."""
    return bool(CFILTER_HAVE_OPENMP)


def build_info():
    """How the core was compiled: the compiler flags setup.py chose, the
    debug switch and OpenMP (see ``cfilter.show_config``)."""
    return {"compile_flags": CFILTER_BUILD_FLAGS.decode(),
            "debug": bool(CFILTER_BUILD_DEBUG),
            "openmp": bool(CFILTER_HAVE_OPENMP)}
