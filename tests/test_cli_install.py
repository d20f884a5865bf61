"""Installing without a C compiler: the build says what to install."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _cython_up_to_date():
    """True if the generated C is newer than every .pyx (so the build below
    spends no time in Cython)."""
    pyx = list((ROOT / "cfilter" / "_core").glob("*.pyx"))
    c_dir = ROOT / "build" / "cython" / "cfilter" / "_core"
    if not pyx or not c_dir.is_dir():
        return False
    for src in pyx:
        # C, or C++ for the modules that include C++ headers (pocketfft)
        c = next((c_dir / (src.stem + ext) for ext in (".c", ".cpp")
                  if (c_dir / (src.stem + ext)).exists()), None)
        if c is None or c.stat().st_mtime < src.stat().st_mtime:
            return False
    return True


def _have_build_tools():
    try:
        import Cython.Build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not (ROOT / "setup.py").exists() or
                    not _have_build_tools() or
                    not _cython_up_to_date(),
                    reason="needs the source tree with its C already "
                           "generated (built in place) and Cython")
def test_build_without_a_compiler_says_what_to_install(tmp_path):
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"))
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-temp",
         str(tmp_path / "tmp"), "--build-lib", str(tmp_path / "lib")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "no working C compiler" in proc.stderr
    assert "build-essential" in proc.stderr and "Traceback" not in \
        proc.stderr
    assert not (tmp_path / "lib").exists()
