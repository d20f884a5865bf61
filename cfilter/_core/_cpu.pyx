"""The CPU's instruction-set features, for choosing the compiled level at
import (``cfilter/_core/__init__.py``).  Built for the baseline target, so
it runs on any CPU of its architecture."""

cdef extern from *:
    """
    #if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    #define CF_X86 1
    #else
    #define CF_X86 0
    #endif

    #if CF_X86 && defined(_MSC_VER)
    #include <intrin.h>
    #include <immintrin.h>
    static void cf_cpuid(int leaf, int sub, int r[4]) { __cpuidex(r, leaf, sub); }
    static unsigned long long cf_xgetbv(void) { return _xgetbv(0); }
    #elif CF_X86
    #include <cpuid.h>
    static void cf_cpuid(int leaf, int sub, int r[4]) {
        unsigned int a = 0, b = 0, c = 0, d = 0;
        __cpuid_count(leaf, sub, a, b, c, d);
        r[0] = (int)a; r[1] = (int)b; r[2] = (int)c; r[3] = (int)d;
    }
    static unsigned long long cf_xgetbv(void) {
        unsigned int lo, hi;
        __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        return ((unsigned long long)hi << 32) | lo;
    }
    #else
    static void cf_cpuid(int leaf, int sub, int r[4]) {
        (void)leaf; (void)sub; r[0] = r[1] = r[2] = r[3] = 0;
    }
    static unsigned long long cf_xgetbv(void) { return 0; }
    #endif

    #ifndef CFILTER_LEVEL_FLAGS
    #define CFILTER_LEVEL_FLAGS ""
    #endif
    """
    int CF_X86
    void cf_cpuid(int leaf, int sub, int* r) nogil
    unsigned long long cf_xgetbv() nogil
    const char* CFILTER_LEVEL_FLAGS


# The features each x86-64 level adds (the psABI's micro-architecture
# levels), by the names Linux's /proc/cpuinfo uses.
LEVEL_FEATURES = {
    "v2": ("cx16", "lahf_lm", "popcnt", "sse3", "sse4_1", "sse4_2", "ssse3"),
    "v3": ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe",
           "xsave"),
    "v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}
LEVELS = ("v2", "v3", "v4")


def features():
    """The x86-64 features this CPU and its operating system support, as a
    set of names (empty on other architectures).  AVX and AVX-512 count
    only when the system saves their registers (XCR0), as compilers'
    own run-time checks require."""
    cdef int r[4]
    cdef int max_leaf, ecx1, edx1, ebx7, ecx81
    cdef unsigned long long xcr0 = 0
    found = set()
    if not CF_X86:
        return found
    cf_cpuid(0, 0, r)
    max_leaf = r[0]
    cf_cpuid(1, 0, r)
    ecx1, edx1 = r[2], r[3]
    bits1 = {"sse3": 0, "ssse3": 9, "fma": 12, "cx16": 13, "sse4_1": 19,
             "sse4_2": 20, "movbe": 22, "popcnt": 23, "xsave": 26,
             "avx": 28, "f16c": 29}
    for name, bit in bits1.items():
        if ecx1 >> bit & 1:
            found.add(name)
    if edx1 >> 26 & 1:
        found.add("sse2")
    if ecx1 >> 27 & 1:          # OSXSAVE: the system manages XCR0
        xcr0 = cf_xgetbv()
    cf_cpuid(0x80000001, 0, r)
    ecx81 = r[2]
    if ecx81 & 1:
        found.add("lahf_lm")
    if ecx81 >> 5 & 1:
        found.add("abm")        # LZCNT
    if max_leaf >= 7:
        cf_cpuid(7, 0, r)
        ebx7 = r[1]
        bits7 = {"bmi1": 3, "avx2": 5, "bmi2": 8, "avx512f": 16,
                 "avx512dq": 17, "avx512cd": 28, "avx512bw": 30,
                 "avx512vl": 31}
        for name, bit in bits7.items():
            if ebx7 >> bit & 1:
                found.add(name)
    if (xcr0 & 0x6) != 0x6:     # XMM and YMM state not saved: no AVX
        found -= {"avx", "avx2", "fma", "f16c"}
    if (xcr0 & 0xE6) != 0xE6:   # opmask and ZMM state not saved
        found -= set(LEVEL_FEATURES["v4"])
    return found


def missing(level, seen=None):
    """The features of x86-64 ``level`` (and the levels below it) that this
    CPU lacks, sorted."""
    seen = features() if seen is None else seen
    need = []
    for lvl in LEVELS[:LEVELS.index(level) + 1]:
        need.extend(LEVEL_FEATURES[lvl])
    return sorted(set(need) - seen)


def level_flags():
    """The compiler flags of each level built, ``{level: flags}``."""
    text = CFILTER_LEVEL_FLAGS.decode()
    out = {}
    for part in text.split(";"):
        if ":" in part:
            name, flags = part.split(":", 1)
            out[name] = flags
    return out
