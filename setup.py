"""Build script for cfilter's compiled core.

Build switches (environment variables, read at build time):

``CFILTER_ARCH``
    Instruction set the core is compiled for.  ``native`` (the default) uses
    ``-march=native`` so the loops use every vector unit of the machine that
    builds the package; a wheel built this way is for that machine only.
    ``portable`` compiles for the generic x86-64 (or the compiler's default)
    target so the result runs anywhere.  Any other value is passed on as
    ``-march=<value>`` (e.g. ``x86-64-v3`` for AVX2 + FMA).
``CFILTER_DEBUG``
    ``1`` builds with Cython bounds, wraparound and initialised checks on,
    ``-O0 -g`` and no ``-march``: slow, but an out-of-range index raises
    instead of reading past a buffer.  The test suite runs unchanged under it.

Threads come from cfilter's own pool (``cfilter/_core/_pool.h``, pthreads
or Win32 threads), so no compiler needs OpenMP and the wheel links no
OpenMP runtime.
"""

import os
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("CFILTER_DEBUG", "0") not in ("", "0")
ARCH = os.environ.get("CFILTER_ARCH", "native").strip()

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

MODULES = ["_pool", "_boundary", "_samples", "_direct", "_separable", "_box",
           "_transpose",
           "_nan", "_ncc", "_spectra", "_fftconv"]
# Modules whose loops take square roots of arguments never negative and
# choose between values by comparisons: built without errno and without
# trapping math (no code here reads the floating-point exception flags),
# the compiler can vectorise those loops; with them, a sqrt or a compare
# it cannot prove harmless stops it.
NO_ERRNO = {"_ncc"}


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
cfilter's core is compiled from C when it is installed.  Install a C compiler
and Python's headers, then run pip again:
  Debian/Ubuntu:  sudo apt install build-essential python3-dev
  Fedora/RHEL:    sudo dnf install gcc python3-devel
  Alpine:         apk add build-base python3-dev
  macOS:          xcode-select --install
  Windows:        Microsoft C++ Build Tools (the "Desktop development with
                  C++" workload)
(Set CC to use another compiler.)
"""


class BuildExt(build_ext):
    """Chooses the optimisation and vector ISA flags the compiler accepts."""

    def build_extensions(self):
        cc = self.compiler
        if not _compiler_accepts(cc, []):
            # say what to install instead of gcc's traceback further on
            sys.exit(_NO_COMPILER.format(getattr(cc, "compiler", [None])[0]
                                         or cc.compiler_type))
        if cc.compiler_type == "msvc":
            compile_args = ["/O2"]
            link_args = []
        else:
            compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
            link_args = []
            if not DEBUG and ARCH != "portable":
                march = "-march=native" if ARCH == "native" else f"-march={ARCH}"
                if _compiler_accepts(cc, [march]):
                    compile_args.append(march)
                else:
                    print(f"cfilter: compiler rejects {march}; building portable",
                          file=sys.stderr)
        # Recorded in the core for cfilter.show_config().
        macros = [("CFILTER_BUILD_FLAGS", '"' + " ".join(compile_args) + '"'),
                  ("CFILTER_BUILD_DEBUG", "1" if DEBUG else "0")]
        for ext in self.extensions:
            ext.define_macros = list(ext.define_macros) + macros
            ext.extra_compile_args = list(ext.extra_compile_args) + compile_args
            ext.extra_link_args = list(ext.extra_link_args) + link_args
            if (cc.compiler_type != "msvc"
                    and ext.name.rsplit(".", 1)[-1] in NO_ERRNO):
                ext.extra_compile_args += ["-fno-math-errno",
                                           "-fno-trapping-math"]
        super().build_extensions()


extensions = [
    Extension(
        f"cfilter._core.{name}",
        [f"cfilter/_core/{name}.pyx"],
        # cfilter/_core: the C headers some modules include (_blocks.h)
        include_dirs=[np.get_include(), "cfilter/_core"],
        depends=["cfilter/_core/_blocks.h", "cfilter/_core/_pool.h",
                 "cfilter/_core/_tiles.hpp"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        # The directives are baked into the generated C, so each build
        # flavour keeps its own .c files.
        build_dir="build/cython-debug" if DEBUG else "build/cython",
    ),
    cmdclass={"build_ext": BuildExt},
)
