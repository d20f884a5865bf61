"""Boundary-mode codes for the Python layer, and how the core was built."""

cdef extern from *:
    """
    #ifndef CFILTER_BUILD_FLAGS
    #define CFILTER_BUILD_FLAGS "unknown"
    #endif
    #ifndef CFILTER_BUILD_DEBUG
    #define CFILTER_BUILD_DEBUG 0
    #endif
    """
    const char* CFILTER_BUILD_FLAGS
    int CFILTER_BUILD_DEBUG


def build_info():
    """How the core was compiled: the compiler flags setup.py chose and
    the debug switch (see ``cfilter.show_config``)."""
    return {"compile_flags": CFILTER_BUILD_FLAGS.decode(),
            "debug": bool(CFILTER_BUILD_DEBUG)}
