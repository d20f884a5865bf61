"""Compiled loops of cfilter.  Private: only cfilter's Python layer calls them,
after validating every argument.

A default (portable) build compiles the hot modules once per x86-64 level
into ``_v2/``, ``_v3/`` (AVX2 + FMA) and ``_v4/`` (AVX-512) beside this
file.  At import the best level this CPU supports is chosen once, and its
directory goes first on this package's search path, so ``_core._direct``
and the rest load from there; ``CFILTER_CPU=v2|v3|v4`` forces a lower
level.  The modules every level shares (the thread pool, the boundary and
sample codes, the CPU probe) are built once, for the baseline target.  A
build for one target only (``CFILTER_ARCH=native``, other architectures)
has no level directories, and nothing here is chosen.
"""
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
# best first
_ORDER = ("v4", "v3", "v2")
BUILT = tuple(lvl for lvl in reversed(_ORDER)
              if os.path.isdir(os.path.join(_HERE, "_" + lvl)))
LEVEL = None          # the level in use, None for a single-target build
FORCED = None         # CFILTER_CPU, when it was set
CPU_FEATURES = frozenset()


def _choose():
    import warnings

    from . import _cpu
    seen = _cpu.features()
    usable = [lvl for lvl in _ORDER if lvl in BUILT and not _cpu.missing(lvl, seen)]
    if not usable:
        lowest = BUILT[0]
        raise ImportError(
            f"cfilter needs an x86-64 CPU of level x86-64-{lowest} or above; "
            f"this one lacks: {', '.join(_cpu.missing(lowest, seen))}")
    level = usable[0]
    forced = os.environ.get("CFILTER_CPU", "").strip().lower()
    if forced:
        name = forced[len("x86-64-"):] if forced.startswith("x86-64-") else forced
        if name in usable:
            level = name
        else:
            warnings.warn(
                f"CFILTER_CPU={forced!r} is not a level this build has and this "
                f"CPU runs (usable: {', '.join(usable)}); using {level}",
                RuntimeWarning, stacklevel=3)
    return level, forced or None, frozenset(seen)


if BUILT:
    LEVEL, FORCED, CPU_FEATURES = _choose()
    __path__.insert(0, os.path.join(_HERE, "_" + LEVEL))  # noqa: F821
