"""``cfilter.show_config()``: how this copy of cfilter was built and runs."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, overload

from . import _core
from ._core._boundary import build_info
from ._threads import get_num_threads

if TYPE_CHECKING:
    from typing import Any, Literal

    from ._typing import ConfigMode

__all__ = ["show_config"]


def _version(name):
    # importlib.metadata costs a third of ``import cfilter``: read it here
    import importlib.metadata
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def config():
    """The facts :func:`show_config` prints, as a dict."""
    import platform

    from . import __version__
    info = build_info()
    flags = info["compile_flags"]
    if _core.LEVEL is not None:
        from ._core import _cpu
        flags = _cpu.level_flags().get(_core.LEVEL, flags)
    return {
        "cfilter": __version__,
        "compile_flags": flags,
        "cpu_level": _core.LEVEL or "single target",
        "cpu_levels_built": list(_core.BUILT),
        "cpu_level_forced": _core.FORCED,
        "cpu_features": sorted(_core.CPU_FEATURES),
        "debug_build": info["debug"],
        "default_threads": get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "Cython": _version("Cython"),
    }


# mode='dicts' returns the facts, 'stdout' prints them (for type checkers).
@overload
def show_config(mode: Literal["stdout"] = ...) -> None: ...
@overload
def show_config(mode: Literal["dicts"]) -> dict[str, Any]: ...


def show_config(mode: ConfigMode = "stdout") -> dict[str, Any] | None:
    """Print (or return) how cfilter was built and how it will run.

    The compiled core's compiler flags (``-march``, ``-O``) for the CPU
    level in use, the levels built (a portable build has ``v2``, ``v3`` and
    ``v4`` on x86-64, chosen at import; ``CFILTER_CPU`` forces a lower one)
    and the CPU features seen, whether it is the debug build, the default
    thread count, the CPU count and the versions of cfilter and its dependencies
    (None when not installed as a distribution).

    Parameters
    ----------
    mode : {'stdout', 'dicts'}, optional
        Print the facts (default), or return them as a dict.

    Examples
    --------
    >>> import cfilter
    >>> info = cfilter.show_config(mode="dicts")
    >>> sorted(info)[:4]
    ['Cython', 'cfilter', 'compile_flags', 'cpu_count']
    >>> info["cpu_level"] in ("v2", "v3", "v4", "single target")
    True
    >>> info["default_threads"] >= 1
    True
    """
    facts = config()
    if mode == "dicts":
        return facts
    if mode != "stdout":
        raise ValueError(f"mode={mode!r} is not a mode; use 'stdout' or 'dicts'")
    width = max(map(len, facts))
    for key, value in facts.items():
        print(f"{key:<{width}} : {value}")
    return None
