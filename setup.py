"""Build script for cfilter's compiled core.

Build switches (environment variables, read at build time):

``CFILTER_ARCH``
    Which CPUs the core is compiled for.

    * unset or ``dispatch`` (the default): portable with run-time dispatch.
      On x86-64 the hot modules are compiled once per level -- ``v2``
      (SSE4.2), ``v3`` (AVX2 + FMA) and ``v4`` (AVX-512) -- into
      ``cfilter/_core/_v2/`` and so on, and ``import cfilter`` picks the best
      level the CPU runs (``cfilter/_core/__init__.py``).  A wheel built this
      way runs on every x86-64-v2 CPU.  Other architectures get one build
      for their baseline (NEON on aarch64).
    * ``native``: one build with ``-march=native``, for the machine that
      compiles it only (a little faster to build, never faster to run).
    * ``portable``: one build for the compiler's default target, no
      dispatch (the smallest binary, the slowest loops).
    * any other value: one build with ``-march=<value>``.
``CFILTER_DEBUG``
    ``1`` builds with Cython bounds, wraparound and initialised checks on,
    ``-O0 -g`` and no ``-march``: slow, but an out-of-range index raises
    instead of reading past a buffer.  The test suite runs unchanged under it.

Threads come from cfilter's own pool (``cfilter/_core/_pool.h``, pthreads
or Win32 threads), so no compiler needs OpenMP and the wheel links no
OpenMP runtime.
"""

import os
import platform
import shutil
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("CFILTER_DEBUG", "0") not in ("", "0")
ARCH = os.environ.get("CFILTER_ARCH", "dispatch").strip() or "dispatch"

# The one place the Cython directives live.
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
}

# Built once, for the baseline target: the thread pool (one per process),
# the boundary and sample codes and the CPU probe.
SHARED = ["_pool", "_boundary", "_samples", "_cpu"]
# The hot loops: built once per level in a dispatch build.
HOT = ["_direct", "_separable", "_box", "_transpose", "_nan", "_ncc",
       "_fftconv"]
# Modules whose loops take square roots of arguments never negative and
# choose between values by comparisons: built without errno and without
# trapping math (no code here reads the floating-point exception flags),
# the compiler can vectorise those loops; with them, a sqrt or a compare
# it cannot prove harmless stops it.
NO_ERRNO = {"_ncc"}
# The x86-64 levels of a dispatch build: (gcc/clang flags, MSVC flags).
LEVELS = {
    "v2": (["-march=x86-64-v2"], []),
    "v3": (["-march=x86-64-v3"], ["/arch:AVX2"]),
    "v4": (["-march=x86-64-v4"], ["/arch:AVX512"]),
}
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
DISPATCH = ARCH == "dispatch" and X86_64 and not DEBUG
HEADERS = ["cfilter/_core/_blocks.h", "cfilter/_core/_pool.h",
           "cfilter/_core/_tiles.hpp", "cfilter/_core/pocketfft/pocketfft_hdronly.h"]
CORE = os.path.join("cfilter", "_core")


def _compiler_accepts(compiler, flags, source="int main(void){return 0;}\n"):
    """Whether the C compiler compiles and links ``source`` with ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as fh:
            fh.write(source)
        try:
            objs = compiler.compile([path], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objs, os.path.join(tmp, "probe"),
                                     extra_postargs=flags)
        except Exception:
            return False
    return True


_NO_COMPILER = """
cfilter: no working C compiler: {} cannot compile a trivial C file.
cfilter's core is compiled from C and C++ when it is installed.  Install a
C/C++ compiler and Python's headers, then run pip again:
  Debian/Ubuntu:  sudo apt install build-essential python3-dev
  Fedora/RHEL:    sudo dnf install gcc gcc-c++ python3-devel
  Alpine:         apk add build-base python3-dev
  macOS:          xcode-select --install
  Windows:        Microsoft C++ Build Tools (the "Desktop development with
                  C++" workload)
(Set CC to use another compiler.)
"""


def _level_of(ext):
    """The dispatch level an extension is built for (None: the shared or
    single-target flavour)."""
    parts = ext.name.split(".")
    return parts[2][1:] if len(parts) == 4 else None


class BuildExt(build_ext):
    """Chooses the optimisation and instruction-set flags the compiler
    accepts, per level of a dispatch build."""

    def finalize_options(self):
        super().finalize_options()
        # The modules compile in parallel (one per CPU) unless told
        # otherwise: a portable build compiles each hot module three times.
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self):
        # setuptools rebuilds a module only when its sources changed, not
        # its flags: a build of another flavour than the last one is forced.
        flavour = f"arch={ARCH} debug={DEBUG} dispatch={DISPATCH}\n"
        stamp = os.path.join(self.build_temp, "cfilter-flavour")
        old = open(stamp).read() if os.path.exists(stamp) else None
        if old != flavour:
            self.force = True
        # A build of one flavour removes the other's modules, in place and
        # in the build folder a wheel is packed from: the loader would
        # otherwise find them first (or instead), and a wheel would carry
        # both.
        places = [os.path.join(self.build_lib, CORE)]
        if self.inplace:
            places.append(CORE)
        for core in places:
            for lvl in LEVELS:
                path = os.path.join(core, "_" + lvl)
                if not DISPATCH and os.path.isdir(path):
                    shutil.rmtree(path)
                if DISPATCH and core == CORE:
                    os.makedirs(path, exist_ok=True)
            # (and the modules of no flavour: a module since removed)
            wanted = {core: SHARED if DISPATCH else SHARED + HOT}
            if DISPATCH:
                wanted.update({os.path.join(core, "_" + lvl): HOT
                               for lvl in LEVELS})
            for folder, names in wanted.items():
                if not os.path.isdir(folder):
                    continue
                for fname in os.listdir(folder):
                    if (fname.endswith((".so", ".pyd"))
                            and fname.split(".")[0] not in names):
                        os.remove(os.path.join(folder, fname))
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as fh:
            fh.write(flavour)

    def build_extensions(self):
        cc = self.compiler
        if not _compiler_accepts(cc, []):
            # say what to install instead of gcc's traceback further on
            sys.exit(_NO_COMPILER.format(getattr(cc, "compiler", [None])[0]
                                         or cc.compiler_type))
        msvc = cc.compiler_type == "msvc"
        if msvc:
            base = ["/O2"]
        else:
            # -g0: no debug information in the shipped modules (Python's
            # own CFLAGS ask for -g; it made them five times larger)
            base = ["-O0", "-g"] if DEBUG else ["-O3", "-g0"]
        single = []
        if not msvc and not DEBUG and not DISPATCH and ARCH not in (
                "portable", "dispatch"):
            march = "-march=native" if ARCH == "native" else f"-march={ARCH}"
            if _compiler_accepts(cc, [march]):
                single = [march]
            else:
                print(f"cfilter: compiler rejects {march}; building portable",
                      file=sys.stderr)
        levels = {}
        if DISPATCH:
            for lvl, (gnu, ms) in LEVELS.items():
                flags = ms if msvc else gnu
                if msvc or _compiler_accepts(cc, flags):
                    levels[lvl] = flags
                else:
                    print(f"cfilter: compiler rejects {' '.join(flags)}; no "
                          f"{lvl} level", file=sys.stderr)
            if "v2" not in levels:
                sys.exit("cfilter: the compiler rejects -march=x86-64-v2, the "
                         "lowest level of the portable build; set "
                         "CFILTER_ARCH=portable for a build without dispatch")
            self.extensions = [e for e in self.extensions
                               if _level_of(e) is None or _level_of(e) in levels]
        level_text = ";".join(f"{lvl}:{' '.join(base + flags)}"
                              for lvl, flags in levels.items())
        for ext in self.extensions:
            lvl = _level_of(ext)
            flags = base + (levels[lvl] if lvl else single)
            # Recorded in the core for cfilter.show_config().
            ext.define_macros = list(ext.define_macros) + [
                ("CFILTER_BUILD_FLAGS", '"' + " ".join(flags) + '"'),
                ("CFILTER_BUILD_DEBUG", "1" if DEBUG else "0"),
                ("CFILTER_LEVEL_FLAGS", '"' + level_text + '"')]
            ext.extra_compile_args = list(ext.extra_compile_args) + flags
            if ext.language == "c++" and not msvc:
                ext.extra_compile_args.append("-std=c++17")
            if not msvc and ext.name.rsplit(".", 1)[-1] in NO_ERRNO:
                ext.extra_compile_args += ["-fno-math-errno",
                                           "-fno-trapping-math"]
        super().build_extensions()


def _extension(name, sources, depends=()):
    return Extension(
        name, sources,
        # cfilter/_core: the C headers some modules include (_blocks.h)
        include_dirs=[np.get_include(), CORE],
        depends=HEADERS + list(depends),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        language="c++" if name.endswith("_fftconv") else None,
    )


def _level_sources(generated, level):
    """A source file for ``level`` that includes the module's generated C:
    Cython runs once, the compiler once per level, each level's objects in
    a place of their own."""
    build_dir = os.path.join("build", "dispatch", level)
    os.makedirs(build_dir, exist_ok=True)
    target = os.path.join(build_dir, os.path.basename(generated))
    text = f'#include "{os.path.abspath(generated)}"\n'.replace("\\", "/")
    if not os.path.exists(target) or open(target).read() != text:
        with open(target, "w") as fh:
            fh.write(text)
    return [target]


extensions = cythonize(
    [_extension(f"cfilter._core.{name}", [f"cfilter/_core/{name}.pyx"])
     for name in SHARED + HOT],
    compiler_directives=DIRECTIVES,
    # The directives are baked into the generated C, so each build
    # flavour keeps its own .c files.
    build_dir="build/cython-debug" if DEBUG else "build/cython",
)
if DISPATCH:
    generated = {ext.name.rsplit(".", 1)[-1]: ext.sources[0] for ext in extensions}
    extensions = [ext for ext in extensions
                  if ext.name.rsplit(".", 1)[-1] in SHARED]
    extensions += [
        _extension(f"cfilter._core._{lvl}.{name}",
                   _level_sources(generated[name], lvl), [generated[name]])
        for lvl in LEVELS for name in HOT]

setup(
    ext_modules=extensions,
    cmdclass={"build_ext": BuildExt},
)
